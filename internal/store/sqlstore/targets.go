package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

type targets struct{ db *DB }

var _ store.Targets = (*targets)(nil)

// Targets returns the deployment targets resource.
func (db *DB) Targets() store.Targets { return &targets{db} }

const targetColumns = `id, space_id, name, environments, roles, mode, url, thumbprint, disabled,
	health, health_reason, checked_at, last_seen, agent_version, node, created_at, tenants, tenant_tags`

func scanTarget(s scanner) (domain.Target, error) {
	var t domain.Target
	var envs, roles, health, tenants, tags string
	var checked, seen sql.NullInt64
	var created int64
	err := s.Scan(&t.ID, &t.SpaceID, &t.Name, &envs, &roles, &t.Mode, &t.URL, &t.Thumbprint, &t.Disabled,
		&health, &t.HealthReason, &checked, &seen, &t.AgentVersion, &t.Node, &created, &tenants, &tags)
	if err != nil {
		return t, err
	}
	t.Health, t.CheckedAt, t.LastSeen, t.CreatedAt = domain.Health(health), timePtr(checked), timePtr(seen), fromMicros(created)
	if err := decodeJSON(envs, &t.Environments); err != nil {
		return t, err
	}
	if err := decodeOptionalJSON(tenants, &t.Tenants); err != nil {
		return t, err
	}
	if err := decodeOptionalJSON(tags, &t.TenantTags); err != nil {
		return t, err
	}
	return t, decodeJSON(roles, &t.Roles)
}

func (s *targets) Create(ctx context.Context, t *domain.Target) error {
	t.CreatedAt = stamp(t.CreatedAt)
	if t.Health == "" {
		t.Health = domain.HealthUnknown
	}
	envs, roles, err := targetLists(t)
	if err != nil {
		return err
	}
	err = s.db.queryRow(ctx, `INSERT INTO targets (space_id, name, environments, roles, mode, url, thumbprint, disabled,
			health, health_reason, checked_at, last_seen, agent_version, node, created_at, tenants, tenant_tags)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		t.SpaceID, t.Name, envs, roles, t.Mode, t.URL, t.Thumbprint, t.Disabled,
		string(t.Health), t.HealthReason, nullMicros(t.CheckedAt), nullMicros(t.LastSeen), t.AgentVersion, t.Node, micros(t.CreatedAt), optionalJSON(t.Tenants), optionalJSON(t.TenantTags)).Scan(&t.ID)
	if s.db.d.isUnique(err) {
		return domain.Conflictf("this space already has a target named %q, or one with thumbprint %s", t.Name, t.Thumbprint)
	}
	return wrap(err, "create target %q", t.Name)
}

func targetLists(t *domain.Target) (string, string, error) {
	envs, err := encodeJSON(t.Environments)
	if err != nil {
		return "", "", err
	}
	roles, err := encodeJSON(t.Roles)
	return envs, roles, err
}

func (s *targets) Update(ctx context.Context, t *domain.Target) error {
	envs, roles, err := targetLists(t)
	if err != nil {
		return err
	}
	err = s.db.execOne(ctx, domain.NotFoundf("target %q not found", t.Name),
		`UPDATE targets SET environments = ?, roles = ?, mode = ?, url = ?, thumbprint = ?, disabled = ?,
			health = ?, health_reason = ?, checked_at = ?, last_seen = ?, agent_version = ?, node = ?, tenants = ?, tenant_tags = ? WHERE id = ?`,
		envs, roles, t.Mode, t.URL, t.Thumbprint, t.Disabled,
		string(t.Health), t.HealthReason, nullMicros(t.CheckedAt), nullMicros(t.LastSeen), t.AgentVersion, t.Node,
		optionalJSON(t.Tenants), optionalJSON(t.TenantTags), t.ID)
	if s.db.d.isUnique(err) {
		return domain.Conflictf("another target of this space has thumbprint %s", t.Thumbprint)
	}
	return wrap(err, "update target %q", t.Name)
}

func (s *targets) Get(ctx context.Context, spaceID int64, name string) (domain.Target, error) {
	t, err := one(s.db.queryRow(ctx, `SELECT `+targetColumns+` FROM targets WHERE space_id = ? AND name = ?`, spaceID, name),
		scanTarget, domain.NotFoundf("target %q not found in this space (see `ferry target list`)", name))
	return t, wrap(err, "get target %q", name)
}

func (s *targets) GetByID(ctx context.Context, id int64) (domain.Target, error) {
	t, err := one(s.db.queryRow(ctx, `SELECT `+targetColumns+` FROM targets WHERE id = ?`, id),
		scanTarget, domain.NotFoundf("target %d not found", id))
	return t, wrap(err, "get target %d", id)
}

func (s *targets) List(ctx context.Context, spaceID int64) ([]domain.Target, error) {
	q, args := `SELECT `+targetColumns+` FROM targets`, []any{}
	if spaceID != 0 {
		q, args = q+` WHERE space_id = ?`, append(args, spaceID)
	}
	rows, err := s.db.query(ctx, q+` ORDER BY name, space_id`, args...)
	if err != nil {
		return nil, wrap(err, "list targets")
	}
	list, err := collect(rows, scanTarget)
	return list, wrap(err, "list targets")
}

func (s *targets) ByThumbprint(ctx context.Context, thumbprint string) ([]domain.Target, error) {
	rows, err := s.db.query(ctx, `SELECT `+targetColumns+` FROM targets WHERE thumbprint = ? ORDER BY space_id, name`, thumbprint)
	if err != nil {
		return nil, wrap(err, "find targets by thumbprint")
	}
	list, err := collect(rows, scanTarget)
	return list, wrap(err, "find targets by thumbprint")
}

func (s *targets) UnfinishedJobs(ctx context.Context, targetID int64) ([]domain.AgentJob, error) {
	rows, err := s.db.query(ctx, `SELECT id, task_id, state FROM agent_jobs
		WHERE target_id = ? AND state NOT IN (?, ?) ORDER BY id`, targetID, domain.JobDone, domain.JobFailed)
	if err != nil {
		return nil, wrap(err, "list the jobs of target %d", targetID)
	}
	list, err := collect(rows, func(sc scanner) (domain.AgentJob, error) {
		j := domain.AgentJob{TargetID: targetID}
		return j, sc.Scan(&j.ID, &j.TaskID, &j.State)
	})
	return list, wrap(err, "list the jobs of target %d", targetID)
}

func (s *targets) Delete(ctx context.Context, id int64) error {
	err := s.db.execOne(ctx, domain.NotFoundf("target %d not found", id), `DELETE FROM targets WHERE id = ?`, id)
	return wrap(err, "delete target %d", id)
}

func (s *targets) SetHealth(ctx context.Context, id int64, h store.TargetHealth) error {
	at := micros(stamp(h.CheckedAt))
	q := `UPDATE targets SET health = ?, health_reason = ?, checked_at = ?`
	args := []any{string(h.Health), h.Reason, at}
	if h.Answered {
		q += `, last_seen = ?, agent_version = ?`
		args = append(args, at, h.Version)
	}
	_, err := s.db.exec(ctx, q+` WHERE id = ?`, append(args, id)...)
	return wrap(err, "record the health of target %d", id)
}

func (s *targets) Seen(ctx context.Context, thumbprint, node string, at time.Time, version string) error {
	_, err := s.db.exec(ctx, `UPDATE targets SET last_seen = ?, node = ?, agent_version = ? WHERE thumbprint = ? AND mode = ?`,
		micros(stamp(at)), node, version, thumbprint, domain.ModePolling)
	return wrap(err, "record that an agent was seen")
}

func (s *targets) Left(ctx context.Context, thumbprint, node string) error {
	_, err := s.db.exec(ctx, `UPDATE targets SET node = '' WHERE thumbprint = ? AND mode = ? AND node = ?`,
		thumbprint, domain.ModePolling, node)
	return wrap(err, "record that an agent left")
}

// optionalJSON is a list column that is empty text when the list is empty (the
// default of columns added to existing tables).
func optionalJSON(list []string) string {
	if len(list) == 0 {
		return ""
	}
	s, _ := encodeJSON(list)
	return s
}

// decodeOptionalJSON reads what optionalJSON wrote.
func decodeOptionalJSON(s string, v any) error {
	if s == "" {
		return nil
	}
	return decodeJSON(s, v)
}
