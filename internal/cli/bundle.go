package cli

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/client"
	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/outbox"
)

// writePrivateFile writes a file only its owner can read: bundles hold no
// plaintext secrets, but there is no reason to share them on a machine.
func writePrivateFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

func (a *app) bundleCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "bundle", Short: "Inspect, verify and import release bundles"}
	inspect := &cobra.Command{
		Use:   "inspect FILE",
		Short: "Show what a bundle holds, and whether this space would accept it (imports nothing)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := a.inspect(cmd, args[0])
			if err != nil {
				return err
			}
			return a.render(in, func(w io.Writer) { printInspection(w, in) })
		},
	}
	verify := &cobra.Command{
		Use:   "verify FILE",
		Short: "Verify a bundle's signature, trust, target and contents (imports nothing)",
		Long: `Verify a bundle as an import would, without importing: the digest matches the
contents, the signer is a remote space this space trusts for releases and has
not revoked, the signature verifies against this space's stored copy of its
certificate, the bundle is for this space, every secret decrypts with this
space's key, and the schema version is supported. Exits non-zero if not.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := a.inspect(cmd, args[0])
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
				return exitError{code: 1, msg: in.Problem}
			}
			return nil
		},
	}
	var lifecycle, pending string
	imp := &cobra.Command{
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
		RunE: func(cmd *cobra.Command, args []string) error {
			var data []byte
			q := url.Values{}
			switch {
			case len(args) == 1 && pending == "":
				var err error
				if data, err = a.readInput(args[0]); err != nil {
					return err
				}
			case len(args) == 0 && pending != "":
				q.Set("pending", pending)
				data = []byte{}
			default:
				return fmt.Errorf("give a bundle FILE, or --pending DIGEST for a bundle a connected space delivered")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if lifecycle != "" {
				q.Set("lifecycle", lifecycle)
			}
			path := a.sp("bundles", "import")
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			var res bundle.ImportResult
			if err := c.Do(cmd.Context(), "POST", path, data, &res); err != nil {
				return err
			}
			return a.render(res, func(w io.Writer) { printImport(w, res) })
		},
	}
	imp.Flags().StringVar(&lifecycle, "lifecycle", "", "lifecycle for the remote project (needed when the space has several)")
	imp.Flags().StringVar(&pending, "pending", "", "import the pending bundle with this digest (or its start) instead of a file")
	list := &cobra.Command{
		Use:   "list",
		Short: "List bundles this space imported, wrote or sent, with deliveries and pending imports",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var list []outbox.BundleStatus
			if err := c.Do(cmd.Context(), "GET", a.sp("bundles"), nil, &list); err != nil {
				return err
			}
			return a.render(list, func(w io.Writer) {
				var rows [][]string
				var notes []string
				for _, b := range list {
					dir := "from " + b.SourceSpace
					if b.Direction == domain.BundleOut {
						dir = "to " + b.TargetSpace
					}
					delivery := "-"
					if d := b.Delivery; d != nil {
						delivery = d.State
						if d.State != domain.DeliveryDelivered && d.LastError != "" {
							notes = append(notes, fmt.Sprintf("%s %s to %s: %s", b.Project, b.Version, b.TargetSpace, deliveryText(*d)))
						}
					}
					if b.State == domain.BundlePending {
						notes = append(notes, fmt.Sprintf("%s %s from %s waits for you: ferry bundle import --pending %s --lifecycle LIFECYCLE", b.Project, b.Version, b.SourceSpace, shortDigest(b.Digest)))
					}
					rows = append(rows, []string{b.CreatedAt.Local().Format("2006-01-02 15:04"), b.State, dir, b.Project, b.Version, shortDigest(b.Digest), delivery})
				}
				table(w, "WHEN\tSTATE\tDIRECTION\tPROJECT\tVERSION\tDIGEST\tDELIVERY", rows)
				for _, n := range notes {
					fmt.Fprintln(w, n)
				}
			})
		},
	}
	cmd.AddCommand(inspect, verify, imp, list)
	return cmd
}

func (a *app) inspect(cmd *cobra.Command, file string) (bundle.Inspection, error) {
	var in bundle.Inspection
	data, err := a.readInput(file)
	if err != nil {
		return in, err
	}
	c, err := a.client()
	if err != nil {
		return in, err
	}
	err = c.Do(cmd.Context(), "POST", a.sp("bundles", "inspect"), data, &in)
	return in, err
}

func printInspection(w io.Writer, in bundle.Inspection) {
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
		var rows [][]string
		for _, t := range in.Templates {
			req := "optional"
			if t.Required {
				req = "required"
			}
			rows = append(rows, []string{t.Name, t.Type, req, dash(t.Default), t.Label})
		}
		table(w, "NAME\tTYPE\tREQUIRED\tDEFAULT\tLABEL", rows)
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

func printImport(w io.Writer, res bundle.ImportResult) {
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
	var out string
	cmd := &cobra.Command{
		Use:   "key NAME --out FILE",
		Short: "Write a space's age secret key, to decrypt a bundle's secret by hand (administrators)",
		Long: `Write the space's age secret key (AGE-SECRET-KEY-1...) to a file readable only
by you. With it, any secret in a bundle for this space can be decrypted with
the standard age tool (see docs/bundle-format.md). The export is audited. Keep
the file safe and delete it when done.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("give --out FILE: the key is never printed")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var key []byte
			if err := c.Do(cmd.Context(), "GET", client.SpacePath(args[0], "age-key"), nil, &key); err != nil {
				return err
			}
			if err := writePrivateFile(out, key); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Wrote the age key of space %q to %s (mode 0600)\n", args[0], out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write (mode 0600)")
	return cmd
}
