package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

type tasks struct{ db *DB }

var _ store.Tasks = (*tasks)(nil)

const taskSelect = `SELECT t.id, t.space_id, s.name, t.kind, t.description, t.state, t.error, t.deployment_id,
		p.name, t.cancel_requested, t.cancel_requested_at, t.queued_at, t.started_at, t.finished_at, t.node
	FROM tasks t LEFT JOIN spaces s ON s.id = t.space_id
	LEFT JOIN deployments d ON d.id = t.deployment_id
	LEFT JOIN projects p ON p.id = d.project_id`

func scanTask(s scanner) (domain.Task, error) {
	var t domain.Task
	var spaceID, deploymentID, cancelAt, started, finished sql.NullInt64
	var space, project sql.NullString
	var queued int64
	err := s.Scan(&t.ID, &spaceID, &space, &t.Kind, &t.Description, &t.State, &t.Error, &deploymentID,
		&project, &t.CancelRequested, &cancelAt, &queued, &started, &finished, &t.Node)
	if err != nil {
		return domain.Task{}, err
	}
	t.SpaceID, t.Space, t.DeploymentID, t.Project = spaceID.Int64, space.String, deploymentID.Int64, project.String
	t.QueuedAt, t.StartedAt, t.FinishedAt = fromMicros(queued), timePtr(started), timePtr(finished)
	t.CancelRequestedAt = timePtr(cancelAt)
	t.Note = t.LateCancel()
	return t, nil
}

// Create stores the task and fills in its ID and QueuedAt; a task without a
// state is Queued. SpaceID 0 makes a system task. Where the dialect notifies,
// queuing a task wakes the listeners of every node when it commits.
func (s *tasks) Create(ctx context.Context, t *domain.Task) error {
	if t.State == "" {
		t.State = domain.TaskQueued
	}
	t.QueuedAt = stamp(t.QueuedAt)
	t.StartedAt, t.FinishedAt = stampPtr(t.StartedAt), stampPtr(t.FinishedAt)
	insert := func(ctx context.Context) error {
		return s.db.queryRow(ctx, `INSERT INTO tasks (space_id, kind, description, state, error, deployment_id,
				cancel_requested, queued_at, started_at, finished_at, node)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			nullID(t.SpaceID), t.Kind, t.Description, string(t.State), t.Error, nullID(t.DeploymentID),
			t.CancelRequested, micros(t.QueuedAt), nullMicros(t.StartedAt), nullMicros(t.FinishedAt), t.Node).Scan(&t.ID)
	}
	var err error
	if s.db.d.notifyTask == "" || t.State != domain.TaskQueued {
		err = insert(ctx)
	} else {
		err = s.db.WithTx(ctx, func(ctx context.Context) error {
			if err := insert(ctx); err != nil {
				return err
			}
			_, err := s.db.exec(ctx, s.db.d.notifyTask)
			return err
		})
	}
	return wrap(err, "create %s task", t.Kind)
}

func (s *tasks) Get(ctx context.Context, id int64) (domain.Task, error) {
	t, err := one(s.db.queryRow(ctx, taskSelect+` WHERE t.id = ?`, id),
		scanTask, domain.NotFoundf("task %d not found", id))
	return t, wrap(err, "get task %d", id)
}

// List returns the tasks f matches, newest first.
func (s *tasks) List(ctx context.Context, f store.TaskFilter) ([]domain.Task, error) {
	var where []string
	var args []any
	if f.SpaceID != 0 {
		where, args = append(where, `t.space_id = ?`), append(args, f.SpaceID)
	}
	if f.State != "" {
		where, args = append(where, `t.state = ?`), append(args, string(f.State))
	}
	if f.Projects != nil {
		cond, names := namedOrNone("p.name", f.Projects)
		where, args = append(where, cond), append(args, names...)
	}
	q := taskSelect
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY t.id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := s.db.query(ctx, q, args...)
	if err != nil {
		return nil, wrap(err, "list tasks")
	}
	list, err := collect(rows, scanTask)
	return list, wrap(err, "list tasks")
}

func (s *tasks) SetDeployment(ctx context.Context, taskID, deploymentID int64) error {
	err := s.db.execOne(ctx, domain.NotFoundf("task %d not found", taskID),
		`UPDATE tasks SET deployment_id = ? WHERE id = ?`, nullID(deploymentID), taskID)
	return wrap(err, "link task %d to deployment %d", taskID, deploymentID)
}

// Claim moves the oldest queued task to Executing on node. The dialect's
// claim statement picks and updates the row in one step, so concurrent
// callers never share a task; reading it back in the same transaction means
// a failed read leaves no task claimed and unreported.
func (s *tasks) Claim(ctx context.Context, node string, now time.Time) (domain.Task, error) {
	var t domain.Task
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		var id int64
		err := s.db.queryRow(ctx, s.db.d.claimTask,
			string(domain.TaskExecuting), node, micros(now), string(domain.TaskQueued), string(domain.TaskQueued)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return domain.NotFoundf("no queued task")
		}
		if err != nil {
			return err
		}
		t, err = s.Get(ctx, id)
		return err
	})
	if err != nil {
		return domain.Task{}, wrap(err, "claim task")
	}
	return t, nil
}

// Finish records a final state. A task already final keeps its state: the
// first outcome recorded wins.
func (s *tasks) Finish(ctx context.Context, id int64, state domain.TaskState, errMsg string, now time.Time) error {
	if !state.Done() {
		return domain.Invalidf("task %d: %q is not a final state", id, state)
	}
	err := s.updateUnfinished(ctx, id, `state = ?, error = ?, finished_at = ?`, string(state), errMsg, micros(now))
	return wrap(err, "finish task %d", id)
}

// RequestCancel flags a queued, executing or waiting task for its executor
// to stop, recording when the first request came (at); for a finished task
// it does nothing.
func (s *tasks) RequestCancel(ctx context.Context, id int64, at time.Time) error {
	err := s.updateUnfinished(ctx, id, `cancel_requested = ?, cancel_requested_at = COALESCE(cancel_requested_at, ?)`, true, micros(at))
	return wrap(err, "cancel task %d", id)
}

// updateUnfinished sets columns of task id if it is not final yet. It returns
// NotFound only when the task does not exist.
func (s *tasks) updateUnfinished(ctx context.Context, id int64, set string, args ...any) error {
	args = append(args, id, string(domain.TaskQueued), string(domain.TaskExecuting), string(domain.TaskWaiting))
	res, err := s.db.exec(ctx, `UPDATE tasks SET `+set+` WHERE id = ? AND state IN (?, ?, ?)`, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	ok, err := s.db.exists(ctx, `SELECT 1 FROM tasks WHERE id = ?`, id)
	if err == nil && !ok {
		err = domain.NotFoundf("task %d not found", id)
	}
	return err
}

// FailExecuting marks node's executing tasks Failed; after a crash nothing is
// running them any more.
func (s *tasks) FailExecuting(ctx context.Context, node, reason string, now time.Time) ([]int64, error) {
	ids, err := s.db.ids(ctx, `UPDATE tasks SET state = ?, error = ?, finished_at = ? WHERE state = ? AND node = ? RETURNING id`,
		string(domain.TaskFailed), reason, micros(now), string(domain.TaskExecuting), node)
	return ids, wrap(err, "fail tasks of node %q", node)
}

// AppendLog adds lines after the task's last one, numbering them on from its
// last Seq (1 for the first line) and stamping lines without a time. It
// writes the Seq and At it assigned back into lines.
func (s *tasks) AppendLog(ctx context.Context, taskID int64, lines []domain.LogLine) error {
	if len(lines) == 0 {
		return nil
	}
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		var last int64
		if s.db.d.lockTask != "" {
			// Two writers must not number the same Seq. This runs as a
			// statement of its own so that the next one, which reads the
			// last Seq, starts after the lock is granted and sees the
			// previous holder's lines.
			if _, err := s.db.exec(ctx, s.db.d.lockTask, taskID); err != nil {
				return err
			}
		}
		err := s.db.queryRow(ctx, `SELECT (SELECT COALESCE(MAX(seq), 0) FROM task_logs WHERE task_id = ?)
			FROM tasks WHERE id = ?`, taskID, taskID).Scan(&last)
		if errors.Is(err, sql.ErrNoRows) {
			return domain.NotFoundf("task %d not found", taskID)
		}
		if err != nil {
			return err
		}
		for i := range lines {
			l := &lines[i]
			l.Seq, l.At = last+int64(i)+1, stamp(l.At)
			_, err := s.db.exec(ctx, `INSERT INTO task_logs (task_id, seq, at, level, message) VALUES (?, ?, ?, ?, ?)`,
				taskID, l.Seq, micros(l.At), s.db.d.cleanText(l.Level), s.db.d.cleanText(l.Text))
			if err != nil {
				return err
			}
		}
		return nil
	})
	return wrap(err, "append to log of task %d", taskID)
}

// Log returns the task's lines after Seq after, oldest first, at most limit
// (0: all). A task without lines, or no task, has an empty log.
func (s *tasks) Log(ctx context.Context, taskID int64, after int64, limit int) ([]domain.LogLine, error) {
	q := `SELECT seq, at, level, message FROM task_logs WHERE task_id = ? AND seq > ? ORDER BY seq`
	args := []any{taskID, after}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.db.query(ctx, q, args...)
	if err != nil {
		return nil, wrap(err, "read log of task %d", taskID)
	}
	list, err := collect(rows, scanLogLine)
	return list, wrap(err, "read log of task %d", taskID)
}

func scanLogLine(s scanner) (domain.LogLine, error) {
	var l domain.LogLine
	var at int64
	err := s.Scan(&l.Seq, &at, &l.Level, &l.Text)
	l.At = fromMicros(at)
	return l, err
}

// Pending counts queued and executing tasks; the state index answers it
// without reading finished tasks.
func (s *tasks) Pending(ctx context.Context) (queued, executing int, err error) {
	rows, err := s.db.query(ctx, `SELECT state, COUNT(*) FROM tasks WHERE state IN (?, ?) GROUP BY state`,
		string(domain.TaskQueued), string(domain.TaskExecuting))
	if err != nil {
		return 0, 0, wrap(err, "count pending tasks")
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return 0, 0, wrap(err, "count pending tasks")
		}
		switch domain.TaskState(state) {
		case domain.TaskQueued:
			queued = n
		case domain.TaskExecuting:
			executing = n
		}
	}
	return queued, executing, wrap(rows.Err(), "count pending tasks")
}

// namedOrNone is a condition that col is NULL or one of names, with its
// arguments: rows of no project, or of one of the projects named.
func namedOrNone(col string, names []string) (string, []any) {
	if len(names) == 0 {
		return col + ` IS NULL`, nil
	}
	args := make([]any, len(names))
	for i, n := range names {
		args[i] = n
	}
	return `(` + col + ` IS NULL OR ` + col + ` IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(names)), ", ") + `))`, args
}
