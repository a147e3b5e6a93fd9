package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/api"
)

func (a *app) remoteSpaceCommand() *cobra.Command {
	cmd := group("remote-space", "Manage trust with other spaces (on this or another server)",
		a.remoteSpaceAdd(), a.remoteSpaceList(), a.remoteSpaceUpdate(), a.remoteSpaceRevoke(), a.remoteSpaceRetry(), a.deliveriesCommand())
	cmd.Long = `A remote space is another space this space knows by its certificate. Trust
directions say what this space accepts from it or does with it:

  releases   accept release bundles signed by it
  receipts   accept deployment receipts signed by it
  promote    promote releases to it

Every change is in 'ferry audit list', with fingerprints before and after.`
	return cmd
}

func (a *app) remoteSpaceAdd() *cobra.Command {
	var certFile, url, trustList, tlsPin string
	add := show(a, &cobra.Command{
		Use:   "add NAME --cert FILE [--url URL] [--trust LIST]",
		Short: "Add another space by its certificate",
		Long: `Add another space by the certificate its owners gave you ('ferry space cert' on
their server). Before trusting it, compare the fingerprint printed here with the
one they read from their 'ferry space list', over a channel you trust.`,
		Example: `  ferry remote-space add "Prod Space" --cert prod.pem --trust promote,receipts
  ferry remote-space add "DevTest Space" --cert devtest.pem --trust releases --url https://devtest.example.com`,
		Args: cobra.ExactArgs(1),
	}, func(x call) (api.AddedRemoteSpace, error) {
		pemBytes, err := a.required(certFile, "give the other space's certificate with --cert FILE")
		if err != nil {
			return api.AddedRemoteSpace{}, err
		}
		return x.AddRemoteSpace(x, x.space, api.AddRemoteSpaceRequest{Name: x.args[0], Certificate: string(pemBytes), URL: url, Trust: trustList, TLSFingerprint: tlsPin})
	}, func(w io.Writer, res api.AddedRemoteSpace) {
		r := res.RemoteSpace
		if res.Created {
			fmt.Fprintf(w, "Added remote space %q\n", r.Name)
		} else {
			fmt.Fprintf(w, "Remote space %q is already known with this certificate; nothing changed\n", r.Name)
		}
		fmt.Fprintf(w, "  SHA-256 fingerprint: %s\n  trust: %s\n", r.Fingerprint, trustText(r.Trust))
		fmt.Fprintln(w, "Compare the fingerprint with the other space's owners before relying on it.")
	})
	add.Flags().StringVar(&certFile, "cert", "", "the other space's certificate (PEM)")
	add.Flags().StringVar(&url, "url", "", "its server URL, when connected (https, or http on loopback)")
	add.Flags().StringVar(&trustList, "trust", "", "directions: releases,receipts,promote (default none)")
	add.Flags().StringVar(&tlsPin, "tls-fingerprint", "", "SHA-256 fingerprint of its server's TLS certificate, checked instead of a CA (for a self-signed one)")
	return add
}

func (a *app) remoteSpaceList() *cobra.Command {
	return show(a, &cobra.Command{Use: "list", Short: "List remote spaces with fingerprints, trust, and what is delivered to them", Example: `  ferry remote-space list
  ferry remote-space list -o json`, Args: cobra.NoArgs},
		func(x call) ([]api.RemoteSpaceStatus, error) {
			list, err := x.ListRemoteSpaces(x, x.space)
			for i := range list {
				list[i].Certificate = strings.TrimSpace(list[i].Certificate) + "\n"
			}
			return list, err
		}, printRemoteSpaces)
}

func (a *app) remoteSpaceUpdate() *cobra.Command {
	var newCert, newURL, newTrust, newPin string
	update := show(a, &cobra.Command{
		Use:   "update NAME [--url URL] [--trust LIST] [--cert FILE]",
		Short: "Change a remote space's URL or trust, or rotate its certificate",
		Example: `  ferry remote-space update "Prod Space" --trust promote,receipts
  ferry remote-space update "Prod Space" --cert prod-2027.pem     # rotation, audited`,
		Args: cobra.ExactArgs(1),
	}, func(x call) (api.RemoteSpace, error) {
		req := api.UpdateRemoteSpaceRequest{URL: changed(x, "url", &newURL), Trust: changed(x, "trust", &newTrust), TLSFingerprint: changed(x, "tls-fingerprint", &newPin)}
		if newCert != "" {
			b, err := a.readInput(newCert)
			if err != nil {
				return api.RemoteSpace{}, err
			}
			s := string(b)
			req.Certificate = &s
		}
		return x.UpdateRemoteSpace(x, x.space, x.args[0], req)
	}, line("Updated remote space %q\n  SHA-256 fingerprint: %s\n  trust: %s\n  url: %s\n  TLS pin: %s", func(r api.RemoteSpace) []any {
		return []any{r.Name, r.Fingerprint, trustText(r.Trust), dash(r.URL), dash(r.TLSFingerprint)}
	}))
	update.Flags().StringVar(&newURL, "url", "", "new server URL (empty to disconnect)")
	update.Flags().StringVar(&newTrust, "trust", "", "new trust directions, replacing the old (releases,receipts,promote or none)")
	update.Flags().StringVar(&newCert, "cert", "", "a new certificate for the space (rotation)")
	update.Flags().StringVar(&newPin, "tls-fingerprint", "", "pin its server's TLS certificate by SHA-256 fingerprint (empty to unpin)")
	return update
}

func (a *app) remoteSpaceRetry() *cobra.Command {
	return show(a, &cobra.Command{
		Use:   "retry NAME",
		Short: "Send again the deliveries a remote space refused, and any receipts it has not had",
		Long: `A delivery the remote server refused (untrusted, unknown space, bad TLS pin...)
stays failed, with the reason, in 'remote-space list' and 'bundle list'. Once
the cause is fixed, retry sends them again at once, along with any receipts
not yet sent there. Deliveries that only could not reach the server are retried
by themselves.`,
		Example: `  ferry remote-space retry "Prod Space"`, Args: cobra.ExactArgs(1),
	}, func(x call) (api.RetryResult, error) { return x.RetryDeliveries(x, x.space, x.args[0]) },
		func(w io.Writer, res api.RetryResult) {
			fmt.Fprintf(w, "Queued %d failed delivery(ies) to %q again", res.Requeued, res.RemoteSpace)
			if res.Receipts {
				fmt.Fprint(w, ", and a send of receipts it has not had")
			}
			fmt.Fprintln(w)
		})
}

func (a *app) remoteSpaceRevoke() *cobra.Command {
	return show(a, &cobra.Command{Use: "revoke NAME", Short: "Revoke a remote space: refuse everything signed by it from now on", Example: `  ferry remote-space revoke "DevTest Space" --space "Prod Space"`, Args: cobra.ExactArgs(1)},
		func(x call) (api.RemoteSpace, error) { return x.RevokeRemoteSpace(x, x.space, x.args[0]) },
		line("Revoked remote space %q (fingerprint %s); anything signed by it is refused from now on", func(r api.RemoteSpace) []any { return []any{r.Name, r.Fingerprint} }))
}

// trustText is a remote space's trust directions, or "none".
func trustText(t []string) string {
	if len(t) == 0 {
		return "none"
	}
	return strings.Join(t, ",")
}

func printRemoteSpaces(w io.Writer, list []api.RemoteSpaceStatus) {
	var errs []string
	rows("NAME\tFINGERPRINT (SHA-256)\tTRUST\tURL\tSTATE\tSCHEMA\tDELIVERIES", func(r api.RemoteSpaceStatus) []string {
		state, trust := "active", trustText(r.Trust)
		if r.Revoked() {
			state, trust = "REVOKED "+when(*r.RevokedAt), "none"
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
		if d := r.Delivery; d.LastError != "" && (d.Queued > 0 || d.InFlight > 0 || d.Failed > 0) {
			errs = append(errs, fmt.Sprintf("%s: last error %s: %s", r.Name, d.LastErrorAt.Local().Format("2006-01-02 15:04:05"), d.LastError))
		}
		return []string{r.Name, r.Fingerprint, trust, where, state, reads, deliveryCounts(r.Delivery)}
	})(w, list)
	for _, e := range errs {
		fmt.Fprintln(w, e)
	}
}
