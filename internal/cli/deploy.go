package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/api"
)

func (a *app) deployCommand() *cobra.Command {
	var req api.DeployRequest
	var tenants, tags []string
	var wait bool
	cmd := do(a, &cobra.Command{
		Use:   "deploy PROJECT VERSION --to ENV",
		Short: "Deploy a release to an environment",
		Long: `Deploy a release to an environment. The deployment is refused before anything
runs when the lifecycle does not allow the environment yet (an earlier phase has
no successful deployment of the release) or a required template value is
missing for the environment.

With --wait, the task's log is streamed and the command exits non-zero if the
deployment fails or is cancelled.

Steps with roles run on the deployment targets of the environment with those
roles; --target limits the deployment to some targets, --exclude-target leaves
some out (either, repeatable).

Tenants: --tenant T (repeatable) and --tenant-tag SET/TAG deploy once per
tenant, one task each. Every check — unknown tenants, tenants not connected
to the project in that environment, missing tenant values, the lifecycle for
each tenant — runs before anything is queued, and a refusal names all that
is missing at once.`,
		Example: `  ferry deploy Shop 1.0.0 --to Development --wait
  ferry deploy Shop 1.0.0 --to Production --target web-1 --wait
  ferry deploy Shop 1.0.0 --to Production --tenant acme --tenant globex --wait
  ferry deploy Shop 1.0.0 --to Production --tenant-tag Region/Europe -o json`,
		Args: cobra.ExactArgs(2),
	}, func(x call) error {
		if req.Environment == "" {
			return usagef("say where to deploy with --to ENV")
		}
		req.Project, req.Version = x.args[0], x.args[1]
		if len(tenants) > 1 || len(tags) > 0 {
			return a.deployTenants(x, api.DeployTenantsRequest{Project: req.Project, Version: req.Version, Environment: req.Environment,
				Tenants: tenants, TenantTags: tags, Targets: req.Targets, ExcludeTargets: req.ExcludeTargets}, wait)
		}
		if len(tenants) == 1 {
			req.Tenant = tenants[0]
		}
		d, err := x.Deploy(x, x.space, req)
		if err != nil {
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
		return a.follow(x, d.TaskID)
	})
	cmd.Flags().StringVar(&req.Environment, "to", "", "environment to deploy to (required)")
	cmd.Flags().StringArrayVar(&tenants, "tenant", nil, "deploy for this tenant (repeatable: one task per tenant)")
	cmd.Flags().StringArrayVar(&tags, "tenant-tag", nil, "deploy for every tenant with this tag SET/TAG connected to the project there (repeatable)")
	cmd.Flags().BoolVar(&wait, "wait", false, "stream the log and wait for the result")
	cmd.Flags().StringArrayVar(&req.Targets, "target", nil, "deploy only to this target (repeatable)")
	cmd.Flags().StringArrayVar(&req.ExcludeTargets, "exclude-target", nil, "leave this target out (repeatable)")
	return cmd
}

// deployTenants queues one deployment per tenant and, with wait, follows
// each in turn: it fails if any of them did not succeed. With -o json and
// wait it prints the deployments once, as they ended.
func (a *app) deployTenants(x call, req api.DeployTenantsRequest, wait bool) error {
	list, err := x.DeployTenants(x, x.space, req)
	if err != nil {
		return err
	}
	if !wait {
		return a.render(list, func(w io.Writer) {
			for _, d := range list {
				fmt.Fprintf(w, "Queued deployment of %s %s to %s for %s as task %d\n", d.Project, d.Version, d.Environment, d.Tenant, d.TaskID)
			}
		})
	}
	var failures []string
	for i, d := range list {
		if a.output != "json" {
			fmt.Fprintf(a.stdout, "Deploying %s %s to %s for %s (task %d)\n", d.Project, d.Version, d.Environment, d.Tenant, d.TaskID)
		}
		t, err := x.FollowTask(x, x.space, d.TaskID, func(l api.LogLine) {
			if a.output != "json" {
				printLogLine(a.stdout, a.stderr, l)
			}
		})
		if err != nil {
			return err
		}
		list[i].State = t.State
		if a.output != "json" {
			fmt.Fprintf(a.stdout, "Task %d (%s): %s\n", t.ID, d.Tenant, t.State)
		}
		if t.State != api.TaskSuccess {
			failures = append(failures, fmt.Sprintf("%s (task %d %s)", d.Tenant, t.ID, t.State))
		}
	}
	if a.output == "json" { // the deployments as they ended
		if err := a.render(list, nil); err != nil {
			return err
		}
	}
	if len(failures) > 0 {
		return failed("", "%d of %d tenant deployments did not succeed: %s", len(failures), len(list), strings.Join(failures, ", "))
	}
	return nil
}

// follow streams a task's log until the task ends, then reports its result:
// an error (exit code 1) unless it succeeded.
func (a *app) follow(x call, id int64) error {
	var all []api.LogLine
	t, err := x.FollowTask(x, x.space, id, func(l api.LogLine) {
		if a.output == "json" {
			all = append(all, l)
			return
		}
		printLogLine(a.stdout, a.stderr, l)
	})
	if err != nil {
		return err
	}
	if a.output == "json" {
		a.render(api.TaskLog{Task: t, Lines: all}, nil)
	} else {
		fmt.Fprintf(a.stdout, "Task %d: %s\n", t.ID, t.State)
	}
	if t.State != api.TaskSuccess {
		msg := fmt.Sprintf("task %d %s", t.ID, t.State)
		if t.Error != "" {
			msg += ": " + t.Error
		}
		return failed("", "%s", msg)
	}
	return nil
}

// logSoFar reads a task and every line of its log written so far: an
// answer holds at most a page of lines, so it asks for more until none
// come.
func logSoFar(x call, id int64) (api.TaskLog, error) {
	var all api.TaskLog
	var after int64
	for {
		page, err := x.TaskLog(x, x.space, id, after)
		if err != nil || len(page.Lines) == 0 {
			all.Task = page.Task
			return all, err
		}
		all.Lines = append(all.Lines, page.Lines...)
		after = page.Lines[len(page.Lines)-1].Seq
	}
}

func printLogLine(stdout, stderr io.Writer, l api.LogLine) {
	w := stdout
	if l.Level == "error" {
		w = stderr
	}
	fmt.Fprintf(w, "%s  %s\n", l.At.Local().Format("15:04:05"), l.Text)
}

// taskID reads a task ID argument.
func taskID(arg string) (int64, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("task ID %q is not a positive whole number (see 'ferry task list')", arg)
	}
	return id, nil
}

func (a *app) taskCommand() *cobra.Command {
	taskShow := show(a, &cobra.Command{Use: "show ID", Short: "Show a task: its state, and what it waits for when it waits", Example: `  ferry task show 42
  ferry task show 42 -o json`, Args: cobra.ExactArgs(1)},
		func(x call) (api.Task, error) {
			id, err := taskID(x.args[0])
			if err != nil {
				return api.Task{}, err
			}
			return x.GetTask(x, x.space, id)
		}, printTask)
	cancel := show(a, &cobra.Command{Use: "cancel ID", Short: "Cancel a queued, running or waiting task",
		Long: `Cancel a queued, running or waiting task: a queued one ends at once, a running
one when the runner sees the request (its running step is stopped). A task that
has ended is refused ("already ended Success at …; nothing to cancel"). A task
whose last step finishes before the cancel takes effect ends as its steps did,
and 'ferry task show' says the cancel came too late.`,
		Example: `  ferry task cancel 42`, Args: cobra.ExactArgs(1)},
		func(x call) (api.Task, error) {
			id, err := taskID(x.args[0])
			if err != nil {
				return api.Task{}, err
			}
			return x.CancelTask(x, x.space, id)
		},
		func(w io.Writer, t api.Task) {
			if t.Note != "" {
				fmt.Fprintf(w, "Task %d: %s.\n", t.ID, t.Note)
				return
			}
			fmt.Fprintf(w, "Task %d: cancel requested (%s)\n", t.ID, t.State)
		})
	return group("task", "List tasks, read their logs, approve or abort what waits, cancel them", a.taskListCommand(), taskShow, a.taskLogCommand(), cancel,
		a.decideCommand(true), a.decideCommand(false))
}

// taskListCommand is `task list [--waiting]`.
func (a *app) taskListCommand() *cobra.Command {
	var limit int
	var waiting bool
	list := show(a, &cobra.Command{
		Use:   "list [--waiting]",
		Short: "List the space's tasks, newest first (--waiting: those waiting for a manual intervention)",
		Long: `List the space's tasks, newest first. With --waiting, only the deployments
that wait at a manual-intervention step, with what each waits for and who may
decide: approve one with 'ferry task approve ID', abort it with
'ferry task abort ID'.`,
		Example: `  ferry task list
  ferry task list --limit 10 -o json
  ferry task list --waiting`,
		Args: cobra.NoArgs,
	}, func(x call) ([]api.Task, error) {
		if waiting {
			return x.ListWaiting(x, x.space, limit)
		}
		return x.ListTasks(x, x.space, limit)
	}, func(w io.Writer, list []api.Task) {
		if waiting {
			printWaiting(w, list)
			return
		}
		rows("ID\tSTATE\tDESCRIPTION\tQUEUED\tDURATION", func(t api.Task) []string {
			return []string{strconv.FormatInt(t.ID, 10), string(t.State), t.Description, t.QueuedAt.Local().Format("2006-01-02 15:04:05"), taskDuration(t)}
		})(w, list)
	})
	list.Flags().IntVar(&limit, "limit", 50, "at most this many tasks")
	list.Flags().BoolVar(&waiting, "waiting", false, "only tasks waiting for a manual intervention")
	return list
}

// taskLogCommand is `task log ID [--follow]`.
func (a *app) taskLogCommand() *cobra.Command {
	var followFlag bool
	logCmd := do(a, &cobra.Command{Use: "log ID", Short: "Print a task's log (--follow to stream it until the task ends)", Example: `  ferry task log 42
  ferry task log 42 --follow`, Args: cobra.ExactArgs(1)},
		func(x call) error {
			id, err := taskID(x.args[0])
			if err != nil {
				return err
			}
			if followFlag {
				return a.follow(x, id)
			}
			page, err := logSoFar(x, id)
			if err != nil {
				return err
			}
			return a.render(page, func(w io.Writer) {
				for _, l := range page.Lines {
					printLogLine(w, w, l)
				}
				fmt.Fprintf(w, "Task %d: %s\n", page.Task.ID, page.Task.State)
			})
		})
	logCmd.Flags().BoolVarP(&followFlag, "follow", "f", false, "stream the log until the task ends")
	return logCmd
}

// decideCommand is `task approve` (approve) or `task abort`.
func (a *app) decideCommand(approve bool) *cobra.Command {
	var note string
	use, short, long := "approve ID [--note TEXT]", "Approve the manual intervention a deployment waits for: it goes on",
		`Approve the manual-intervention step a deployment waits at (see 'ferry task list
--waiting'): the deployment goes on with the next step. A member of one of the
step's responsible teams may approve, and so may a space admin; when the step
asks for four eyes (preventSelfApproval), not the person who started the
deployment. Who approved, when, and the note go into the task log and the
audit log.`
	if !approve {
		use, short, long = "abort ID [--note TEXT]", "Abort the manual intervention a deployment waits for: it fails there",
			`Abort the manual-intervention step a deployment waits at: the deployment
fails there, and no later step runs. The same people may abort as may approve,
and the person who started the deployment may always abort it. Who aborted,
when, and the note go into the task log and the audit log.`
	}
	cmd := show(a, &cobra.Command{Use: use, Short: short, Long: long, Args: cobra.ExactArgs(1),
		Example: "  ferry task approve 42 --note \"change CHG-42 checked\"\n  ferry task abort 42 --note \"outside the change window\""},
		func(x call) (api.Task, error) {
			id, err := taskID(x.args[0])
			if err != nil {
				return api.Task{}, err
			}
			if approve {
				return x.ApproveTask(x, x.space, id, note)
			}
			return x.AbortTask(x, x.space, id, note)
		}, func(w io.Writer, t api.Task) {
			verb := "Approved"
			if !approve {
				verb = "Aborted"
			}
			fmt.Fprintf(w, "%s: task %d %q is %s (follow it: ferry task log %d --follow)\n", verb, t.ID, t.Description, t.State, t.ID)
		})
	cmd.Flags().StringVar(&note, "note", "", "why: goes into the task log and the audit log")
	return cmd
}

func printTask(w io.Writer, t api.Task) {
	fmt.Fprintf(w, "Task %d  %s\nState    %s\n", t.ID, t.Description, t.State)
	if t.Error != "" {
		fmt.Fprintf(w, "Error    %s\n", t.Error)
	}
	fmt.Fprintf(w, "Queued   %s\n", t.QueuedAt.Local().Format("2006-01-02 15:04:05"))
	if t.FinishedAt != nil {
		fmt.Fprintf(w, "Ended    %s\n", t.FinishedAt.Local().Format("2006-01-02 15:04:05"))
	}
	switch {
	case t.Note != "":
		fmt.Fprintf(w, "Note     %s\n", t.Note)
	case t.CancelRequestedAt != nil && !t.State.Done():
		fmt.Fprintf(w, "Cancel   requested at %s; it takes effect when the runner sees it\n", t.CancelRequestedAt.Local().Format("2006-01-02 15:04:05"))
	}
	if iv := t.Intervention; iv != nil {
		printIntervention(w, t, *iv)
	}
}

func printWaiting(w io.Writer, list []api.Task) {
	if len(list) == 0 {
		fmt.Fprintln(w, "No task waits for a decision.")
		return
	}
	for i, t := range list {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "Task %d  %s  (%s)\n", t.ID, t.Description, t.State)
		if t.Intervention != nil {
			printIntervention(w, t, *t.Intervention)
		}
	}
}

func printIntervention(w io.Writer, t api.Task, iv api.Intervention) {
	who := fmt.Sprintf("anyone who may deploy project %q to this environment, or a space admin", t.Project)
	if len(iv.ResponsibleTeams) > 0 {
		who = "a member of " + strings.Join(iv.ResponsibleTeams, " or ") + ", or a space admin"
	}
	fmt.Fprintf(w, "Waits at step %q since %s, started by %s\n", iv.Step, iv.Since.Local().Format("2006-01-02 15:04:05"), iv.Deployer)
	fmt.Fprintf(w, "  Instructions: %s\n  Who decides:  %s\n", iv.Instructions, who)
	if iv.PreventSelfApproval {
		fmt.Fprintf(w, "  Four eyes:    %s may not approve\n", iv.Deployer)
	}
	if iv.TimeoutAt != nil {
		fmt.Fprintf(w, "  Timeout:      %s\n", timeoutText(*iv.TimeoutAt, time.Now()))
	}
	fmt.Fprintf(w, "  Decide:       ferry task approve %d | ferry task abort %d [--note TEXT]\n", t.ID, t.ID)
}

// timeoutText says when a wait's timeout aborts it, in the tense that is
// true at now: "aborts at 2026-11-30 08:00:00 (in 3h12m) unless decided",
// or, once passed, that it timed out (the scheduler aborts it at its next
// check, and it then no longer waits).
func timeoutText(at, now time.Time) string {
	when := at.Local().Format("2006-01-02 15:04:05")
	if !at.After(now) {
		return fmt.Sprintf("timed out at %s without a decision; it is being aborted", when)
	}
	return fmt.Sprintf("aborts at %s (in %s) unless decided", when, roughly(at.Sub(now)))
}

// roughly is a duration as people read it, to the minute: "3h12m", "2d4h",
// "45m", "under a minute".
func roughly(d time.Duration) string {
	d = d.Round(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d/time.Hour)%24, int(d/time.Minute)%60
	switch {
	case d < time.Minute:
		return "under a minute"
	case days > 0:
		return fmt.Sprintf("%dd%dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh%02dm", hours, mins)
	}
	return fmt.Sprintf("%dm", mins)
}

func taskDuration(t api.Task) string {
	if t.StartedAt == nil {
		return "-"
	}
	end := time.Now()
	if t.FinishedAt != nil {
		end = *t.FinishedAt
	}
	return end.Sub(*t.StartedAt).Round(100 * time.Millisecond).String()
}
