package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// TestEveryCommandSpeaksJSON: with -o json, every command that shows,
// lists, changes or writes something prints one JSON value on standard
// output and nothing else — the commands that write a file say which file
// and how large — and a failure is {"error","kind"} on standard error.
func TestEveryCommandSpeaksJSON(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	dir := t.TempDir()
	file := func(name string) string { return filepath.Join(dir, name) }
	srv.Must("space", "create", "B")
	srv.Must("space", "cert", "B", "--out", file("b.pem"))
	srv.Must("space", "cert", "Default", "--out", file("default.pem"))
	srv.Must("--space", "B", "remote-space", "add", "Default", "--cert", file("default.pem"), "--trust", "releases")
	srv.Must("--space", "B", "apply", "-f", ferrytest.WriteFile(t, "b.yaml", "environments: [{name: Prod}]\nlifecycles: [{name: Main, phases: [{name: Prod, environments: [Prod]}]}]\n"))
	writeZip(t, file("web.zip"), appFiles(1, 3))

	shop := ferrytest.WriteFile(t, "shop.yaml", `environments: [{name: Dev}]
remoteEnvironments: ["B: Prod"]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Dev]}, {name: Prod, environments: ["B: Prod"]}]}]
projects:
  - name: Shop
    lifecycle: Main
    process: [{name: Say, type: script, script: "echo hi"}]
`)
	steps := [][]string{
		{"remote-space", "add", "B", "--cert", file("b.pem"), "--trust", "promote,receipts"},
		{"apply", "-f", shop},
		{"apply", "-f", shop, "--dry-run"},
		{"remote-space", "update", "B", "--trust", "promote,receipts"},
		{"remote-space", "list"},
		{"remote-space", "deliveries"},
		{"space", "list"},
		{"space", "create", "C"},
		{"space", "cert", "Default"},
		{"space", "cert", "Default", "--out", file("again.pem")},
		{"space", "key", "Default", "--out", file("age.key")},
		{"env", "create", "QA"},
		{"env", "list"},
		{"lifecycle", "list"},
		{"lifecycle", "show", "Main"},
		{"project", "list"},
		{"var", "set", "Shop", "Greeting", "hello"},
		{"var", "list", "Shop"},
		{"package", "push", file("web.zip"), "--id", "web", "--version", "1.0.0"},
		{"package", "list"},
		{"package", "show", "web", "1.0.0"},
		{"package", "download", "web", "1.0.0", "--out", file("copy.zip")},
		{"package", "inventory", "--out", file("inventory.json")},
		{"release", "create", "Shop", "--version", "1.0.0"},
		{"release", "create", "Shop", "--version", "1.1.0"},
		{"release", "list", "Shop"},
		{"release", "show", "Shop", "1.0.0"},
		{"release", "diff", "Shop", "1.0.0", "1.1.0"},
		{"deploy", "Shop", "1.0.0", "--to", "Dev", "--wait"},
		{"deploy", "Shop", "1.1.0", "--to", "Dev"},
		{"task", "list"},
		{"task", "log", "1"},
		{"dashboard"},
		{"audit", "list"},
		{"export"},
		{"--space", "B", "export", "--out", file("export.json")},
		{"promote", "Shop", "1.0.0", "--to", "B", "--out", file("shop.bundle")},
		{"--space", "B", "bundle", "inspect", file("shop.bundle")},
		{"--space", "B", "bundle", "verify", file("shop.bundle")},
		{"--space", "B", "bundle", "import", file("shop.bundle")},
		{"--space", "B", "bundle", "list"},
		{"--space", "B", "project", "deliverers", "Default: Shop"},
		{"--space", "B", "deploy", "Default: Shop", "1.0.0", "--to", "Prod", "--wait"},
		{"--space", "B", "receipt", "export", "--to", "Default", "--out", file("receipts.json")},
		{"receipt", "import", file("receipts.json")},
		{"user", "create", "dora"},
		{"user", "list"},
		{"user", "apikey", "dora"},
		{"user", "keys", "dora"},
		{"user", "revoke-key", "dora", "2"},
		{"team", "create", "devs", "--role", "viewer", "--user", "dora"},
		{"team", "update", "devs", "--role", "deployer"},
		{"team", "list"},
		{"remote-space", "revoke", "B"},
	}
	for _, args := range steps {
		r := srv.Must(append([]string{"-o", "json"}, args...)...)
		var v any
		if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil || r.Stderr != "" {
			t.Errorf("ferry -o json %s: stdout is not one JSON value (%v), or stderr is not empty\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, r.Stdout, r.Stderr)
			continue
		}
		out := args[len(args)-1]
		if strings.HasPrefix(out, dir) && args[len(args)-2] == "--out" {
			m, _ := v.(map[string]any)
			fi, err := os.Stat(out)
			if err != nil || m["file"] != out || m["bytes"] != float64(fi.Size()) {
				t.Errorf("ferry -o json %s says %s; want the file it wrote and its size", strings.Join(args, " "), r.Stdout)
			}
		}
	}
	// The export is JSON, which apply takes back.
	srv.Must("apply", "--space", "C", "-f", file("export.json"))
	contains(t, srv.Must("--space", "C", "env", "list").Stdout, "Prod")
}
