package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

type interventions struct{ db *DB }

var _ store.Interventions = (*interventions)(nil)

// Interventions returns the manual interventions deployments reached.
func (db *DB) Interventions() store.Interventions { return &interventions{db} }

const interventionColumns = `id, task_id, step_index, step, instructions, teams, prevent_self_approval, deployer,
	created_at, timeout_at, decision, decided_by, decided_at, note`

func scanIntervention(sc scanner) (domain.Intervention, error) {
	var iv domain.Intervention
	var teams string
	var created int64
	var timeout, decided sql.NullInt64
	err := sc.Scan(&iv.ID, &iv.TaskID, &iv.StepIndex, &iv.Step, &iv.Instructions, &teams, &iv.PreventSelfApproval, &iv.Deployer,
		&created, &timeout, &iv.Decision, &iv.DecidedBy, &decided, &iv.Note)
	if err != nil {
		return iv, err
	}
	iv.Since, iv.TimeoutAt, iv.DecidedAt = fromMicros(created), timePtr(timeout), timePtr(decided)
	if err := decodeJSON(teams, &iv.ResponsibleTeams); err != nil {
		return iv, err
	}
	if iv.ResponsibleTeams == nil {
		iv.ResponsibleTeams = []string{}
	}
	return iv, nil
}

// Open inserts the intervention and moves its task to Waiting, clearing
// the node that ran it: any node may resume it. A task whose cancellation
// was asked for does not start waiting.
func (s *interventions) Open(ctx context.Context, iv *domain.Intervention) error {
	teams, err := encodeJSON(nonNilStrings(iv.ResponsibleTeams))
	if err != nil {
		return err
	}
	iv.Since, iv.TimeoutAt = stamp(iv.Since), stampPtr(iv.TimeoutAt)
	err = s.db.WithTx(ctx, func(ctx context.Context) error {
		err := s.db.execOne(ctx, domain.Conflictf("task %d is not running, or its cancellation was asked for; it cannot wait", iv.TaskID),
			`UPDATE tasks SET state = ?, node = '' WHERE id = ? AND state = ? AND cancel_requested = ?`,
			string(domain.TaskWaiting), iv.TaskID, string(domain.TaskExecuting), false)
		if err != nil {
			return err
		}
		return s.db.queryRow(ctx, `INSERT INTO interventions (task_id, step_index, step, instructions, teams,
				prevent_self_approval, deployer, created_at, timeout_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			iv.TaskID, iv.StepIndex, iv.Step, s.db.d.cleanText(iv.Instructions), teams, iv.PreventSelfApproval, iv.Deployer,
			micros(iv.Since), nullMicros(iv.TimeoutAt)).Scan(&iv.ID)
	})
	return wrap(err, "open intervention of task %d", iv.TaskID)
}

func (s *interventions) List(ctx context.Context, taskID int64) ([]domain.Intervention, error) {
	rows, err := s.db.query(ctx, `SELECT `+interventionColumns+` FROM interventions WHERE task_id = ? ORDER BY step_index`, taskID)
	if err != nil {
		return nil, wrap(err, "list interventions of task %d", taskID)
	}
	list, err := collect(rows, scanIntervention)
	return list, wrap(err, "list interventions of task %d", taskID)
}

func (s *interventions) Pending(ctx context.Context, taskID int64) (domain.Intervention, error) {
	iv, err := one(s.db.queryRow(ctx, `SELECT `+interventionColumns+` FROM interventions WHERE task_id = ? AND decision = ''`, taskID),
		scanIntervention, domain.NotFoundf("task %d waits for no decision", taskID))
	return iv, wrap(err, "get the pending intervention of task %d", taskID)
}

// Decide records the decision if none was made, and queues the task again
// (the runner ends it or goes on, by the decision), notifying the nodes.
func (s *interventions) Decide(ctx context.Context, id int64, decision, by, note string, at time.Time) (bool, error) {
	var ok bool
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		res, err := s.db.exec(ctx, `UPDATE interventions SET decision = ?, decided_by = ?, decided_at = ?, note = ?
			WHERE id = ? AND decision = ''`, decision, by, micros(stamp(at)), s.db.d.cleanText(note), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		ok = true
		_, err = s.db.exec(ctx, `UPDATE tasks SET state = ? WHERE state = ? AND id = (SELECT task_id FROM interventions WHERE id = ?)`,
			string(domain.TaskQueued), string(domain.TaskWaiting), id)
		if err == nil && s.db.d.notifyTask != "" {
			_, err = s.db.exec(ctx, s.db.d.notifyTask)
		}
		return err
	})
	return ok, wrap(err, "decide intervention %d", id)
}

func (s *interventions) Expired(ctx context.Context, now time.Time) ([]domain.Intervention, error) {
	rows, err := s.db.query(ctx, `SELECT `+interventionColumns+` FROM interventions
		WHERE decision = '' AND timeout_at IS NOT NULL AND timeout_at <= ? ORDER BY id`, micros(now))
	if err != nil {
		return nil, wrap(err, "list expired interventions")
	}
	list, err := collect(rows, scanIntervention)
	return list, wrap(err, "list expired interventions")
}

func (s *interventions) Undecided(ctx context.Context, spaceID int64) ([]domain.Intervention, error) {
	rows, err := s.db.query(ctx, `SELECT i.id, i.task_id, i.step_index, i.step, i.instructions, i.teams, i.prevent_self_approval, i.deployer,
			i.created_at, i.timeout_at, i.decision, i.decided_by, i.decided_at, i.note
		FROM interventions i
		JOIN tasks t ON t.id = i.task_id
		WHERE i.decision = '' AND t.space_id = ? ORDER BY i.id`, spaceID)
	if err != nil {
		return nil, wrap(err, "list undecided interventions")
	}
	list, err := collect(rows, scanIntervention)
	return list, wrap(err, "list undecided interventions")
}

type triggerStates struct{ db *DB }

var _ store.TriggerStates = (*triggerStates)(nil)

// TriggerStates returns what triggers did.
func (db *DB) TriggerStates() store.TriggerStates { return &triggerStates{db} }

// Claim is one conditional upsert: of two nodes claiming one due time,
// exactly one changes the row.
func (s *triggerStates) Claim(ctx context.Context, projectID int64, name string, due time.Time) (bool, error) {
	res, err := s.db.exec(ctx, `INSERT INTO trigger_states (project_id, name, last_due) VALUES (?, ?, ?)
		ON CONFLICT (project_id, name) DO UPDATE SET last_due = excluded.last_due
		WHERE trigger_states.last_due < excluded.last_due`, projectID, name, micros(due))
	if err != nil {
		return false, wrap(err, "claim trigger %q", name)
	}
	n, err := res.RowsAffected()
	return n > 0, wrap(err, "claim trigger %q", name)
}

func (s *triggerStates) Record(ctx context.Context, projectID int64, name string, f domain.TriggerFiring) error {
	_, err := s.db.exec(ctx, `INSERT INTO trigger_states (project_id, name, fired_at, ok, version, task_id, result)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (project_id, name) DO UPDATE SET fired_at = excluded.fired_at, ok = excluded.ok,
			version = excluded.version, task_id = excluded.task_id, result = excluded.result`,
		projectID, name, micros(stamp(f.At)), f.OK, f.Version, nullID(f.TaskID), s.db.d.cleanText(f.Result))
	return wrap(err, "record firing of trigger %q", name)
}

func (s *triggerStates) List(ctx context.Context, projectID int64) ([]store.TriggerState, error) {
	rows, err := s.db.query(ctx, `SELECT name, last_due, fired_at, ok, version, task_id, result
		FROM trigger_states WHERE project_id = ? ORDER BY name`, projectID)
	if err != nil {
		return nil, wrap(err, "list trigger states")
	}
	list, err := collect(rows, func(sc scanner) (store.TriggerState, error) {
		var st store.TriggerState
		var due int64
		var fired, task sql.NullInt64
		var f domain.TriggerFiring
		if err := sc.Scan(&st.Name, &due, &fired, &f.OK, &f.Version, &task, &f.Result); err != nil {
			return st, err
		}
		if due != 0 {
			st.LastDue = fromMicros(due)
		}
		if fired.Valid {
			f.At, f.TaskID = fromMicros(fired.Int64), task.Int64
			if !st.LastDue.IsZero() {
				d := st.LastDue
				f.Due = &d
			}
			st.Last = &f
		}
		return st, nil
	})
	return list, wrap(err, "list trigger states")
}
