package cli

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/catalog"
	"github.com/ferrydeploy/ferry/internal/domain"
)

func (a *app) envCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "env", Short: "Manage environments"}
	cmd.AddCommand(&cobra.Command{
		Use:     "create NAME",
		Short:   "Create an environment in the space",
		Example: `  ferry env create Development`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var e domain.Environment
			if err := c.Do(cmd.Context(), "POST", a.sp("environments"), map[string]string{"name": args[0]}, &e); err != nil {
				return err
			}
			return a.render(e, func(w io.Writer) { fmt.Fprintf(w, "Created environment %q in space %q\n", e.Name, a.space) })
		},
	}, &cobra.Command{
		Use:   "list",
		Short: "List the space's environments, local and remote",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var list []domain.Environment
			if err := c.Do(cmd.Context(), "GET", a.sp("environments"), nil, &list); err != nil {
				return err
			}
			return a.render(list, func(w io.Writer) {
				var rows [][]string
				for _, e := range list {
					kind := "local"
					if e.IsRemote() {
						kind = "remote (space " + e.RemoteSpace + ")"
					}
					rows = append(rows, []string{e.Name, kind})
				}
				table(w, "NAME\tKIND", rows)
			})
		},
	})
	return cmd
}

func (a *app) lifecycleCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "lifecycle", Short: "Show lifecycles (define them with 'ferry apply')"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the space's lifecycles and their phases",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var list []domain.Lifecycle
			if err := c.Do(cmd.Context(), "GET", a.sp("lifecycles"), nil, &list); err != nil {
				return err
			}
			return a.render(list, func(w io.Writer) {
				for _, l := range list {
					var phases []string
					for _, p := range l.Phases {
						phases = append(phases, fmt.Sprintf("%s [%s]", p.Name, strings.Join(p.Environments, ", ")))
					}
					fmt.Fprintf(w, "%s: %s\n", l.Name, strings.Join(phases, " → "))
				}
			})
		},
	}, a.lifecycleShowCommand())
	return cmd
}

func (a *app) projectCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "project", Short: "Show projects (define them with 'ferry apply')"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the space's projects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var list []domain.Project
			if err := c.Do(cmd.Context(), "GET", a.sp("projects"), nil, &list); err != nil {
				return err
			}
			return a.render(list, func(w io.Writer) {
				var rows [][]string
				for _, p := range list {
					rows = append(rows, []string{p.Name, p.Lifecycle, fmt.Sprint(len(p.Process)), fmt.Sprint(len(p.Variables))})
				}
				table(w, "NAME\tLIFECYCLE\tSTEPS\tVARIABLES", rows)
			})
		},
	})
	var add string
	deliverers := &cobra.Command{
		Use:   "deliverers PROJECT [--add SPACE]",
		Short: "Show (or add) the spaces allowed to deliver releases of a remote project",
		Long: `A remote project (one imported from a bundle) is bound to where it came
from: its origin space may always deliver its releases, and so may the space
that delivered its first release. A bundle of it signed by any other space is
refused, so a space trusted for releases cannot put its code into another
origin's project.

When a release really travels a new path — say QA Space now relays what
DevTest Space used to deliver directly — allow the new space with --add
(space admins; audited).`,
		Example: `  ferry project deliverers "DevTest Space: Shop"
  ferry project deliverers "DevTest Space: Shop" --add "QA Space"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var d bundle.Delivery
			path := a.sp("projects", args[0], "deliverers")
			if add != "" {
				err = c.Do(cmd.Context(), "POST", path, map[string]string{"space": add}, &d)
			} else {
				err = c.Do(cmd.Context(), "GET", path, nil, &d)
			}
			if err != nil {
				return err
			}
			return a.render(d, func(w io.Writer) {
				fmt.Fprintf(w, "%s comes from origin %q (fingerprint %s), which may always deliver it.\n", d.Project, d.Origin.Space, d.Origin.Fingerprint)
				if len(d.Deliverers) == 0 {
					fmt.Fprintln(w, "No other space may deliver it.")
					return
				}
				var rows [][]string
				for _, x := range d.Deliverers {
					rows = append(rows, []string{x.Space, x.Fingerprint, x.AddedAt.Local().Format("2006-01-02 15:04"), dash(x.AddedBy)})
				}
				table(w, "ALSO DELIVERED BY\tFINGERPRINT\tSINCE\tADDED BY", rows)
			})
		},
	}
	deliverers.Flags().StringVar(&add, "add", "", "allow this remote space to deliver the project too")
	cmd.AddCommand(deliverers)
	return cmd
}

func (a *app) applyCommand() *cobra.Command {
	var file string
	var opts catalog.ApplyOptions
	cmd := &cobra.Command{
		Use:   "apply -f FILE [--dry-run] [--prune]",
		Short: "Make the space match a YAML file (environments, lifecycles, projects)",
		Long: `Apply a declarative YAML file to the space. The whole file is checked first —
malformed YAML, unknown fields, unknown environments or lifecycles — and every
problem is reported with its line; nothing changes unless the whole file is
valid, and then everything changes in one transaction. Applying the same file
again changes nothing.

Apply removes nothing the file does not mention. In a project the file lists,
steps, templates and variable values the file does not list — such as values
set with 'ferry var set' — are kept where they are (and listed as kept);
--prune removes them. Environments, lifecycles and projects the file does not
list are never removed by apply.

--dry-run lists every change apply would make, removals first, and makes
none.

Sensitive variables exported by 'ferry export' appear as 'keep: true': apply
keeps the value the space already has. One this space never had is kept as
"not set": releases and deployments that need it are refused until it is set
with 'ferry var set ... --sensitive'. A plain value the file gives for a name
that has sensitive values (or is a sensitive template) is stored sensitive.`,
		Example: `  ferry apply -f space.yaml --dry-run
  ferry apply -f space.yaml
  ferry apply -f space.yaml --prune --dry-run     # what --prune would remove
  ferry export | ferry apply -f - --space Other`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return fmt.Errorf("give the file with -f FILE (or -f - for standard input)")
			}
			data, err := a.readInput(file)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var res catalog.ApplyResult
			q := url.Values{"dry-run": {strconv.FormatBool(opts.DryRun)}, "prune": {strconv.FormatBool(opts.Prune)}}
			if err := c.Do(cmd.Context(), "POST", a.sp("apply")+"?"+q.Encode(), data, &res); err != nil {
				return err
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(a.stderr, "warning:", w)
			}
			return a.render(res, func(w io.Writer) {
				done := map[string]string{catalog.ActionRemove: "removed", catalog.ActionCreate: "created", catalog.ActionUpdate: "updated"}
				for _, c := range res.Changes {
					if res.DryRun {
						fmt.Fprintln(w, "would", c)
					} else {
						fmt.Fprintln(w, done[c.Action]+strings.TrimPrefix(c.String(), c.Action))
					}
				}
				for _, c := range res.Kept {
					fmt.Fprintln(w, "kept"+strings.TrimPrefix(c.String(), c.Action))
				}
				if res.DryRun {
					fmt.Fprintf(w, "Dry run for space %q: %d to create, %d to update, %d unchanged; nothing was changed\n", a.space, len(res.Created), len(res.Updated), res.Unchanged)
					return
				}
				fmt.Fprintf(w, "Applied to space %q: %d created, %d updated, %d unchanged\n", a.space, len(res.Created), len(res.Updated), res.Unchanged)
			})
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "YAML file to apply (- for standard input)")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "list every change, removals first, and make none")
	cmd.Flags().BoolVar(&opts.Prune, "prune", false, "also remove the steps, templates and variable values of listed projects that the file does not list")
	return cmd
}

func (a *app) exportCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export [--out FILE]",
		Short: "Write the space's configuration as YAML that 'ferry apply' accepts",
		Long: `Export the space's environments, remote environments, lifecycles and projects
as YAML, for source control or to copy into another space. Sensitive values are
never exported: they appear as 'keep: true'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var data []byte
			if err := c.Do(cmd.Context(), "GET", a.sp("export"), nil, &data); err != nil {
				return err
			}
			if err := a.writeOutput(out, data); err != nil {
				return err
			}
			if out != "" && out != "-" {
				fmt.Fprintf(a.stderr, "Wrote %s\n", out)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write (default: standard output)")
	return cmd
}

func (a *app) auditCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read the audit log"}
	var all bool
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List who changed what, and when (newest first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			path := a.sp("audit")
			if all {
				path = "/api/audit"
			}
			var list []domain.AuditEvent
			if err := c.Do(cmd.Context(), "GET", fmt.Sprintf("%s?limit=%d", path, limit), nil, &list); err != nil {
				return err
			}
			return a.render(list, func(w io.Writer) {
				var rows [][]string
				for _, e := range list {
					rows = append(rows, []string{e.At.Local().Format("2006-01-02 15:04:05"), e.Actor, e.Action, e.Subject, detailText(e.Details)})
				}
				table(w, "WHEN\tWHO\tACTION\tSUBJECT\tDETAILS", rows)
			})
		},
	}
	list.Flags().BoolVar(&all, "all", false, "every space and server-wide events (administrators)")
	list.Flags().IntVar(&limit, "limit", 200, "at most this many events")
	cmd.AddCommand(list)
	return cmd
}

func detailText(d map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(d) {
		parts = append(parts, k+"="+d[k])
	}
	return strings.Join(parts, " ")
}
