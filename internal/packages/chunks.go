package packages

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Hash is a chunk's or a package's SHA-256.
type Hash [32]byte

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText writes the hash as lowercase hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText reads lowercase or uppercase hex.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != 64 {
		return fmt.Errorf("a SHA-256 is 64 hex digits, not %d characters", len(b))
	}
	_, err := hex.Decode(h[:], b)
	return err
}

// ParseHash reads a hex SHA-256.
func ParseHash(s string) (Hash, error) {
	var h Hash
	err := h.UnmarshalText([]byte(s))
	return h, err
}

// Chunks is a content-addressed store of chunks in a folder: each chunk is
// the file DIR/ab/abcdef… named by the hex SHA-256 of its bytes. Chunks are
// shared by every version and every space on the server; what a space may
// use is decided by its package manifests, never by what is on disk.
type Chunks struct {
	dir     string
	tmp     string     // chunks being written, on the same file system
	collect sync.Mutex // one Collect at a time (the retention loop and a `retention run`)
}

// OpenChunks opens (creating) a chunk folder; chunks are written in tmp
// (on the same file system; empty: dir/tmp) and renamed into place.
func OpenChunks(dir, tmp string) (*Chunks, error) {
	if tmp == "" {
		tmp = filepath.Join(dir, "tmp")
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("create chunk store: %w", err)
	}
	return &Chunks{dir: dir, tmp: tmp}, nil
}

func (c *Chunks) path(h Hash) string {
	s := h.String()
	return filepath.Join(c.dir, s[:2], s)
}

// Has reports whether the chunk is stored.
func (c *Chunks) Has(h Hash) bool {
	_, err := os.Stat(c.path(h))
	return err == nil
}

// Put stores data under its hash h, which the caller computed. The write is
// atomic (a temporary file renamed into place), so a crash never leaves a
// partial chunk under a real name; storing a chunk that exists only
// freshens its modification time, which tells chunk collection it is in
// use (Collect). It reports whether the chunk was new. Call it while
// holding a Hold.
//
// Put does not sync: call Sync before anything records the chunk (a
// received-chunk row, a package manifest), so one sync covers a batch of
// chunks instead of one fsync each. A process that dies loses nothing the
// kernel has; a power cut before Sync can leave a renamed chunk short or
// empty, so a stored chunk whose size is not len(data) is written again
// (and Get refuses any chunk whose bytes do not match its hash).
func (c *Chunks) Put(h Hash, data []byte) (bool, error) {
	p := c.path(h)
	now := time.Now()
	fi, err := os.Stat(p)
	if err == nil && fi.Size() == int64(len(data)) {
		if err := os.Chtimes(p, now, now); err != nil {
			return false, fmt.Errorf("store chunk %s: %w", h, err)
		}
		return false, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("store chunk %s: %w", h, err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return false, fmt.Errorf("store chunk: %w", err)
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(c.tmp, h.String()+"."+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false, fmt.Errorf("store chunk: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// The time Collect compares is this process's clock, as for a
		// freshened chunk (the file system's may lag or be coarser).
		err = os.Chtimes(tmp, now, now)
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return false, fmt.Errorf("store chunk %s (is the disk full?): %w", h, err)
	}
	return true, nil
}

// Sync makes every chunk Put so far durable, names included, with one sync
// of the file system that holds the chunk folder.
func (c *Chunks) Sync() error {
	if err := syncFS(c.dir); err != nil {
		return fmt.Errorf("sync chunk store: %w", err)
	}
	return nil
}

// ErrMissingChunk is returned for a chunk that is not stored.
var ErrMissingChunk = errors.New("chunk missing")

// Get appends the chunk's bytes to buf after checking them against h: a
// chunk damaged on disk is an error, never silently served.
func (c *Chunks) Get(h Hash, size int64, buf []byte) ([]byte, error) {
	if size < 0 || size > MaxChunk { // a manifest is untrusted when it came in a file
		return nil, fmt.Errorf("chunk %s: a chunk is at most %d bytes, not %d", h, MaxChunk, size)
	}
	f, err := os.Open(c.path(h))
	if errors.Is(err, os.ErrNotExist) {
		// Chunk collection may be deciding it this instant (collect.go).
		f, err = os.Open(filepath.Join(c.dir, trashDir, h.String()))
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrMissingChunk, h)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	start := len(buf)
	if int64(cap(buf)-start) < size {
		buf = append(buf[:start:start], make([]byte, size)...)
	} else {
		buf = buf[:start+int(size)] // reuse the caller's buffer: no garbage per chunk
	}
	if _, err := io.ReadFull(f, buf[start:]); err != nil {
		return nil, fmt.Errorf("chunk %s is damaged on disk (short): %w", h, err)
	}
	var extra [1]byte
	if n, _ := f.Read(extra[:]); n > 0 {
		return nil, fmt.Errorf("chunk %s is damaged on disk (too long)", h)
	}
	if sha256.Sum256(buf[start:]) != h {
		return nil, fmt.Errorf("chunk %s is damaged on disk (its SHA-256 does not match)", h)
	}
	return buf, nil
}
