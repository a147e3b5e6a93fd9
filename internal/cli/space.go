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
	}, a.spaceCertCommand(), a.spaceKeyCommand())
	return cmd
}

func (a *app) spaceCertCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "cert NAME [--out FILE]",
		Short: "Write a space's certificate (PEM) to give to another space",
		Long: `Write the space's X.509 certificate in PEM. Give the file to the owners of the
other space (it holds no secret), who add it with 'ferry remote-space add'.
Compare the fingerprint printed here with the one they see, over a channel you
trust (phone, in person), the way you compare SSH host keys.`,
		Example: `  ferry space cert "DevTest Space" --out devtest.pem
  openssl x509 -in devtest.pem -noout -fingerprint -sha256`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var pemBytes []byte
			if err := c.Do(cmd.Context(), "GET", client.SpacePath(args[0], "certificate"), nil, &pemBytes); err != nil {
				return err
			}
			var sp domain.Space
			if err := c.Do(cmd.Context(), "GET", client.SpacePath(args[0]), nil, &sp); err != nil {
				return err
			}
			if a.output == "json" {
				if out != "" {
					if err := a.writeOutput(out, pemBytes); err != nil {
						return err
					}
				}
				return a.render(map[string]string{"space": sp.Name, "fingerprint": sp.Fingerprint, "certificate": string(pemBytes)}, nil)
			}
			if err := a.writeOutput(out, pemBytes); err != nil {
				return err
			}
			if out != "" && out != "-" {
				fmt.Fprintf(a.stdout, "Wrote the certificate of space %q to %s\nSHA-256 fingerprint: %s\n", sp.Name, out, sp.Fingerprint)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write (default: standard output)")
	return cmd
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
