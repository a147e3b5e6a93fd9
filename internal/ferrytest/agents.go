package ferrytest

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Agent is a `ferry agent run` process with its own data folder.
type Agent struct {
	t   testing.TB
	bin Binary
	cfg AgentConfig
	// Data is its data folder; Fingerprint its certificate's SHA-256
	// fingerprint; URL, for a listening agent, where it listens
	// (https://127.0.0.1:PORT), which `target add --url` takes.
	Data        string
	Fingerprint string
	URL         string

	cmd    *exec.Cmd
	log    *syncBuffer
	exited chan struct{}
}

// AgentConfig says how StartAgent runs an agent.
type AgentConfig struct {
	// Data is its data folder, initialised with `ferry agent init` when it
	// has no identity yet. Empty: a fresh folder.
	Data string
	// Listen, for a listening agent, is the address to listen on ("" with
	// Poll empty: 127.0.0.1:0, a free port).
	Listen string
	// Poll, for a polling agent, is the server's agent listener
	// (https://HOST:PORT).
	Poll string
	// Trust lists the server fingerprints the agent accepts.
	Trust []string
	// Env is added to its environment; Wrap runs it through a command
	// (ip netns exec NS, say).
	Env  []string
	Wrap []string
}

// InitAgent runs `ferry agent init --data DIR -o json` and returns the
// fingerprint it prints.
func (b Binary) InitAgent(t testing.TB, data string) string {
	t.Helper()
	r := b.Run(t, "", "agent", "init", "--data", data, "-o", "json")
	if r.Code != 0 {
		t.Fatalf("ferry agent init: exit %d\n%s", r.Code, r.Out())
	}
	var out struct {
		Fingerprint string `json:"fingerprint"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil || out.Fingerprint == "" {
		t.Fatalf("ferry agent init -o json printed %q: %v", r.Stdout, err)
	}
	return out.Fingerprint
}

// StartAgent initialises (when needed) and starts an agent; a listening
// agent is waited for until it listens, a polling one until it started.
// It is killed when the test ends.
func (b Binary) StartAgent(t testing.TB, cfg AgentConfig) *Agent {
	t.Helper()
	if cfg.Data == "" {
		cfg.Data = filepath.Join(t.TempDir(), "agent")
	}
	if cfg.Poll == "" && cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	a := &Agent{t: t, bin: b, cfg: cfg, Data: cfg.Data}
	a.Fingerprint = b.InitAgent(t, cfg.Data)
	a.start()
	t.Cleanup(func() {
		if a.Running() {
			a.Kill()
		}
		if t.Failed() {
			t.Logf("agent %s log:\n%s", a.Data, a.Log())
		}
	})
	return a
}

var agentURLRE = regexp.MustCompile(`agent listening.* url=(https://\S+)`)

// start launches the agent and waits until it logged that it runs.
func (a *Agent) start() {
	a.t.Helper()
	args := []string{a.bin.Path, "agent", "run", "--data", a.Data, "--log-level", "debug"}
	if a.cfg.Poll != "" {
		args = append(args, "--poll", a.cfg.Poll)
	} else {
		args = append(args, "--listen", a.cfg.Listen)
	}
	for _, fp := range a.cfg.Trust {
		args = append(args, "--trust", fp)
	}
	if len(a.cfg.Wrap) > 0 {
		args = append(slices.Clone(a.cfg.Wrap), args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "FERRY_DATA=", "FERRY_AGENT_TRUST=")
	cmd.Env = append(cmd.Env, a.cfg.Env...)
	a.log = &syncBuffer{}
	pr, pw := io.Pipe()
	cmd.Stdout = a.log
	cmd.Stderr = io.MultiWriter(a.log, pw)
	dieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		a.t.Fatalf("start agent: %v", err)
	}
	a.cmd, a.exited = cmd, make(chan struct{})
	go func() {
		cmd.Wait()
		pw.Close()
		close(a.exited)
	}()
	started := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if m := agentURLRE.FindStringSubmatch(line); m != nil {
				select {
				case started <- m[1]:
				default:
				}
			} else if strings.Contains(line, "agent polling") {
				select {
				case started <- "":
				default:
				}
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case u := <-started:
		if u != "" {
			a.URL = u
		}
	case <-a.exited:
		a.t.Fatalf("agent exited at start:\n%s", a.log.String())
	case <-time.After(60 * time.Second):
		a.t.Fatalf("agent did not start in 60s:\n%s", a.log.String())
	}
}

// Running reports whether the agent process is still running.
func (a *Agent) Running() bool {
	select {
	case <-a.exited:
		return false
	default:
		return true
	}
}

// Kill ends the agent with SIGKILL, as a crash or a power cut would.
func (a *Agent) Kill() {
	a.cmd.Process.Kill()
	<-a.exited
}

// Stop sends SIGTERM and waits for the agent to exit.
func (a *Agent) Stop() {
	a.t.Helper()
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exited:
	case <-time.After(30 * time.Second):
		a.cmd.Process.Kill()
		a.t.Fatalf("agent did not stop within 30s of SIGTERM")
	}
}

// Restart starts the agent again with the same data folder (and, for a
// listening agent, the same address).
func (a *Agent) Restart() {
	a.t.Helper()
	if a.URL != "" {
		a.cfg.Listen = strings.TrimPrefix(a.URL, "https://")
	}
	a.start()
}

// Pid is the agent process's id.
func (a *Agent) Pid() int { return a.cmd.Process.Pid }

// Log returns what the agent has logged so far.
func (a *Agent) Log() string { return a.log.String() }
