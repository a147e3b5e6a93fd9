package scratch

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func roots(t *testing.T) (string, []string) {
	data := t.TempDir()
	return data, []string{filepath.Join(data, "tmp"), filepath.Join(data, "chunks", "tmp")}
}

func mustClaim(t *testing.T, rs []string, o Options) *Claim {
	t.Helper()
	c, err := New(rs, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestClaim(t *testing.T) {
	_, rs := roots(t)
	c := mustClaim(t, rs, Options{Node: "web 1/α"})
	for _, r := range rs {
		fi, err := os.Stat(c.Dir(r))
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Fatalf("%s: %v %v", c.Dir(r), fi, err)
		}
		if !strings.HasPrefix(filepath.Base(c.Dir(r)), "web_1__.") {
			t.Errorf("claim name %s", filepath.Base(c.Dir(r)))
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if entries, _ := os.ReadDir(r); len(entries) != 0 {
			t.Errorf("%s holds %v after Close", r, entries)
		}
	}
}

// TestSweepsGoneProcesses: a claim whose lock is free is removed with its
// folders in every root, and Dead sees them first; a live claim is kept.
func TestSweepsGoneProcesses(t *testing.T) {
	_, rs := roots(t)
	live := mustClaim(t, rs, Options{Node: "n1"})
	defer live.Close()
	gone := mustClaim(t, rs, Options{Node: "n1"})
	for _, r := range rs {
		os.WriteFile(filepath.Join(gone.Dir(r), "partial-upload"), []byte("x"), 0o600)
	}
	gone.lock.Close() // as if its process died: the lock is released, the files stay
	var dead []string
	c := mustClaim(t, rs, Options{Node: "n1", Dead: func(d string) { dead = append(dead, d) }})
	defer c.Close()
	for _, r := range rs {
		if exists(gone.Dir(r)) {
			t.Errorf("%s survived", gone.Dir(r))
		}
		if !exists(live.Dir(r)) {
			t.Errorf("a live claim's folder %s was removed", live.Dir(r))
		}
		if !slices.Contains(dead, gone.Dir(r)) {
			t.Errorf("Dead did not see %s: %v", gone.Dir(r), dead)
		}
	}
	if exists(gone.lockPath()) || !exists(live.lockPath()) {
		t.Error("lock files")
	}
}

// TestOtherLiveNodesKeepTheirs: a free lock of another node that heartbeats
// is not proof it is gone (a file system without shared locks).
func TestOtherLiveNodesKeepTheirs(t *testing.T) {
	_, rs := roots(t)
	other := mustClaim(t, rs, Options{Node: "n2"})
	other.lock.Close()
	c := mustClaim(t, rs, Options{Node: "n1", Alive: []string{"n2"}})
	if !exists(other.Dir(rs[0])) {
		t.Fatal("removed the claim of a live node")
	}
	c.Close()
	c = mustClaim(t, rs, Options{Node: "n1"})
	defer c.Close()
	if exists(other.Dir(rs[0])) {
		t.Fatal("kept the claim of a dead node")
	}
}

// TestOrphans: a claim folder without a lock (a sweep that stopped half
// way) and a lock that never made it into place are removed.
func TestOrphans(t *testing.T) {
	_, rs := roots(t)
	os.MkdirAll(rs[1], 0o700)
	orphan := filepath.Join(rs[1], "n1.0123456789abcdef")
	os.Mkdir(orphan, 0o700)
	stale := filepath.Join(rs[0], ".n1.0123456789abcdef.new")
	os.MkdirAll(rs[0], 0o700)
	os.WriteFile(stale, nil, 0o600)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(stale, old, old)
	c := mustClaim(t, rs, Options{Node: "n1"})
	defer c.Close()
	if exists(orphan) || exists(stale) {
		t.Error("orphans survived")
	}
}

// TestLegacy: what an earlier version left is removed when this node is
// alone; with other nodes alive only what has not changed for a day.
func TestLegacy(t *testing.T) {
	data, rs := roots(t)
	uploads := filepath.Join(rs[0], "packages")
	work := filepath.Join(data, "work", "task-3")
	chunkTmp := filepath.Join(rs[1], strings.Repeat("ab", 32)+".0123456789abcdef")
	for _, d := range []string{uploads, work, rs[1]} {
		os.MkdirAll(d, 0o700)
	}
	fresh, stale := filepath.Join(uploads, "upload-1"), filepath.Join(uploads, "upload-2")
	for _, f := range []string{fresh, stale, filepath.Join(work, "script.sh"), chunkTmp} {
		os.WriteFile(f, []byte("x"), 0o600)
	}
	old := time.Now().Add(-2 * LegacyAge)
	os.Chtimes(stale, old, old)
	legacy := []string{rs[0], rs[1], filepath.Join(data, "work")}

	c := mustClaim(t, rs, Options{Node: "n1", Alive: []string{"n2"}, Legacy: legacy})
	if exists(stale) || !exists(fresh) || !exists(chunkTmp) {
		t.Errorf("with another node alive: stale %v fresh %v chunk %v", exists(stale), exists(fresh), exists(chunkTmp))
	}
	c.Close()
	c = mustClaim(t, rs, Options{Node: "n1", Legacy: legacy})
	defer c.Close()
	for _, p := range []string{uploads, chunkTmp, filepath.Join(data, "work")} {
		if exists(p) {
			t.Errorf("alone: %s survived", p)
		}
	}
	if !exists(c.Dir(rs[0])) || !exists(c.Dir(rs[1])) {
		t.Error("the legacy sweep removed the new claim")
	}
}
