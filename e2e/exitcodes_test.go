package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// TestExitCodes: each kind of failure exits with its own code, the one
// `ferry --help` lists, and with -o json its error is {"error", "kind"}
// on standard error (and nothing on standard output, but for bundle verify,
// which shows what it verified).
func TestExitCodes(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	// A bundle for space B signed by Default, which B does not know.
	srv.Must("space", "create", "B")
	pem := filepath.Join(t.TempDir(), "b.pem")
	srv.Must("space", "cert", "B", "--out", pem)
	srv.Must("remote-space", "add", "B", "--cert", pem, "--trust", "promote")
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "codes.yaml", `environments: [{name: Dev}]
lifecycles:
  - {name: Main, phases: [{name: Dev, environments: [Dev]}]}
  - {name: Out, phases: [{name: B, environments: [B]}]}
projects:
  - name: Shop
    lifecycle: Main
    process: [{name: Fails, type: script, script: "echo failing; exit 3"}]
  - name: Away
    lifecycle: Out
    process: [{name: S, type: script, script: "true"}]
`))
	srv.Must("release", "create", "Shop", "--version", "1.0.0")
	srv.Must("user", "create", "nobody")
	nobody := strings.TrimSpace(srv.Must("user", "apikey", "nobody").Stdout)
	srv.Must("user", "create", "vic")
	srv.Must("team", "create", "Viewers", "--role", "viewer", "--user", "vic")
	viewer := strings.TrimSpace(srv.Must("user", "apikey", "vic").Stdout)

	srv.Must("release", "create", "Away", "--version", "1.0.0")
	bundle := filepath.Join(t.TempDir(), "away.bundle")
	srv.Must("promote", "Away", "1.0.0", "--to", "B", "--out", bundle)

	// The same bundle with a byte of its payload flipped: a damaged or
	// altered file is invalid input, whoever signed it.
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	at := strings.Index(string(data), `"payload": "`) + len(`"payload": "`) + 40
	data[at] ^= 0x01
	altered := ferrytest.WriteFile(t, "altered.bundle", string(data))

	// Answers a real server cannot be made to give on demand come from a
	// stand-in that answers as a ferry server does.
	stub := func(status int, kind string) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			io.WriteString(w, `{"error": "stand-in says `+kind+`", "kind": "`+kind+`"}`)
		}))
		t.Cleanup(s.Close)
		return s.URL
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	for _, tc := range []struct {
		name string
		code int
		kind string
		args []string
	}{
		{"deployment failed", 1, "failed", []string{"deploy", "Shop", "1.0.0", "--to", "Dev", "--wait"}},
		{"unknown command", 2, "usage", []string{"env", "bogus"}},
		{"unknown top command", 2, "usage", []string{"bogus"}},
		{"unknown flag", 2, "usage", []string{"env", "list", "--bogus"}},
		{"missing flag", 2, "usage", []string{"deploy", "Shop", "1.0.0"}},
		{"extra argument", 2, "usage", []string{"env", "list", "extra"}},
		{"invalid document", 3, "invalid", []string{"apply", "-f", ferrytest.WriteFile(t, "bad.yaml", "environments: [{nme: X}]\n")}},
		{"invalid version", 3, "invalid", []string{"release", "create", "Shop", "--version", "bad version"}},
		{"no such project", 4, "not_found", []string{"release", "list", "Nope"}},
		{"no such release", 4, "not_found", []string{"deploy", "Shop", "9.9.9", "--to", "Dev"}},
		{"no such file", 4, "not_found", []string{"bundle", "import", "/no/such.bundle"}},
		{"forbidden", 5, "forbidden", []string{"--api-key", viewer, "env", "create", "X"}},
		{"not a member", 4, "not_found", []string{"--api-key", nobody, "env", "create", "X"}},
		{"forbidden, another", 5, "forbidden", []string{"--api-key", nobody, "user", "list"}},
		{"wrong key", 5, "unauthorized", []string{"--api-key", "not-a-key", "env", "list"}},
		{"conflict", 6, "conflict", []string{"env", "create", "Dev"}},
		{"conflict, another", 6, "conflict", []string{"space", "create", "B"}},
		{"altered bundle", 3, "invalid", []string{"--space", "B", "bundle", "import", altered}},
		{"untrusted import", 7, "untrusted", []string{"--space", "B", "bundle", "import", bundle}},
		{"untrusted verify", 7, "untrusted", []string{"--space", "B", "bundle", "verify", bundle}},
		{"unreachable", 8, "unreachable", []string{"--server", closed.URL, "env", "list"}},
		{"busy", 9, "unavailable", []string{"--server", stub(503, "unavailable"), "env", "list"}},
		{"throttled", 9, "too_many_requests", []string{"--server", stub(429, "too_many_requests"), "env", "list"}},
		{"internal", 10, "internal", []string{"--server", stub(500, "internal"), "env", "list"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args // after the server's own --server and --api-key, which they may replace
			r := srv.Run(args...)
			if r.Code != tc.code || !strings.Contains(r.Stderr, "error: ") {
				t.Fatalf("ferry %s: exit %d, want %d\nstderr: %s", strings.Join(tc.args, " "), r.Code, tc.code, r.Stderr)
			}
			if tc.code == 1 {
				return // the deployment's log went to standard output
			}
			r = srv.Run(append([]string{"-o", "json"}, args...)...)
			var e struct {
				Error string `json:"error"`
				Kind  string `json:"kind"`
				// A refusal names its rule, also in the message.
				Rule      string `json:"rule"`
				Referrers []struct {
					Kind   string `json:"kind"`
					Name   string `json:"name"`
					Detail string `json:"detail"`
				} `json:"referrers"`
			}
			dec := json.NewDecoder(strings.NewReader(r.Stderr))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&e); err != nil || r.Code != tc.code || e.Kind != tc.kind || e.Error == "" || (r.Stdout != "") != strings.Contains(tc.name, "verify") {
				t.Fatalf("ferry -o json %s: exit %d, stdout %q, stderr %q (%v); want kind %s", strings.Join(tc.args, " "), r.Code, r.Stdout, r.Stderr, err, tc.kind)
			}
			if refused := strings.HasPrefix(e.Error, "refused ["); refused != (e.Rule != "") || refused && !strings.HasPrefix(e.Error, "refused ["+e.Rule+"]: ") {
				t.Errorf("ferry -o json %s: rule %q for %q", strings.Join(tc.args, " "), e.Rule, e.Error)
			}
		})
	}

	// The root command's help lists the codes.
	help := srv.Must("--help").Stdout
	contains(t, help, "Exit codes", "  2   usage", "  4   not_found", "  5   forbidden, unauthorized", "  7   untrusted", "  8   unreachable", "  10  internal")
}
