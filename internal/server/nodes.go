package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/ferrydeploy/ferry/internal/store"
)

// Settings of a node's membership, from the environment (defaults in
// brackets): FERRY_HEARTBEAT_INTERVAL [10s] is how often a node records
// that it is alive; FERRY_NODE_TIMEOUT [3 × the interval] is how long a
// node may stay silent before another fails the tasks it was running.
const (
	heartbeatEnv      = "FERRY_HEARTBEAT_INTERVAL"
	nodeTimeoutEnv    = "FERRY_NODE_TIMEOUT"
	defaultHeartbeat  = 10 * time.Second
	timeoutHeartbeats = 3
	reaperLock        = "reap-dead-nodes"
	// schedulerLock: schedule triggers and manual-intervention timeouts
	// are checked on one node at a time, every FERRY_SCHEDULER_POLL [10s].
	schedulerLock      = "scheduler"
	schedulerPollEnv   = "FERRY_SCHEDULER_POLL"
	bootstrapLock      = "bootstrap"
	listenRetryInitial = time.Second
	listenRetryMax     = 30 * time.Second
)

// node is this server's membership of the nodes sharing one store. It
// heartbeats; it relays task wake-ups from other nodes to the local runner;
// and it runs the loops that must run on one node at a time, each while
// holding a store lock, so that when the holder dies another node takes
// over. The first such loop fails the tasks of nodes that stopped
// heartbeating: their processes are gone, and a deployment is not safe to
// run twice, so they are failed rather than queued again.
type node struct {
	name      string
	store     store.Store
	log       *slog.Logger
	now       func() time.Time
	heartbeat time.Duration
	timeout   time.Duration
	others    []string // the other nodes alive when this one joined
	sandbox   string   // how this node runs steps, for health (newSandbox)

	mu   sync.Mutex
	held map[string]bool // exclusive loops running here, for health
}

// joinCluster reads the node settings, warns when another live node seems
// to have this node's name, and records the first heartbeat, which must
// come before the runner claims anything.
func joinCluster(ctx context.Context, name string, st store.Store, log *slog.Logger, now func() time.Time) (*node, error) {
	n := &node{name: name, store: st, log: log, now: now, held: map[string]bool{}}
	var err error
	if n.heartbeat, err = durationEnv(heartbeatEnv, defaultHeartbeat); err != nil {
		return nil, err
	}
	if n.timeout, err = durationEnv(nodeTimeoutEnv, timeoutHeartbeats*n.heartbeat); err != nil {
		return nil, err
	}
	if n.timeout <= n.heartbeat {
		return nil, fmt.Errorf("%s (%s) must be longer than %s (%s)", nodeTimeoutEnv, n.timeout, heartbeatEnv, n.heartbeat)
	}
	alive, err := st.Nodes().ListAlive(ctx, now().Add(-n.timeout))
	if err != nil {
		return nil, err
	}
	for _, other := range alive {
		if other.Name != name {
			n.others = append(n.others, other.Name)
		} else {
			log.Warn("a node with this name heartbeat recently: if it is another server, not this one restarting, give each node its own --node",
				"node", name, "seen", now().Sub(other.SeenAt).Round(time.Millisecond))
		}
	}
	if err := st.Nodes().Heartbeat(ctx, name, now()); err != nil {
		return nil, err
	}
	log.Info("joined", "node", name, "store", st.Kind(), "heartbeat", n.heartbeat, "timeout", n.timeout,
		"other nodes alive", len(n.others))
	return n, nil
}

func durationEnv(name string, def time.Duration) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive duration such as 10s", name, v)
	}
	return d, nil
}

// run heartbeats, relays wake-ups to wake and runs the exclusive loops until
// ctx ends; the reaper finishes tasks through receipts.
func (n *node) run(ctx context.Context, wake func(), receipts Receipts) {
	var wg sync.WaitGroup
	wg.Go(func() { n.heartbeatLoop(ctx) })
	wg.Go(func() { n.listen(ctx, wake) })
	wg.Go(func() {
		n.exclusive(ctx, reaperLock, func(ctx context.Context) error { return n.reap(ctx, receipts) })
	})
	wg.Wait()
}

// Receipts is what the reaper needs of receipt.Service: failing tasks with
// their receipts in the same transaction, and writing the receipts that
// tasks finished without.
type Receipts interface {
	FinishTasks(ctx context.Context, finish func(ctx context.Context) ([]int64, error)) ([]int64, error)
	Backfill(ctx context.Context) (int, error)
}

// backfillEvery is how often the reaper writes missing receipts (besides
// when it starts): a task finishes without its receipt only when signing
// failed, which is rare.
const backfillEvery = 5 * time.Minute

// leave removes this node from the register; called last on a clean stop.
func (n *node) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.store.Nodes().Leave(ctx, n.name); err != nil {
		n.log.Warn("leave the cluster", "err", err)
	}
}

func (n *node) heartbeatLoop(ctx context.Context) {
	tick := time.NewTicker(n.heartbeat)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := n.store.Nodes().Heartbeat(ctx, n.name, n.now())
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			n.log.Error("heartbeat failed; other nodes will fail this node's tasks if it goes on", "err", err, "timeout", n.timeout)
			failing = true
		case err == nil && failing:
			n.log.Info("heartbeat recovered")
			failing = false
		}
	}
}

// listen relays the store's task notifications to wake, reconnecting with a
// growing delay when the listening connection fails. Meanwhile the runner's
// own poll still finds queued tasks, only later.
func (n *node) listen(ctx context.Context, wake func()) {
	delay := listenRetryInitial
	for {
		started := n.now()
		err := n.store.ListenTasks(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		if n.now().Sub(started) > listenRetryMax {
			delay = listenRetryInitial
		}
		n.log.Warn("listening for queued tasks failed; retrying", "err", err, "in", delay)
		if !sleep(ctx, delay) {
			return
		}
		delay = min(2*delay, listenRetryMax)
	}
}

// exclusive runs loop on one node at a time: this node runs it while it
// holds the store lock name, and tries to take the lock every heartbeat
// while another node holds it. If the lock is lost (this node's database
// session ended, so another node may hold it now) loop's context is
// cancelled. loop should return only when its context ends.
func (n *node) exclusive(ctx context.Context, name string, loop func(ctx context.Context) error) {
	for {
		l, ok, err := n.store.Locks().TryLock(ctx, name)
		if err != nil && ctx.Err() == nil {
			n.log.Warn("take lock", "lock", name, "err", err)
		}
		if ok {
			n.runHolding(ctx, name, l, loop)
		}
		if !sleep(ctx, n.heartbeat) {
			return
		}
	}
}

func (n *node) runHolding(ctx context.Context, name string, l store.Lock, loop func(ctx context.Context) error) {
	n.setHeld(name, true)
	defer n.setHeld(name, false)
	n.log.Info("running exclusive loop on this node", "loop", name)
	loopCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-l.Lost():
			cancel()
		case <-loopCtx.Done():
		}
	}()
	err := loop(loopCtx)
	if err := l.Unlock(); err != nil {
		n.log.Warn("release lock", "lock", name, "err", err)
	}
	if ctx.Err() != nil {
		return
	}
	select {
	case <-l.Lost():
		n.log.Warn("lost the lock of an exclusive loop; another node may run it now", "loop", name)
	default:
		n.log.Error("exclusive loop stopped", "loop", name, "err", err)
	}
}

func (n *node) setHeld(name string, held bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if held {
		n.held[name] = true
	} else {
		delete(n.held, name)
	}
}

// reap fails, every heartbeat, the tasks of nodes silent for longer than
// the timeout, each with its deployment receipt in the same transaction.
// It also writes the receipts of finished deployments that have none, when
// it starts and every backfillEvery (receipt.Service.Backfill).
func (n *node) reap(ctx context.Context, receipts Receipts) error {
	tick := time.NewTicker(n.heartbeat)
	defer tick.Stop()
	var backfilled time.Time
	for {
		now := n.now()
		n.failDead(ctx, receipts, now)
		if now.Sub(backfilled) >= backfillEvery {
			backfilled = now
			count, err := receipts.Backfill(ctx)
			if err != nil && ctx.Err() == nil {
				n.log.Error("write missing deployment receipts", "written", count, "err", err)
			} else if count > 0 {
				n.log.Warn("wrote the receipts of deployments that finished without one", "count", count)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (n *node) failDead(ctx context.Context, receipts Receipts, now time.Time) {
	reason := fmt.Sprintf("the server node running this task stopped (no heartbeat for %s); its outcome is unknown, deploy again", n.timeout)
	var failed map[string][]int64
	done, err := receipts.FinishTasks(ctx, func(ctx context.Context) ([]int64, error) {
		var err error
		failed, err = n.store.Nodes().FailTasksOfDeadNodes(ctx, now.Add(-n.timeout), reason, now)
		var ids []int64
		for _, list := range failed {
			ids = append(ids, list...)
		}
		return ids, err
	})
	if err != nil && ctx.Err() == nil {
		n.log.Warn("fail tasks of dead nodes", "err", err)
	}
	if len(done) == 0 {
		return
	}
	for dead, ids := range failed {
		n.log.Warn("failed the tasks of a node that stopped heartbeating", "dead node", dead, "tasks", ids)
	}
}

// withLock runs fn while holding the store lock name, waiting for it while
// another node holds it: for start-up work that nodes starting together
// must not do twice.
func (n *node) withLock(ctx context.Context, name string, fn func() error) error {
	for {
		l, ok, err := n.store.Locks().TryLock(ctx, name)
		if err != nil {
			return fmt.Errorf("take lock %s: %w", name, err)
		}
		if ok {
			defer l.Unlock()
			return fn()
		}
		if !sleep(ctx, 50*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// Health is /api/health: this node, its store, the queue across all nodes
// and the nodes alive. A store that does not answer makes it "degraded".
func (n *node) Health(ctx context.Context) any {
	out := map[string]any{"status": "ok", "version": Version(), "node": n.name, "store": n.store.Kind(), "sandbox": n.sandbox}
	n.mu.Lock()
	held := make([]string, 0, len(n.held))
	for name := range n.held {
		held = append(held, name)
	}
	n.mu.Unlock()
	slices.Sort(held)
	out["exclusive"] = held

	queued, executing, err := n.store.Tasks().Pending(ctx)
	if err == nil {
		out["queue"] = map[string]int{"queued": queued, "executing": executing}
		var alive []store.Node
		alive, err = n.store.Nodes().ListAlive(ctx, n.now().Add(-n.timeout))
		type nodeState struct {
			Name      string    `json:"name"`
			StartedAt time.Time `json:"startedAt"`
			SeenAt    time.Time `json:"seenAt"`
		}
		nodes := []nodeState{}
		for _, a := range alive {
			nodes = append(nodes, nodeState(a))
		}
		out["nodes"] = nodes
	}
	if err != nil {
		n.log.Error("health: read the store", "err", err)
		out["status"] = "degraded"
		out["error"] = "the store does not answer"
	}
	return out
}

// sleep waits for d or for ctx to end; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
