package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/outbox"
	"github.com/ferrydeploy/ferry/internal/trust"
)

func (a *app) remoteSpaceCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "remote-space",
		Short: "Manage trust with other spaces (on this or another server)",
		Long: `A remote space is another space this space knows by its certificate. Trust
directions say what this space accepts from it or does with it:

  releases   accept release bundles signed by it
  receipts   accept deployment receipts signed by it
  promote    promote releases to it

Every change is in 'ferry audit list', with fingerprints before and after.`,
	}
	var certFile, url, trustList, tlsPin string
	add := &cobra.Command{
		Use:   "add NAME --cert FILE [--url URL] [--trust LIST]",
		Short: "Add another space by its certificate",
		Long: `Add another space by the certificate its owners gave you ('ferry space cert' on
their server). Before trusting it, compare the fingerprint printed here with the
one they read from their 'ferry space list', over a channel you trust.`,
		Example: `  ferry remote-space add "Prod Space" --cert prod.pem --trust promote,receipts
  ferry remote-space add "DevTest Space" --cert devtest.pem --trust releases --url https://devtest.example.com`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if certFile == "" {
				return fmt.Errorf("give the other space's certificate with --cert FILE")
			}
			pemBytes, err := a.readInput(certFile)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var res struct {
				Created     bool               `json:"created"`
				RemoteSpace domain.RemoteSpace `json:"remoteSpace"`
			}
			req := trust.AddRequest{Name: args[0], Certificate: string(pemBytes), URL: url, Trust: trustList, TLSFingerprint: tlsPin}
			if err := c.Do(cmd.Context(), "POST", a.sp("remote-spaces"), req, &res); err != nil {
				return err
			}
			return a.render(res, func(w io.Writer) {
				r := res.RemoteSpace
				if res.Created {
					fmt.Fprintf(w, "Added remote space %q\n", r.Name)
				} else {
					fmt.Fprintf(w, "Remote space %q is already known with this certificate; nothing changed\n", r.Name)
				}
				fmt.Fprintf(w, "  SHA-256 fingerprint: %s\n  trust: %s\n", r.Fingerprint, r.Trust)
				fmt.Fprintln(w, "Compare the fingerprint with the other space's owners before relying on it.")
			})
		},
	}
	add.Flags().StringVar(&certFile, "cert", "", "the other space's certificate (PEM)")
	add.Flags().StringVar(&url, "url", "", "its server URL, when connected (https, or http on loopback)")
	add.Flags().StringVar(&trustList, "trust", "", "directions: releases,receipts,promote (default none)")
	add.Flags().StringVar(&tlsPin, "tls-fingerprint", "", "SHA-256 fingerprint of its server's TLS certificate, checked instead of a CA (for a self-signed one)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List remote spaces with fingerprints, trust, and what is delivered to them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var list []outbox.RemoteSpaceStatus
			if err := c.Do(cmd.Context(), "GET", a.sp("remote-spaces"), nil, &list); err != nil {
				return err
			}
			for i := range list {
				list[i].CertPEM = strings.TrimSpace(list[i].CertPEM) + "\n"
			}
			return a.render(list, func(w io.Writer) {
				var rows [][]string
				var errs []string
				for _, r := range list {
					state, trustText := "active", r.Trust.String()
					if r.Revoked() {
						state, trustText = "REVOKED "+r.RevokedAt.Local().Format("2006-01-02 15:04"), "none"
						if r.RevokedBy != "" {
							state += " by " + r.RevokedBy
						}
					}
					reads := "?"
					if r.SchemaVersion > 0 {
						reads = fmt.Sprint(r.SchemaVersion)
					}
					where := dash(r.URL)
					if r.TLSFingerprint != "" {
						where += " (TLS pinned)"
					}
					rows = append(rows, []string{r.Name, r.Fingerprint, trustText, where, state, reads, deliveryCounts(r.Delivery)})
					if d := r.Delivery; d.LastError != "" && (d.Queued > 0 || d.InFlight > 0 || d.Failed > 0) {
						errs = append(errs, fmt.Sprintf("%s: last error %s: %s", r.Name, d.LastErrorAt.Local().Format("2006-01-02 15:04:05"), d.LastError))
					}
				}
				table(w, "NAME\tFINGERPRINT (SHA-256)\tTRUST\tURL\tSTATE\tSCHEMA\tDELIVERIES", rows)
				for _, e := range errs {
					fmt.Fprintln(w, e)
				}
			})
		},
	}

	var newCert, newURL, newTrust, newPin string
	update := &cobra.Command{
		Use:   "update NAME [--url URL] [--trust LIST] [--cert FILE]",
		Short: "Change a remote space's URL or trust, or rotate its certificate",
		Example: `  ferry remote-space update "Prod Space" --trust promote,receipts
  ferry remote-space update "Prod Space" --cert prod-2027.pem     # rotation, audited`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var req trust.UpdateRequest
			if cmd.Flags().Changed("url") {
				req.URL = &newURL
			}
			if cmd.Flags().Changed("trust") {
				req.Trust = &newTrust
			}
			if cmd.Flags().Changed("tls-fingerprint") {
				req.TLSFingerprint = &newPin
			}
			if newCert != "" {
				b, err := a.readInput(newCert)
				if err != nil {
					return err
				}
				s := string(b)
				req.Certificate = &s
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var r domain.RemoteSpace
			if err := c.Do(cmd.Context(), "PATCH", a.sp("remote-spaces", args[0]), req, &r); err != nil {
				return err
			}
			return a.render(r, func(w io.Writer) {
				fmt.Fprintf(w, "Updated remote space %q\n  SHA-256 fingerprint: %s\n  trust: %s\n  url: %s\n  TLS pin: %s\n", r.Name, r.Fingerprint, r.Trust, dash(r.URL), dash(r.TLSFingerprint))
			})
		},
	}
	update.Flags().StringVar(&newURL, "url", "", "new server URL (empty to disconnect)")
	update.Flags().StringVar(&newTrust, "trust", "", "new trust directions, replacing the old (releases,receipts,promote or none)")
	update.Flags().StringVar(&newCert, "cert", "", "a new certificate for the space (rotation)")
	update.Flags().StringVar(&newPin, "tls-fingerprint", "", "pin its server's TLS certificate by SHA-256 fingerprint (empty to unpin)")

	retry := &cobra.Command{
		Use:   "retry NAME",
		Short: "Send again the deliveries a remote space refused, and any receipts it has not had",
		Long: `A delivery the remote server refused (untrusted, unknown space, bad TLS pin...)
stays failed, with the reason, in 'remote-space list' and 'bundle list'. Once
the cause is fixed, retry sends them again at once, along with any receipts
not yet sent there. Deliveries that only could not reach the server are retried
by themselves.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var res outbox.RetryResult
			if err := c.Do(cmd.Context(), "POST", a.sp("remote-spaces", args[0], "retry"), map[string]string{}, &res); err != nil {
				return err
			}
			return a.render(res, func(w io.Writer) {
				fmt.Fprintf(w, "Queued %d failed delivery(ies) to %q again", res.Requeued, res.RemoteSpace)
				if res.Receipts {
					fmt.Fprint(w, ", and a send of receipts it has not had")
				}
				fmt.Fprintln(w)
			})
		},
	}

	revoke := &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke a remote space: refuse everything signed by it from now on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var r domain.RemoteSpace
			if err := c.Do(cmd.Context(), "POST", a.sp("remote-spaces", args[0], "revoke"), map[string]string{}, &r); err != nil {
				return err
			}
			return a.render(r, func(w io.Writer) {
				fmt.Fprintf(w, "Revoked remote space %q (fingerprint %s); anything signed by it is refused from now on\n", r.Name, r.Fingerprint)
			})
		},
	}
	cmd.AddCommand(add, list, update, revoke, retry, a.deliveriesCommand())
	return cmd
}
