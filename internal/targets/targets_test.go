package targets_test

import (
	"bytes"
	"context"
	"io"
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

// startListening runs a listening agent in-process that trusts trust; it
// returns its URL and fingerprint.
func startListening(t *testing.T, ctx context.Context, trust string) (url, fp string) {
	t.Helper()
	data := t.TempDir()
	fp, _, err := agent.Init(data, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(ctx, agent.Config{Data: data, Listen: addr, Trust: []string{trust}, Sandbox: sandbox.Off,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	t.Cleanup(func() { <-done })
	return "https://" + addr, fp
}

// The server's agent identity rotates without visiting the agents: staged,
// learned by every agent it checks, then activated; an agent that was not
// told refuses the new identity, naming both fingerprints.
func TestRotateServerIdentity(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Default")
	env.Apply("Default", "environments: [{name: Production}]")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	old, err := env.Set.Targets.TrustInfo(env.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	add := func(name string) {
		url, fp := startListening(t, ctx, old.Fingerprint)
		if _, err := env.Set.Targets.Add(env.Ctx, "Default", targets.AddRequest{Name: name, Environments: []string{"Production"}, Roles: []string{"web"}, URL: url, Thumbprint: fp}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(name string) targets.Checked {
		c, err := env.Set.Targets.Check(env.Ctx, "Default", name)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	add("told")
	add("away")
	waitFor(t, 30*time.Second, "both agents healthy", func() bool { return check("told").Healthy && check("away").Healthy })

	staged, err := env.Set.Targets.Rotate(env.Ctx, false)
	if err != nil || staged.Next == "" || staged.Fingerprint != old.Fingerprint {
		t.Fatalf("stage: %+v %v", staged, err)
	}
	if c := check("told"); !c.Healthy || !strings.Contains(c.Target.HealthReason, staged.Next) {
		t.Fatalf("the agent was not told the next identity: %+v", c.Target)
	}
	// A limited user may not rotate.
	env.User("dev", false)
	if _, err := env.Set.Targets.Rotate(env.As("dev"), true); err == nil {
		t.Error("a non-administrator rotated the server's agent identity")
	}
	// "away" is deleted and re-added after activation under the old trust:
	// as if it had been offline.
	if _, err := env.Set.Targets.Delete(env.Ctx, "Default", "away"); err != nil {
		t.Fatal(err)
	}
	now, err := env.Set.Targets.Rotate(env.Ctx, true)
	if err != nil || now.Fingerprint != staged.Next || now.Next != "" {
		t.Fatalf("activate: %+v %v", now, err)
	}
	if c := check("told"); !c.Healthy {
		t.Errorf("after activation the told agent is %s: %s", c.Target.Health, c.Target.HealthReason)
	}
	add("late")
	var c targets.Checked
	waitFor(t, 30*time.Second, "the late agent to answer", func() bool { c = check("late"); return c.Target.Health != "Offline" })
	if c.Healthy || !strings.Contains(c.Target.HealthReason, old.Fingerprint) || !strings.Contains(c.Target.HealthReason, now.Fingerprint) {
		t.Errorf("an agent that trusts only the old identity: %s %q", c.Target.Health, c.Target.HealthReason)
	}
}

// TestPollingAgentHealthyOnConnect: a polling agent registered after it
// started (`ferry agent register` on its machine) connects on its next
// try; its target reads Healthy then, not Offline "not connected" until
// the next round of checks (here an hour away). Before, `target show`
// said Offline and "connected to: server node …" at once.
func TestPollingAgentHealthyOnConnect(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Default")
	env.Apply("Default", "environments: [{name: Production}]")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served, checked := make(chan struct{}), make(chan struct{})
	go func() { env.Set.Hub.ServeAgents(ctx, ln); close(served) }()
	go func() { targets.NewHealth(env.Set.Targets, time.Hour).Run(ctx); close(checked) }()
	defer func() { cancel(); <-served; <-checked }()
	info, err := env.Set.Targets.TrustInfo(env.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	fp, _, err := agent.Init(data, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(ctx, agent.Config{Data: data, Poll: "https://" + ln.Addr().String(), Trust: []string{info.Fingerprint}, Sandbox: sandbox.Off,
			Log: slog.New(slog.NewTextHandler(log, nil))})
	}()
	defer func() { cancel(); <-done }()
	waitFor(t, 30*time.Second, "the unregistered agent to be refused", func() bool { return strings.Contains(log.String(), "never registered") })
	if _, err := env.Set.Targets.Add(env.Ctx, "Default", targets.AddRequest{Name: "p-1", Environments: []string{"Production"}, Roles: []string{"web"}, Polling: true, Thumbprint: fp}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the target to read Healthy once its agent connected", func() bool {
		tg, err := env.Set.Targets.Show(env.Ctx, "Default", "p-1")
		return err == nil && tg.Health == "Healthy"
	})
}
