package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// dataMigration changes stored data in a way SQL cannot, because it needs
// the master key (the Sealer), which is not in the database. open runs the
// ones the database has not recorded after every SQL migration — so each
// works on the current schema with the current code — each in one
// transaction that holds the dialect's migration lock and records it in
// data_migrations: it runs once, however many nodes start at the same time,
// and a crash midway leaves nothing half done.
type dataMigration struct {
	name string
	// run makes the change and reports whether it changed anything.
	run func(ctx context.Context, db *DB) (bool, error)
}

// dataMigrations run in this order; names are never reused.
var dataMigrations = []dataMigration{
	{"0013-seal-sensitive-template-values", sealPlainSecrets},
	{"release-packages", pinReleasePackages},
	{"receipt-deployments", linkReceiptDeployments},
}

// migrateData runs the data migrations the database has not recorded, and
// compacts the database when one of them changed something.
func (db *DB) migrateData(ctx context.Context) error {
	changed := false
	for _, m := range dataMigrations {
		err := inMigrationTx(ctx, db.sql, db.d, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM data_migrations WHERE name = ?`), m.name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			did, err := m.run(context.WithValue(ctx, txKey{db}, tx), db)
			if err != nil {
				return err
			}
			changed = changed || did
			_, err = tx.ExecContext(ctx, db.d.rebind(`INSERT INTO data_migrations (name, applied_at) VALUES (?, ?)`), m.name, time.Now().UnixMicro())
			return err
		})
		if err != nil {
			return fmt.Errorf("data migration %s: %w", m.name, err)
		}
	}
	if changed {
		for _, stmt := range db.d.compact {
			if _, err := db.sql.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("compact the database after data migrations: %w", err)
			}
		}
	}
	return nil
}

// sealPlainSecrets seals the values that earlier versions stored in plain
// text although they must be sensitive (domain.MarkSensitive): values of
// templates of type sensitive set without --sensitive, in projects and in
// release snapshots. The same values are masked in the logs of the
// project's deployments, as the runner would have masked them.
func sealPlainSecrets(ctx context.Context, db *DB) (bool, error) {
	found := map[int64][]string{} // project id → values sealed now
	if err := db.sealProjects(ctx, found); err != nil {
		return false, err
	}
	if err := db.sealReleases(ctx, found); err != nil {
		return false, err
	}
	for project, values := range found {
		if err := db.maskTaskLogs(ctx, project, values); err != nil {
			return false, fmt.Errorf("mask the logs of project %d: %w", project, err)
		}
	}
	return len(found) > 0, nil
}

// sealProjects seals the plain secrets of projects' variables, adding what
// it sealed to found.
func (db *DB) sealProjects(ctx context.Context, found map[int64][]string) error {
	ids, err := db.ids(ctx, `SELECT id FROM projects ORDER BY id`)
	if err != nil {
		return err
	}
	for _, id := range ids {
		var vars, templates string
		if err := db.queryRow(ctx, `SELECT variables, templates FROM projects WHERE id = ?`, id).Scan(&vars, &templates); err != nil {
			return err
		}
		sealed, values, err := db.sealVariablesJSON(vars, templates)
		if err != nil {
			return fmt.Errorf("project %d: %w", id, err)
		}
		if len(values) == 0 {
			continue
		}
		found[id] = append(found[id], values...)
		if _, err := db.exec(ctx, `UPDATE projects SET variables = ? WHERE id = ?`, sealed, id); err != nil {
			return err
		}
	}
	return nil
}

// sealReleases seals the plain secrets of release snapshots, adding what it
// sealed to found under the release's project.
func (db *DB) sealReleases(ctx context.Context, found map[int64][]string) error {
	ids, err := db.ids(ctx, `SELECT id FROM releases ORDER BY id`)
	if err != nil {
		return err
	}
	for _, id := range ids {
		var project int64
		var snapshot string
		if err := db.queryRow(ctx, `SELECT project_id, snapshot FROM releases WHERE id = ?`, id).Scan(&project, &snapshot); err != nil {
			return err
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal([]byte(snapshot), &fields); err != nil {
			return fmt.Errorf("release %d: %w", id, err)
		}
		sealed, values, err := db.sealVariablesJSON(string(fields["variables"]), string(fields["templates"]))
		if err != nil {
			return fmt.Errorf("release %d: %w", id, err)
		}
		if len(values) == 0 {
			continue
		}
		found[project] = append(found[project], values...)
		fields["variables"] = json.RawMessage(sealed)
		out, err := json.Marshal(fields)
		if err != nil {
			return err
		}
		if _, err := db.exec(ctx, `UPDATE releases SET snapshot = ? WHERE id = ?`, string(out), id); err != nil {
			return err
		}
	}
	return nil
}

// sealVariablesJSON seals, in a stored variables column (storedVariable
// objects), the plain values whose names domain.SensitiveNames holds for
// those variables and templates. It returns the new column and the values
// it sealed; fields it does not know are kept as they are.
func (db *DB) sealVariablesJSON(vars, templates string) (string, []string, error) {
	if vars == "" || vars == "null" {
		return vars, nil, nil
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(vars), &items); err != nil {
		return "", nil, fmt.Errorf("variables: %w", err)
	}
	var tmpl []domain.Template
	if templates != "" {
		if err := json.Unmarshal([]byte(templates), &tmpl); err != nil {
			return "", nil, fmt.Errorf("templates: %w", err)
		}
	}
	plain := make([]domain.Variable, len(items))
	for i, it := range items {
		json.Unmarshal(it["name"], &plain[i].Name)
		json.Unmarshal(it["value"], &plain[i].Value)
		json.Unmarshal(it["sensitive"], &plain[i].Sensitive)
	}
	names := domain.SensitiveNames(plain, tmpl)
	var values []string
	for i, v := range plain {
		if v.Sensitive || !names[strings.ToLower(v.Name)] {
			continue
		}
		sealed, err := db.sealer.Seal([]byte(v.Value), variableAAD+v.Name)
		if err != nil {
			return "", nil, fmt.Errorf("seal variable %q: %w", v.Name, err)
		}
		delete(items[i], "value")
		items[i]["sealed"], _ = json.Marshal(sealed)
		items[i]["sensitive"] = json.RawMessage("true")
		if v.Value != "" {
			values = append(values, v.Value)
		}
	}
	if len(values) == 0 {
		return vars, nil, nil
	}
	out, err := json.Marshal(items)
	return string(out), values, err
}

// maskTaskLogs replaces, in the log lines and errors of the tasks that
// deployed project, every occurrence of the values (and of each line of at
// least four characters of a multi-line value) with "***".
func (db *DB) maskTaskLogs(ctx context.Context, project int64, values []string) error {
	var secrets []string
	for _, v := range values {
		secrets = append(secrets, v)
		if strings.ContainsAny(v, "\r\n") {
			for _, line := range strings.Split(v, "\n") {
				if l := strings.TrimSpace(line); utf8.RuneCountInString(l) >= 4 {
					secrets = append(secrets, l)
				}
			}
		}
	}
	slices.SortFunc(secrets, func(a, b string) int { // longest first
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	secrets = slices.Compact(secrets)
	mask := func(s string) string {
		for _, secret := range secrets {
			s = strings.ReplaceAll(s, secret, "***")
		}
		return s
	}
	tasks, err := db.ids(ctx, `SELECT t.id FROM tasks t JOIN deployments d ON d.id = t.deployment_id WHERE d.project_id = ? ORDER BY t.id`, project)
	if err != nil {
		return err
	}
	for _, task := range tasks {
		var errText string
		if err := db.queryRow(ctx, `SELECT error FROM tasks WHERE id = ?`, task).Scan(&errText); err != nil {
			return err
		}
		if m := mask(errText); m != errText {
			if _, err := db.exec(ctx, `UPDATE tasks SET error = ? WHERE id = ?`, m, task); err != nil {
				return err
			}
		}
		type line struct {
			seq  int64
			text string
		}
		var changed []line
		for _, secret := range secrets {
			pattern := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(secret) + "%"
			rows, err := db.query(ctx, `SELECT seq, message FROM task_logs WHERE task_id = ? AND message LIKE ? ESCAPE '\'`, task, pattern)
			if err != nil {
				return err
			}
			list, err := collect(rows, func(sc scanner) (line, error) {
				var l line
				return l, sc.Scan(&l.seq, &l.text)
			})
			if err != nil {
				return err
			}
			changed = append(changed, list...)
		}
		done := map[int64]bool{}
		for _, l := range changed {
			m := mask(l.text)
			if done[l.seq] || m == l.text {
				continue
			}
			done[l.seq] = true
			if _, err := db.exec(ctx, `UPDATE task_logs SET message = ? WHERE task_id = ? AND seq = ?`, m, task, l.seq); err != nil {
				return err
			}
		}
	}
	return nil
}

// ids runs a query of one integer column and returns its values.
func (db *DB) ids(ctx context.Context, query string, args ...any) ([]int64, error) {
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(sc scanner) (int64, error) {
		var id int64
		return id, sc.Scan(&id)
	})
}

// pinPackages records the package versions a release pins
// (release_packages), which deleting and retention look up.
func (db *DB) pinPackages(ctx context.Context, releaseID, projectID int64, refs []domain.PackageRef) error {
	for _, p := range refs {
		_, err := db.exec(ctx, `INSERT INTO release_packages (release_id, space_id, package_id, version)
			SELECT ?, space_id, ?, ? FROM projects WHERE id = ? ON CONFLICT DO NOTHING`, releaseID, p.ID, p.Version, projectID)
		if err != nil {
			return fmt.Errorf("record the packages of release %d: %w", releaseID, err)
		}
	}
	return nil
}

// pinReleasePackages fills release_packages for the releases made before
// it existed, from their snapshots (only the packages are read; nothing is
// unsealed).
func pinReleasePackages(ctx context.Context, db *DB) (bool, error) {
	ids, err := db.ids(ctx, `SELECT id FROM releases ORDER BY id`)
	if err != nil {
		return false, err
	}
	for _, id := range ids {
		var project int64
		var snapshot string
		if err := db.queryRow(ctx, `SELECT project_id, snapshot FROM releases WHERE id = ?`, id).Scan(&project, &snapshot); err != nil {
			return false, err
		}
		var s struct {
			Packages []domain.PackageRef `json:"packages"`
		}
		if err := json.Unmarshal([]byte(snapshot), &s); err != nil {
			return false, fmt.Errorf("release %d: %w", id, err)
		}
		if err := db.pinPackages(ctx, id, project, s.Packages); err != nil {
			return false, err
		}
	}
	return false, nil
}
