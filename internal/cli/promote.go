package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/client"
	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/outbox"
)

func (a *app) promoteCommand() *cobra.Command {
	var req bundle.PromoteRequest
	var out string
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
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
lifecycle). --wait waits until it is delivered or refused. 'ferry bundle list'
and 'ferry remote-space list' show deliveries and why one failed.

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
		RunE: func(cmd *cobra.Command, args []string) error {
			if req.To == "" {
				return fmt.Errorf("say which space to promote to with --to SPACE")
			}
			if out != "" && wait {
				return fmt.Errorf("--wait waits for a delivery to a connected space; with --out nothing is delivered")
			}
			req.Project, req.Version = args[0], args[1]
			c, err := a.client()
			if err != nil {
				return err
			}
			if out != "" {
				return a.promoteToFile(cmd.Context(), c, req, out)
			}
			req.Deliver = true
			var p outbox.Promotion
			if err := c.Do(cmd.Context(), "POST", a.sp("promotions"), req, &p); err != nil {
				return err
			}
			show := func(w io.Writer) {
				fmt.Fprintf(w, "Promoted %s %s to %q: bundle %s (schema version %d)\n", req.Project, req.Version, p.Bundle.TargetSpace, shortDigest(p.Bundle.Digest), p.SchemaVersion)
				for _, n := range p.Notes {
					fmt.Fprintf(w, "  note: %s\n", n)
				}
				fmt.Fprintf(w, "  delivery %d to %s: %s\n", p.Delivery.ID, p.URL, deliveryText(p.Delivery))
				if p.Packages != nil {
					fmt.Fprintf(w, "  packages, delivery %d: %s\n", p.Packages.ID, deliveryText(*p.Packages))
				}
			}
			if !wait {
				return a.render(p, func(w io.Writer) {
					show(w)
					fmt.Fprintln(w, "Follow it with 'ferry bundle list' or 'ferry remote-space deliveries' (or promote with --wait).")
				})
			}
			deadline := time.Now().Add(timeout)
			if p.Delivery, err = a.waitDelivery(cmd.Context(), c, p.Delivery.ID, deadline); err != nil {
				return err
			}
			if p.Packages != nil && p.Delivery.State == domain.DeliveryDelivered {
				d, err := a.waitDelivery(cmd.Context(), c, p.Packages.ID, deadline)
				if err != nil {
					return err
				}
				p.Packages = &d
			}
			if err := a.render(p, show); err != nil {
				return err
			}
			for _, d := range []*domain.OutboxItem{&p.Delivery, p.Packages} {
				switch {
				case d == nil || d.State == domain.DeliveryDelivered:
				case d.State == domain.DeliveryFailed:
					return exitError{code: 1, msg: "delivery refused: " + d.LastError}
				default:
					return exitError{code: 1, msg: fmt.Sprintf("not delivered within %s; it stays queued and is retried (last error: %s)", timeout, dash(d.LastError))}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&req.To, "to", "", "remote space to promote to (required)")
	cmd.Flags().StringVar(&out, "out", "", "write the bundle to this file instead of sending it")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the bundle (and its packages) are delivered or refused (exit 1 if not delivered)")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long --wait waits")
	cmd.Flags().IntVar(&req.SchemaVersion, "schema-version", 0, "write this schema version (default: the newest the other space is known to read)")
	return cmd
}

// promoteToFile writes the bundle for a disconnected space.
func (a *app) promoteToFile(ctx context.Context, c *client.Client, req bundle.PromoteRequest, out string) error {
	var buf bytes.Buffer
	header, err := c.Download(ctx, "POST", a.sp("promotions"), req, &buf)
	if err != nil {
		return err
	}
	data, notes := buf.Bytes(), header.Values("X-Ferry-Note")
	if err := writePrivateFile(out, data); err != nil {
		return err
	}
	p, err := bundle.Parse(data)
	if err != nil {
		return err
	}
	info := map[string]any{"file": out, "digest": p.Envelope.Digest, "target": p.Payload.Target, "project": req.Project, "version": req.Version, "bytes": len(data),
		"schemaVersion": p.Envelope.SchemaVersion, "notes": notes}
	return a.render(info, func(w io.Writer) {
		fmt.Fprintf(w, "Wrote release bundle %s (%d bytes, schema version %d)\n  %s %s → %s (fingerprint %s)\n  digest %s\n", out, len(data), p.Envelope.SchemaVersion, req.Project, req.Version, p.Payload.Target.Space, p.Payload.Target.Fingerprint, p.Envelope.Digest)
		for _, n := range notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
		fmt.Fprintf(w, "Import it there with: ferry bundle import %s --space %q\n", out, p.Payload.Target.Space)
	})
}

// waitDelivery polls a delivery until it is delivered or failed, or until
// the deadline; it returns the last state seen.
func (a *app) waitDelivery(ctx context.Context, c *client.Client, id int64, deadline time.Time) (domain.OutboxItem, error) {
	delay := 20 * time.Millisecond
	for {
		var d domain.OutboxItem
		if err := c.Do(ctx, "GET", a.sp("deliveries", strconv.FormatInt(id, 10)), nil, &d); err != nil {
			return d, err
		}
		if d.State == domain.DeliveryDelivered || d.State == domain.DeliveryFailed || time.Now().After(deadline) {
			return d, nil
		}
		select {
		case <-ctx.Done():
			return d, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 250*time.Millisecond)
	}
}

// deliveryText is one delivery's state for people.
func deliveryText(d domain.OutboxItem) string {
	switch d.State {
	case domain.DeliveryDelivered:
		return "delivered (" + d.Result + ")"
	case domain.DeliveryFailed:
		return "FAILED: " + d.LastError + " (fix it, then 'ferry remote-space retry " + quoteIfSpaced(d.RemoteSpace) + "')"
	case domain.DeliveryInFlight:
		return fmt.Sprintf("in flight (attempt %d)", d.Attempts)
	}
	if d.Attempts == 0 {
		return "queued"
	}
	return fmt.Sprintf("queued, retrying at %s after %d attempt(s): %s", d.NextAttemptAt.Local().Format("15:04:05"), d.Attempts, d.LastError)
}

// deliveryCounts is a remote space's delivery summary in a table cell.
func deliveryCounts(s domain.DeliverySummary) string {
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
	var limit int
	cmd := &cobra.Command{
		Use:   "deliveries [NAME]",
		Short: "List deliveries to connected spaces (bundles, packages, receipts): state, attempts, answer or error",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if len(args) == 1 {
				q.Set("remote", args[0])
			}
			var list []domain.OutboxItem
			if err := c.Do(cmd.Context(), "GET", a.sp("deliveries")+"?"+q.Encode(), nil, &list); err != nil {
				return err
			}
			return a.render(list, func(w io.Writer) {
				var rows [][]string
				for _, d := range list {
					rows = append(rows, []string{strconv.FormatInt(d.ID, 10), d.CreatedAt.Local().Format("2006-01-02 15:04:05"), d.RemoteSpace, d.Kind, dash(d.Summary), deliveryText(d)})
				}
				table(w, "ID\tQUEUED\tTO\tKIND\tWHAT\tSTATE", rows)
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "show at most this many, newest first")
	return cmd
}
