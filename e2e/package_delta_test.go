package e2e

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// ciTree writes an application as a CI build leaves it: text and binary
// files under app/, every one modified at mtime. Version 2 (changed) edits
// files holding about 1% of the content.
func ciTree(t *testing.T, dir string, mtime time.Time, changed bool) {
	t.Helper()
	r := rand.New(rand.NewSource(11))
	words := []string{"deploy ", "release ", "ferry ", "space\n", "{ ", "} ", "const ", "export ", "42 "}
	var names []string
	files := map[string][]byte{}
	for i := 0; i < 240; i++ {
		var b []byte
		name := fmt.Sprintf("app/src/m%02d/file%03d.js", i%13, i)
		if i%2 == 1 {
			name = fmt.Sprintf("app/img/i%03d.png", i)
			b = make([]byte, 2000+r.Intn(12000))
			r.Read(b)
		} else {
			var buf bytes.Buffer
			for n := 2000 + r.Intn(12000); buf.Len() < n; {
				buf.WriteString(words[r.Intn(len(words))])
			}
			b = buf.Bytes()
		}
		names = append(names, name)
		files[name] = b
	}
	if changed {
		for _, i := range []int{10, 31, 100} {
			b := bytes.Clone(files[names[i]])
			mid := len(b) / 2
			if i%2 == 1 {
				copy(b[mid:], "100 bytes of a new image..........................................................................")
			} else {
				b = append(b[:mid:mid], append([]byte("\n// changed in version 2\n"), b[mid:]...)...)
			}
			files[names[i]] = b
		}
	}
	for _, name := range names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mtime, mtime)
	}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.IsDir() {
			os.Chtimes(p, mtime, mtime)
		}
		return nil
	})
}

// packWithTools packs dir/app with each real tool installed and returns
// the archives by kind. Missing tools are skipped with a message (.ci/run
// installs them).
func packWithTools(t *testing.T, dir, suffix string) map[string]string {
	t.Helper()
	out := map[string]string{}
	run := func(kind, script string, tools ...string) {
		for _, tool := range tools {
			if _, err := exec.LookPath(tool); err != nil {
				t.Logf("skipped %s: %s is not installed (apt-get install zip default-jdk-headless gzip tar)", kind, tool)
				return
			}
		}
		file := filepath.Join(dir, "app"+suffix+"."+kind)
		cmd := exec.Command("sh", "-c", script)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "OUT="+file)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", script, err, b)
		}
		out[kind] = file
	}
	run("zip", `zip -q -r -6 "$OUT" app`, "zip")
	run("jar", `jar cf "$OUT" app`, "jar")
	run("tar", `tar -cf "$OUT" app`, "tar")
	run("tar.gz", `tar -cf - app | gzip -6 -n > "$OUT"`, "tar", "gzip")
	return out
}

// TestPackageDeltaRealTools is issue 16's walkthrough with transfer files:
// packages made by Info-ZIP zip, jar, GNU tar and tar + gzip -6 go to Prod;
// version 2 changes about 1% of the content and re-timestamps every entry,
// and its transfer file carries deltas of a few percent at most, which Prod
// rebuilds byte for byte. A schema 1 file (--schema-version 1) is still
// written and read; a damaged delta is refused and nothing enters the feed.
func TestPackageDeltaRealTools(t *testing.T) {
	dir := t.TempDir()
	v1dir, v2dir := filepath.Join(dir, "v1"), filepath.Join(dir, "v2")
	ciTree(t, v1dir, time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC), false)
	ciTree(t, v2dir, time.Date(2026, 5, 2, 17, 30, 11, 0, time.UTC), true)
	v1 := packWithTools(t, v1dir, "-1")
	v2 := packWithTools(t, v2dir, "-2")
	if len(v1) == 0 {
		t.Skip("no archiving tool is installed")
	}

	p := newPair(t)
	dev := func(args ...string) ferrytest.Result {
		return p.dev.Must(append([]string{"--space", "DevTest Space"}, args...)...)
	}
	prod := func(args ...string) ferrytest.Result {
		return p.prod.Must(append([]string{"--space", "Prod Space"}, args...)...)
	}
	prodFail := func(args ...string) ferrytest.Result {
		return p.prod.Fail(append([]string{"--space", "Prod Space"}, args...)...)
	}
	dev("apply", "-f", ferrytest.WriteFile(t, "dev.yaml", `remoteEnvironments: ["Prod Space: Production"]
lifecycles: [{name: Main, phases: [{name: Prod, environments: ["Prod Space: Production"]}]}]
projects: [{name: Shop, lifecycle: Main, process: [{name: Say, type: script, script: "true"}]}]
`))
	prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}]
lifecycles: [{name: Live, phases: [{name: Live, environments: [Production]}]}]
`))
	release := func(version string, files map[string]string) {
		args := []string{"release", "create", "Shop", "--version", version}
		for kind, f := range files {
			id := "shop-" + strings.ReplaceAll(kind, ".", "-")
			dev("package", "push", f, "--id", id, "--version", version)
			args = append(args, "--package", id+":"+version)
		}
		dev(args...)
		b := filepath.Join(dir, "shop-"+version+".bundle")
		dev("promote", "Shop", version, "--to", "Prod Space", "--out", b)
		prod("bundle", "import", b)
	}

	release("1.0.0", v1)
	t1 := filepath.Join(dir, "t1.ferry")
	dev("package", "export", "--to", "Prod Space", "--out", t1)
	prod("package", "import", t1)
	inv := filepath.Join(dir, "inventory.json")
	prod("package", "inventory", "--out", inv)

	release("2.0.0", v2)
	var total int64
	for _, f := range v2 {
		fi, _ := os.Stat(f)
		total += fi.Size()
	}
	t2 := filepath.Join(dir, "t2.ferry")
	r := dev("package", "export", "--to", "Prod Space", "--inventory", inv, "--out", t2, "-o", "json")
	var sum struct {
		SchemaVersion, Deltas int
		DeltaBytes            int64
	}
	decodeJSON(t, r.Stdout, &sum)
	fi, _ := os.Stat(t2)
	pct := 100 * float64(fi.Size()) / float64(total)
	t.Logf("version 2 of %d packages (%d bytes): transfer file %d bytes (%.2f%%), %d deltas", len(v2), total, fi.Size(), pct, sum.Deltas)
	if sum.SchemaVersion != 3 || sum.Deltas != len(v2) {
		t.Fatalf("export: %s", r.Stdout)
	}
	if pct > 2 {
		t.Errorf("the transfer file is %.2f%% of the packages; the goal is at most 2%%", pct)
	}

	// A damaged delta is refused, and nothing enters the feed.
	data, _ := os.ReadFile(t2)
	at := bytes.Index(data, []byte("deltas/000000"))
	if at < 0 {
		t.Fatal("no delta entry in the transfer file")
	}
	bad := bytes.Clone(data)
	bad[at+512+40] ^= 0x20
	r = prodFail("package", "import", ferrytest.WriteFile(t, "bad.ferry", string(bad)))
	contains(t, r.Stderr, "refused")
	if strings.Contains(prod("package", "list").Stdout, "2.0.0") {
		t.Fatal("a refused transfer file added packages")
	}
	// Truncated in the middle of the deltas.
	r = prodFail("package", "import", ferrytest.WriteFile(t, "short.ferry", string(data[:at+600])))
	contains(t, r.Stderr, "refused")

	r = prod("package", "import", t2)
	contains(t, r.Stdout, fmt.Sprintf("Imported %d package(s)", len(v2)), "rebuilt from deltas")
	for kind, f := range v2 {
		id := "shop-" + strings.ReplaceAll(kind, ".", "-")
		got := filepath.Join(dir, "got-"+kind)
		prod("package", "download", id, "2.0.0", "--out", got)
		a, _ := os.ReadFile(f)
		b, _ := os.ReadFile(got)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: version 2 did not arrive byte for byte", kind)
		}
	}

	// Schema 1 (from before deltas) is no longer written: a server reads
	// its own version and the previous one (SPEC §4).
	t3 := filepath.Join(dir, "t3.ferry")
	contains(t, p.dev.Fail("--space", "DevTest Space", "package", "export", "--to", "Prod Space", "--schema-version", "1", "--out", t3).Stderr, "writes 2 and 3")
	contains(t, p.dev.Fail("--space", "DevTest Space", "package", "export", "--to", "Prod Space", "--schema-version", "7", "--out", t3).Stderr, "writes 2 and 3")
}

// TestConnectedPackageDelta: once Prod's receipt says it holds version 1,
// promoting version 2 sends a delta over the connection, which Prod
// rebuilds byte for byte.
func TestConnectedPackageDelta(t *testing.T) {
	p := newConnectedPair(t, func(prod *ferrytest.Server) string { return prod.URL })
	dir := t.TempDir()
	dev := func(args ...string) ferrytest.Result {
		return p.dev.Must(append([]string{"--space", "DevTest Space"}, args...)...)
	}
	prod := func(args ...string) ferrytest.Result {
		return p.prod.Must(append([]string{"--space", "Prod Space"}, args...)...)
	}
	v1dir, v2dir := filepath.Join(dir, "v1"), filepath.Join(dir, "v2")
	ciTree(t, v1dir, time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC), false)
	ciTree(t, v2dir, time.Date(2026, 5, 2, 17, 30, 11, 0, time.UTC), true)
	v1 := packWithTools(t, v1dir, "-1")["tar.gz"]
	v2 := packWithTools(t, v2dir, "-2")["tar.gz"]
	if v1 == "" {
		t.Skip("tar and gzip are needed")
	}
	dev("apply", "-f", ferrytest.WriteFile(t, "dev.yaml", `remoteEnvironments: ["Prod Space: Production"]
lifecycles: [{name: Main, phases: [{name: Prod, environments: ["Prod Space: Production"]}]}]
projects:
  - name: Shop
    lifecycle: Main
    process:
      - {name: Install, type: deploy-package, package: shop, destination: "`+filepath.Join(dir, "srv", "shop")+`"}
`))
	deliveredPackages := func() []string {
		var list []struct{ Kind, State, Result string }
		decodeJSON(t, p.dev.Must("--space", "DevTest Space", "remote-space", "deliveries", "Prod Space", "-o", "json").Stdout, &list)
		var out []string
		for _, d := range list {
			if d.Kind == "packages" && d.State == "delivered" {
				out = append(out, d.Result)
			}
		}
		return out
	}
	for i, f := range []string{v1, v2} {
		version := fmt.Sprintf("%d.0.0", i+1)
		dev("package", "push", f, "--id", "shop", "--version", version)
		dev("release", "create", "Shop", "--version", version, "--package", "shop:"+version)
		dev("promote", "Shop", version, "--to", "Prod Space")
		ferrytest.WaitFor(t, 60*time.Second, "package "+version+" in Prod", func() bool {
			return strings.Contains(p.prod.Must("--space", "Prod Space", "package", "list").Stdout, version)
		})
		ferrytest.WaitFor(t, 30*time.Second, "the packages delivery", func() bool { return len(deliveredPackages()) > i })
		// Deploying in Prod sends a receipt back listing the packages it holds.
		prod("deploy", "DevTest Space: Shop", version, "--to", "Production", "--wait")
		ferrytest.WaitFor(t, 30*time.Second, "Prod's receipt in DevTest", func() bool {
			return strings.Contains(lineWith(t, dev("dashboard").Stdout, "Prod Space: Production"), version)
		})
	}
	results := deliveredPackages()
	t.Logf("deliveries: %q", results)
	if !strings.Contains(strings.Join(results, "\n"), "1 delta(s)") {
		t.Errorf("version 2 did not travel as a delta: %q", results)
	}
	got := filepath.Join(dir, "got.tar.gz")
	prod("package", "download", "shop", "2.0.0", "--out", got)
	a, _ := os.ReadFile(v2)
	b, _ := os.ReadFile(got)
	if !bytes.Equal(a, b) {
		t.Fatal("version 2 did not arrive byte for byte")
	}
}
