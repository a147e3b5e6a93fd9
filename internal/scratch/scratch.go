// Package scratch gives each server process folders of its own for
// temporary files under the data folder — uploads being received, chunks
// being written, the work folders of running steps — and removes those of
// processes that are gone, so that a crash leaves no litter behind.
//
// Several nodes may share one data folder (PostgreSQL, docs/operations.md),
// so a process must never remove what another live process is writing.
// Each claim is named "<node>.<random>" and is held by an exclusive flock(2)
// on "<node>.<random>.lock" in the first root, which the kernel releases
// when the process dies, however it dies. A starting process removes every
// claim whose lock it can take — unless the claim's node is another node
// known to be alive, in case the shared file system does not carry locks
// between machines (NFS mounted with nolock): that node removes it itself
// when it next starts, or any node once it is dead.
package scratch

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Options say whose claim it is and what to do with others' leftovers.
type Options struct {
	// Node is this server's node name; it names the claim.
	Node string
	// Alive are the other nodes that heartbeat recently: their claims are
	// left alone even when their locks can be taken.
	Alive []string
	// Dead, if set, is called with each folder of a gone process before it
	// is removed (to stop what that process left running, say).
	Dead func(folder string)
	// Legacy lists folders that earlier versions used for temporary files
	// without claims. What is in them is removed when no other node is
	// alive, else once it has not changed for LegacyAge.
	Legacy []string
	Log    *slog.Logger
}

// LegacyAge is how long a temporary file of an earlier version must have
// been left unchanged before it is removed while other nodes run.
const LegacyAge = 24 * time.Hour

// Claim is a process's claim: one folder of its own in each root.
type Claim struct {
	name  string
	roots []string
	lock  *os.File
}

// New sweeps the roots (creating them) and claims a fresh folder in each.
func New(roots []string, o Options) (*Claim, error) {
	if len(roots) == 0 {
		return nil, errors.New("scratch: no root folder")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	for _, r := range roots {
		if err := os.MkdirAll(r, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", r, err)
		}
	}
	c := &Claim{name: claimName(o.Node), roots: roots}
	if err := c.take(); err != nil {
		return nil, err
	}
	sweep(roots, c.name, o)
	for _, r := range roots {
		if err := os.Mkdir(c.Dir(r), 0o700); err != nil {
			c.Close()
			return nil, fmt.Errorf("create %s: %w", c.Dir(r), err)
		}
	}
	for _, l := range o.Legacy {
		sweepLegacy(l, len(o.Alive) == 0, o.Log)
		os.Remove(l) // only when empty
	}
	return c, nil
}

// Dir is this claim's folder in root (one of the roots given to New).
func (c *Claim) Dir(root string) string { return filepath.Join(root, c.name) }

// Close removes the claim's folders and releases it.
func (c *Claim) Close() error {
	var errs []error
	for _, r := range c.roots {
		errs = append(errs, os.RemoveAll(c.Dir(r)))
	}
	errs = append(errs, os.Remove(c.lockPath()))
	errs = append(errs, c.lock.Close())
	return errors.Join(errs...)
}

func (c *Claim) lockPath() string { return filepath.Join(c.roots[0], c.name+".lock") }

// take creates and locks the claim's lock file under a name no sweeper
// looks at, then renames it into place: a sweeper never sees it unlocked.
func (c *Claim) take() error {
	tmp := filepath.Join(c.roots[0], "."+c.name+".new")
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("claim a temporary folder: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("lock %s (the data folder's file system must support flock): %w", tmp, err)
	}
	fmt.Fprintf(f, "pid %d\n", os.Getpid())
	if err := os.Rename(tmp, c.lockPath()); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("claim a temporary folder: %w", err)
	}
	c.lock = f
	return nil
}

var claimRE = regexp.MustCompile(`^(.+)\.([0-9a-f]{16})$`)

func claimName(node string) string {
	var b [8]byte
	rand.Read(b[:])
	return safeNode(node) + "." + hex.EncodeToString(b[:])
}

// safeNode makes a node name fit a file name.
func safeNode(node string) string {
	s := strings.Map(func(r rune) rune {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return r
		}
		return '_'
	}, node)
	if s == "" {
		s = "node"
	}
	return s[:min(len(s), 64)]
}

// sweep removes the claims of gone processes from every root.
func sweep(roots []string, mine string, o Options) {
	alive := func(node string) bool {
		return slices.ContainsFunc(o.Alive, func(a string) bool { return safeNode(a) == node })
	}
	self := safeNode(o.Node)
	entries, _ := os.ReadDir(roots[0])
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".lock")
		m := claimRE.FindStringSubmatch(name)
		if !ok || m == nil || name == mine || (m[1] != self && alive(m[1])) {
			continue
		}
		f, err := os.OpenFile(filepath.Join(roots[0], e.Name()), os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close() // its process runs
			continue
		}
		removeClaim(roots, name, o)
		os.Remove(filepath.Join(roots[0], e.Name()))
		f.Close()
	}
	// Folders whose lock is gone (a sweep that stopped half way), and lock
	// files that never made it into place.
	for _, r := range roots {
		entries, _ := os.ReadDir(r)
		for _, e := range entries {
			m := claimRE.FindStringSubmatch(e.Name())
			switch {
			case e.IsDir() && m != nil && e.Name() != mine && (m[1] == self || !alive(m[1])):
				if _, err := os.Stat(filepath.Join(roots[0], e.Name()+".lock")); errors.Is(err, fs.ErrNotExist) {
					removeClaim([]string{r}, e.Name(), o)
				}
			case strings.HasPrefix(e.Name(), ".") && strings.HasSuffix(e.Name(), ".new") && r == roots[0]:
				if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Minute {
					os.Remove(filepath.Join(r, e.Name()))
				}
			}
		}
	}
}

func removeClaim(roots []string, name string, o Options) {
	for _, r := range roots {
		dir := filepath.Join(r, name)
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		if o.Dead != nil {
			o.Dead(dir)
		}
		if err := os.RemoveAll(dir); err != nil {
			o.Log.Warn("remove the temporary files of a stopped server process", "folder", dir, "err", err)
			continue
		}
		o.Log.Info("removed the temporary files of a stopped server process", "folder", dir)
	}
}

// sweepLegacy removes what an earlier version left in dir: everything when
// alone, else files unchanged for LegacyAge (and folders they emptied).
// Claims (a folder named like one, or a lock file) are not legacy.
func sweepLegacy(dir string, alone bool, log *slog.Logger) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	removed := 0
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if name, isLock := strings.CutSuffix(e.Name(), ".lock"); (e.IsDir() || isLock) && claimRE.MatchString(name) {
			continue
		}
		if strings.HasPrefix(e.Name(), ".") && strings.HasSuffix(e.Name(), ".new") {
			continue
		}
		if alone {
			if os.RemoveAll(p) == nil {
				removed++
			}
			continue
		}
		filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if fi, err := d.Info(); err == nil && time.Since(fi.ModTime()) > LegacyAge && os.Remove(path) == nil {
					removed++
				}
			}
			return nil
		})
		removeEmptyDirs(p)
	}
	if removed > 0 {
		log.Info("removed temporary files an earlier version left", "folder", dir, "entries", removed)
	}
}

func removeEmptyDirs(p string) {
	entries, err := os.ReadDir(p)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			removeEmptyDirs(filepath.Join(p, e.Name()))
		}
	}
	os.Remove(p) // fails unless empty
}
