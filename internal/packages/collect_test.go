package packages

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func chunkOf(s string) (Hash, []byte) {
	b := []byte(s)
	return sha256.Sum256(b), b
}

// backdate makes a stored chunk look written long ago.
func backdate(t *testing.T, c *Chunks, h Hash) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(c.path(h), old, old); err != nil {
		t.Fatal(err)
	}
}

func nothingUsed(context.Context) (func(Hash) bool, error) {
	return func(Hash) bool { return false }, nil
}

func TestCollectRemovesOnlyUnusedOldChunks(t *testing.T) {
	c, err := OpenChunks(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	used, _ := chunkOf("used")
	unused, _ := chunkOf("unused")
	young, _ := chunkOf("young")
	for _, s := range []string{"used", "unused", "young"} {
		h, b := chunkOf(s)
		if _, err := c.Put(h, b); err != nil {
			t.Fatal(err)
		}
	}
	backdate(t, c, used)
	backdate(t, c, unused)
	st, err := c.Collect(t.Context(), time.Minute, func(context.Context) (func(Hash) bool, error) {
		return func(h Hash) bool { return h == used }, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Has(used) || c.Has(unused) || !c.Has(young) {
		t.Fatalf("after collection: used %v, unused %v, young %v; want true, false, true", c.Has(used), c.Has(unused), c.Has(young))
	}
	if st.Removed != 1 || st.RemovedBytes != int64(len("unused")) || st.Kept != 1 || st.Young != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestCollectSparesHeldWork is the case chunk collection must get right: a
// push (or transfer) has written chunks — one of them new, one that was
// stored already and used by no package — but not yet recorded its
// manifest when collection runs. Neither may go, however long ago the
// existing one was written; once the manifest is recorded and the hold
// released, they are the manifest's.
func TestCollectSparesHeldWork(t *testing.T) {
	c, err := OpenChunks(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	orphan, ob := chunkOf("orphan, reused by the push")
	garbage, gb := chunkOf("garbage")
	for h, b := range map[Hash][]byte{orphan: ob, garbage: gb} {
		c.Put(h, b)
		backdate(t, c, h)
	}

	hold, err := c.Hold()
	if err != nil {
		t.Fatal(err)
	}
	fresh, fb := chunkOf("new in the push")
	if _, err := c.Put(fresh, fb); err != nil {
		t.Fatal(err)
	}
	if isNew, err := c.Put(orphan, ob); err != nil || isNew {
		t.Fatalf("put an existing chunk: new %v, %v", isNew, err)
	}
	// No manifest names them yet.
	if _, err := c.Collect(t.Context(), 0, nothingUsed); err != nil {
		t.Fatal(err)
	}
	if !c.Has(fresh) || !c.Has(orphan) {
		t.Fatalf("collection removed chunks of work in flight: new %v, reused %v", c.Has(fresh), c.Has(orphan))
	}
	if c.Has(garbage) {
		t.Fatal("collection kept a chunk nothing uses")
	}
	hold.Release()
	if _, err := c.Collect(t.Context(), 0, func(context.Context) (func(Hash) bool, error) {
		return func(h Hash) bool { return h == fresh || h == orphan }, nil
	}); err != nil {
		t.Fatal(err)
	}
	if !c.Has(fresh) || !c.Has(orphan) {
		t.Fatal("collection removed chunks of a recorded manifest")
	}
}

// TestCollectOldHoldProtectsEarlyWrites: a long transfer took its hold,
// touched a chunk early on and goes on; a later collection must keep that
// chunk although it was touched before the collection began.
func TestCollectOldHoldProtectsEarlyWrites(t *testing.T) {
	c, err := OpenChunks(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	h, b := chunkOf("touched early")
	c.Put(h, b)
	backdate(t, c, h)
	hold, err := c.Hold()
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Release()
	if err := c.Touch(h); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Collect(t.Context(), 0, nothingUsed); err != nil {
		t.Fatal(err)
	}
	if !c.Has(h) {
		t.Fatal("a chunk touched under a live hold was removed")
	}
	missing, _ := chunkOf("never stored")
	if err := c.Touch(missing); err == nil {
		t.Fatal("Touch of a missing chunk succeeded")
	}
}

// TestCollectForgetsDeadHolds: a hold whose process died (its lock is
// gone) no longer protects anything.
func TestCollectForgetsDeadHolds(t *testing.T) {
	dir := t.TempDir()
	c, err := OpenChunks(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	h, b := chunkOf("left by a crashed push")
	c.Put(h, b)
	backdate(t, c, h)
	// What a process that died leaves: an unlocked hold file, older than
	// the chunk.
	if err := os.MkdirAll(filepath.Join(dir, holdsDir), 0o700); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(dir, holdsDir, fmt.Sprintf("%020d-dead.hold", time.Now().Add(-2*time.Hour).UnixNano()))
	if err := os.WriteFile(dead, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Collect(t.Context(), 0, nothingUsed); err != nil {
		t.Fatal(err)
	}
	if c.Has(h) {
		t.Fatal("a dead hold kept an unused chunk")
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Fatal("the dead hold file was not removed")
	}
}

// TestCollectRestoresTrash: a collection that stopped between moving a
// chunk to the trash and deciding leaves it there; the next one puts a
// chunk in use back and removes one nobody uses.
func TestCollectRestoresTrash(t *testing.T) {
	dir := t.TempDir()
	c, err := OpenChunks(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	keep, kb := chunkOf("in use, caught in the trash")
	drop, db := chunkOf("garbage, caught in the trash")
	for h, b := range map[Hash][]byte{keep: kb, drop: db} {
		c.Put(h, b)
		backdate(t, c, h)
		os.MkdirAll(filepath.Join(dir, trashDir), 0o700)
		if err := os.Rename(c.path(h), filepath.Join(dir, trashDir, h.String())); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Collect(t.Context(), 0, func(context.Context) (func(Hash) bool, error) {
		return func(h Hash) bool { return h == keep }, nil
	}); err != nil {
		t.Fatal(err)
	}
	if !c.Has(keep) || c.Has(drop) {
		t.Fatalf("after collection: in use %v (want true), garbage %v (want false)", c.Has(keep), c.Has(drop))
	}
	if left, _ := os.ReadDir(filepath.Join(dir, trashDir)); len(left) != 0 {
		t.Fatalf("trash not emptied: %d files", len(left))
	}
}

// TestCollectRacingWriters runs collections back to back while writers
// push "packages" — some chunks new, some shared with earlier packages,
// some that were garbage — and record their manifests, and packages are
// deleted meanwhile. Every manifest recorded and not deleted must find
// all its chunks, whatever the interleaving (run with -race).
func TestCollectRacingWriters(t *testing.T) {
	c, err := OpenChunks(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	manifests := map[int][]Hash{} // the "store": package → its chunks
	mark := func(context.Context) (func(Hash) bool, error) {
		mu.Lock()
		used := map[Hash]bool{}
		for _, m := range manifests {
			for _, h := range m {
				used[h] = true
			}
		}
		mu.Unlock()
		return func(h Hash) bool { return used[h] }, nil
	}
	ctx, cancel := context.WithCancel(t.Context())
	var collections sync.WaitGroup
	collections.Go(func() {
		for ctx.Err() == nil {
			if _, err := c.Collect(ctx, 0, mark); err != nil && ctx.Err() == nil {
				t.Error(err)
				return
			}
		}
	})
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Go(func() {
			for i := range 60 {
				id := w*1000 + i
				hold, err := c.Hold()
				if err != nil {
					t.Error(err)
					return
				}
				var hs []Hash
				for k := range 6 {
					// Content shared across writers and with packages
					// deleted before: the chunk may exist, be garbage,
					// or be in the middle of being collected.
					h, b := chunkOf(fmt.Sprintf("chunk %d", (id+k*7)%40))
					if _, err := c.Put(h, b); err != nil {
						t.Error(err)
						return
					}
					hs = append(hs, h)
				}
				mu.Lock()
				manifests[id] = hs
				if i%3 == 0 {
					delete(manifests, id-3) // retention removes an older package
				}
				mu.Unlock()
				hold.Release()
			}
		})
	}
	writers.Wait()
	cancel()
	collections.Wait()
	mu.Lock()
	defer mu.Unlock()
	for id, hs := range manifests {
		for _, h := range hs {
			if !c.Has(h) {
				t.Fatalf("package %d lost chunk %s to a collection", id, h)
			}
		}
	}
}

// TestCollectRestoreKeepsNewerChunk: a chunk an earlier (stopped)
// collection left in the trash, old, while a push has since written it
// again: putting the trash copy back must not replace the fresh one, whose
// time is what protects the push's hold. Before, the restore renamed the
// old copy over it, making the chunk look old again.
func TestCollectRestoreKeepsNewerChunk(t *testing.T) {
	dir := t.TempDir()
	c, err := OpenChunks(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	h, b := chunkOf("left in the trash, then pushed again")
	c.Put(h, b)
	backdate(t, c, h)
	os.MkdirAll(filepath.Join(dir, trashDir), 0o700)
	if err := os.Rename(c.path(h), filepath.Join(dir, trashDir, h.String())); err != nil {
		t.Fatal(err)
	}
	hold, err := c.Hold()
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Release()
	if _, err := c.Put(h, b); err != nil { // the push, under its hold
		t.Fatal(err)
	}
	fresh, err := os.Stat(c.path(h))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Collect(t.Context(), 0, func(context.Context) (func(Hash) bool, error) {
		return func(Hash) bool { return true }, nil // an older manifest still names it
	}); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(c.path(h))
	if err != nil {
		t.Fatal(err)
	}
	if after.ModTime().Before(fresh.ModTime()) {
		t.Fatalf("the restored trash copy replaced the pushed chunk: its time went from %v back to %v", fresh.ModTime(), after.ModTime())
	}
	if left, _ := os.ReadDir(filepath.Join(dir, trashDir)); len(left) != 0 {
		t.Fatalf("trash not emptied: %d files", len(left))
	}
}

// TestCollectionsAtOnce: the retention loop and a `retention run` collect
// at the same time, over a trash an earlier collection left, and two
// handles on one folder (two servers sharing it) do too. Neither fails on
// a trash file the other settled (a `retention run` answered 500 for it).
func TestCollectionsAtOnce(t *testing.T) {
	dir := t.TempDir()
	a, err := OpenChunks(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenChunks(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, trashDir), 0o700)
	for i := range 2000 {
		h, data := chunkOf(fmt.Sprint("garbage ", i))
		a.Put(h, data)
		backdate(t, a, h)
		if i%2 == 0 { // left in the trash by a collection that stopped
			if err := os.Rename(a.path(h), filepath.Join(dir, trashDir, h.String())); err != nil {
				t.Fatal(err)
			}
		}
	}
	var wg sync.WaitGroup
	for _, c := range []*Chunks{a, a, b, b} {
		wg.Go(func() {
			if _, err := c.Collect(t.Context(), 0, nothingUsed); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if left, _ := os.ReadDir(filepath.Join(dir, trashDir)); len(left) != 0 {
		t.Errorf("trash not emptied: %d files", len(left))
	}
}
