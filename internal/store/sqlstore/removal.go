package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

type removal struct{ db *DB }

var _ store.Removal = (*removal)(nil)

// Removal returns the store of deletes and the questions they ask.
func (db *DB) Removal() store.Removal { return &removal{db} }

// batch bounds the ids one statement names, well under both databases'
// limits on parameters.
const batch = 500

// finalStates are the task states that do not change any more; a task in
// any other state (queued, executing, waiting for a person, ...) is active.
var finalStates = []any{domain.TaskSuccess, domain.TaskFailed, domain.TaskCancelled}

// in is "(?, ?, ?)" for n values.
func in(n int) string { return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")" }

func anys[T any](list []T) []any {
	out := make([]any, len(list))
	for i, v := range list {
		out[i] = v
	}
	return out
}

// chunked calls fn with list cut into batches.
func chunked[T any](list []T, fn func(part []T) error) error {
	for len(list) > 0 {
		n := min(len(list), batch)
		if err := fn(list[:n]); err != nil {
			return err
		}
		list = list[n:]
	}
	return nil
}

func (s *removal) ActiveTasks(ctx context.Context, f store.ActiveFilter) ([]store.ActiveTask, error) {
	where := []string{"t.state NOT IN " + in(len(finalStates))}
	args := slices.Clone(finalStates)
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.SpaceID != 0 {
		add("t.space_id = ?", f.SpaceID)
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
	if f.Tenant != "" {
		add("d.tenant = ?", f.Tenant)
	}
	if len(args) == len(finalStates) {
		return nil, fmt.Errorf("active tasks: no filter")
	}
	rows, err := s.db.query(ctx, `SELECT t.id, t.state, COALESCE(p.name, ''), COALESCE(r.version, ''), COALESCE(d.environment, '')
		FROM tasks t
		LEFT JOIN deployments d ON d.id = t.deployment_id
		LEFT JOIN projects p ON p.id = d.project_id
		LEFT JOIN releases r ON r.id = d.release_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY t.id`, args...)
	if err != nil {
		return nil, wrap(err, "list active tasks")
	}
	list, err := collect(rows, func(sc scanner) (store.ActiveTask, error) {
		var t store.ActiveTask
		return t, sc.Scan(&t.ID, &t.State, &t.Project, &t.Version, &t.Environment)
	})
	return list, wrap(err, "list active tasks")
}

func (s *removal) Pins(ctx context.Context, spaceID int64, id, version string) ([]store.PackagePin, error) {
	q := `SELECT p.name, r.version, rp.package_id, rp.version
		FROM release_packages rp JOIN releases r ON r.id = rp.release_id JOIN projects p ON p.id = r.project_id
		WHERE rp.space_id = ? AND rp.package_id = ?`
	args := []any{spaceID, id}
	if version != "" {
		q += ` AND rp.version = ?`
		args = append(args, version)
	}
	rows, err := s.db.query(ctx, q+` ORDER BY p.name, r.id`, args...)
	if err != nil {
		return nil, wrap(err, "list releases pinning %s", id)
	}
	list, err := collect(rows, func(sc scanner) (store.PackagePin, error) {
		var p store.PackagePin
		return p, sc.Scan(&p.Project, &p.Version, &p.Package.ID, &p.Package.Version)
	})
	return list, wrap(err, "list releases pinning %s", id)
}

func (s *removal) Uses(ctx context.Context, projectID int64) ([]store.ReleaseUse, error) {
	// Locked (on PostgreSQL) until the caller's transaction ends, so that
	// no deployment of them starts between this answer and a delete.
	rows, err := s.db.query(ctx, `SELECT id, version, created_at FROM releases WHERE project_id = ? ORDER BY id DESC`+s.db.d.lockRows, projectID)
	if err != nil {
		return nil, wrap(err, "list releases")
	}
	uses, err := collect(rows, func(sc scanner) (store.ReleaseUse, error) {
		var u store.ReleaseUse
		var created int64
		err := sc.Scan(&u.ID, &u.Version, &created)
		u.CreatedAt = fromMicros(created)
		return u, err
	})
	if err != nil {
		return nil, wrap(err, "list releases")
	}
	at := make(map[int64]*store.ReleaseUse, len(uses))
	for i := range uses {
		at[uses[i].ID] = &uses[i]
	}
	err = s.each(ctx, `SELECT release_id, environment, '' FROM deployments WHERE project_id = ? GROUP BY release_id, environment`,
		[]any{projectID}, func(id int64, env, _ string) {
			if u := at[id]; u != nil {
				u.Environments = append(u.Environments, env)
			}
		})
	if err != nil {
		return nil, err
	}
	current := func(id int64, env, tenant string) {
		u := at[id]
		if u == nil {
			return
		}
		if tenant != "" {
			env += " (tenant " + tenant + ")"
		}
		if !slices.Contains(u.Current, env) {
			u.Current = append(u.Current, env)
		}
	}
	// The latest deployment in each environment (and tenant), and the
	// latest successful one, which is what runs there if the latest failed.
	err = s.each(ctx, `SELECT d.release_id, d.environment, d.tenant FROM deployments d
		WHERE d.id IN (SELECT MAX(id) FROM deployments WHERE project_id = ? GROUP BY environment, tenant)`, []any{projectID}, current)
	if err != nil {
		return nil, err
	}
	err = s.each(ctx, `SELECT d.release_id, d.environment, d.tenant FROM deployments d
		WHERE d.id IN (SELECT MAX(d2.id) FROM deployments d2 JOIN tasks t ON t.id = d2.task_id
			WHERE d2.project_id = ? AND t.state = ? GROUP BY d2.environment, d2.tenant)`, []any{projectID, domain.TaskSuccess}, current)
	if err != nil {
		return nil, err
	}
	err = s.each(ctx, `SELECT DISTINCT d.release_id, '', '' FROM deployments d JOIN tasks t ON t.id = d.task_id
		WHERE d.project_id = ? AND t.state NOT IN `+in(len(finalStates)), append([]any{projectID}, finalStates...),
		func(id int64, _, _ string) {
			if u := at[id]; u != nil {
				u.Active = true
			}
		})
	return uses, err
}

// each runs a query of (id, text, text) rows and calls fn with each.
func (s *removal) each(ctx context.Context, query string, args []any, fn func(id int64, a, b string)) error {
	rows, err := s.db.query(ctx, query, args...)
	if err != nil {
		return wrap(err, "read deployments")
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var a, b string
		if err := rows.Scan(&id, &a, &b); err != nil {
			return err
		}
		fn(id, a, b)
	}
	return wrap(rows.Err(), "read deployments")
}

func (s *removal) RemoteUses(ctx context.Context, spaceID int64, fingerprint, project string) ([]store.RemoteUse, error) {
	rows, err := s.db.query(ctx, `SELECT version, environment, tenant, state, id FROM receipts
		WHERE space_id = ? AND origin_fingerprint = ? AND origin_project = ? ORDER BY id`, spaceID, fingerprint, project)
	if err != nil {
		return nil, wrap(err, "list receipts")
	}
	list, err := collect(rows, func(sc scanner) (store.RemoteUse, error) {
		var u store.RemoteUse
		return u, sc.Scan(&u.Version, &u.Environment, &u.Tenant, &u.State, &u.ID)
	})
	return list, wrap(err, "list receipts")
}

func (s *removal) Undelivered(ctx context.Context, spaceID int64, project string) ([]store.Undelivered, error) {
	rows, err := s.db.query(ctx, `SELECT b.version, r.name, o.state, o.id
		FROM outbox o
		JOIN bundles b ON b.space_id = o.space_id AND b.digest = o.ref AND b.direction = ?
		JOIN remote_spaces r ON r.id = o.remote_space_id
		WHERE o.space_id = ? AND o.kind = ? AND o.state IN (?, ?) AND b.project = ? ORDER BY o.id`,
		domain.BundleOut, spaceID, domain.OutboxBundle, domain.DeliveryQueued, domain.DeliveryInFlight, project)
	if err != nil {
		return nil, wrap(err, "list deliveries")
	}
	list, err := collect(rows, func(sc scanner) (store.Undelivered, error) {
		var u store.Undelivered
		return u, sc.Scan(&u.Version, &u.RemoteSpace, &u.State, &u.DeliveryID)
	})
	return list, wrap(err, "list deliveries")
}

func (s *removal) Unpinned(ctx context.Context, spaceID int64, before time.Time) ([]domain.PackageRef, error) {
	rows, err := s.db.query(ctx, `SELECT p.package_id, p.version, p.sha256, p.size FROM packages p
		WHERE p.space_id = ? AND p.created_at < ? AND NOT EXISTS (
			SELECT 1 FROM release_packages rp WHERE rp.space_id = p.space_id AND rp.package_id = p.package_id AND rp.version = p.version)
		ORDER BY p.id`, spaceID, micros(before))
	if err != nil {
		return nil, wrap(err, "list unpinned packages")
	}
	list, err := collect(rows, func(sc scanner) (domain.PackageRef, error) {
		var p domain.PackageRef
		return p, sc.Scan(&p.ID, &p.Version, &p.SHA256, &p.Size)
	})
	return list, wrap(err, "list unpinned packages")
}

// count runs a statement and adds the rows it changed to n.
func (s *removal) count(ctx context.Context, n *int, query string, args ...any) error {
	res, err := s.db.exec(ctx, query, args...)
	if err != nil {
		return err
	}
	k, err := res.RowsAffected()
	*n += int(k)
	return err
}

// deleteDeployments removes the deployments cond selects, then their tasks
// and task logs (deployments point at tasks, so tasks go last).
func (s *removal) deleteDeployments(ctx context.Context, cond string, args ...any) (domain.Removed, error) {
	var r domain.Removed
	tasks, err := s.db.ids(ctx, `SELECT task_id FROM deployments WHERE task_id IS NOT NULL AND `+cond, args...)
	if err != nil {
		return r, err
	}
	spaces, err := s.db.ids(ctx, `SELECT DISTINCT space_id FROM deployments WHERE `+cond, args...)
	if err != nil {
		return r, err
	}
	if err := s.count(ctx, &r.Deployments, `DELETE FROM deployments WHERE `+cond, args...); err != nil {
		return r, err
	}
	for _, id := range spaces { // the dashboard's cells name what is left
		if err := s.db.refillCells(ctx, id); err != nil {
			return r, err
		}
	}
	return r, s.deleteTasks(ctx, &r, tasks)
}

// deleteTasks removes tasks and their logs.
func (s *removal) deleteTasks(ctx context.Context, r *domain.Removed, ids []int64) error {
	return chunked(ids, func(part []int64) error {
		if err := s.count(ctx, &r.LogLines, `DELETE FROM task_logs WHERE task_id IN `+in(len(part)), anys(part)...); err != nil {
			return err
		}
		return s.count(ctx, &r.Tasks, `DELETE FROM tasks WHERE id IN `+in(len(part)), anys(part)...)
	})
}

func (s *removal) DeleteReleases(ctx context.Context, ids []int64) (domain.Removed, error) {
	var total domain.Removed
	err := chunked(ids, func(part []int64) error {
		_, err := s.db.exec(ctx, `INSERT INTO deleted_releases (project_id, version, deleted_at)
			SELECT project_id, version, ? FROM releases WHERE id IN `+in(len(part))+` ON CONFLICT DO NOTHING`,
			append([]any{micros(time.Now())}, anys(part)...)...)
		if err != nil {
			return err
		}
		r, err := s.deleteDeployments(ctx, `release_id IN `+in(len(part)), anys(part)...)
		if err != nil {
			return err
		}
		if err := s.count(ctx, &r.Releases, `DELETE FROM releases WHERE id IN `+in(len(part)), anys(part)...); err != nil {
			return err
		}
		total.Add(r)
		return nil
	})
	return total, wrap(err, "delete releases")
}

func (s *removal) DeleteReceipts(ctx context.Context, spaceID int64, fingerprint, project string, versions []string) (int, error) {
	var n int
	const q = `DELETE FROM receipts WHERE space_id = ? AND origin_fingerprint = ? AND origin_project = ?`
	var err error
	if versions == nil {
		err = s.count(ctx, &n, q, spaceID, fingerprint, project)
	} else {
		err = chunked(versions, func(part []string) error {
			return s.count(ctx, &n, q+` AND version IN `+in(len(part)), append([]any{spaceID, fingerprint, project}, anys(part)...)...)
		})
	}
	if err == nil && n > 0 { // the dashboard's cells name what is left
		err = s.db.refillCells(ctx, spaceID)
	}
	return n, wrap(err, "delete receipts")
}

func (s *removal) DeleteProject(ctx context.Context, id int64) (domain.Removed, error) {
	releases, err := s.db.ids(ctx, `SELECT id FROM releases WHERE project_id = ?`, id)
	if err != nil {
		return domain.Removed{}, wrap(err, "delete project %d", id)
	}
	r, err := s.DeleteReleases(ctx, releases)
	if err != nil {
		return r, err
	}
	// Deployments of releases that are gone are gone too; none is left
	// that names the project.
	err = s.count(ctx, &r.Projects, `DELETE FROM projects WHERE id = ?`, id)
	return r, wrap(err, "delete project %d", id)
}

func (s *removal) DeleteEnvironment(ctx context.Context, spaceID int64, name string) (domain.Removed, error) {
	r, err := s.deleteDeployments(ctx, `space_id = ? AND environment = ?`, spaceID, name)
	if err != nil {
		return r, wrap(err, "delete environment %q", name)
	}
	err = s.count(ctx, &r.Environments, `DELETE FROM environments WHERE space_id = ? AND name = ?`, spaceID, name)
	if err == nil && r.Environments == 0 {
		err = domain.NotFoundf("environment %q not found", name)
	}
	return r, wrap(err, "delete environment %q", name)
}

func (s *removal) DeleteLifecycle(ctx context.Context, spaceID int64, name string) error {
	return wrap(s.db.execOne(ctx, domain.NotFoundf("lifecycle %q not found", name),
		`DELETE FROM lifecycles WHERE space_id = ? AND name = ?`, spaceID, name), "delete lifecycle %q", name)
}

func (s *removal) DeletePackages(ctx context.Context, spaceID int64, refs []domain.PackageRef) (int, error) {
	var n int
	for _, p := range refs {
		if err := s.count(ctx, &n, `DELETE FROM packages WHERE space_id = ? AND package_id = ? AND version = ?`, spaceID, p.ID, p.Version); err != nil {
			return n, wrap(err, "delete package %s", p)
		}
	}
	return n, nil
}

func (s *removal) DeleteUser(ctx context.Context, id int64) error {
	admins, err := s.db.ids(ctx, `SELECT id FROM users WHERE is_admin ORDER BY id`+s.db.d.lockRows)
	if err != nil {
		return wrap(err, "delete user %d", id)
	}
	if len(admins) == 1 && admins[0] == id {
		return domain.Refuse(domain.KindConflict, domain.RuleInUse, "cannot delete the last system administrator; make another user an administrator first")
	}
	return wrap(s.db.execOne(ctx, domain.NotFoundf("user %d not found", id), `DELETE FROM users WHERE id = ?`, id), "delete user %d", id)
}

func (s *removal) DeleteTeam(ctx context.Context, spaceID int64, name string) error {
	return wrap(s.db.execOne(ctx, domain.NotFoundf("team %q not found", name),
		`DELETE FROM teams WHERE space_id = ? AND name = ?`, spaceID, name), "delete team %q", name)
}

func (s *removal) DeleteSpace(ctx context.Context, id int64) (domain.Removed, error) {
	var name string
	if err := s.db.queryRow(ctx, `SELECT name FROM spaces WHERE id = ?`, id).Scan(&name); err != nil {
		return domain.Removed{}, wrap(oneErr(err, domain.NotFoundf("space %d not found", id)), "delete space %d", id)
	}
	var r domain.Removed
	err := s.db.queryRow(ctx, `SELECT COUNT(*) FROM projects WHERE space_id = ?`, id).Scan(&r.Projects)
	if err == nil {
		err = s.db.queryRow(ctx, `SELECT COUNT(*) FROM releases r JOIN projects p ON p.id = r.project_id WHERE p.space_id = ?`, id).Scan(&r.Releases)
	}
	if err == nil {
		err = s.db.queryRow(ctx, `SELECT COUNT(*) FROM environments WHERE space_id = ?`, id).Scan(&r.Environments)
	}
	if err == nil {
		err = s.db.queryRow(ctx, `SELECT COUNT(*) FROM packages WHERE space_id = ?`, id).Scan(&r.Packages)
	}
	if err != nil {
		return r, wrap(err, "delete space %q", name)
	}
	deps, err := s.deleteDeployments(ctx, `space_id = ?`, id)
	if err != nil {
		return r, wrap(err, "delete space %q", name)
	}
	r.Deployments, r.Tasks, r.LogLines = deps.Deployments, deps.Tasks, deps.LogLines
	tasks, err := s.db.ids(ctx, `SELECT id FROM tasks WHERE space_id = ?`, id)
	if err == nil {
		err = s.deleteTasks(ctx, &r, tasks)
	}
	if err == nil {
		// The audit log outlives the space: its events become the
		// server's, their subject prefixed with the space's name.
		_, err = s.db.exec(ctx, `UPDATE audit_events SET space_id = NULL, subject = CAST(? AS TEXT) || subject WHERE space_id = ?`, name+": ", id)
	}
	if err == nil {
		// Everything else of the space goes with it (ON DELETE CASCADE).
		err = s.db.execOne(ctx, domain.NoSpace(name), `DELETE FROM spaces WHERE id = ?`, id)
	}
	return r, wrap(err, "delete space %q", name)
}

func oneErr(err, notFound error) error {
	if err == sql.ErrNoRows {
		return notFound
	}
	return err
}

func (s *removal) DeleteRemoteSpace(ctx context.Context, rs domain.RemoteSpace, at time.Time) (domain.Removed, error) {
	var r domain.Removed
	err := s.count(ctx, &r.Deliveries, `DELETE FROM outbox WHERE remote_space_id = ? AND state IN (?, ?, ?)`,
		rs.ID, domain.DeliveryQueued, domain.DeliveryInFlight, domain.DeliveryFailed)
	if err == nil {
		err = s.count(ctx, &r.Environments, `DELETE FROM environments WHERE space_id = ? AND remote_space = ?`, rs.SpaceID, rs.Name)
	}
	if err == nil {
		err = s.db.execOne(ctx, domain.NotFoundf("remote space %q not found", rs.Name),
			`UPDATE remote_spaces SET deleted_at = ?, url = '', updated_at = ? WHERE id = ?`, micros(at), micros(at), rs.ID)
	}
	return r, wrap(err, "delete remote space %q", rs.Name)
}

func (s *removal) ExpireReceived(ctx context.Context, before time.Time) (int, error) {
	var n int
	return n, wrap(s.count(ctx, &n, `DELETE FROM received_chunks WHERE received_at < ?`, micros(before)), "expire received chunks")
}

func (s *removal) ChunkUses(ctx context.Context, manifest func([]byte) error, received func(string) error) error {
	rows, err := s.db.query(ctx, `SELECT manifest FROM packages`)
	if err != nil {
		return wrap(err, "read manifests")
	}
	defer rows.Close()
	var m []byte
	for rows.Next() {
		if err := rows.Scan(&m); err != nil {
			return err
		}
		if err := manifest(m); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return wrap(err, "read manifests")
	}
	rows.Close()
	hashes, err := s.db.query(ctx, `SELECT DISTINCT hash FROM received_chunks`)
	if err != nil {
		return wrap(err, "read received chunks")
	}
	defer hashes.Close()
	var h string
	for hashes.Next() {
		if err := hashes.Scan(&h); err != nil {
			return err
		}
		if err := received(h); err != nil {
			return err
		}
	}
	return wrap(hashes.Err(), "read received chunks")
}

// Forget runs the dialect's statement that leaves no copy of deleted rows
// in the database's files. SQLite's checkpoint cannot empty the log while a
// reader still uses it; it is tried a few times, then left to the next
// delete (what it reports is only how much it did).
func (s *removal) Forget(ctx context.Context) error {
	if s.db.d.forget == "" {
		return nil
	}
	for try := 0; ; try++ {
		var busy, log, done int
		err := s.db.sql.QueryRowContext(ctx, s.db.d.forget).Scan(&busy, &log, &done)
		if err != nil || busy == 0 || try == 4 {
			return wrap(err, "forget deleted rows")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
