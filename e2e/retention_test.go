package e2e

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// dirSize is the bytes of the files under dir.
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// exitCode fails unless r ended with code.
func exitCode(t *testing.T, r ferrytest.Result, code int, args string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("ferry %s: exit %d, want %d\nstdout: %s\nstderr: %s", args, r.Code, code, r.Stdout, r.Stderr)
	}
}

// TestDeleteRefusals is issue 20's refusals: a delete that would break
// something exits 6 (conflict) and names every referrer; unknown names
// are not found (4), path tricks in names included; unknown subcommands
// and flags are usage errors (2). Nothing is deleted by a refusal.
func TestDeleteRefusals(t *testing.T) {
	srv := ferrytest.Build(t).StartServer(t)
	gate := filepath.Join(t.TempDir(), "go")
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "space.yaml", fmt.Sprintf(`environments: [{name: Dev}, {name: Test}]
lifecycles:
  - {name: Main, phases: [{name: Dev, environments: [Dev]}, {name: Test, environments: [Test]}]}
  - {name: Spare, phases: [{name: Only, environments: [Test]}]}
projects:
  - name: Shop
    lifecycle: Main
    variables: [{name: Greeting, value: hi, environments: [Test]}]
    process: [{name: Wait, type: script, script: "while [ ! -f %s ]; do sleep 0.05; done"}]
`, gate)))
	srv.Must("team", "create", "testers", "--role", "deployer", "--env", "Test")
	fail := func(code int, args ...string) string {
		t.Helper()
		r := srv.Run(args...)
		exitCode(t, r, code, strings.Join(args, " "))
		return r.Stderr
	}
	contains(t, fail(6, "env", "delete", "Test"), `lifecycle "Main" (phase Test)`, `lifecycle "Spare"`, `team "testers"`, `variable "Shop: Greeting"`, "in-use")
	contains(t, fail(6, "lifecycle", "delete", "Main"), `project "Shop"`)
	// With -o json the refusal's rule and referrers are fields of their
	// own; the message stays as it is.
	for _, c := range []struct {
		args []string
		refs []string
	}{
		{[]string{"env", "delete", "Test"}, []string{"lifecycle Main", "lifecycle Spare", "team testers", "variable Shop: Greeting"}},
		{[]string{"lifecycle", "delete", "Main"}, []string{"project Shop"}},
		{[]string{"env", "delete", "Nope"}, nil}, // not found: no rule, no referrers
	} {
		r := srv.Run(append(c.args, "-o", "json")...)
		var body api.ErrorBody
		if err := json.Unmarshal([]byte(r.Stderr), &body); err != nil {
			t.Fatalf("%v -o json: %v\n%s", c.args, err, r.Stderr)
		}
		var got []string
		for _, ref := range body.Referrers {
			got = append(got, ref.Kind+" "+ref.Name)
		}
		if c.refs == nil {
			if body.Rule != "" || len(body.Referrers) != 0 || body.Kind != api.KindNotFound {
				t.Errorf("%v -o json: %+v, want not_found without rule or referrers", c.args, body)
			}
			continue
		}
		if body.Rule != "in-use" || body.Kind != api.KindConflict || !strings.HasPrefix(body.Error, "refused [in-use]: cannot delete") {
			t.Errorf("%v -o json: %+v", c.args, body)
		}
		for _, want := range c.refs {
			if !slices.Contains(got, want) {
				t.Errorf("%v -o json: referrers %q lack %q", c.args, got, want)
			}
		}
	}
	srv.Must("team", "create", "shop-devs", "--role", "deployer", "--project", "Shop")
	contains(t, fail(6, "project", "delete", "Shop"), `team "shop-devs"`)
	srv.Must("team", "delete", "testers")
	srv.Must("team", "delete", "shop-devs")

	// A deployment in flight: its release, environment, project and space
	// cannot go; afterwards the release is what runs in Dev.
	srv.Must("release", "create", "Shop", "--version", "1.0.0")
	srv.Must("deploy", "Shop", "1.0.0", "--to", "Dev")
	for _, args := range [][]string{
		{"release", "delete", "Shop", "1.0.0"},
		{"project", "delete", "Shop"},
		{"space", "delete", "Default"},
	} {
		contains(t, fail(6, args...), `task "1"`)
	}
	os.WriteFile(gate, nil, 0o600)
	ferrytest.WaitFor(t, time.Minute, "the deployment to finish", func() bool {
		return strings.Contains(srv.Must("task", "list").Stdout, "Success")
	})
	contains(t, fail(6, "release", "delete", "Shop", "1.0.0"), `environment "Dev"`, "deployed there")

	// Unknown names, path tricks, unknown subcommands and flags.
	for _, args := range [][]string{
		{"env", "delete", "Nope"}, {"env", "delete", "../Dev"}, {"env", "delete", "Dev/.."},
		{"release", "delete", "Shop", "../1.0.0"}, {"release", "delete", "../../Shop", "1.0.0"},
		{"package", "delete", "../../chunks"}, {"package", "delete", "web", "../../../etc/passwd"},
		{"user", "delete", "nobody"}, {"team", "delete", "nobody"}, {"remote-space", "delete", "nobody"},
		{"space", "delete", "Nope"}, {"var", "delete", "Shop", "Nope"}, {"lifecycle", "delete", "Nope"},
	} {
		fail(4, args...)
	}
	for _, args := range [][]string{
		{"env", "frobnicate", "Dev"}, {"env", "delete"}, {"env", "delete", "Dev", "--force"},
		{"release", "delete", "Shop"}, {"retention", "walk"}, {"retention", "run", "--now"},
	} {
		fail(2, args...)
	}

	// The admin cannot delete themselves (nor, so, the last admin).
	contains(t, fail(6, "user", "delete", "admin"), "yourself")
	srv.Must("user", "create", "dora")
	contains(t, srv.Must("user", "delete", "dora").Stdout, `Deleted user "dora"`)

	// Nothing was deleted by the refusals.
	contains(t, srv.Must("env", "list").Stdout, "Dev", "Test")
	contains(t, srv.Must("release", "list", "Shop").Stdout, "1.0.0")
	contains(t, srv.Must("var", "list", "Shop").Stdout, "Greeting")

	// Deleting in the right order works, and each is in the audit log.
	srv.Must("var", "delete", "Shop", "Greeting", "--env", "Test")
	contains(t, srv.Must("lifecycle", "delete", "Spare").Stdout, `Deleted lifecycle "Spare"`)
	contains(t, srv.Must("project", "delete", "Shop").Stdout, `Deleted project "Shop"`, "1 release", "1 deployment", "1 task")
	srv.Must("lifecycle", "delete", "Main")
	contains(t, srv.Must("env", "delete", "Test").Stdout, `Deleted environment "Test"`)
	fail(4, "task", "log", "1")
	contains(t, srv.Must("audit", "list").Stdout, "project.delete", "environment.delete", "variable.delete", "lifecycle.delete")
}

// TestRetentionRun is issue 20's retention: a phase keeps its newest two
// releases; a run removes the older ones with their task logs, the
// package versions they pinned and the chunks nothing else uses, and the
// data folder shrinks by what was freed. The release current in an
// environment stays however old it is.
func TestRetentionRun(t *testing.T) {
	srv := ferrytest.Build(t).StartServer(t, "FERRY_RETENTION_GRACE=0s")
	dir := t.TempDir()
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "space.yaml", fmt.Sprintf(`environments: [{name: Dev}, {name: Prod}]
lifecycles:
  - name: Main
    phases:
      - {name: Dev, environments: [Dev], retention: {keepReleases: 2}}
      - {name: Prod, environments: [Prod], retention: {keepReleases: 1}}
projects:
  - name: Shop
    lifecycle: Main
    process: [{name: Install, type: deploy-package, package: web, destination: %q}]
`, filepath.Join(dir, "root", "#{Ferry.Environment.Name}"))))
	contains(t, srv.Must("lifecycle", "list").Stdout, "keep 2 releases")
	for i := range 5 {
		v := fmt.Sprintf("1.0.%d", i)
		zip := filepath.Join(dir, "web-"+v+".zip")
		writeZip(t, zip, appFiles(int64(i+10), 20))
		srv.Must("package", "push", zip, "--id", "web", "--version", v)
		srv.Must("release", "create", "Shop", "--version", v, "--package", "web:"+v)
		srv.Must("deploy", "Shop", v, "--to", "Dev", "--wait")
	}
	// A rollback: 1.0.1 is what runs in Dev again, old as it is.
	srv.Must("deploy", "Shop", "1.0.1", "--to", "Dev", "--wait")
	contains(t, srv.Fail("package", "delete", "web", "1.0.2").Stderr, `release "Shop 1.0.2"`)

	r := srv.Must("retention", "run", "--dry-run")
	contains(t, r.Stdout, "Would remove release Shop 1.0.0", "Would remove release Shop 1.0.2", "kept 1",
		// Exactly what the run removes: the package versions only those
		// releases pin, and what goes with the releases (they were missing).
		"Would remove package web 1.0.0", "Would remove package web 1.0.2", "2 tasks", "2 package versions")
	notContains(t, r.Stdout, "Shop 1.0.1", "Shop 1.0.3", "Shop 1.0.4")
	contains(t, srv.Must("release", "list", "Shop").Stdout, "1.0.0", "1.0.2")

	chunks := filepath.Join(srv.Data, "chunks")
	before := dirSize(t, chunks)
	var rep struct {
		Releases []struct{ Version string }
		Packages []struct{ ID, Version string }
		Removed  struct {
			Releases, Tasks, LogLines, Packages, Chunks int
			ChunkBytes                                  int64
		}
	}
	decodeJSON(t, srv.Must("-o", "json", "retention", "run").Stdout, &rep)
	if len(rep.Releases) != 2 || rep.Removed.Tasks != 2 || rep.Removed.LogLines == 0 || rep.Removed.Packages != 2 || rep.Removed.Chunks == 0 {
		t.Fatalf("retention removed %+v", rep)
	}
	after := dirSize(t, chunks)
	if before-after != rep.Removed.ChunkBytes || rep.Removed.ChunkBytes < 2*800<<10 {
		t.Fatalf("chunks took %d bytes before, %d after; the run says it freed %d", before, after, rep.Removed.ChunkBytes)
	}
	list := srv.Must("release", "list", "Shop").Stdout
	contains(t, list, "1.0.1", "1.0.3", "1.0.4")
	notContains(t, list, "1.0.0", "1.0.2")
	pk := srv.Must("package", "list").Stdout
	contains(t, pk, "1.0.1", "1.0.3", "1.0.4")
	notContains(t, pk, "1.0.0", "1.0.2")
	// What stays still deploys, byte for byte.
	srv.Must("deploy", "Shop", "1.0.3", "--to", "Prod", "--wait")
	got := filepath.Join(dir, "copy.zip")
	srv.Must("package", "download", "web", "1.0.1", "--out", got)
	if a, b := readFile(t, got), readFile(t, filepath.Join(dir, "web-1.0.1.zip")); sha256Hex(a) != sha256Hex(b) {
		t.Fatal("web 1.0.1 does not rebuild byte for byte after retention")
	}

	// A second run has nothing left to do.
	contains(t, srv.Must("retention", "run").Stdout, "Removed nothing")
	contains(t, srv.Must("audit", "list").Stdout, "retention.releases", "retention.packages")
}

// TestTransferDuringCollection imports a package transfer file while
// retention runs collect chunks back to back with no grace: the chunks
// the import writes belong to no package until it commits, and yet none
// is lost — the import completes and the package verifies.
func TestTransferDuringCollection(t *testing.T) {
	bin := ferrytest.Build(t)
	p := &pair{dev: bin.StartServer(t), prod: bin.StartServer(t, "FERRY_RETENTION_GRACE=0s")}
	p.dev.Must("space", "create", "DevTest Space")
	p.prod.Must("space", "create", "Prod Space")
	dir := t.TempDir()
	p.dev.Must("space", "cert", "DevTest Space", "--out", filepath.Join(dir, "dev.pem"))
	p.prod.Must("space", "cert", "Prod Space", "--out", filepath.Join(dir, "prod.pem"))
	p.dev.Must("--space", "DevTest Space", "remote-space", "add", "Prod Space", "--cert", filepath.Join(dir, "prod.pem"), "--trust", "promote")
	p.prod.Must("--space", "Prod Space", "remote-space", "add", "DevTest Space", "--cert", filepath.Join(dir, "dev.pem"), "--trust", "releases")
	// A policy in Prod Space, so retention works there too.
	p.prod.Must("--space", "Prod Space", "apply", "-f", ferrytest.WriteFile(t, "prod.yaml",
		"environments: [{name: Production}]\nlifecycles: [{name: Live, phases: [{name: Live, environments: [Production], retention: {keepReleases: 1}}]}]\n"))
	zip := filepath.Join(dir, "web.zip")
	body := writeZip(t, zip, appFiles(7, 200))
	dev := func(args ...string) { p.dev.Must(append([]string{"--space", "DevTest Space"}, args...)...) }
	dev("package", "push", zip, "--id", "web", "--version", "2.0.0")
	dev("apply", "-f", ferrytest.WriteFile(t, "dev.yaml", `remoteEnvironments: ["Prod Space: Production"]
lifecycles: [{name: Direct, phases: [{name: Prod, environments: ["Prod Space: Production"]}]}]
projects:
  - name: Web
    lifecycle: Direct
    process: [{name: Install, type: deploy-package, package: web, destination: /srv/web}]
`))
	dev("release", "create", "Web", "--version", "2.0.0", "--package", "web:2.0.0")
	dev("promote", "Web", "2.0.0", "--to", "Prod Space", "--out", filepath.Join(dir, "web.bundle"))
	file := filepath.Join(dir, "web.ferry")
	p.dev.Must("--space", "DevTest Space", "package", "export", "--to", "Prod Space", "--full", "--out", file)

	done := make(chan ferrytest.Result, 1)
	go func() { done <- p.prod.Run("--space", "Prod Space", "package", "import", file) }()
	var wg sync.WaitGroup
	runs := 0
	wg.Go(func() {
		for {
			select {
			case r := <-done:
				done <- r
				return
			default:
			}
			if r := p.prod.Run("retention", "run"); r.Code != 0 {
				t.Errorf("retention run: %s", r.Stderr)
				return
			}
			runs++
		}
	})
	wg.Wait()
	r := <-done
	exitCode(t, r, 0, "package import")
	if runs == 0 {
		t.Log("no retention run overlapped the import this time")
	}
	p.prod.Must("retention", "run")
	copyFile := filepath.Join(dir, "copy.zip")
	p.prod.Must("--space", "Prod Space", "package", "download", "web", "2.0.0", "--out", copyFile)
	got, _ := os.ReadFile(copyFile)
	if sha256Hex(got) != sha256Hex(body) {
		t.Fatal("the imported package does not rebuild byte for byte after collections")
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDeleteRemoteSpace: deleting a remote space revokes it first; the
// release it delivered stays readable and never deploys again, its name
// and certificate cannot be added back, and in the source space deleting
// the remote space whose environments a lifecycle uses is refused.
func TestDeleteRemoteSpace(t *testing.T) {
	p := newPair(t)
	p.release(t)
	file := p.promote(t)
	prod := func(args ...string) []string { return append([]string{"--space", "Prod Space"}, args...) }
	p.prod.Must(prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}]
lifecycles: [{name: Production, phases: [{name: Live, environments: [Production]}]}]
`))...)
	p.prod.Must(prod("bundle", "import", file)...)
	p.prod.Must(prod("var", "set", "DevTest Space: My Project", "ConnectionString", "Server=prod-db", "--env", "Production")...)

	// In DevTest, lifecycle Main uses "Prod Space: Production".
	r := p.dev.Fail("--space", "DevTest Space", "remote-space", "delete", "Prod Space")
	exitCode(t, r, 6, "remote-space delete")
	contains(t, r.Stderr, `lifecycle "Main"`, "Prod Space: Production")
	// A refused delete changes nothing: revoking is for good, so it was
	// not revoked (it was, before).
	notContains(t, r.Stderr, "revoked")
	notContains(t, p.dev.Must("--space", "DevTest Space", "remote-space", "list").Stdout, "revoked")

	contains(t, p.prod.Must(prod("remote-space", "delete", "DevTest Space")...).Stdout, `Deleted remote-space "DevTest Space"`)
	notContains(t, p.prod.Must(prod("remote-space", "list")...).Stdout, "DevTest Space")
	contains(t, p.prod.Must(prod("release", "show", "DevTest Space: My Project", "1.0.0")...).Stdout, "1.0.0")
	r = p.prod.Fail(prod("deploy", "DevTest Space: My Project", "1.0.0", "--to", "Production")...)
	contains(t, r.Stderr, "revoked")
	exitCode(t, p.prod.Run(prod("bundle", "import", file)...), 7, "bundle import")
	r = p.prod.Fail(prod("remote-space", "add", "DevTest Space", "--cert", p.devPEM, "--trust", "releases")...)
	contains(t, r.Stderr, "was deleted")
	r = p.prod.Fail(prod("remote-space", "add", "DevTest Again", "--cert", p.devPEM, "--trust", "releases")...)
	contains(t, r.Stderr, "deleted")
	contains(t, p.prod.Must(prod("audit", "list")...).Stdout, "remote-space.revoke", "remote-space.delete")
}

// TestRetentionKilledMidCollection kills the server (SIGKILL) while a
// retention run collects chunks, starts it again and runs retention once
// more: nothing is half deleted (every package version still listed
// rebuilds byte for byte, the pinned one included), what the first run
// had left in the trash is settled, and nothing referenced is missing.
func TestRetentionKilledMidCollection(t *testing.T) {
	srv := ferrytest.Build(t).StartServer(t, "FERRY_RETENTION_GRACE=0s")
	dir := t.TempDir()
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "space.yaml", `environments: [{name: Dev}]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Dev], retention: {keepReleases: 1}}]}]
projects: [{name: Shop, lifecycle: Main}]
`))
	bodies := map[string][]byte{}
	for i := range 10 {
		v := fmt.Sprintf("1.0.%d", i)
		zip := filepath.Join(dir, "web-"+v+".zip")
		bodies[v] = writeZip(t, zip, appFiles(int64(100+i), 30))
		srv.Must("package", "push", zip, "--id", "web", "--version", v)
	}
	srv.Must("release", "create", "Shop", "--version", "1.0.3", "--package", "web:1.0.3") // pins 1.0.3

	trash := filepath.Join(srv.Data, "chunks", "trash")
	if err := os.RemoveAll(trash); err != nil { // so its coming back marks the collection's start
		t.Fatal(err)
	}
	done := make(chan ferrytest.Result, 1)
	go func() { done <- srv.Run("retention", "run") }()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) { // polling with a deadline
		if _, err := os.Stat(trash); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("retention never started collecting chunks")
		}
	}
	srv.Kill()
	if r := <-done; r.Code == 0 {
		t.Log("the run finished before the kill this time")
	}
	srv.Restart()
	srv.Must("retention", "run")
	list := srv.Must("package", "list").Stdout
	contains(t, list, "1.0.3", "1.0.9")
	for v, body := range bodies {
		if !strings.Contains(list, v) {
			continue
		}
		out := filepath.Join(dir, "copy-"+v+".zip")
		srv.Must("package", "download", "web", v, "--out", out)
		if sha256Hex(readFile(t, out)) != sha256Hex(body) {
			t.Fatalf("web %s does not rebuild byte for byte after the crash", v)
		}
	}
	if entries, err := os.ReadDir(trash); err != nil || len(entries) != 0 {
		t.Fatalf("the trash holds %d entries after a full run (%v)", len(entries), err)
	}
	contains(t, srv.Must("retention", "run").Stdout, "Removed nothing")
}
