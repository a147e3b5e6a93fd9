package sqlstore

import (
	"context"
	"database/sql"
	"slices"
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
		return s.db.putDeploymentCell(ctx, *d)
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

// LatestOf returns the dashboard's cells for a page of projects:
// deployment_cells' rows for those projects (one range of its key per
// project). A cell carries all it shows: what never changes once a
// deployment is written, and its task's state and times, which the
// database copies into it whenever the task changes (migration 0024), so
// a page reads no other table. Only the columns a cell shows are read,
// into one set of holders for all rows: a page is ~2,000 rows.
func (s *deployments) LatestOf(ctx context.Context, spaceID int64, projectIDs []int64) ([]store.DeploymentCell, error) {
	if len(projectIDs) == 0 {
		return []store.DeploymentCell{}, nil
	}
	projects, args := anyOf(s.db.d, "project_id", projectIDs)
	rows, err := s.db.query(ctx, `SELECT project_id, environment, version, state, created_at, started_at, finished_at, created_by
		FROM deployment_cells WHERE space_id = ? AND `+projects+`
		ORDER BY project_id, environment`, append([]any{spaceID}, args...)...)
	if err != nil {
		return nil, wrap(err, "latest deployments")
	}
	defer rows.Close()
	out := make([]store.DeploymentCell, 0, 20*len(projectIDs))
	var c store.DeploymentCell
	var state sql.NullString
	var created int64
	var started, finished sql.NullInt64
	dest := []any{&c.ProjectID, &c.Environment, &c.Version, &state, &created, &started, &finished, &c.CreatedBy}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, wrap(err, "latest deployments")
		}
		c.State, c.CreatedAt = domain.TaskState(state.String), fromMicros(created)
		c.StartedAt, c.FinishedAt = timePair(started, finished)
		out = append(out, c)
	}
	return out, wrap(rows.Err(), "latest deployments")
}

// deploymentCellColumns are deployment_cells' columns, in the order
// deploymentCellRow selects them.
const deploymentCellColumns = `(space_id, project_id, environment, deployment_id, release_id, version, tenant, task_id, created_at, created_by, on_behalf_of,
	state, started_at, finished_at)`

// deploymentCellRow selects a deployment_cells row for each deployment d
// the query goes on to name (with its release r and its task t, if any).
const deploymentCellRow = `SELECT d.space_id, d.project_id, d.environment, d.id, d.release_id, r.version, d.tenant, d.task_id, d.created_at, d.created_by, d.on_behalf_of,
	t.state, t.started_at, t.finished_at
	FROM deployments d JOIN releases r ON r.id = d.release_id LEFT JOIN tasks t ON t.id = d.task_id`

// putDeploymentCell writes d's dashboard cell, in the transaction that
// writes d: the higher deployment id wins, whichever transaction commits
// first.
func (db *DB) putDeploymentCell(ctx context.Context, d domain.Deployment) error {
	_, err := db.exec(ctx, `INSERT INTO deployment_cells `+deploymentCellColumns+`
		`+deploymentCellRow+` WHERE d.id = ?
		ON CONFLICT (space_id, project_id, environment) DO UPDATE SET deployment_id = excluded.deployment_id,
			release_id = excluded.release_id, version = excluded.version, tenant = excluded.tenant,
			task_id = excluded.task_id, created_at = excluded.created_at, created_by = excluded.created_by,
			on_behalf_of = excluded.on_behalf_of, state = excluded.state, started_at = excluded.started_at,
			finished_at = excluded.finished_at
		WHERE excluded.deployment_id > deployment_cells.deployment_id`, d.ID)
	return err
}

// refillCells puts deployment_cells and receipt_cells right after rows of
// deployments or receipts were deleted in spaceID: a cell that names a
// deleted row is dropped, and each (project, environment) left without a
// cell gets the newest row that remains. Every statement that deletes
// deployments or receipts runs it in its transaction. Cost: the space's
// cells and a grouped read of the space's rows that have no cell.
//
// Where transactions write at once (PostgreSQL), the tasks of the
// deployments that become cells are locked first: a task that changes
// while the new cell is not committed yet would change no cell, and the
// cell would keep the state it was written with.
func (db *DB) refillCells(ctx context.Context, spaceID int64) error {
	const uncelled = `SELECT MAX(n.id) FROM deployments n
		WHERE n.space_id = ? AND NOT EXISTS (SELECT 1 FROM deployment_cells c
			WHERE c.space_id = n.space_id AND c.project_id = n.project_id AND c.environment = n.environment)
		GROUP BY n.space_id, n.project_id, n.environment`
	queries := []string{
		`DELETE FROM deployment_cells WHERE space_id = ?
			AND NOT EXISTS (SELECT 1 FROM deployments d WHERE d.id = deployment_cells.deployment_id)`,
		`INSERT INTO deployment_cells ` + deploymentCellColumns + ` ` + deploymentCellRow + ` WHERE d.id IN (` + uncelled + `)`,
		`DELETE FROM receipt_cells WHERE space_id = ?
			AND NOT EXISTS (SELECT 1 FROM receipts r WHERE r.id = receipt_cells.receipt_id)`,
		`INSERT INTO receipt_cells ` + receiptCellColumns + ` ` + receiptCellRow + `
			WHERE r.id IN (SELECT MAX(n.id) FROM receipts n
				WHERE n.space_id = ? AND NOT EXISTS (SELECT 1 FROM receipt_cells c
					WHERE c.space_id = n.space_id AND c.origin_fingerprint = n.origin_fingerprint
						AND c.origin_project = n.origin_project AND c.environment = n.environment)
				GROUP BY n.space_id, n.origin_fingerprint, n.origin_project, n.environment)`,
	}
	if db.d.lockRows != "" {
		lock := `SELECT t.id FROM tasks t WHERE t.id IN (SELECT d.task_id FROM deployments d WHERE d.id IN (` + uncelled + `))` + db.d.lockRows
		queries = slices.Insert(queries, 1, lock)
	}
	for _, q := range queries {
		if _, err := db.exec(ctx, q, spaceID); err != nil {
			return wrap(err, "refill dashboard cells")
		}
	}
	return nil
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
