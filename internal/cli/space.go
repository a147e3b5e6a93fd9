package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/client"
	"github.com/ferrydeploy/ferry/internal/domain"
)

func (a *app) spaceCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "space", Short: "Manage spaces (isolated tenants of a server)"}
	cmd.AddCommand(&cobra.Command{
		Use:     "create NAME",
		Short:   "Create a space (administrators only)",
		Example: `  ferry space create "DevTest Space"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var sp domain.Space
			if err := c.Do(cmd.Context(), "POST", client.Path("spaces"), map[string]string{"name": args[0]}, &sp); err != nil {
				return err
			}
			return a.render(sp, func(w io.Writer) { fmt.Fprintf(w, "Created space %q\n", sp.Name) })
		},
	}, &cobra.Command{
		Use:   "list",
		Short: "List spaces",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var list []domain.Space
			if err := c.Do(cmd.Context(), "GET", client.Path("spaces"), nil, &list); err != nil {
				return err
			}
			return a.render(list, func(w io.Writer) {
				var rows [][]string
				for _, s := range list {
					rows = append(rows, []string{s.Name, dash(s.Fingerprint), s.CreatedAt.Format("2006-01-02 15:04")})
				}
				table(w, "NAME\tFINGERPRINT (SHA-256)\tCREATED", rows)
			})
		},
	})
	return cmd
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
