package ferrytest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	atMu    sync.Mutex
	atBuilt = map[string]Binary{}
)

// BuildAt compiles ./cmd/ferry as it was at a commit of this repository's
// history — the previous release, for tests of spaces that upgrade one at a
// time — once per test process. It skips the test, saying why, when the
// history is not available (a source tarball, a shallow clone).
func BuildAt(t testing.TB, commit string) Binary {
	t.Helper()
	atMu.Lock()
	defer atMu.Unlock()
	if b, ok := atBuilt[commit]; ok {
		return b
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "-C", root, "cat-file", "-e", commit+"^{commit}").CombinedOutput(); err != nil {
		t.Skipf("the previous release's source (commit %s) is not in this checkout's git history (%v %s); fetch the history to run this test", commit, err, out)
	}
	dir, err := os.MkdirTemp("", "ferry-"+commit+"-")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	archive := exec.Command("sh", "-c", fmt.Sprintf("git -C %q archive %s | tar -x -C %q", root, commit, src))
	if out, err := archive.CombinedOutput(); err != nil {
		t.Fatalf("extract commit %s: %v\n%s", commit, err, out)
	}
	out := filepath.Join(dir, "ferry")
	build := exec.Command("go", "build", "-o", out, "./cmd/ferry")
	build.Dir = src
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build ferry at %s: %v\n%s", commit, err, b)
	}
	os.RemoveAll(src)
	atBuilt[commit] = Binary{Path: out}
	return atBuilt[commit]
}
