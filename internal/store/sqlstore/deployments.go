package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

type deployments struct{ db *DB }

var _ store.Deployments = (*deployments)(nil)

// A deployment's project and version names come from joins, and its state
// and times from its task, so nothing is stored twice.
const deploymentSelect = `SELECT d.id, d.space_id, d.project_id, p.name, d.release_id, r.version,
		d.environment, d.tenant, d.task_id, t.state, d.created_at, t.started_at, t.finished_at, d.created_by,
		d.targets, d.exclude_targets, d.machines
	FROM deployments d
	JOIN releases r ON r.id = d.release_id
	JOIN projects p ON p.id = d.project_id
	LEFT JOIN tasks t ON t.id = d.task_id`

func scanDeployment(s scanner) (domain.Deployment, error) {
	var d domain.Deployment
	var taskID, started, finished sql.NullInt64
	var state sql.NullString
	var created int64
	var only, except string
	err := s.Scan(&d.ID, &d.SpaceID, &d.ProjectID, &d.Project, &d.ReleaseID, &d.Version,
		&d.Environment, &d.Tenant, &taskID, &state, &created, &started, &finished, &d.CreatedBy,
		&only, &except, &d.Machines)
	if err != nil {
		return domain.Deployment{}, err
	}
	if d.Targets, err = nameList(only); err != nil {
		return domain.Deployment{}, err
	}
	if d.ExcludeTargets, err = nameList(except); err != nil {
		return domain.Deployment{}, err
	}
	d.TaskID, d.State = taskID.Int64, domain.TaskState(state.String)
	d.CreatedAt, d.StartedAt, d.FinishedAt = fromMicros(created), timePtr(started), timePtr(finished)
	return d, nil
}

// Create stores the deployment and fills in its ID and CreatedAt. Its state
// is read from its task, so State and the times are not stored.
func (s *deployments) Create(ctx context.Context, d *domain.Deployment) error {
	d.CreatedAt = stamp(d.CreatedAt)
	only, err := namesText(d.Targets)
	if err != nil {
		return err
	}
	except, err := namesText(d.ExcludeTargets)
	if err != nil {
		return err
	}
	err = s.db.queryRow(ctx, `INSERT INTO deployments
			(space_id, project_id, release_id, environment, tenant, task_id, created_at, created_by, targets, exclude_targets)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		d.SpaceID, d.ProjectID, d.ReleaseID, d.Environment, d.Tenant, nullID(d.TaskID),
		micros(d.CreatedAt), d.CreatedBy, only, except).Scan(&d.ID)
	if isMissingReference(err) {
		// Deleted (by retention, or by hand) while this deployment was
		// being made: see dialect.lockRows.
		return domain.NotFoundf("the release was deleted while the deployment was being made; choose another release")
	}
	return wrap(err, "create deployment to %q", d.Environment)
}

// SetMachines records how many targets ran the deployment.
func (s *deployments) SetMachines(ctx context.Context, id int64, n int) error {
	err := s.db.execOne(ctx, domain.NotFoundf("deployment %d not found", id), `UPDATE deployments SET machines = ? WHERE id = ?`, n, id)
	return wrap(err, "count the targets of deployment %d", id)
}

// namesText stores a list of names as JSON ("" for none).
func namesText(names []string) (string, error) {
	if len(names) == 0 {
		return "", nil
	}
	return encodeJSON(names)
}

// nameList reads what namesText stored.
func nameList(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var names []string
	return names, decodeJSON(s, &names)
}

func (s *deployments) Get(ctx context.Context, id int64) (domain.Deployment, error) {
	d, err := one(s.db.queryRow(ctx, deploymentSelect+` WHERE d.id = ?`, id),
		scanDeployment, domain.NotFoundf("deployment %d not found", id))
	return d, wrap(err, "get deployment %d", id)
}

// List returns the deployments f matches, newest first.
func (s *deployments) List(ctx context.Context, f store.DeploymentFilter) ([]domain.Deployment, error) {
	var where []string
	var args []any
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if f.SpaceID != 0 {
		add("d.space_id = ?", f.SpaceID)
	}
	if f.ProjectID != 0 {
		add("d.project_id = ?", f.ProjectID)
	}
	if f.ReleaseID != 0 {
		add("d.release_id = ?", f.ReleaseID)
	}
	if f.Environment != "" {
		add("d.environment = ?", f.Environment)
	}
	if f.Projects != nil {
		if len(f.Projects) == 0 {
			where = append(where, "FALSE")
		} else {
			cond, names := namedOrNone("p.name", f.Projects)
			where, args = append(where, cond), append(args, names...)
		}
	}
	q := deploymentSelect
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY d.id DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := s.db.query(ctx, q, args...)
	if err != nil {
		return nil, wrap(err, "list deployments")
	}
	list, err := collect(rows, scanDeployment)
	return list, wrap(err, "list deployments")
}

// LatestOf returns the newest deployment of each of the projects in each
// environment: the dashboard's cells for a page of projects. A grouped
// MAX(id) would read every deployment those projects ever made; instead the
// query walks the (space_id, project_id, environment, id) index backwards,
// one seek per cell: for each project, from the newest row of its last
// environment to the newest row of the environment before, and so on.
func (s *deployments) LatestOf(ctx context.Context, spaceID int64, projectIDs []int64) ([]domain.Deployment, error) {
	if len(projectIDs) == 0 {
		return []domain.Deployment{}, nil
	}
	args := make([]any, 0, len(projectIDs)+3)
	for _, id := range projectIDs {
		args = append(args, id)
	}
	args = append(args, spaceID, spaceID)
	rows, err := s.db.query(ctx, `WITH RECURSIVE page (project_id) AS (VALUES `+valueRows("CAST(? AS BIGINT)", len(projectIDs))+`),
		latest (id, project_id, environment) AS (
			SELECT f.id, f.project_id, f.environment FROM page JOIN deployments f ON f.id = (
				SELECT x.id FROM deployments x WHERE x.space_id = ? AND x.project_id = page.project_id
				ORDER BY x.environment DESC, x.id DESC LIMIT 1)
			UNION ALL
			SELECT n.id, n.project_id, n.environment FROM latest l JOIN deployments n ON n.id = (
				SELECT x.id FROM deployments x
				WHERE x.space_id = ? AND x.project_id = l.project_id AND x.environment < l.environment
				ORDER BY x.environment DESC, x.id DESC LIMIT 1))
		`+deploymentSelect+` WHERE d.id IN (SELECT id FROM latest)
		ORDER BY d.id DESC`, args...)
	if err != nil {
		return nil, wrap(err, "latest deployments")
	}
	list, err := collect(rows, scanDeployment)
	return list, wrap(err, "latest deployments")
}

// valueRows is n rows of one value each for a VALUES list: "(v), (v), ...".
func valueRows(v string, n int) string {
	return strings.TrimSuffix(strings.Repeat("("+v+"), ", n), ", ")
}
