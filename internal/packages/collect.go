package packages

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Chunk collection: removing the chunks no stored package uses, while
// pushes and transfers may be writing chunks that no manifest names yet.
//
// The rule (docs/architecture.md, "Deleting and retention"):
//
//   - Work that writes chunks, or relies on chunks it will name in a
//     manifest, holds a Hold from before its first chunk until its
//     manifest is committed. Every chunk it relies on it writes (Put) or
//     touches (Touch) after taking the hold, which sets the chunk's
//     modification time to now — so each such chunk is at least as young
//     as the hold.
//   - Collect notes the time and the oldest live hold first, then asks
//     which chunks the store's manifests use (mark), then removes only
//     chunks that no manifest uses and that are older than the oldest
//     hold (and the grace, for clocks and coarse file times). A chunk
//     touched by work in flight is younger than that, whenever the work
//     started; work that ended before has its manifest committed, and
//     the mark, taken after, sees it.
//   - The removal itself cannot race a touch: the chunk is first renamed
//     into a trash folder (atomic), and its time read there. A touch that
//     came before the rename shows, and the chunk is put back; one after
//     it finds no chunk, and Put writes it again (Touch reports it
//     missing). A collection that stops midway leaves the trash to the
//     next one, which applies the same rule to it.

// holdsDir and trashDir are folders of the chunk store; chunk folders are
// two hex digits, so the names cannot clash.
const (
	holdsDir = "holds"
	trashDir = "trash"
)

// Hold marks work in progress that writes chunks, or relies on chunks, not
// yet named by a committed manifest: Collect removes no chunk written or
// touched since the oldest hold began. A hold is a file in the chunk
// store's holds folder named by its start time and locked (flock, shared)
// while it is held, so holds of every process sharing the folder count,
// and a process that dies releases its own.
type Hold struct {
	f    *os.File
	path string
}

// Hold starts a hold; call Release when the work has committed its
// manifests (or given up).
func (c *Chunks) Hold() (*Hold, error) {
	dir := filepath.Join(c.dir, holdsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("hold chunks: %w", err)
	}
	start := time.Now()
	var rnd [8]byte
	rand.Read(rnd[:])
	id := hex.EncodeToString(rnd[:])
	// Locked under a name Collect ignores, then renamed: a hold Collect
	// can see is always locked while its holder lives.
	tmp := filepath.Join(dir, "."+id)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("hold chunks: %w", err)
	}
	final := filepath.Join(dir, fmt.Sprintf("%020d-%s.hold", start.UnixNano(), id))
	if err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("hold chunks: %w", err)
	}
	return &Hold{f: f, path: final}, nil
}

// Release ends the hold.
func (h *Hold) Release() {
	os.Remove(h.path)
	h.f.Close()
}

// Touch marks a stored chunk as in use now, for work under a Hold that
// will name it in a manifest without writing it. It returns
// ErrMissingChunk when the chunk is not stored (any more).
func (c *Chunks) Touch(h Hash) error {
	now := time.Now()
	err := os.Chtimes(c.path(h), now, now)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrMissingChunk, h)
	}
	return err
}

// oldestHold returns the start of the oldest live hold (now when there is
// none), removing the hold files of processes that died.
func (c *Chunks) oldestHold(now time.Time) (time.Time, error) {
	dir := filepath.Join(c.dir, holdsDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return now, nil
	}
	if err != nil {
		return now, fmt.Errorf("read chunk holds: %w", err)
	}
	oldest := now
	for _, e := range entries {
		start, ok := holdStart(e.Name())
		if !ok {
			continue
		}
		if !c.holdAlive(filepath.Join(dir, e.Name())) {
			continue
		}
		if start.Before(oldest) {
			oldest = start
		}
	}
	return oldest, nil
}

// holdStart reads a hold's start from its file name.
func holdStart(name string) (time.Time, bool) {
	ns, _, ok := strings.Cut(strings.TrimSuffix(name, ".hold"), "-")
	if !ok || !strings.HasSuffix(name, ".hold") {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, n), true
}

// holdAlive reports whether the hold file at path is still held; one whose
// holder died is removed. A file that cannot be checked counts as held.
func (c *Chunks) holdAlive(path string) bool {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false // released meanwhile
	}
	if err != nil {
		return true
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return true
	}
	os.Remove(path)
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

// CollectStats says what a collection did.
type CollectStats struct {
	Removed      int   `json:"removed"`      // chunks removed
	RemovedBytes int64 `json:"removedBytes"` // their size
	Kept         int   `json:"kept"`         // chunks in use
	// Young are unused chunks kept because they are younger than the
	// oldest hold or the grace: work in flight may be about to use them.
	Young int `json:"young"`
}

// Collect removes the chunks that no stored package uses. mark is called
// after the oldest hold is known and returns whether a chunk is in use;
// it must read the store's manifests as they are then. grace is how much
// older than the oldest hold (or now) an unused chunk must be; it covers
// the clocks of other servers sharing the folder and file systems with
// coarse times.
func (c *Chunks) Collect(ctx context.Context, grace time.Duration, mark func(ctx context.Context) (func(Hash) bool, error)) (CollectStats, error) {
	c.collect.Lock()
	defer c.collect.Unlock()
	var st CollectStats
	now := time.Now()
	oldest, err := c.oldestHold(now)
	if err != nil {
		return st, err
	}
	cutoff := oldest.Add(-grace)
	used, err := mark(ctx)
	if err != nil {
		return st, err
	}
	trash := filepath.Join(c.dir, trashDir)
	if err := os.MkdirAll(trash, 0o700); err != nil {
		return st, fmt.Errorf("collect chunks: %w", err)
	}
	if err := c.emptyTrash(trash, cutoff, used, &st); err != nil {
		return st, err
	}
	dirs, err := os.ReadDir(c.dir)
	if err != nil {
		return st, fmt.Errorf("collect chunks: %w", err)
	}
	for _, d := range dirs {
		if !d.IsDir() || len(d.Name()) != 2 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return st, err
		}
		entries, err := os.ReadDir(filepath.Join(c.dir, d.Name()))
		if err != nil {
			return st, fmt.Errorf("collect chunks: %w", err)
		}
		for _, e := range entries {
			h, err := ParseHash(e.Name())
			if err != nil || e.Name()[:2] != d.Name() {
				continue // not a chunk
			}
			if used(h) {
				st.Kept++
				continue
			}
			if err := c.discard(h, trash, cutoff, &st); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

// discard removes an unused chunk unless it is younger than cutoff: it is
// renamed into the trash first, and its time read there, so that a Put or
// Touch racing the removal either shows in that time (the chunk is put
// back) or finds no chunk.
func (c *Chunks) discard(h Hash, trash string, cutoff time.Time, st *CollectStats) error {
	p := c.path(h)
	info, err := os.Lstat(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("collect chunk %s: %w", h, err)
	}
	if !info.ModTime().Before(cutoff) {
		st.Young++
		return nil
	}
	t := filepath.Join(trash, h.String())
	if err := os.Rename(p, t); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("collect chunk %s: %w", h, err)
	}
	return c.settle(h, t, cutoff, false, st)
}

// settle decides a chunk in the trash: back into place when it is in use
// or was touched since cutoff, removed otherwise.
func (c *Chunks) settle(h Hash, t string, cutoff time.Time, used bool, st *CollectStats) error {
	info, err := os.Lstat(t)
	if errors.Is(err, os.ErrNotExist) {
		return nil // another server sharing the folder settled it
	}
	if err != nil {
		return fmt.Errorf("collect chunk %s: %w", h, err)
	}
	if used || !info.ModTime().Before(cutoff) {
		if used {
			st.Kept++
		} else {
			st.Young++
		}
		if err := os.MkdirAll(filepath.Dir(c.path(h)), 0o700); err != nil {
			return err
		}
		return restore(h, t, c.path(h))
	}
	if err := os.Remove(t); errors.Is(err, os.ErrNotExist) {
		return nil // another server sharing the folder settled it
	} else if err != nil {
		return fmt.Errorf("collect chunk %s: %w", h, err)
	}
	st.Removed++
	st.RemovedBytes += info.Size()
	return nil
}

// restore puts chunk h back from the trash (t) to its place p. A Put that
// found no chunk meanwhile wrote the same bytes there, with a newer time
// that protects the work that wrote it: that copy stays and the trash
// copy goes, so the restore never makes a chunk look older.
func restore(h Hash, t, p string) error {
	err := os.Link(t, p)
	switch {
	case err == nil || errors.Is(err, os.ErrExist):
		err = os.Remove(t)
	case errors.Is(err, errors.ErrUnsupported) || errors.Is(err, syscall.EPERM):
		// No hard links here: a rename, which may replace a Put's copy.
		err = os.Rename(t, p)
	}
	if err != nil {
		return fmt.Errorf("restore chunk %s: %w", h, err)
	}
	return nil
}

// emptyTrash settles what an earlier collection left in the trash.
func (c *Chunks) emptyTrash(trash string, cutoff time.Time, used func(Hash) bool, st *CollectStats) error {
	entries, err := os.ReadDir(trash)
	if err != nil {
		return fmt.Errorf("collect chunks: %w", err)
	}
	for _, e := range entries {
		h, err := ParseHash(e.Name())
		if err != nil {
			os.Remove(filepath.Join(trash, e.Name()))
			continue
		}
		if err := c.settle(h, filepath.Join(trash, e.Name()), cutoff, used(h), st); err != nil {
			return err
		}
	}
	return nil
}

// CollectChunks removes the chunks that no package of any space uses and
// no space received (Chunks.Collect). uses calls manifest with every
// stored manifest and received with every received chunk's hex SHA-256
// (store.Removal.ChunkUses).
func (s *Service) CollectChunks(ctx context.Context, grace time.Duration,
	uses func(ctx context.Context, manifest func([]byte) error, received func(string) error) error) (CollectStats, error) {
	return s.chunks.Collect(ctx, grace, func(ctx context.Context) (func(Hash) bool, error) {
		used := map[Hash]struct{}{}
		err := uses(ctx, func(raw []byte) error {
			var m struct {
				Chunks ChunkList `json:"chunks"`
			}
			if err := json.Unmarshal(raw, &m); err != nil {
				return fmt.Errorf("read a manifest: %w", err)
			}
			for _, c := range m.Chunks {
				used[c.Hash] = struct{}{}
			}
			return nil
		}, func(hex string) error {
			if h, err := ParseHash(hex); err == nil {
				used[h] = struct{}{}
			}
			return nil
		})
		return func(h Hash) bool { _, ok := used[h]; return ok }, err
	})
}
