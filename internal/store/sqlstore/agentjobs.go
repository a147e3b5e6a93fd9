package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

type agentIdentities struct{ db *DB }

var _ store.AgentIdentities = (*agentIdentities)(nil)

// AgentIdentities returns the server's identities towards agents.
func (db *DB) AgentIdentities() store.AgentIdentities { return &agentIdentities{db} }

// agentKeyAAD binds a sealed key to its certificate's fingerprint.
func agentKeyAAD(fingerprint string) string { return "ferry:agent-identity:" + fingerprint }

func (s *agentIdentities) Create(ctx context.Context, id *domain.AgentIdentity) error {
	id.CreatedAt = stamp(id.CreatedAt)
	sealed, err := s.db.sealer.Seal(id.KeyPEM, agentKeyAAD(id.Fingerprint))
	if err != nil {
		return wrap(err, "seal the agent identity")
	}
	err = s.db.queryRow(ctx, `INSERT INTO agent_identities (fingerprint, cert_pem, key_sealed, state, created_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, id.Fingerprint, string(id.CertPEM), sealed, id.State, micros(id.CreatedAt)).Scan(&id.ID)
	if s.db.d.isUnique(err) {
		return domain.Conflictf("the server already has a %s agent identity", id.State)
	}
	return wrap(err, "store the agent identity")
}

func (s *agentIdentities) List(ctx context.Context) ([]domain.AgentIdentity, error) {
	rows, err := s.db.query(ctx, `SELECT id, fingerprint, cert_pem, key_sealed, state, created_at FROM agent_identities
		WHERE state <> ? ORDER BY id DESC`, domain.IdentityRetired)
	if err != nil {
		return nil, wrap(err, "list agent identities")
	}
	list, err := collect(rows, func(sc scanner) (domain.AgentIdentity, error) {
		var id domain.AgentIdentity
		var cert, sealed string
		var created int64
		if err := sc.Scan(&id.ID, &id.Fingerprint, &cert, &sealed, &id.State, &created); err != nil {
			return id, err
		}
		id.CertPEM, id.CreatedAt = []byte(cert), fromMicros(created)
		key, err := s.db.sealer.Open(sealed, agentKeyAAD(id.Fingerprint))
		id.KeyPEM = key
		return id, err
	})
	return list, wrap(err, "list agent identities")
}

func (s *agentIdentities) Activate(ctx context.Context, at time.Time) error {
	return s.db.WithTx(ctx, func(ctx context.Context) error {
		ok, err := s.db.exists(ctx, `SELECT 1 FROM agent_identities WHERE state = ?`, domain.IdentityNext)
		if err != nil {
			return err
		}
		if !ok {
			return domain.NotFoundf("there is no next agent identity to activate; make one with `ferry target rotate-identity`")
		}
		if _, err := s.db.exec(ctx, `UPDATE agent_identities SET state = ?, retired_at = ? WHERE state = ?`,
			domain.IdentityRetired, micros(stamp(at)), domain.IdentityCurrent); err != nil {
			return wrap(err, "retire the agent identity")
		}
		_, err = s.db.exec(ctx, `UPDATE agent_identities SET state = ? WHERE state = ?`, domain.IdentityCurrent, domain.IdentityNext)
		return wrap(err, "activate the agent identity")
	})
}

type agentJobs struct{ db *DB }

var _ store.AgentJobs = (*agentJobs)(nil)

// AgentJobs returns the durable work for targets.
func (db *DB) AgentJobs() store.AgentJobs { return &agentJobs{db} }

// jobAAD binds a job's sealed payload or result to its task and target.
func jobAAD(what string, j *domain.AgentJob) string {
	return "ferry:agent-job:" + what + ":" + itoa(j.TaskID) + ":" + itoa(j.TargetID)
}

const agentJobColumns = `id, task_id, space_id, target_id, target, thumbprint, mode, url, origin, node, state,
	payload, result, error, cancel, created_at, beat_at`

func (s *agentJobs) scan(sc scanner) (domain.AgentJob, error) {
	var j domain.AgentJob
	var payload, result, state string
	var created int64
	var beat sql.NullInt64
	err := sc.Scan(&j.ID, &j.TaskID, &j.SpaceID, &j.TargetID, &j.Target, &j.Thumbprint, &j.Mode, &j.URL, &j.Origin, &j.Node, &state,
		&payload, &result, &j.Error, &j.Cancel, &created, &beat)
	if err != nil {
		return j, err
	}
	j.State, j.CreatedAt, j.BeatAt = domain.JobState(state), fromMicros(created), timePtr(beat)
	if j.Payload, err = s.db.sealer.Open(payload, jobAAD("payload", &j)); err != nil {
		return j, err
	}
	if result != "" {
		j.Result, err = s.db.sealer.Open(result, jobAAD("result", &j))
	}
	return j, err
}

func (s *agentJobs) Create(ctx context.Context, j *domain.AgentJob) error {
	j.CreatedAt, j.State = stamp(j.CreatedAt), domain.JobQueued
	payload, err := s.db.sealer.Seal(j.Payload, jobAAD("payload", j))
	if err != nil {
		return wrap(err, "seal a job")
	}
	err = s.db.queryRow(ctx, `INSERT INTO agent_jobs (task_id, space_id, target_id, target, thumbprint, mode, url, origin, state, payload, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		j.TaskID, j.SpaceID, j.TargetID, j.Target, j.Thumbprint, j.Mode, j.URL, j.Origin, string(j.State), payload, micros(j.CreatedAt)).Scan(&j.ID)
	return wrap(err, "queue a job for target %q", j.Target)
}

func (s *agentJobs) Get(ctx context.Context, id int64) (domain.AgentJob, error) {
	j, err := one(s.db.queryRow(ctx, `SELECT `+agentJobColumns+` FROM agent_jobs WHERE id = ?`, id),
		s.scan, domain.NotFoundf("job %d not found", id))
	return j, wrap(err, "get job %d", id)
}

func (s *agentJobs) Claim(ctx context.Context, node string, thumbprints []string, now time.Time, limit int) ([]domain.AgentJob, error) {
	var out []domain.AgentJob
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		cond := `(mode = ? AND origin = ?)`
		args := []any{string(domain.JobQueued), domain.ModeListening, node}
		if len(thumbprints) > 0 {
			cond += ` OR (mode = ? AND thumbprint IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(thumbprints)), ", ") + `))`
			args = append(args, domain.ModePolling)
			for _, t := range thumbprints {
				args = append(args, t)
			}
		}
		rows, err := s.db.query(ctx, `SELECT id FROM agent_jobs WHERE state = ? AND (`+cond+`) ORDER BY id LIMIT ?`, append(args, limit)...)
		if err != nil {
			return err
		}
		ids, err := collect(rows, func(sc scanner) (int64, error) {
			var id int64
			return id, sc.Scan(&id)
		})
		if err != nil {
			return err
		}
		for _, id := range ids {
			res, err := s.db.exec(ctx, `UPDATE agent_jobs SET state = ?, node = ?, beat_at = ? WHERE id = ? AND state = ?`,
				string(domain.JobRunning), node, micros(stamp(now)), id, string(domain.JobQueued))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue // another node took it
			}
			j, err := s.Get(ctx, id)
			if err != nil {
				return err
			}
			out = append(out, j)
		}
		return nil
	})
	return out, wrap(err, "claim jobs")
}

func (s *agentJobs) Beat(ctx context.Context, node string, now time.Time) ([]int64, error) {
	if _, err := s.db.exec(ctx, `UPDATE agent_jobs SET beat_at = ? WHERE node = ? AND state = ?`,
		micros(stamp(now)), node, string(domain.JobRunning)); err != nil {
		return nil, wrap(err, "beat jobs")
	}
	rows, err := s.db.query(ctx, `SELECT j.id FROM agent_jobs j LEFT JOIN tasks t ON t.id = j.task_id
		WHERE j.node = ? AND j.state = ? AND (j.cancel OR t.state IS NULL OR t.state IN (?, ?, ?))`,
		node, string(domain.JobRunning), string(domain.TaskSuccess), string(domain.TaskFailed), string(domain.TaskCancelled))
	if err != nil {
		return nil, wrap(err, "jobs to stop")
	}
	ids, err := collect(rows, func(sc scanner) (int64, error) {
		var id int64
		return id, sc.Scan(&id)
	})
	return ids, wrap(err, "jobs to stop")
}

func (s *agentJobs) Finish(ctx context.Context, id int64, state domain.JobState, result []byte, errMsg string, now time.Time) (bool, error) {
	if !state.Done() {
		return false, domain.Invalidf("job %d: %q is not a final state", id, state)
	}
	var ok bool
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		j, err := s.Get(ctx, id)
		if err != nil || j.State.Done() {
			return err
		}
		sealed := ""
		if len(result) > 0 {
			if sealed, err = s.db.sealer.Seal(result, jobAAD("result", &j)); err != nil {
				return err
			}
		}
		res, err := s.db.exec(ctx, `UPDATE agent_jobs SET state = ?, result = ?, error = ?, beat_at = ? WHERE id = ? AND state IN (?, ?)`,
			string(state), sealed, errMsg, micros(stamp(now)), id, string(domain.JobQueued), string(domain.JobRunning))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		ok = n == 1
		return err
	})
	return ok, wrap(err, "finish job %d", id)
}

func (s *agentJobs) RequestCancel(ctx context.Context, id int64) error {
	_, err := s.db.exec(ctx, `UPDATE agent_jobs SET cancel = TRUE WHERE id = ?`, id)
	return wrap(err, "cancel job %d", id)
}

func (s *agentJobs) Delete(ctx context.Context, id int64) error {
	_, err := s.db.exec(ctx, `DELETE FROM agent_jobs WHERE id = ?`, id)
	return wrap(err, "delete job %d", id)
}

func (s *agentJobs) FailNode(ctx context.Context, node, reason string, now time.Time) (int, error) {
	res, err := s.db.exec(ctx, `UPDATE agent_jobs SET state = ?, error = ?, beat_at = ? WHERE (origin = ? OR node = ?) AND state IN (?, ?)`,
		string(domain.JobFailed), reason, micros(stamp(now)), node, node, string(domain.JobQueued), string(domain.JobRunning))
	if err != nil {
		return 0, wrap(err, "fail the jobs of node %s", node)
	}
	n, err := res.RowsAffected()
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return int(n), err
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
