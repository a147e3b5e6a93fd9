package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/api"
)

func (a *app) spaceCommand() *cobra.Command {
	create := show(a, &cobra.Command{Use: "create NAME", Short: "Create a space (administrators only)", Example: `  ferry space create "DevTest Space"`, Args: cobra.ExactArgs(1)},
		func(x call) (api.Space, error) { return x.CreateSpace(x, x.args[0]) },
		line("Created space %q", func(sp api.Space) []any { return []any{sp.Name} }))
	list := show(a, &cobra.Command{Use: "list", Short: "List spaces", Example: `  ferry space list
  ferry space list -o json`, Args: cobra.NoArgs},
		func(x call) ([]api.Space, error) { return x.ListSpaces(x) },
		rows("NAME\tFINGERPRINT (SHA-256)\tCREATED", func(s api.Space) []string {
			return []string{s.Name, dash(s.Fingerprint), s.CreatedAt.Format("2006-01-02 15:04")}
		}))
	return group("space", "Manage spaces (isolated tenants of a server)", create, list, a.spaceCertCommand(), a.spaceKeyCommand())
}

// spaceCert is what space cert -o json prints.
type spaceCert struct {
	Certificate string `json:"certificate"`
	Fingerprint string `json:"fingerprint"`
	Space       string `json:"space"`
	File        string `json:"file,omitempty"` // with --out: the file written, and its size
	Bytes       int    `json:"bytes,omitempty"`
}

func (a *app) spaceCertCommand() *cobra.Command {
	var out string
	cmd := do(a, &cobra.Command{
		Use:   "cert NAME [--out FILE]",
		Short: "Write a space's certificate (PEM) to give to another space",
		Long: `Write the space's X.509 certificate in PEM. Give the file to the owners of the
other space (it holds no secret), who add it with 'ferry remote-space add'.
Compare the fingerprint printed here with the one they see, over a channel you
trust (phone, in person), the way you compare SSH host keys.`,
		Example: `  ferry space cert "DevTest Space" --out devtest.pem
  openssl x509 -in devtest.pem -noout -fingerprint -sha256`,
		Args: cobra.ExactArgs(1),
	}, func(x call) error {
		pem, err := x.Certificate(x, x.args[0])
		if err != nil {
			return err
		}
		sp, err := x.GetSpace(x, x.args[0])
		if err != nil {
			return err
		}
		if a.output == "json" {
			said := spaceCert{Space: sp.Name, Fingerprint: sp.Fingerprint, Certificate: string(pem)}
			if out != "" && out != "-" {
				if err := a.writeOutput(out, pem); err != nil {
					return err
				}
				said.File, said.Bytes = out, len(pem)
			}
			return a.render(said, nil)
		}
		if err := a.writeOutput(out, pem); err != nil {
			return err
		}
		if out != "" && out != "-" {
			fmt.Fprintf(a.stdout, "Wrote the certificate of space %q to %s\nSHA-256 fingerprint: %s\n", sp.Name, out, sp.Fingerprint)
		}
		return nil
	})
	cmd.Flags().StringVar(&out, "out", "", "file to write (default: standard output)")
	return cmd
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
