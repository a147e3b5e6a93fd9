// Package ferrytest runs the real ferry binary for end-to-end tests: it
// builds it once, starts servers on loopback ports with their own data
// folders, and runs CLI commands against them.
package ferrytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary is the path of a ferry binary built from this checkout.
type Binary struct {
	Path string
}

var (
	buildOnce sync.Once
	built     Binary
	buildErr  error
)

// Build compiles ./cmd/ferry once per test process into a temporary folder.
func Build(t testing.TB) Binary {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ferry-bin-")
		if err != nil {
			buildErr = err
			return
		}
		os.Chmod(dir, 0o755) // tests may run it as another user
		out := filepath.Join(dir, "ferry")
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		if buildErr = noteSources(root); buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", out, "./cmd/ferry")
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, b)
			return
		}
		built = Binary{Path: out}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

// noteSources opens every file the binary may be built from. go test
// caches a test's result until the files the test itself opened change;
// the go build in a child process is invisible to it, so without this an
// end-to-end test passed before a change to the CLI or the server would
// pass again from the cache, untested.
func noteSources(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "docs" || name == "e2e" || name == "bench") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, "_test.go") || !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		return f.Close()
	})
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// Server is a ferry server process.
type Server struct {
	t      testing.TB
	bin    Binary
	URL    string
	Addr   string
	Data   string
	cwd    string   // the working folder it runs in, when not the test's
	wrap   []string // a command it runs through (ServerConfig.Wrap)
	Key    string   // the admin's API key
	Env    []string
	cmd    *exec.Cmd
	log    *syncBuffer
	exited chan struct{}

	// TLSFingerprint is the fingerprint of its HTTPS certificate, when it
	// serves HTTPS (FERRY_TLS_GENERATE=true in Env).
	TLSFingerprint string
}

// StartServer starts a server with a fresh data folder and waits until it
// answers. It is stopped when the test ends.
func (b Binary) StartServer(t testing.TB, env ...string) *Server {
	t.Helper()
	s := &Server{t: t, bin: b, Data: filepath.Join(t.TempDir(), "data"), Env: env}
	s.start("127.0.0.1:0")
	t.Cleanup(func() {
		if s.Running() {
			s.Stop()
		}
		if t.Failed() {
			t.Logf("server %s log:\n%s", s.URL, s.Log())
		}
	})
	return s
}

var listenRE = regexp.MustCompile(`url=(https?://\S+)`)

// start launches the server and waits until it answers.
func (s *Server) start(listen string) {
	s.t.Helper()
	s.await(s.launch(listen))
}

// Running reports whether the process is still running.
func (s *Server) Running() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM and waits for a clean exit.
func (s *Server) Stop() {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		s.t.Fatalf("server did not stop within 30s of SIGTERM")
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		s.t.Errorf("server exited with code %d after SIGTERM:\n%s", code, s.log.String())
	}
}

// Kill ends the server with SIGKILL, as a crash would.
func (s *Server) Kill() {
	s.cmd.Process.Kill()
	<-s.exited
}

// Restart starts the server again on the same address and data folder.
func (s *Server) Restart() {
	s.t.Helper()
	s.start(s.Addr)
}

// Pid is the server process's id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Log returns what the server has logged so far.
func (s *Server) Log() string { return s.log.String() }

// Result is the outcome of one CLI command.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Out is stdout and stderr together.
func (r Result) Out() string { return r.Stdout + r.Stderr }

// Run runs a CLI command against the server as admin and returns its result
// whatever the exit code.
func (s *Server) Run(args ...string) Result {
	s.t.Helper()
	return s.RunInput("", args...)
}

// RunInput is Run with standard input.
func (s *Server) RunInput(stdin string, args ...string) Result {
	s.t.Helper()
	return s.bin.Run(s.t, stdin, append(s.globalArgs(), args...)...)
}

// Must runs a CLI command and fails the test unless it exits 0.
func (s *Server) Must(args ...string) Result {
	s.t.Helper()
	r := s.Run(args...)
	if r.Code != 0 {
		s.t.Fatalf("ferry %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// Fail runs a CLI command and fails the test unless it exits non-zero.
func (s *Server) Fail(args ...string) Result {
	s.t.Helper()
	r := s.Run(args...)
	if r.Code == 0 {
		s.t.Fatalf("ferry %s: expected failure, got exit 0\nstdout:\n%s", strings.Join(args, " "), r.Stdout)
	}
	return r
}

// Run runs the binary with args and stdin. It sees none of the user's
// FERRY_* settings nor saved profiles.
func (b Binary) Run(t testing.TB, stdin string, args ...string) Result {
	t.Helper()
	return b.RunEnv(t, nil, stdin, args...)
}

// RunEnv is Run with more environment variables (NAME=VALUE), which win.
func (b Binary) RunEnv(t testing.TB, env []string, stdin string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.Path, args...)
	cmd.Env = append(os.Environ(), "FERRY_API_KEY=", "FERRY_SERVER=", "FERRY_SPACE=", "FERRY_DATA=", "FERRY_PROFILE=", "FERRY_SERVER_FINGERPRINT=",
		"XDG_CONFIG_HOME="+filepath.Join(os.TempDir(), "ferry-test-no-config"))
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = strings.NewReader(stdin)
	dieWithTest(cmd)
	start := time.Now()
	err := cmd.Run()
	if os.Getenv("FERRY_TEST_TIMING") != "" {
		t.Logf("%v ferry %v", time.Since(start).Round(time.Millisecond), args)
	}
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("run ferry %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return Result{Stdout: stdout.String(), Stderr: stderr.String(), Code: code}
}

// WaitFor polls cond until it holds or the deadline passes.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	delay := 20 * time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(delay)
		delay = min(delay*2, 500*time.Millisecond)
	}
}

// FreePort returns a loopback address that was free a moment ago.
func FreePort(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// WriteFile writes content to name in a temporary folder and returns the path.
func WriteFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Upgrade stops the server and starts bin in its place, on the same data
// folder and address, as an operator upgrading the binary would.
func (s *Server) Upgrade(bin Binary) {
	s.t.Helper()
	s.Stop()
	s.bin = bin
	s.start(s.Addr)
}
