package server

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/sandbox"
	"github.com/ferrydeploy/ferry/internal/secrets"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/store/pgtest"
	"github.com/ferrydeploy/ferry/internal/store/sqlstore"
)

func TestMain(m *testing.M) {
	sandbox.Main()
	pgtest.Main(m)
}

func testNode(t *testing.T, name string, st store.Store) *node {
	t.Helper()
	t.Setenv(heartbeatEnv, "50ms")
	t.Setenv(nodeTimeoutEnv, "")
	n, err := joinCluster(t.Context(), name, st, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func newBox(t *testing.T) *secrets.Box {
	t.Helper()
	box, err := secrets.LoadOrCreateKey(filepath.Join(t.TempDir(), "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// running records which nodes are inside an exclusive loop.
type running struct {
	mu  sync.Mutex
	in  map[string]bool
	max int // most nodes inside at once
}

func (r *running) loop(name string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		r.mu.Lock()
		r.in[name] = true
		r.max = max(r.max, len(r.in))
		r.mu.Unlock()
		<-ctx.Done()
		r.mu.Lock()
		delete(r.in, name)
		r.mu.Unlock()
		return nil
	}
}

func (r *running) who() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var names []string
	for n := range r.in {
		names = append(names, n)
	}
	return names
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestExclusiveTakeover runs one exclusive loop on two nodes: one runs it;
// when its database session ends (as when the node dies) the other takes
// over.
func TestExclusiveTakeover(t *testing.T) {
	c := pgtest.Shared(t)
	url, box := c.NewDatabase(t), newBox(t)
	var nodes []*node
	for _, name := range []string{"a", "b"} {
		st, err := sqlstore.OpenPostgres(t.Context(), url, box)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		nodes = append(nodes, testNode(t, name, st))
	}
	r := &running{in: map[string]bool{}}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(func() { n.exclusive(ctx, "test-loop", r.loop(n.name)) })
	}
	defer func() {
		cancel()
		wg.Wait()
	}()

	waitFor(t, "a node to run the loop", func() bool { return len(r.who()) == 1 })
	first := r.who()[0]
	// The lock, not luck, keeps the other node out.
	if _, ok, err := nodes[0].store.Locks().TryLock(t.Context(), "test-loop"); ok || err != nil {
		t.Fatalf("the loop's lock was free while %s ran it (err %v)", first, err)
	}
	r.mu.Lock()
	most := r.max
	r.mu.Unlock()
	if who := r.who(); len(who) != 1 || most != 1 {
		t.Fatalf("loop running on %v (at most %d at once), want %s alone", who, most, first)
	}
	if err := c.Exec(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the other node to take over", func() bool {
		who := r.who()
		return len(who) == 1 && who[0] != first
	})
}

// TestExclusiveSQLite runs an exclusive loop on SQLite's one node, and
// health reports it.
func TestExclusiveSQLite(t *testing.T) {
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "ferry.db"), newBox(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := testNode(t, "solo", st)
	r := &running{in: map[string]bool{}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		n.exclusive(ctx, "test-loop", r.loop("solo"))
		close(done)
	}()
	waitFor(t, "the loop to run", func() bool { return len(r.who()) == 1 })
	h := n.Health(t.Context()).(map[string]any)
	if h["status"] != "ok" || h["store"] != "sqlite" || len(h["exclusive"].([]string)) != 1 {
		t.Errorf("health = %v", h)
	}
	cancel()
	<-done
	if who := r.who(); len(who) != 0 {
		t.Errorf("loop still running on %v after its context ended", who)
	}
}

func TestNodeSettings(t *testing.T) {
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "ferry.db"), newBox(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		heartbeat, timeout string
		ok                 bool
	}{
		{"", "", true},
		{"2s", "", true},
		{"1s", "10s", true},
		{"soon", "", false},
		{"-1s", "", false},
		{"1s", "1s", false},
	} {
		t.Setenv(heartbeatEnv, tc.heartbeat)
		t.Setenv(nodeTimeoutEnv, tc.timeout)
		_, err := joinCluster(t.Context(), "n", st, log, time.Now)
		if (err == nil) != tc.ok {
			t.Errorf("heartbeat %q, timeout %q: err %v", tc.heartbeat, tc.timeout, err)
		}
	}
}
