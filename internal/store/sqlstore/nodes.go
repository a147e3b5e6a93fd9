package sqlstore

import (
	"context"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Nodes returns the register of server nodes and their heartbeats.
func (db *DB) Nodes() store.Nodes { return &nodes{db} }

type nodes struct{ db *DB }

var _ store.Nodes = (*nodes)(nil)

// Heartbeat records node as seen at now; its first heartbeat (since it last
// left) also sets its start time.
func (s *nodes) Heartbeat(ctx context.Context, node string, now time.Time) error {
	_, err := s.db.exec(ctx, `INSERT INTO nodes (name, started_at, seen_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET seen_at = excluded.seen_at`,
		node, micros(now), micros(now))
	return wrap(err, "heartbeat of node %q", node)
}

func (s *nodes) Leave(ctx context.Context, node string) error {
	_, err := s.db.exec(ctx, `DELETE FROM nodes WHERE name = ?`, node)
	return wrap(err, "remove node %q", node)
}

func (s *nodes) ListAlive(ctx context.Context, since time.Time) ([]store.Node, error) {
	rows, err := s.db.query(ctx, `SELECT name, started_at, seen_at FROM nodes WHERE seen_at >= ? ORDER BY name`, micros(since))
	if err != nil {
		return nil, wrap(err, "list nodes")
	}
	list, err := collect(rows, func(sc scanner) (store.Node, error) {
		var n store.Node
		var started, seen int64
		err := sc.Scan(&n.Name, &started, &seen)
		n.StartedAt, n.SeenAt = fromMicros(started), fromMicros(seen)
		return n, err
	})
	return list, wrap(err, "list nodes")
}

// FailTasksOfDeadNodes fails the tasks of nodes silent since before since.
// A task started after since is left alone even if its node has no
// heartbeat: nodes heartbeat before they claim, so such a node is starting,
// not dead.
func (s *nodes) FailTasksOfDeadNodes(ctx context.Context, since time.Time, reason string, now time.Time) (map[string][]int64, error) {
	rows, err := s.db.query(ctx, `UPDATE tasks SET state = ?, error = ?, finished_at = ?, cancel_requested = ?
		WHERE state = ? AND started_at < ? AND node NOT IN (SELECT name FROM nodes WHERE seen_at >= ?)
		RETURNING id, node`,
		string(domain.TaskFailed), reason, micros(now), true,
		string(domain.TaskExecuting), micros(since), micros(since))
	if err != nil {
		return nil, wrap(err, "fail tasks of dead nodes")
	}
	type failed struct {
		id   int64
		node string
	}
	list, err := collect(rows, func(sc scanner) (failed, error) {
		var f failed
		return f, sc.Scan(&f.id, &f.node)
	})
	if err != nil {
		return nil, wrap(err, "fail tasks of dead nodes")
	}
	out := map[string][]int64{}
	for _, f := range list {
		out[f.node] = append(out[f.node], f.id)
	}
	return out, nil
}
