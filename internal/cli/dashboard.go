package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/dashboard"
)

func (a *app) dashboardCommand() *cobra.Command {
	var q api.DashboardQuery
	var byTenant bool
	cmd := do(a, &cobra.Command{
		Use:   "dashboard [PROJECT]",
		Short: "Projects × environments — local and other spaces' — with the latest release and state",
		Long: `Show, for each project, the latest release and its state in every environment
of its lifecycle, in lifecycle order. Other spaces' environments
("Prod Space: Production") come from the deployment receipts they sent back.

Projects come by name, a page at a time: --limit and --offset show one page;
without them every page is fetched and shown.

--by-tenant shows one project's tenants × environments: this space's tenants
connected to it, then other spaces' tenants as their receipts name them
("acme (Prod Space)"), then untenanted deployments.`,
		Example: `  ferry dashboard
  ferry dashboard Shop
  ferry dashboard --offset 100 --limit 100 -o json
  ferry dashboard Shop --by-tenant`, Args: cobra.MaximumNArgs(1),
	}, func(x call) error {
		if byTenant {
			if len(x.args) == 0 {
				return usagef("--by-tenant shows one project: ferry dashboard PROJECT --by-tenant")
			}
			d, err := x.TenantDashboard(x, x.space, x.args[0])
			if err != nil {
				return err
			}
			return a.render(d, func(w io.Writer) { printTenantDashboard(w, d) })
		}
		if len(x.args) == 1 {
			q.Project = x.args[0]
		}
		if x.cmd.Flags().Changed("limit") || x.cmd.Flags().Changed("offset") {
			d, err := x.Dashboard(x, x.space, q)
			if err != nil {
				return err
			}
			return a.render(d, func(w io.Writer) {
				printDashboard(w, d)
				if len(d.Projects) < d.Total {
					fmt.Fprintf(w, "\nProjects %d–%d of %d.\n", d.Offset+1, d.Offset+len(d.Projects), d.Total)
				}
			})
		}
		all, err := wholeDashboard(x, q)
		if err != nil {
			return err
		}
		return a.render(all, func(w io.Writer) { printDashboard(w, all) })
	})
	cmd.Flags().IntVar(&q.Limit, "limit", 0, fmt.Sprintf("show one page of at most this many projects (0: %d, at most %d)", dashboard.DefaultLimit, dashboard.MaxLimit))
	cmd.Flags().IntVar(&q.Offset, "offset", 0, "show one page, starting after this many projects")
	cmd.Flags().BoolVar(&byTenant, "by-tenant", false, "one project's tenants × environments")
	return cmd
}

// wholeDashboard fetches every page of the dashboard.
func wholeDashboard(x call, q api.DashboardQuery) (api.Dashboard, error) {
	q.Offset, q.Limit = 0, dashboard.MaxLimit
	all, err := x.Dashboard(x, x.space, q)
	for err == nil && len(all.Projects) < all.Total {
		q.Offset = len(all.Projects)
		var d api.Dashboard
		if d, err = x.Dashboard(x, x.space, q); err != nil || len(d.Projects) == 0 { // projects deleted meanwhile
			break
		}
		all.Projects = append(all.Projects, d.Projects...)
		for _, e := range d.Environments {
			if !slices.Contains(all.Environments, e) {
				all.Environments = append(all.Environments, e)
			}
		}
	}
	all.Limit = len(all.Projects)
	return all, err
}

func printDashboard(w io.Writer, d api.Dashboard) {
	if len(d.Projects) == 0 {
		fmt.Fprintf(w, "Space %q has no projects yet.\n", d.Space)
		return
	}
	for i, row := range d.Projects {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s  (lifecycle %s)\n", row.Project, row.Lifecycle)
		var rows [][]string
		for _, c := range row.Cells {
			if c.Version == "" {
				rows = append(rows, []string{"  " + c.Environment, "-", "", "", ""})
				continue
			}
			rows = append(rows, []string{"  " + c.Environment, c.Version, stateMark(c.State), age(c.AgeSeconds), c.DeployedBy})
		}
		table(w, "  ENVIRONMENT\tRELEASE\tSTATE\tAGE\tBY", rows)
	}
}

// stateMark pairs a state with a symbol so it reads without colour.
func stateMark(s api.TaskState) string {
	switch s {
	case api.TaskSuccess:
		return "✓ " + string(s)
	case api.TaskFailed:
		return "✗ " + string(s)
	case api.TaskCancelled:
		return "⊘ " + string(s)
	case api.TaskExecuting, api.TaskQueued:
		return "… " + string(s)
	}
	return string(s)
}

func age(seconds int64) string {
	d := time.Duration(seconds) * time.Second
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

func (a *app) lifecycleShowCommand() *cobra.Command {
	return show(a, &cobra.Command{Use: "show NAME", Short: "Draw a lifecycle's pipeline across spaces", Example: `  ferry lifecycle show Main`, Args: cobra.ExactArgs(1)},
		func(x call) (api.Lifecycle, error) {
			list, err := x.ListLifecycles(x, x.space)
			for _, l := range list {
				if l.Name == x.args[0] {
					return l, nil
				}
			}
			if err == nil {
				err = exitError{kind: api.KindNotFound, msg: fmt.Sprintf("lifecycle %q not found in space %q", x.args[0], a.space)}
			}
			return api.Lifecycle{}, err
		},
		func(w io.Writer, l api.Lifecycle) { drawLifecycle(w, a.space, l) })
}

// drawLifecycle prints phases top to bottom, grouping each phase's entries
// by the space that owns them.
func drawLifecycle(w io.Writer, space string, l api.Lifecycle) {
	fmt.Fprintf(w, "Lifecycle %s (space %s)\n", l.Name, space)
	for i, ph := range l.Phases {
		if i > 0 {
			fmt.Fprintln(w, "   │")
			fmt.Fprintln(w, "   ▼")
		}
		rule := "all must succeed"
		switch {
		case ph.Optional:
			rule = "optional: may be skipped"
		case len(ph.Environments) == 1:
			rule = "must succeed"
		case ph.MinimumEnvironmentsBeforePromotion > 0 && ph.MinimumEnvironmentsBeforePromotion < len(ph.Environments):
			rule = fmt.Sprintf("%d of %d must succeed", ph.MinimumEnvironmentsBeforePromotion, len(ph.Environments))
		}
		fmt.Fprintf(w, "%d. %s  (%s)\n", i+1, ph.Name, rule)
		for _, e := range ph.Environments {
			where := "this space"
			if s, env, ok := strings.Cut(e, ": "); ok {
				where, e = "space "+s, env
			}
			fmt.Fprintf(w, "     ├─ %-24s [%s]\n", e, where)
		}
	}
}

func printTenantDashboard(w io.Writer, d api.TenantDashboard) {
	if len(d.Tenants) == 0 {
		fmt.Fprintf(w, "Project %q has no tenants and no deployments yet (ferry tenant connect TENANT %q --env ENV).\n", d.Project, d.Project)
		return
	}
	fmt.Fprintf(w, "%s by tenant\n", d.Project)
	header := "TENANT"
	for _, e := range d.Environments {
		header += "\t" + e
	}
	var cells [][]string
	for _, row := range d.Tenants {
		name := row.Tenant
		switch {
		case name == "":
			name = "(untenanted)"
		case row.Space != "":
			name += " (" + row.Space + ")"
		}
		line := []string{name}
		for _, c := range row.Cells {
			if c.Version == "" {
				line = append(line, "-")
				continue
			}
			line = append(line, c.Version+" "+stateMark(c.State))
		}
		cells = append(cells, line)
	}
	table(w, header, cells)
}
