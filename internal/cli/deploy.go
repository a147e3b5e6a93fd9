package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/client"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
)

type taskLog struct {
	Task  domain.Task      `json:"task"`
	Lines []domain.LogLine `json:"lines"`
}

func (a *app) deployCommand() *cobra.Command {
	var req deploy.Request
	var wait bool
	cmd := &cobra.Command{
		Use:   "deploy PROJECT VERSION --to ENV",
		Short: "Deploy a release to an environment",
		Long: `Deploy a release to an environment. The deployment is refused before anything
runs when the lifecycle does not allow the environment yet (an earlier phase has
no successful deployment of the release) or a required template value is
missing for the environment.

With --wait, the task's log is streamed and the command exits non-zero if the
deployment fails or is cancelled.`,
		Example: `  ferry deploy Shop 1.0.0 --to Development --wait`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if req.Environment == "" {
				return fmt.Errorf("say where to deploy with --to ENV")
			}
			req.Project, req.Version = args[0], args[1]
			c, err := a.client()
			if err != nil {
				return err
			}
			var d domain.Deployment
			if err := c.Do(cmd.Context(), "POST", a.sp("deployments"), req, &d); err != nil {
				return err
			}
			if !wait {
				return a.render(d, func(w io.Writer) {
					fmt.Fprintf(w, "Queued deployment of %s %s to %s as task %d (follow it: ferry task log %d --follow)\n", d.Project, d.Version, d.Environment, d.TaskID, d.TaskID)
				})
			}
			if a.output != "json" {
				fmt.Fprintf(a.stdout, "Deploying %s %s to %s (task %d)\n", d.Project, d.Version, d.Environment, d.TaskID)
			}
			return a.follow(cmd.Context(), c, d.TaskID)
		},
	}
	cmd.Flags().StringVar(&req.Environment, "to", "", "environment to deploy to (required)")
	cmd.Flags().StringVar(&req.Tenant, "tenant", "", "tenant to deploy for")
	cmd.Flags().BoolVar(&wait, "wait", false, "stream the log and wait for the result")
	return cmd
}

// follow streams a task's log until the task ends, then reports its result:
// an error (non-zero exit) unless it succeeded.
func (a *app) follow(ctx context.Context, c *client.Client, id int64) error {
	var after int64
	var t domain.Task
	var all []domain.LogLine
	delay := 100 * time.Millisecond
	for {
		var page taskLog
		path := fmt.Sprintf("%s?after=%d", a.sp("tasks", strconv.FormatInt(id, 10), "log"), after)
		if err := c.Do(ctx, "GET", path, nil, &page); err != nil {
			return err
		}
		t = page.Task
		for _, l := range page.Lines {
			after = l.Seq
			if a.output == "json" {
				all = append(all, l)
				continue
			}
			printLogLine(a.stdout, a.stderr, l)
		}
		if t.State.Done() && len(page.Lines) == 0 {
			break
		}
		if len(page.Lines) == 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(delay):
			}
			delay = min(delay*2, time.Second)
		} else {
			delay = 100 * time.Millisecond
		}
	}
	if a.output == "json" {
		a.render(taskLog{Task: t, Lines: all}, nil)
	} else {
		fmt.Fprintf(a.stdout, "Task %d: %s\n", t.ID, t.State)
	}
	if t.State != domain.TaskSuccess {
		msg := fmt.Sprintf("task %d %s", t.ID, t.State)
		if t.Error != "" {
			msg += ": " + t.Error
		}
		return exitError{code: 1, msg: msg}
	}
	return nil
}

func printLogLine(stdout, stderr io.Writer, l domain.LogLine) {
	w := stdout
	if l.Level == "error" {
		w = stderr
	}
	fmt.Fprintf(w, "%s  %s\n", l.At.Local().Format("15:04:05"), l.Text)
}

func (a *app) taskCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "task", Short: "List tasks, read their logs, cancel them"}
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List the space's tasks, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var list []domain.Task
			if err := c.Do(cmd.Context(), "GET", fmt.Sprintf("%s?limit=%d", a.sp("tasks"), limit), nil, &list); err != nil {
				return err
			}
			return a.render(list, func(w io.Writer) {
				var rows [][]string
				for _, t := range list {
					rows = append(rows, []string{strconv.FormatInt(t.ID, 10), string(t.State), t.Description, t.QueuedAt.Local().Format("2006-01-02 15:04:05"), taskDuration(t)})
				}
				table(w, "ID\tSTATE\tDESCRIPTION\tQUEUED\tDURATION", rows)
			})
		},
	}
	list.Flags().IntVar(&limit, "limit", 50, "at most this many tasks")
	var followFlag bool
	logCmd := &cobra.Command{
		Use:   "log ID",
		Short: "Print a task's log (--follow to stream it until the task ends)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("task ID %q is not a number", args[0])
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if followFlag {
				return a.follow(cmd.Context(), c, id)
			}
			var page taskLog
			if err := c.Do(cmd.Context(), "GET", a.sp("tasks", args[0], "log"), nil, &page); err != nil {
				return err
			}
			return a.render(page, func(w io.Writer) {
				for _, l := range page.Lines {
					printLogLine(w, w, l)
				}
				fmt.Fprintf(w, "Task %d: %s\n", page.Task.ID, page.Task.State)
			})
		},
	}
	logCmd.Flags().BoolVarP(&followFlag, "follow", "f", false, "stream the log until the task ends")
	cancel := &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a queued or running task",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var t domain.Task
			if err := c.Do(cmd.Context(), "POST", a.sp("tasks", args[0], "cancel"), map[string]string{}, &t); err != nil {
				return err
			}
			return a.render(t, func(w io.Writer) { fmt.Fprintf(w, "Task %d: cancel requested (%s)\n", t.ID, t.State) })
		},
	}
	cmd.AddCommand(list, logCmd, cancel)
	return cmd
}

func taskDuration(t domain.Task) string {
	if t.StartedAt == nil {
		return "-"
	}
	end := time.Now()
	if t.FinishedAt != nil {
		end = *t.FinishedAt
	}
	return end.Sub(*t.StartedAt).Round(100 * time.Millisecond).String()
}
