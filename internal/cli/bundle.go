package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/api"
)

// writePrivateFile writes a file only its owner can read: bundles hold no
// plaintext secrets, but there is no reason to share them on a machine.
//
// The bytes go to a new file of a name no one could plant beforehand
// (created with O_EXCL, mode 0600), which then replaces path: a file or
// symlink already at path or at a guessable temporary name never receives
// them, and never lends them its looser permissions.
func writePrivateFile(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func (a *app) bundleCommand() *cobra.Command {
	inspect := show(a, &cobra.Command{Use: "inspect FILE", Short: "Show what a bundle holds, and whether this space would accept it (imports nothing)", Example: `  ferry bundle inspect shop-1.0.0.bundle --space "Prod Space"
  ferry bundle inspect shop-1.0.0.bundle -o json | jq .verified`, Args: cobra.ExactArgs(1)},
		a.inspect, printInspection)
	verify := do(a, &cobra.Command{
		Use:   "verify FILE",
		Short: "Verify a bundle's signature, trust, target and contents (imports nothing)",
		Long: `Verify a bundle as an import would, without importing: the digest matches the
contents, the signer is a remote space this space trusts for releases and has
not revoked, the signature verifies against this space's stored copy of its
certificate, the bundle is for this space, every secret decrypts with this
space's key, and the schema version is supported. Exits non-zero if not: with
the exit code of the problem's kind (7 untrusted, 3 invalid, ...).`,
		Example: `  ferry bundle verify shop-1.0.0.bundle --space "Prod Space" && ferry bundle import shop-1.0.0.bundle --space "Prod Space"`, Args: cobra.ExactArgs(1),
	}, func(x call) error {
		in, err := a.inspect(x)
		if err != nil {
			return err
		}
		if err := a.render(in, func(w io.Writer) {
			if in.Verified {
				fmt.Fprintf(w, "Verified: %s %s, signed by %q (fingerprint %s), for space %q, schema version %d, digest %s\n",
					in.Project, in.Release.Version, in.Signer.KnownAs, in.Signer.Fingerprint, in.Target.Space, in.SchemaVersion, in.Digest)
			}
		}); err != nil {
			return err
		}
		if !in.Verified {
			e := failed(in.ProblemKind, "%s", in.Problem).(exitError)
			e.rule = in.ProblemRule
			return e
		}
		return nil
	})
	var q api.BundleImportQuery
	imp := show(a, &cobra.Command{
		Use:   "import FILE | --pending DIGEST [--lifecycle L]",
		Short: "Import a release bundle as a release of a remote project",
		Long: `Import a release bundle. Everything is verified first (see 'ferry bundle
verify'); then, in one transaction, the remote project "<origin space>: <project>"
is created or updated and the release is stored with its frozen snapshot.
Importing the same bundle again changes nothing.

The project's lifecycle is chosen at its first import: automatically when the
space has one lifecycle, otherwise with --lifecycle. The import lists the
template values each environment still needs before it can be deployed to.

A bundle a connected space delivered is imported on arrival when its
lifecycle is clear; otherwise it waits, verified, as "pending" in 'ferry
bundle list'. Import it with --pending DIGEST (the digest or its start).`,
		Example: `  ferry bundle inspect shop-1.0.0.bundle
  ferry bundle import shop-1.0.0.bundle --lifecycle Production
  ferry bundle import --pending sha256:6bf7141a --lifecycle Production`,
		Args: cobra.MaximumNArgs(1),
	}, func(x call) (api.BundleImport, error) {
		var data []byte
		switch {
		case len(x.args) == 1 && q.Pending == "":
			var err error
			if data, err = a.readInput(x.args[0]); err != nil {
				return api.BundleImport{}, err
			}
		case len(x.args) == 0 && q.Pending != "":
		default:
			return api.BundleImport{}, usagef("give a bundle FILE, or --pending DIGEST for a bundle a connected space delivered")
		}
		return x.ImportBundle(x, x.space, data, q)
	}, printImport)
	imp.Flags().StringVar(&q.Lifecycle, "lifecycle", "", "lifecycle for the remote project (needed when the space has several)")
	imp.Flags().StringVar(&q.Pending, "pending", "", "import the pending bundle with this digest (or its start) instead of a file")
	list := show(a, &cobra.Command{Use: "list", Short: "List bundles this space imported, wrote or sent, with deliveries and pending imports", Example: `  ferry bundle list --space "Prod Space"
  ferry bundle list -o json`, Args: cobra.NoArgs},
		func(x call) ([]api.BundleStatus, error) { return x.ListBundles(x, x.space) }, printBundles)
	return group("bundle", "Inspect, verify and import release bundles", inspect, verify, imp, list)
}

func printBundles(w io.Writer, list []api.BundleStatus) {
	var notes []string
	rows("WHEN\tSTATE\tDIRECTION\tPROJECT\tVERSION\tDIGEST\tDELIVERY", func(b api.BundleStatus) []string {
		dir := "from " + b.SourceSpace
		if b.Direction == api.BundleOut {
			dir = "to " + b.TargetSpace
		}
		delivery := "-"
		if d := b.Delivery; d != nil {
			delivery = d.State
			if d.State != api.DeliveryDelivered && d.LastError != "" {
				notes = append(notes, fmt.Sprintf("%s %s to %s: %s", b.Project, b.Version, b.TargetSpace, deliveryText(*d)))
			}
		}
		if b.State == api.BundlePending {
			notes = append(notes, fmt.Sprintf("%s %s from %s waits for you: ferry bundle import --pending %s --lifecycle LIFECYCLE", b.Project, b.Version, b.SourceSpace, shortDigest(b.Digest)))
		}
		return []string{when(b.CreatedAt), b.State, dir, b.Project, b.Version, shortDigest(b.Digest), delivery}
	})(w, list)
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
}

func (a *app) inspect(x call) (api.BundleInspection, error) {
	data, err := a.readInput(x.args[0])
	if err != nil {
		return api.BundleInspection{}, err
	}
	return x.InspectBundle(x, x.space, data)
}

func printInspection(w io.Writer, in api.BundleInspection) {
	fmt.Fprintf(w, "Release bundle (schema version %d)\n", in.SchemaVersion)
	fmt.Fprintf(w, "  project   %s %s (from %q in space %q)\n", in.Project, in.Release.Version, in.Origin.Project, in.Origin.Space)
	known := "NOT KNOWN in this space"
	if in.Signer.KnownAs != "" {
		known = fmt.Sprintf("known here as remote space %q", in.Signer.KnownAs)
	}
	fmt.Fprintf(w, "  signed by %q, fingerprint %s (%s)\n", in.Signer.Space, in.Signer.Fingerprint, known)
	fmt.Fprintf(w, "  for       %q, fingerprint %s\n", in.Target.Space, in.Target.Fingerprint)
	fmt.Fprintf(w, "  created   %s by %s\n", in.CreatedAt, in.CreatedBy)
	fmt.Fprintf(w, "  digest    %s\n  snapshot  %s (as this space would store it)\n  origin's  %s (as the signer states it)\n", in.Digest, in.TargetSnapshotDigest, in.SnapshotDigest)
	if in.Release.Notes != "" {
		fmt.Fprintf(w, "  notes     %s\n", in.Release.Notes)
	}
	if in.Verified {
		fmt.Fprintln(w, "  verified  yes: this space would accept it")
	} else {
		fmt.Fprintf(w, "  verified  NO: %s\n", in.Problem)
	}
	fmt.Fprintf(w, "\nProcess (%d steps)\n", len(in.Process))
	for i, s := range in.Process {
		fmt.Fprintf(w, "  %d. %s [%s] runs in: %s\n", i+1, s.Name, s.Type, scopeText(s.Environments))
		for _, line := range strings.Split(strings.TrimRight(s.Script, "\n"), "\n") {
			fmt.Fprintf(w, "       | %s\n", line)
		}
	}
	fmt.Fprintf(w, "\nVariables (%d)\n", len(in.Variables))
	var rows [][]string
	for _, v := range in.Variables {
		value := oneLine(v.Value)
		if v.Sensitive {
			value = "<sensitive, encrypted to this space>"
		}
		rows = append(rows, []string{v.Name, value, scopeText(v.Environments)})
	}
	table(w, "NAME\tVALUE\tSCOPE", rows)
	if len(in.Templates) > 0 {
		fmt.Fprintf(w, "\nTemplates (values each environment must supply)\n")
		templateRows("NAME")(w, in.Templates)
	}
	if len(in.Downstream) > 0 {
		fmt.Fprintf(w, "\nFor spaces after this one (passed on unchanged; their secrets are sealed to them)\n")
		var rows [][]string
		for _, d := range in.Downstream {
			known := "not known here"
			if d.KnownAs != "" {
				known = "known here as " + strconv.Quote(d.KnownAs)
			}
			rows = append(rows, []string{d.Space, d.Fingerprint, known, dash(strings.Join(d.Sealed, ", "))})
		}
		table(w, "SPACE\tFINGERPRINT\tHERE\tSEALED TO IT", rows)
	}
	fmt.Fprintf(w, "\nPackages (%d)\n", len(in.Packages))
	for _, p := range in.Packages {
		fmt.Fprintf(w, "  %s %s sha256:%s (%d bytes)\n", p.ID, p.Version, p.SHA256, p.Size)
	}
	fmt.Fprintf(w, "\nHistory (%d deployments)\n", len(in.History))
	for _, h := range in.History {
		when := "-"
		if h.FinishedAt != nil {
			when = h.FinishedAt.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(w, "  %s: %s  %s  %s\n", h.Space, h.Environment, h.State, when)
	}
}

func printImport(w io.Writer, res api.BundleImport) {
	if res.AlreadyImported {
		fmt.Fprintf(w, "Already imported: %s %s is here; nothing changed\n", res.Project, res.Version)
	} else {
		fmt.Fprintf(w, "Imported %s %s from %q (fingerprint %s), lifecycle %q\n", res.Project, res.Version, res.Source, res.Fingerprint, res.Lifecycle)
	}
	for _, m := range res.Missing {
		fmt.Fprintf(w, "Before deploying to %s, set: %s\n", m.Environment, strings.Join(m.Variables, ", "))
		for _, c := range m.Commands {
			fmt.Fprintf(w, "  %s\n", c)
		}
	}
	for _, warn := range res.Warnings {
		fmt.Fprintln(w, "warning:", warn)
	}
	for _, p := range res.MissingPackages {
		fmt.Fprintf(w, "Package %s %s is not in this space's feed yet: import a transfer file with `ferry package import FILE`\n", p.ID, p.Version)
	}
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19] + "…"
	}
	return d
}

func (a *app) spaceKeyCommand() *cobra.Command {
	return save(a, &cobra.Command{
		Use:   "key NAME --out FILE",
		Short: "Write a space's age secret key, to decrypt a bundle's secret by hand (administrators)",
		Long: `Write the space's age secret key (AGE-SECRET-KEY-1...) to a file readable only
by you (the key is never printed). With it, any secret in a bundle for this
space can be decrypted with the standard age tool (see docs/bundle-format.md).
The export is audited. Keep the file safe and delete it when done.`,
		Example: `  ferry space key "Prod Space" --out prod.agekey
  jq -r '.variables[] | select(.name=="Token") | .sealed' payload.json | age -d -i prod.agekey   # docs/bundle-format.md`, Args: cobra.ExactArgs(1),
	}, output{private: true}, func(x call) ([]byte, error) { return x.AgeKey(x, x.args[0]) },
		func(w io.Writer, x call, out string) {
			fmt.Fprintf(w, "Wrote the age key of space %q to %s (mode 0600)\n", x.args[0], out)
		})
}

// receiptFile is what receipt export says about the file it wrote.
type receiptFile struct {
	File          string `json:"file"`
	Bytes         int    `json:"bytes"`
	To            string `json:"to"`
	Receipts      int    `json:"receipts"`
	Waiting       int    `json:"waiting,omitempty"`
	SchemaVersion int    `json:"schemaVersion"`
	Note          string `json:"note,omitempty"`
}

func (a *app) receiptCommand() *cobra.Command {
	var req api.ExportReceiptsRequest
	var out string
	export := show(a, &cobra.Command{
		Use:   "export --to SPACE --out FILE",
		Short: "Write the receipts a remote space has not been sent yet",
		Long: `Write one signed file with the receipts that remote space has not been sent
yet, for releases it made or passed on to this space (including receipts this
space received from spaces further along, with their original signatures).
--all writes every such receipt again; importing twice is harmless.

The file is written in the newest schema version that space is known to
read (--schema-version chooses by hand); receipts of a newer version than
that wait until it reads it.`,
		Example: `  ferry receipt export --to "DevTest Space" --out receipts.json
  ferry receipt export --to "DevTest Space" --all --out all-receipts.json`,
		Args: cobra.NoArgs,
	}, func(x call) (receiptFile, error) {
		if req.To == "" || out == "" {
			return receiptFile{}, usagef("give the destination with --to SPACE and the file with --out FILE")
		}
		f, err := x.ExportReceipts(x, x.space, req)
		if err == nil {
			err = writePrivateFile(out, f.Data)
		}
		var env struct {
			SchemaVersion int `json:"schemaVersion"`
		}
		json.Unmarshal(f.Data, &env)
		return receiptFile{File: out, Bytes: len(f.Data), To: req.To, Receipts: f.Receipts, Waiting: f.Waiting, SchemaVersion: env.SchemaVersion, Note: f.Note}, err
	}, func(w io.Writer, f receiptFile) {
		fmt.Fprintf(w, "Wrote %d receipt(s) for %q to %s (schema version %d)\n", f.Receipts, f.To, f.File, f.SchemaVersion)
		if f.Note != "" {
			fmt.Fprintln(w, f.Note)
		}
		fmt.Fprintf(w, "Import them there with: ferry receipt import %s\n", f.File)
	})
	export.Flags().StringVar(&out, "out", "", "file to write")
	export.Flags().StringVar(&req.To, "to", "", "remote space the receipts go to")
	export.Flags().BoolVar(&req.All, "all", false, "include receipts already sent")
	export.Flags().IntVar(&req.SchemaVersion, "schema-version", 0, "write this schema version (default: the newest that space is known to read)")
	imp := show(a, &cobra.Command{Use: "import FILE", Short: "Import a receipt file (verified first; receipts already held are skipped)", Example: `  ferry receipt import receipts.json --space "DevTest Space"`, Args: cobra.ExactArgs(1)},
		func(x call) (api.ReceiptImport, error) {
			data, err := a.readInput(x.args[0])
			if err != nil {
				return api.ReceiptImport{}, err
			}
			return x.ImportReceipts(x, x.space, data)
		},
		func(w io.Writer, res api.ReceiptImport) {
			fmt.Fprintf(w, "Imported %d receipt(s) from %q (%d already here)\n", res.Imported, res.From, res.Duplicates)
			if res.OfDeleted > 0 {
				fmt.Fprintf(w, "Skipped %d receipt(s) about releases deleted here\n", res.OfDeleted)
			}
		})
	cmd := group("receipt", "Carry deployment receipts back to the spaces releases came from", export, imp)
	cmd.Long = `Every deployment of a remote project leaves a receipt signed by this space.
Receipts travel back along the path a release came by, so the space that made
the release sees the whole pipeline on its dashboard. Across an air gap, carry
them as a file: 'receipt export' here, 'receipt import' there.`
	return cmd
}
