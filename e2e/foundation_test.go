package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

const secretToken = "s3cr3t-Tok3n-9f8e7d"

const shopYAML = `environments:
  - name: Development
  - name: Test
  - name: Production
lifecycles:
  - name: Main
    phases:
      - name: Dev
        environments: [Development]
      - name: Test
        environments: [Test]
      - name: Prod
        environments: [Production]
projects:
  - name: Shop
    lifecycle: Main
    variables:
      - name: Banner
        value: plain-banner
      - name: Banner
        value: test-banner
        environments: [Test]
      - name: Token
        value: ` + secretToken + `
        sensitive: true
    process:
      - name: Announce
        type: script
        script: |
          echo "#{Banner} #{Ferry.Release.Number} on #{Ferry.Environment.Name}"
          echo "token=#{Token}"
      - name: Test only
        type: script
        environments: [Test]
        script: echo "only-in-test"
  - name: Broken
    lifecycle: Main
    process:
      - name: Fail
        type: script
        script: |
          echo "about to fail"
          echo "disk on fire" >&2
          exit 3
  - name: Undefined
    lifecycle: Main
    process:
      - name: Uses missing
        type: script
        script: echo "#{NoSuchVariable}"
`

// TestFoundation walks one space end to end: apply, release, deploy through
// the lifecycle, scoped steps and variables, frozen snapshots, failures,
// masking, export/apply round trip and restart. The server runs as the
// README starts it: `ferry server`, with the default (relative) data folder.
func TestFoundation(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServers(t, ferrytest.ServerConfig{DefaultData: true})[0]

	// Apply, and apply again: idempotent.
	file := ferrytest.WriteFile(t, "space.yaml", shopYAML)
	out := srv.Must("apply", "-f", file).Stdout
	contains(t, out, "created project Shop", "7 created")
	out = srv.Must("apply", "-f", file).Stdout
	contains(t, out, "0 created, 0 updated")

	srv.Must("release", "create", "Shop", "--version", "1.0.0", "--notes", "first")

	// The lifecycle refuses Test before Development has succeeded.
	r := srv.Fail("deploy", "Shop", "1.0.0", "--to", "Test")
	contains(t, r.Stderr, `phase "Dev"`, "Development")

	// Development: unscoped Banner, Test-only step skipped, secret masked.
	r = srv.Must("deploy", "Shop", "1.0.0", "--to", "Development", "--wait")
	contains(t, r.Out(), "plain-banner 1.0.0 on Development", "token=***", "skipped", "Success")
	notContains(t, r.Out(), "only-in-test", secretToken)

	// Test: the scoped value wins and the scoped step runs.
	r = srv.Must("deploy", "Shop", "1.0.0", "--to", "Test", "--wait")
	contains(t, r.Out(), "test-banner 1.0.0 on Test", "only-in-test")

	// Change the project; release 1.0.0 keeps its snapshot on redeploy.
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "changed.yaml", strings.Replace(shopYAML, "plain-banner", "changed-banner", 1)))
	r = srv.Must("deploy", "Shop", "1.0.0", "--to", "Development", "--wait")
	contains(t, r.Out(), "plain-banner 1.0.0 on Development")
	srv.Must("release", "create", "Shop", "--version", "1.1.0")
	r = srv.Must("deploy", "Shop", "1.1.0", "--to", "Development", "--wait")
	contains(t, r.Out(), "changed-banner 1.1.0 on Development")

	// A failing script: non-zero exit, its stderr and exit code in the output.
	srv.Must("release", "create", "Broken", "--version", "1")
	r = srv.Fail("deploy", "Broken", "1", "--to", "Development", "--wait")
	contains(t, r.Out(), "about to fail", "disk on fire", "code 3", "Failed")

	// An undefined variable fails the step and is named.
	srv.Must("release", "create", "Undefined", "--version", "1")
	r = srv.Fail("deploy", "Undefined", "1", "--to", "Development", "--wait")
	contains(t, r.Out(), "NoSuchVariable")

	// The secret appears nowhere a person or the database could see it.
	for _, args := range [][]string{
		{"var", "list", "Shop"},
		{"var", "list", "Shop", "-o", "json"},
		{"release", "show", "Shop", "1.0.0", "-o", "json"},
		{"release", "show", "Shop", "1.0.0"},
		{"export"},
		{"audit", "list", "-o", "json"},
		{"task", "list", "-o", "json"},
		{"task", "log", "1", "-o", "json"},
	} {
		notContains(t, srv.Must(args...).Out(), secretToken)
	}
	contains(t, srv.Must("var", "list", "Shop").Stdout, "<sensitive, set>")

	// Export round-trips through apply into another space.
	exported := srv.Must("export").Stdout
	contains(t, exported, "keep: true")
	srv.Must("space", "create", "Other")
	r = srv.Must("apply", "--space", "Other", "-f", ferrytest.WriteFile(t, "exported.yaml", exported))
	contains(t, r.Stderr, "Token", "has no value in this space")
	if again := srv.Must("export", "--space", "Other").Stdout; again != exported {
		t.Errorf("export of the copy differs:\n--- Default\n%s\n--- Other\n%s", exported, again)
	}

	// Restart keeps everything.
	srv.Stop()
	assertNotInFiles(t, srv.Data, secretToken)
	srv.Restart()
	contains(t, srv.Must("release", "list", "Shop").Stdout, "1.0.0", "1.1.0")
	var tasks []struct{ State string }
	decodeJSON(t, srv.Must("task", "list", "-o", "json").Stdout, &tasks)
	if len(tasks) != 6 {
		t.Errorf("after restart: %d tasks, want 6", len(tasks))
	}
	contains(t, srv.Must("audit", "list").Stdout, "deployment.create", "release.create", "admin")
}

// TestBadInput checks that bad requests get clear errors and change nothing.
func TestBadInput(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "space.yaml", shopYAML))
	before := srv.Must("export").Stdout

	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"malformed", "environments:\n  - name: [unclosed\n", []string{"malformed YAML", "line"}},
		{"unknown field", "environments:\n  - name: X\n    colour: red\n", []string{"line 3", "colour"}},
		{"unknown lifecycle", "projects:\n  - name: P\n    lifecycle: Nope\n", []string{"line 2", `unknown lifecycle "Nope"`}},
		{"unknown environment", "environments:\n  - name: New\nlifecycles:\n  - name: L\n    phases:\n      - name: One\n        environments: [Nowhere]\n", []string{`unknown environment "Nowhere"`, "nothing was changed"}},
		{"remote env of unknown space", "remoteEnvironments: [\"Prod Space: Production\"]\n", []string{"not a remote space", "remote-space add"}},
		{"bad step type", "projects:\n  - name: P\n    lifecycle: Main\n    process:\n      - name: S\n        type: telepathy\n        script: x\n", []string{`unknown type "telepathy"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := srv.Fail("apply", "-f", ferrytest.WriteFile(t, "bad.yaml", c.yaml))
			contains(t, r.Stderr, c.want...)
		})
	}
	if after := srv.Must("export").Stdout; after != before {
		t.Errorf("a refused apply changed the space:\n%s", after)
	}

	contains(t, srv.Fail("release", "create", "Nope", "--version", "1").Stderr, `project "Nope" not found`)
	srv.Must("release", "create", "Shop", "--version", "1.0.0")
	contains(t, srv.Fail("release", "create", "Shop", "--version", "1.0.0").Stderr, "already exists")
	contains(t, srv.Fail("deploy", "Shop", "9.9.9", "--to", "Development").Stderr, `"9.9.9"`, "not found")
	contains(t, srv.Fail("deploy", "Shop", "1.0.0", "--to", "Mars").Stderr, `"Mars"`, "not found")
	contains(t, srv.Fail("env", "create", "Development").Stderr, "already exists")
	contains(t, srv.Fail("space", "create", "Default").Stderr, "already exists")
	contains(t, srv.Fail("release", "show", "Shop", "1.0.0", "--space", "Nowhere").Stderr, `no space "Nowhere"`)

	r := bin.Run(t, "", "--server", srv.URL, "--api-key", "ferry_wrong", "space", "list")
	if r.Code == 0 {
		t.Fatal("a wrong API key was accepted")
	}
	contains(t, r.Stderr, "API key")
}

// TestCrashMarksTaskFailed kills the server while a task runs; after the
// restart the task is Failed, never left Executing.
func TestCrashMarksTaskFailed(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "slow.yaml", `environments: [{name: Dev}]
lifecycles: [{name: L, phases: [{name: Dev, environments: [Dev]}]}]
projects:
  - name: Slow
    lifecycle: L
    process: [{name: Sleep, type: script, script: "echo started; sleep 60"}]
`))
	srv.Must("release", "create", "Slow", "--version", "1")
	srv.Must("deploy", "Slow", "1", "--to", "Dev")
	ferrytest.WaitFor(t, 30*time.Second, "the script to start", func() bool {
		return strings.Contains(srv.Run("task", "log", "1").Stdout, "started")
	})
	srv.Kill()
	srv.Restart()
	r := srv.Must("task", "list", "-o", "json")
	var tasks []struct{ State, Error string }
	decodeJSON(t, r.Stdout, &tasks)
	if len(tasks) != 1 || tasks[0].State != "Failed" || !strings.Contains(tasks[0].Error, "server stopped") {
		t.Fatalf("after a crash: %+v, want one Failed task saying the server stopped", tasks)
	}
}

func contains(t *testing.T, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q:\n%s", w, got)
		}
	}
}

func notContains(t *testing.T, got string, bads ...string) {
	t.Helper()
	for _, b := range bads {
		if strings.Contains(got, b) {
			t.Errorf("output contains %q:\n%s", b, got)
		}
	}
}

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode JSON: %v\n%s", err, s)
	}
}

// assertNotInFiles fails if any file under dir contains secret.
func assertNotInFiles(t *testing.T, dir, secret string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if i := strings.Index(string(b), secret); err == nil && i >= 0 {
			t.Errorf("%s contains a secret in plaintext: …%q…", path, b[max(0, i-80):min(len(b), i+len(secret)+40)])
		}
		return nil
	})
}
