package targets_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/agent"
	"github.com/ferrydeploy/ferry/internal/sandbox"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/targets"
)

func TestMain(m *testing.M) {
	sandbox.Main()
	os.Exit(m.Run())
}

// syncBuffer is a log both goroutines write and the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond) // polling with a deadline
	}
}

// A polling agent is taken while its target is enabled, dropped and
// refused (saying why, naming both fingerprints) once it is disabled,
// taken again when enabled, and refused for good once deleted.
func TestPollingAgentDisabledAndDeleted(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Default")
	env.Apply("Default", "environments: [{name: Production}]")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { env.Set.Hub.ServeAgents(ctx, ln); close(served) }()
	defer func() { cancel(); <-served }()
	info, err := env.Set.Targets.TrustInfo(env.Ctx)
	if err != nil {
		t.Fatal(err)
	}

	data := t.TempDir()
	fp, _, err := agent.Init(data, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Set.Targets.Add(env.Ctx, "Default", targets.AddRequest{Name: "p-1", Environments: []string{"Production"}, Roles: []string{"web"}, Polling: true, Thumbprint: fp}); err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(ctx, agent.Config{Data: data, Poll: "https://" + ln.Addr().String(), Trust: []string{info.Fingerprint}, Sandbox: sandbox.Off,
			Log: slog.New(slog.NewTextHandler(log, nil))})
	}()
	defer func() { cancel(); <-done }()
	healthy := func() bool {
		c, err := env.Set.Targets.Check(env.Ctx, "Default", "p-1")
		return err == nil && c.Healthy
	}
	waitFor(t, 30*time.Second, "the polling agent to connect", healthy)

	if _, err := env.Set.Targets.SetDisabled(env.Ctx, "Default", "p-1", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the disabled target's agent to be refused", func() bool {
		s := log.String()
		return strings.Contains(s, "disabled") && strings.Contains(s, fp)
	})
	if _, err := env.Set.Targets.SetDisabled(env.Ctx, "Default", "p-1", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the enabled target's agent to connect again", healthy)

	if _, err := env.Set.Targets.Delete(env.Ctx, "Default", "p-1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the deleted target's agent to be refused", func() bool {
		s := log.String()
		return strings.Contains(s, "never registered, or was deleted") && strings.Contains(s, info.Fingerprint)
	})
}
