package ferrytest

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// ServerConfig says how StartServers starts one server.
type ServerConfig struct {
	// Data is the data folder; several servers may share one, as the nodes
	// of one installation do. Empty: a fresh folder.
	Data string
	// Env is added to the server's environment: FERRY_DATABASE_URL,
	// FERRY_NODE, FERRY_HEARTBEAT_INTERVAL and so on.
	Env []string
	// DefaultData starts the server without --data, in a fresh working
	// folder, as the README's first command does: it then uses its default
	// data folder, the relative ./ferry-data. Data must be empty.
	DefaultData bool
	// Wrap runs the server through a command (its arguments come after
	// Wrap's): setpriv to run it as another user, unshare to change what
	// the kernel allows it.
	Wrap []string
}

// StartServers starts one server per config, all at once: every process is
// started before any is waited for, so they race through start-up as nodes
// started together do. It returns when all of them answer; they are stopped
// when the test ends.
func (b Binary) StartServers(t testing.TB, cfgs ...ServerConfig) []*Server {
	t.Helper()
	servers := make([]*Server, len(cfgs))
	addrs := make([]chan string, len(cfgs))
	for i, cfg := range cfgs {
		s := &Server{t: t, bin: b, Data: cfg.Data, Env: cfg.Env, wrap: cfg.Wrap}
		switch {
		case cfg.DefaultData:
			s.cwd = t.TempDir()
			s.Data = filepath.Join(s.cwd, "ferry-data")
		case s.Data == "":
			s.Data = filepath.Join(t.TempDir(), "data")
		}
		t.Cleanup(func() {
			if s.cmd != nil && s.Running() {
				s.Stop()
			}
			if t.Failed() && s.log != nil {
				t.Logf("server %d (%s) log:\n%s", i, s.URL, s.Log())
			}
		})
		servers[i], addrs[i] = s, s.launch("127.0.0.1:0")
	}
	for i, s := range servers {
		s.await(addrs[i])
	}
	return servers
}

// launch starts the server process and returns a channel that receives the
// address it listens on, once it logs it.
func (s *Server) launch(listen string) chan string {
	s.t.Helper()
	s.log = &syncBuffer{}
	args := []string{"server", "--data", s.Data, "--listen", listen, "--log-level", "debug"}
	if s.cwd != "" {
		args = slices.Delete(args, 1, 3) // the default data folder, relative to cwd
	}
	args = append([]string{s.bin.Path}, args...)
	if len(s.wrap) > 0 {
		args = append(slices.Clone(s.wrap), args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = s.cwd
	// A free port for polling agents unless the test chose one: servers of
	// one test, and tests run at once, must not share the default.
	cmd.Env = append(os.Environ(), "FERRY_DATA=", "FERRY_AGENT_LISTEN=127.0.0.1:0")
	cmd.Env = append(cmd.Env, s.Env...)
	pr, pw := io.Pipe()
	cmd.Stdout = s.log
	cmd.Stderr = io.MultiWriter(s.log, pw)
	dieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start server: %v", err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() {
		cmd.Wait()
		pw.Close()
		close(s.exited)
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	return addr
}

// await waits until a launched server listens and answers, and reads the
// admin's key.
func (s *Server) await(addr chan string) {
	s.t.Helper()
	select {
	case u := <-addr:
		s.setURL(u)
	case <-s.exited:
		s.t.Fatalf("server exited at start:\n%s", s.log.String())
	case <-time.After(60 * time.Second):
		s.t.Fatalf("server did not start in 60s:\n%s", s.log.String())
	}
	key, err := os.ReadFile(filepath.Join(s.Data, "admin.key"))
	if err != nil {
		s.t.Fatalf("read admin key: %v", err)
	}
	s.Key = strings.TrimSpace(string(key))
	WaitFor(s.t, 30*time.Second, "server health", func() bool {
		resp, err := healthClient.Get(s.URL + "/api/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}
