package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

type receiptImport struct {
	From       string `json:"from"`
	Imported   int    `json:"imported"`
	Duplicates int    `json:"duplicates"`
}

func (a *app) receiptCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "receipt",
		Short: "Carry deployment receipts back to the spaces releases came from",
		Long: `Every deployment of a remote project leaves a receipt signed by this space.
Receipts travel back along the path a release came by, so the space that made
the release sees the whole pipeline on its dashboard. Across an air gap, carry
them as a file: 'receipt export' here, 'receipt import' there.`,
	}
	var to, out string
	var all bool
	var schemaVersion int
	export := &cobra.Command{
		Use:   "export --to SPACE --out FILE",
		Short: "Write the receipts a remote space has not been sent yet",
		Long: `Write one signed file with the receipts that remote space has not been sent
yet, for releases it made or passed on to this space (including receipts this
space received from spaces further along, with their original signatures).
--all writes every such receipt again; importing twice is harmless.

The file is written in the newest schema version that space is known to
read (--schema-version chooses by hand); receipts of a newer version than
that wait until it reads it.`,
		Example: `  ferry receipt export --to "DevTest Space" --out receipts.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == "" || out == "" {
				return fmt.Errorf("give the destination with --to SPACE and the file with --out FILE")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var data []byte
			if err := c.Do(cmd.Context(), "POST", a.sp("receipts", "export"), map[string]any{"to": to, "all": all, "schemaVersion": schemaVersion}, &data); err != nil {
				return err
			}
			if err := writePrivateFile(out, data); err != nil {
				return err
			}
			var env struct {
				SchemaVersion int `json:"schemaVersion"`
			}
			json.Unmarshal(data, &env)
			fmt.Fprintf(a.stdout, "Wrote receipts for %q to %s (schema version %d)\nImport them there with: ferry receipt import %s\n", to, out, env.SchemaVersion, out)
			return nil
		},
	}
	export.Flags().StringVar(&to, "to", "", "remote space the receipts go to")
	export.Flags().StringVar(&out, "out", "", "file to write")
	export.Flags().BoolVar(&all, "all", false, "include receipts already sent")
	export.Flags().IntVar(&schemaVersion, "schema-version", 0, "write this schema version (default: the newest that space is known to read)")
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Import a receipt file (verified first; receipts already held are skipped)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := a.readInput(args[0])
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var res receiptImport
			if err := c.Do(cmd.Context(), "POST", a.sp("receipts", "import"), data, &res); err != nil {
				return err
			}
			return a.render(res, func(w io.Writer) {
				fmt.Fprintf(w, "Imported %d receipt(s) from %q (%d already here)\n", res.Imported, res.From, res.Duplicates)
			})
		},
	}
	cmd.AddCommand(export, imp)
	return cmd
}
