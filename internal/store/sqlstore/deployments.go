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
		d.targets, d.exclude_targets, d.machines, d.on_behalf_of
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
		&only, &except, &d.Machines, &d.OnBehalfOf)
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
	err = s.db.WithTx(ctx, func(ctx context.Context) error {
		err := s.db.queryRow(ctx, `INSERT INTO deployments
				(space_id, project_id, release_id, environment, tenant, task_id, created_at, created_by, targets, exclude_targets, on_behalf_of)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			d.SpaceID, d.ProjectID, d.ReleaseID, d.Environment, d.Tenant, nullID(d.TaskID),
			micros(d.CreatedAt), d.CreatedBy, only, except, d.OnBehalfOf).Scan(&d.ID)
		if err != nil {
			return err
		}
		// The dashboard's cell (migration dashboard_cells): the higher id
		// wins, whichever transaction commits first.
		_, err = s.db.exec(ctx, `INSERT INTO deployment_cells (space_id, project_id, environment, deployment_id) VALUES (?, ?, ?, ?)
			ON CONFLICT (space_id, project_id, environment) DO UPDATE SET deployment_id = CASE
				WHEN excluded.deployment_id > deployment_cells.deployment_id THEN excluded.deployment_id
				ELSE deployment_cells.deployment_id END`, d.SpaceID, d.ProjectID, d.Environment, d.ID)
		return err
	})
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
// environment: the dashboard's cells for a page of projects. They are
// deployment_cells' rows for those projects (one range of its key per
// project; triggers keep the table in step with deployments), each joined
// to its deployment.
func (s *deployments) LatestOf(ctx context.Context, spaceID int64, projectIDs []int64) ([]domain.Deployment, error) {
	if len(projectIDs) == 0 {
		return []domain.Deployment{}, nil
	}
	args := make([]any, 0, len(projectIDs)+1)
	args = append(args, spaceID)
	for _, id := range projectIDs {
		args = append(args, id)
	}
	rows, err := s.db.query(ctx, deploymentSelect+` WHERE d.id IN (SELECT c.deployment_id FROM deployment_cells c
		WHERE c.space_id = ? AND c.project_id IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(projectIDs)), ", ")+`))
		ORDER BY d.id DESC`, args...)
	if err != nil {
		return nil, wrap(err, "latest deployments")
	}
	list, err := collect(rows, scanDeployment)
	return list, wrap(err, "latest deployments")
}

// refillCells puts deployment_cells and receipt_cells right after rows of
// deployments or receipts were deleted in spaceID: a cell that names a
// deleted row is dropped, and each (project, environment) left without a
// cell gets the newest row that remains. Every statement that deletes
// deployments or receipts runs it in its transaction. Cost: the space's
// cells and a grouped read of the space's rows that have no cell.
func (db *DB) refillCells(ctx context.Context, spaceID int64) error {
	for _, q := range []string{
		`DELETE FROM deployment_cells WHERE space_id = ?
			AND NOT EXISTS (SELECT 1 FROM deployments d WHERE d.id = deployment_cells.deployment_id)`,
		`INSERT INTO deployment_cells (space_id, project_id, environment, deployment_id)
			SELECT d.space_id, d.project_id, d.environment, MAX(d.id) FROM deployments d
			WHERE d.space_id = ? AND NOT EXISTS (SELECT 1 FROM deployment_cells c
				WHERE c.space_id = d.space_id AND c.project_id = d.project_id AND c.environment = d.environment)
			GROUP BY d.space_id, d.project_id, d.environment`,
		`DELETE FROM receipt_cells WHERE space_id = ?
			AND NOT EXISTS (SELECT 1 FROM receipts r WHERE r.id = receipt_cells.receipt_id)`,
		`INSERT INTO receipt_cells (space_id, origin_fingerprint, origin_project, environment, receipt_id)
			SELECT r.space_id, r.origin_fingerprint, r.origin_project, r.environment, MAX(r.id) FROM receipts r
			WHERE r.space_id = ? AND NOT EXISTS (SELECT 1 FROM receipt_cells c
				WHERE c.space_id = r.space_id AND c.origin_fingerprint = r.origin_fingerprint
					AND c.origin_project = r.origin_project AND c.environment = r.environment)
			GROUP BY r.space_id, r.origin_fingerprint, r.origin_project, r.environment`,
	} {
		if _, err := db.exec(ctx, q, spaceID); err != nil {
			return wrap(err, "refill dashboard cells")
		}
	}
	return nil
}

// valueRows is n rows of one value each for a VALUES list: "(v), (v), ...".
func valueRows(v string, n int) string {
	return strings.TrimSuffix(strings.Repeat("("+v+"), ", n), ", ")
}

func (s *deployments) LatestByTenant(ctx context.Context, projectID int64) ([]domain.Deployment, error) {
	rows, err := s.db.query(ctx, deploymentSelect+` WHERE d.id IN (
			SELECT MAX(x.id) FROM deployments x WHERE x.project_id = ? GROUP BY x.environment, x.tenant)
		ORDER BY d.id DESC`, projectID)
	if err != nil {
		return nil, wrap(err, "latest deployments by tenant")
	}
	list, err := collect(rows, scanDeployment)
	return list, wrap(err, "latest deployments by tenant")
}
