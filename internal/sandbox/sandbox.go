// Package sandbox runs a program so that chosen files and folders of the
// host — a server's data folder and key files — are invisible to it by any
// path, while it may otherwise read and write what its user may.
//
// On Linux a sandboxed program starts in new user, mount and PID
// namespaces. Its init (this same binary, started again under a hidden name:
// see Main) covers each hidden folder with an empty read-only tmpfs and each
// hidden file with an empty read-only file, at every path the mount table
// shows it under (bind mounts included); binds back the folders the program
// works in; mounts a fresh /proc that shows only the sandbox's processes;
// gives up the capability to change mounts; and runs the program as its
// child, reaping orphans and passing signals on. When the program exits,
// when the sandbox is cancelled, or when the process that started it dies
// (even by SIGKILL), the kernel kills every process in the sandbox,
// including those that detached with setsid.
//
// What it cannot do is described in docs/operations.md ("Script
// isolation"): hard links to a key file elsewhere, services that act for
// the server's user (a database trusting its Unix user, sudo, docker), and
// anything outside the file system are out of its reach.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Mode says whether a sandbox isolates what it runs.
type Mode string

const (
	// Isolate runs programs in namespaces with the hidden paths covered.
	Isolate Mode = "namespaces"
	// Off runs programs as plain child processes in their own process
	// group: nothing is hidden from them, and a crash of the parent can
	// leave their descendants running. For hosts without namespaces, when
	// the operator accepts that.
	Off Mode = "off"
)

// ParseMode reads a mode as an operator writes it: "namespaces" (or "on")
// or "off".
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "namespaces", "on":
		return Isolate, nil
	case "off":
		return Off, nil
	}
	return "", fmt.Errorf("sandbox mode %q: want \"namespaces\" or \"off\"", s)
}

// Policy says what sandboxed programs must not reach.
type Policy struct {
	// Hide lists files and folders that sandboxed programs can neither
	// read nor list, whatever path they use. Each must exist; symlinks
	// are resolved, and the folder or file they lead to is hidden.
	Hide []string
}

// Sandbox starts sandboxed programs under one policy. Its zero value is
// not usable: call New. Close it when no program of it runs any more.
type Sandbox struct {
	mode Mode
	hide []string // absolute, symlinks resolved, sorted, none inside another

	mu     sync.Mutex
	closed bool
	spawn  chan func() // run on one locked OS thread: see startThread
}

// New returns a sandbox that hides p.Hide from the programs it starts (in
// mode Off it only remembers them, for Overlaps). It refuses a relative or
// missing path, and the root folder.
func New(p Policy, mode Mode) (*Sandbox, error) {
	if mode == "" {
		mode = Isolate
	}
	if mode != Isolate && mode != Off {
		return nil, fmt.Errorf("unknown sandbox mode %q", mode)
	}
	s := &Sandbox{mode: mode}
	for _, h := range p.Hide {
		if !filepath.IsAbs(h) {
			return nil, fmt.Errorf("hide %q: the path must be absolute", h)
		}
		real, err := filepath.EvalSymlinks(h)
		if err != nil {
			return nil, fmt.Errorf("hide %s: %w", h, err)
		}
		if real == "/" {
			return nil, fmt.Errorf("hide %s: cannot hide the root folder", h)
		}
		s.hide = append(s.hide, real)
	}
	s.hide = outermost(s.hide)
	s.startThread()
	return s, nil
}

// Mode says whether the sandbox isolates.
func (s *Sandbox) Mode() Mode { return s.mode }

// Hidden returns the hidden paths, symlinks resolved.
func (s *Sandbox) Hidden() []string { return slices.Clone(s.hide) }

// Overlaps reports the hidden path that path lies inside of, or that lies
// inside path (so that writing to or replacing path would touch hidden
// files), also where the mount table shows a hidden path elsewhere (a bind
// mount). Symlinks are resolved as far as path exists. It holds in mode
// Off too: for the checks a server makes before it writes where a step
// said.
func (s *Sandbox) Overlaps(path string) (string, bool) {
	p := resolveExisting(filepath.Clean(path))
	var mounts []mount
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		mounts, _ = parseMountInfo(f)
		f.Close()
	}
	for _, h := range s.hide {
		for _, at := range append([]string{h}, aliases(h, mounts)...) {
			if within(p, at) || within(at, p) {
				return h, true
			}
		}
	}
	return "", false
}

// Close stops the sandbox's starter thread. Programs it started that still
// run are killed (their parent-death signal fires), so call it only after
// they ended.
func (s *Sandbox) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.spawn)
	}
}

// startThread starts the goroutine that starts every program. The kernel
// sends a child its parent-death signal when the *thread* that created it
// exits, not the process (https://go.dev/issue/27505), and Go ends a
// thread whose goroutine exits while locked to it. Starting every child
// from one goroutine that stays locked to its thread until Close means
// that thread lives as long as the sandbox, so the signal fires exactly
// when the server dies.
func (s *Sandbox) startThread() {
	s.spawn = make(chan func())
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		for fn := range s.spawn {
			fn()
		}
	}()
}

// onStarterThread runs fn on the starter thread.
func (s *Sandbox) onStarterThread(fn func()) error {
	s.mu.Lock()
	defer s.mu.Unlock() // starts are serialised anyway: one thread
	if s.closed {
		return errors.New("sandbox: closed")
	}
	done := make(chan struct{})
	s.spawn <- func() { defer close(done); fn() }
	<-done
	return nil
}

// Cmd is a program to run in a sandbox.
type Cmd struct {
	Path string   // the program; looked up in Env's PATH when it has no slash
	Args []string // its arguments, Args[0] included
	Dir  string   // its working folder: absolute, and outside hidden paths unless exposed
	Env  []string // its whole environment
	// Stdout and Stderr receive its output; nil discards it. Its standard
	// input is empty.
	Stdout, Stderr io.Writer
	// Expose lists folders inside hidden ones that the program may use,
	// read and write (its working folder, typically). Each appears at its
	// own path; the rest of the hidden folder stays covered.
	Expose []string
}

// Process is a started sandboxed program.
type Process struct {
	wait     func() error
	lifeline *os.File // its end is the init's: closing it ends the sandbox
	record   Record
}

// Wait waits for the program to exit, and with it everything it started.
// A non-zero exit is an *exec.ExitError; the exit code of a program killed
// by signal N is 128+N.
func (p *Process) Wait() error {
	err := p.wait()
	if p.lifeline != nil {
		p.lifeline.Close()
	}
	return err
}

// Record identifies the started process tree, for StopRecorded.
func (p *Process) Record() Record { return p.record }

// SetupError is a sandbox that could not be set up: the program did not
// start. Its message says why and what to do.
type SetupError struct{ Msg string }

func (e *SetupError) Error() string { return e.Msg }

// Check starts a sandbox that runs nothing, to find out at start-up rather
// than at the first step whether this host supports isolation. In mode Off
// it returns nil.
func (s *Sandbox) Check(ctx context.Context) error {
	if s.mode == Off {
		return nil
	}
	p, err := s.start(ctx, Cmd{Path: probeProgram, Args: []string{probeProgram}, Dir: "/", Env: []string{"PATH=/usr/bin:/bin"}}, true)
	if err != nil {
		return err
	}
	if err := p.Wait(); err != nil {
		return &SetupError{Msg: fmt.Sprintf("the sandbox check failed: %v", err)}
	}
	return nil
}

// Start starts c in the sandbox. The program and everything it starts are
// killed when ctx ends.
func (s *Sandbox) Start(ctx context.Context, c Cmd) (*Process, error) {
	if len(c.Args) == 0 {
		c.Args = []string{c.Path}
	}
	if !filepath.IsAbs(c.Dir) {
		return nil, fmt.Errorf("sandbox: working folder %q must be absolute", c.Dir)
	}
	for _, e := range c.Expose {
		if !filepath.IsAbs(e) {
			return nil, fmt.Errorf("sandbox: exposed folder %q must be absolute", e)
		}
	}
	return s.start(ctx, c, false)
}

// resolveExisting resolves the symlinks of the longest part of p that
// exists and appends the rest.
func resolveExisting(p string) string {
	rest := ""
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(p, rest)
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// within reports whether p is dir or inside it (both clean and absolute).
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// outermost sorts paths and drops those inside another.
func outermost(paths []string) []string {
	slices.Sort(paths)
	paths = slices.Compact(paths)
	var out []string
	for _, p := range paths {
		if !slices.ContainsFunc(out, func(o string) bool { return within(p, o) }) {
			out = append(out, p)
		}
	}
	return out
}

// Record identifies a started sandbox (its init) on this host across a
// restart of the server: if a crash let it outlive the server, the next
// start can find and stop it with StopRecorded. It is JSON, for a file.
type Record struct {
	Boot  string `json:"boot"`  // the kernel's boot id: pids mean nothing after a reboot
	Pid   int    `json:"pid"`   // the init's (mode Off: the program's) process id
	Start uint64 `json:"start"` // its start time in clock ticks after boot, against pid reuse
	Group bool   `json:"group,omitempty"`
}
