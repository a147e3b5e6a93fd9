package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/release"
)

func (a *app) releaseCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "release", Short: "Create and inspect releases"}
	var req release.CreateRequest
	create := &cobra.Command{
		Use:   "create PROJECT --version V",
		Short: "Create a release: freeze the project's process and variables",
		Long: `Create a release of a project. The release freezes the deployment process,
the variables and the templates as they are now: later changes to the project
do not change it, and every deployment of it — including redeployments — uses
exactly this snapshot.`,
		Example: `  ferry release create Shop --version 1.0.0 --notes "First release"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var r domain.Release
			if err := c.Do(cmd.Context(), "POST", a.sp("projects", args[0], "releases"), req, &r); err != nil {
				return err
			}
			return a.render(r, func(w io.Writer) {
				fmt.Fprintf(w, "Created release %s of %q (%d steps, %d variables frozen)\n", r.Version, r.Project, len(r.Snapshot.Process), len(r.Snapshot.Variables))
			})
		},
	}
	create.Flags().StringVar(&req.Version, "version", "", "release version (required)")
	create.Flags().StringVar(&req.Notes, "notes", "", "release notes")
	create.Flags().StringVar(&req.Channel, "channel", "", "channel")

	list := &cobra.Command{
		Use:   "list PROJECT",
		Short: "List a project's releases, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var list []domain.Release
			if err := c.Do(cmd.Context(), "GET", a.sp("projects", args[0], "releases"), nil, &list); err != nil {
				return err
			}
			return a.render(list, func(w io.Writer) {
				var rows [][]string
				for _, r := range list {
					rows = append(rows, []string{r.Version, r.CreatedAt.Local().Format("2006-01-02 15:04"), r.CreatedBy, oneLine(r.Notes)})
				}
				table(w, "VERSION\tCREATED\tBY\tNOTES", rows)
			})
		},
	}
	show := &cobra.Command{
		Use:   "show PROJECT VERSION",
		Short: "Show a release and its frozen process and variables (secrets never shown)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var r domain.Release
			if err := c.Do(cmd.Context(), "GET", a.sp("projects", args[0], "releases", args[1]), nil, &r); err != nil {
				return err
			}
			return a.render(r, func(w io.Writer) { printRelease(w, r) })
		},
	}
	cmd.AddCommand(create, list, show)
	return cmd
}

func printRelease(w io.Writer, r domain.Release) {
	fmt.Fprintf(w, "Release %s of %s\n", r.Version, r.Project)
	fmt.Fprintf(w, "Created %s by %s\n", r.CreatedAt.Local().Format("2006-01-02 15:04:05"), r.CreatedBy)
	if r.Channel != "" {
		fmt.Fprintf(w, "Channel %s\n", r.Channel)
	}
	if r.Notes != "" {
		fmt.Fprintf(w, "Notes   %s\n", r.Notes)
	}
	fmt.Fprintf(w, "\nProcess (%d steps)\n", len(r.Snapshot.Process))
	for i, s := range r.Snapshot.Process {
		fmt.Fprintf(w, "  %d. %s [%s] runs in: %s\n", i+1, s.Name, s.Type, scopeText(s.Environments))
		for _, line := range strings.Split(strings.TrimRight(s.Script, "\n"), "\n") {
			fmt.Fprintf(w, "       | %s\n", line)
		}
	}
	fmt.Fprintf(w, "\nVariables (%d)\n", len(r.Snapshot.Variables))
	printVariables(w, r.Snapshot.Variables, r.Snapshot.Templates)
}
