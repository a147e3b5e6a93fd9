package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/identity"
)

func (a *app) promoteCommand() *cobra.Command {
	var req api.PromoteRequest
	var out string
	var wait bool
	var timeout time.Duration
	cmd := do(a, &cobra.Command{
		Use:   "promote PROJECT VERSION --to SPACE [--out FILE | --wait]",
		Short: "Promote a release to another space: send it when connected, or write a bundle file",
		Long: `Promote a release to a remote space. The release bundle holds everything the
other space needs to deploy it exactly as tested: the frozen process, the
variables sliced for that space (values scoped only to this space's own
environments stay here; values scoped to its remote environments are renamed to
its own), templates, package manifest and deployment history. Secrets are
encrypted to the other space's key; the bundle is signed by this space.

Refused unless the remote space is trusted for 'promote' and the release's
lifecycle allows it now (every earlier phase has succeeded).

Connected (the remote space has a URL): the bundle is queued in this server's
outbox and the command returns at once with its delivery state; a background
loop sends it, retrying with backoff while the other server is away, and the
other space imports it on arrival (or keeps it pending when it must choose a
lifecycle). --wait waits until it is delivered or refused (exit code 7 when
refused, 9 when not delivered in time). 'ferry bundle list' and 'ferry
remote-space list' show deliveries and why one failed.

Disconnected: --out FILE writes the bundle; carry it to the other space and
run 'ferry bundle import FILE' there.

The bundle is written in a schema version the other space reads: the newest
it is known to read (learnt from what it signed and, when connected, from
its server); while nothing is known of it, the previous version unless the
bundle needs the current one (it carries values for spaces after the
target). A remote space added before this server was upgraded is taken to
read the previous version until it shows otherwise; --schema-version
chooses by hand. Schema 1 cannot seal secrets to spaces after the target, so
those stay behind (the output says so).`,
		Example: `  ferry promote Shop 1.0.0 --to "Prod Space" --wait
  ferry promote Shop 1.0.0 --to "Prod Space" --out shop-1.0.0.bundle`,
		Args: cobra.ExactArgs(2),
	}, func(x call) error {
		if req.To == "" {
			return usagef("say which space to promote to with --to SPACE")
		}
		if out != "" && wait {
			return usagef("--wait waits for a delivery to a connected space; with --out nothing is delivered")
		}
		req.Project, req.Version = x.args[0], x.args[1]
		if out != "" {
			return a.promoteToFile(x, req, out)
		}
		p, err := x.Promote(x, x.space, req)
		if err != nil {
			return err
		}
		if !wait {
			return a.render(p, func(w io.Writer) {
				printPromotion(w, req, p)
				fmt.Fprintln(w, "Follow it with 'ferry bundle list' or 'ferry remote-space deliveries' (or promote with --wait).")
			})
		}
		if err := awaitPromotion(x, &p, timeout); err != nil {
			return err
		}
		if err := a.render(p, func(w io.Writer) { printPromotion(w, req, p) }); err != nil {
			return err
		}
		return delivered(p, timeout)
	})
	cmd.Flags().StringVar(&req.To, "to", "", "remote space to promote to (required)")
	cmd.Flags().StringVar(&out, "out", "", "write the bundle to this file instead of sending it")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the bundle (and its packages) are delivered or refused (non-zero exit if not delivered)")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long --wait waits")
	cmd.Flags().IntVar(&req.SchemaVersion, "schema-version", 0, "write this schema version (default: the newest the other space is known to read)")
	return cmd
}

func printPromotion(w io.Writer, req api.PromoteRequest, p api.Promotion) {
	fmt.Fprintf(w, "Promoted %s %s to %q: bundle %s (schema version %d)\n", req.Project, req.Version, p.Bundle.TargetSpace, shortDigest(p.Bundle.Digest), p.SchemaVersion)
	for _, n := range p.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	fmt.Fprintf(w, "  delivery %d to %s: %s\n", p.Delivery.ID, p.URL, deliveryText(p.Delivery))
	if p.Packages != nil {
		fmt.Fprintf(w, "  packages, delivery %d: %s\n", p.Packages.ID, deliveryText(*p.Packages))
	}
}

// awaitPromotion waits until the promotion's bundle (and then its
// packages) is delivered or refused, or until timeout, keeping the last
// states in p.
func awaitPromotion(x call, p *api.Promotion, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var err error
	if p.Delivery, err = waitDelivery(x, p.Delivery.ID, deadline); err != nil {
		return err
	}
	if p.Packages != nil && p.Delivery.State == api.DeliveryDelivered {
		d, err := waitDelivery(x, p.Packages.ID, deadline)
		if err != nil {
			return err
		}
		p.Packages = &d
	}
	return nil
}

// delivered fails unless the promotion's bundle and packages were
// delivered: refused is untrusted (exit code 7), not yet delivered is
// unavailable (9).
func delivered(p api.Promotion, timeout time.Duration) error {
	for _, d := range []*api.Delivery{&p.Delivery, p.Packages} {
		switch {
		case d == nil || d.State == api.DeliveryDelivered:
		case d.State == api.DeliveryFailed:
			return failed(api.KindUntrusted, "delivery refused: %s", d.LastError)
		default:
			return failed(api.KindUnavailable, "not delivered within %s; it stays queued and is retried (last error: %s)", timeout, dash(d.LastError))
		}
	}
	return nil
}

// promotedFile is what promote --out says about the bundle it wrote.
type promotedFile struct {
	File          string       `json:"file"`
	Digest        string       `json:"digest"`
	Target        api.SpaceRef `json:"target"`
	Project       string       `json:"project"`
	Version       string       `json:"version"`
	Bytes         int          `json:"bytes"`
	SchemaVersion int          `json:"schemaVersion"`
	Notes         []string     `json:"notes"`
}

// promoteToFile writes the bundle for a disconnected space.
func (a *app) promoteToFile(x call, req api.PromoteRequest, out string) error {
	b, err := x.PromoteToFile(x, x.space, req)
	if err != nil {
		return err
	}
	if err := writePrivateFile(out, b.Data); err != nil {
		return err
	}
	p, err := bundle.Parse(b.Data)
	if err != nil {
		return err
	}
	info := promotedFile{File: out, Digest: p.Envelope.Digest, Target: api.SpaceRef(p.Payload.Target), Project: req.Project, Version: req.Version,
		Bytes: len(b.Data), SchemaVersion: p.Envelope.SchemaVersion, Notes: b.Notes}
	return a.render(info, func(w io.Writer) {
		fmt.Fprintf(w, "Wrote release bundle %s (%d bytes, schema version %d)\n  %s %s → %s (fingerprint %s)\n  digest %s\n", out, info.Bytes, info.SchemaVersion, req.Project, req.Version, info.Target.Space, info.Target.Fingerprint, info.Digest)
		for _, n := range info.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
		fmt.Fprintf(w, "Import it there with: ferry bundle import %s --space %q\n", out, nameThere(x, info.Target))
	})
}

// nameThere is the name the space target goes by on its own server: the
// space name its certificate carries (identity.ParseCertificate), which
// may differ from the name this space knows it by. The name known here
// when the certificate cannot be read.
func nameThere(x call, target api.SpaceRef) string {
	remotes, err := x.ListRemoteSpaces(x, x.space)
	if err != nil {
		return target.Space
	}
	for _, r := range remotes {
		if r.Fingerprint != target.Fingerprint {
			continue
		}
		if c, err := identity.ParseCertificate([]byte(r.Certificate), time.Now()); err == nil {
			return c.SpaceName
		}
	}
	return target.Space
}

// waitDelivery polls a delivery until it is delivered or failed, or until
// the deadline; it returns the last state seen.
func waitDelivery(x call, id int64, deadline time.Time) (api.Delivery, error) {
	delay := 20 * time.Millisecond
	for {
		d, err := x.GetDelivery(x, x.space, id)
		if err != nil {
			return d, err
		}
		if d.State == api.DeliveryDelivered || d.State == api.DeliveryFailed || time.Now().After(deadline) {
			return d, nil
		}
		select {
		case <-x.Done():
			return d, x.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 250*time.Millisecond)
	}
}

// deliveryText is one delivery's state for people.
func deliveryText(d api.Delivery) string {
	switch d.State {
	case api.DeliveryDelivered:
		return "delivered (" + d.Result + ")"
	case api.DeliveryFailed:
		return "FAILED: " + d.LastError + " (fix it, then 'ferry remote-space retry " + quoteIfSpaced(d.RemoteSpace) + "')"
	case api.DeliveryInFlight:
		return fmt.Sprintf("in flight (attempt %d)", d.Attempts)
	}
	if d.Attempts == 0 {
		return "queued"
	}
	return fmt.Sprintf("queued, retrying at %s after %d attempt(s): %s", d.NextAttemptAt.Local().Format("15:04:05"), d.Attempts, d.LastError)
}

// deliveryCounts is a remote space's delivery summary in a table cell.
func deliveryCounts(s api.DeliverySummary) string {
	var parts []string
	for _, c := range []struct {
		n    int
		name string
	}{{s.Queued, "queued"}, {s.InFlight, "in flight"}, {s.Delivered, "delivered"}, {s.Failed, "failed"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.name))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func quoteIfSpaced(s string) string {
	if strings.ContainsAny(s, " \t") {
		return strconv.Quote(s)
	}
	return s
}

// deliveriesCommand lists what this space delivered, or is delivering, to
// connected spaces.
func (a *app) deliveriesCommand() *cobra.Command {
	var q api.DeliveryQuery
	cmd := show(a, &cobra.Command{
		Use:   "deliveries [NAME]",
		Short: "List deliveries to connected spaces (bundles, packages, receipts): state, attempts, answer or error",
		Example: `  ferry remote-space deliveries
  ferry remote-space deliveries "Prod Space" --limit 10`, Args: cobra.MaximumNArgs(1),
	}, func(x call) ([]api.Delivery, error) {
		if len(x.args) == 1 {
			q.Remote = x.args[0]
		}
		return x.ListDeliveries(x, x.space, q)
	}, rows("ID\tQUEUED\tTO\tKIND\tWHAT\tSTATE", func(d api.Delivery) []string {
		return []string{strconv.FormatInt(d.ID, 10), d.CreatedAt.Local().Format("2006-01-02 15:04:05"), d.RemoteSpace, d.Kind, dash(d.Summary), deliveryText(d)}
	}))
	cmd.Flags().IntVar(&q.Limit, "limit", 50, "show at most this many, newest first")
	return cmd
}
