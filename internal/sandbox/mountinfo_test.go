package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const sampleMountInfo = `22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
40 27 254:0 /srv/ferry /mnt/alias rw,relatime - ext4 /dev/vda rw
41 27 254:0 /srv /backup/srv rw,relatime - ext4 /dev/vda rw
42 27 254:0 /srv/ferry/data/chunks /var/chunks rw,relatime - ext4 /dev/vda rw
43 27 254:0 /srv/other /mnt/other rw,relatime - ext4 /dev/vda rw
44 27 8:1 / /srv/ferry/data/big rw,relatime - xfs /dev/sdb1 rw
45 27 8:1 /pool /mnt/pool rw,relatime - xfs /dev/sdb1 rw
46 27 254:0 /with\040space /mnt/sp\134ace rw,relatime - ext4 /dev/vda rw
`

func TestParseMountInfo(t *testing.T) {
	ms, err := parseMountInfo(strings.NewReader(sampleMountInfo))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 9 {
		t.Fatalf("%d mounts", len(ms))
	}
	if got := ms[8]; got.root != "/with space" || got.point != `/mnt/sp\ace` {
		t.Errorf("escapes: %+v", got)
	}
	if _, err := parseMountInfo(strings.NewReader("1 2\n")); err == nil {
		t.Error("a malformed line was accepted")
	}
}

func TestAliases(t *testing.T) {
	ms, _ := parseMountInfo(strings.NewReader(sampleMountInfo))
	got := aliases("/srv/ferry/data", ms)
	slices.Sort(got)
	want := []string{
		"/backup/srv/ferry/data", // a bind of a folder above it
		"/mnt/alias/data",        // a bind of its parent
		"/mnt/pool",              // part of a file system mounted inside it
		"/var/chunks",            // a bind of a folder inside it
	}
	if !slices.Equal(got, want) {
		t.Errorf("aliases = %q, want %q", got, want)
	}
	if got := aliases("/srv/ferry/data/big", ms); !slices.Equal(got, []string{"/mnt/pool"}) {
		t.Errorf("aliases of a mounted file system = %q", got)
	}
	if got := aliases("/srv/other/x", ms); !slices.Equal(got, []string{"/backup/srv/other/x", "/mnt/other/x"}) {
		t.Errorf("aliases of /srv/other/x = %q", got)
	}
}

// TestHidesBindMountAliases bind-mounts the data folder and a folder above
// it elsewhere (in a mount namespace of the test's own), and reads through
// those paths from the sandbox.
func TestHidesBindMountAliases(t *testing.T) {
	if os.Getenv("FERRY_SANDBOX_TEST_ALIASES") != "" {
		aliasesInside(t)
		return
	}
	if os.Getuid() != 0 {
		t.Skip("needs root to bind-mount the test's aliases")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare is not installed")
	}
	tr := newTree(t)
	a1, a2 := filepath.Join(tr.srv, "alias-data"), filepath.Join(tr.srv, "alias-root")
	must(t, os.MkdirAll(a1, 0o755))
	must(t, os.MkdirAll(a2, 0o755))
	script := fmt.Sprintf("mount --bind %q %q && mount --bind %q %q && exec %q -test.run '^TestHidesBindMountAliases$' -test.v",
		tr.data, a1, tr.root, a2, os.Args[0])
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c", script)
	cmd.Env = append(os.Environ(), "FERRY_SANDBOX_TEST_ALIASES="+strings.Join([]string{tr.root, tr.data, tr.work, a1, a2, strings.Join(tr.secrets, ",")}, "|"))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("%v\n%s", err, out)
	}
}

func aliasesInside(t *testing.T) {
	f := strings.Split(os.Getenv("FERRY_SANDBOX_TEST_ALIASES"), "|")
	tr := tree{root: f[0], data: f[1], work: f[2], secrets: strings.Split(f[5], ",")}
	a1, a2 := f[3], f[4]
	if b, err := os.ReadFile(filepath.Join(a1, "admin.key")); err != nil || !strings.Contains(string(b), tr.secrets[0]) {
		t.Fatalf("the alias is not set up: %q %v", b, err)
	}
	sb, err := New(Policy{Hide: []string{tr.data}}, Isolate)
	must(t, err)
	defer sb.Close()
	out, err := tr.run(t, sb, fmt.Sprintf(`cat %[1]q/admin.key %[2]q/data/master.key %[2]q/data/chunks/ab 2>&1; ls -A %[1]q; echo ok`, a1, a2))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	tr.checkNoSecret(t, out)
	if !strings.Contains(out, "ok") {
		t.Fatalf("did not finish: %s", out)
	}
	for _, p := range []string{filepath.Join(a1, "x"), filepath.Join(a2, "data")} {
		if _, ok := sb.Overlaps(p); !ok {
			t.Errorf("Overlaps(%s) through a bind mount of the data folder = false", p)
		}
	}
}
