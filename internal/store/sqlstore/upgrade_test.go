package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/store/pgtest"
)

// plainSecret is a value of a sensitive template that a version before
// migration 0013 stored in plain text (`var set` without --sensitive).
const plainSecret = "Server=dev;Password=pl4in-0ld-S3cret"

// migrateBefore applies the dialect's migrations to the empty database at
// dsn up to the one whose name ends in upTo, not that one, as a version
// before it did. It returns the connection (closed when tb ends) and a
// function that runs a statement on it (with ? placeholders).
func migrateBefore(tb testing.TB, d dialect, dsn, upTo string) (*sql.DB, func(q string, args ...any)) {
	tb.Helper()
	ctx := context.Background()
	raw, err := sql.Open(d.driver, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { raw.Close() })
	ms, err := loadMigrations(d.migrations)
	if err != nil {
		tb.Fatal(err)
	}
	exec := func(q string, args ...any) {
		tb.Helper()
		if _, err := raw.ExecContext(ctx, d.rebind(q), args...); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`)
	for _, m := range ms {
		if strings.HasSuffix(m.name, upTo) {
			break
		}
		if err := inMigrationTx(ctx, raw, d, func(tx *sql.Tx) error { return applyMigration(ctx, tx, d, m) }); err != nil {
			tb.Fatal(err)
		}
	}
	return raw, exec
}

// oldDatabase brings a database up to the migration before 0013 and
// writes what that version wrote: the plain value in a project and in a
// release snapshot, a deployment whose log printed it, and audit events
// without a project column.
func oldDatabase(t *testing.T, d dialect, dsn string, sealer Sealer) {
	t.Helper()
	_, exec := migrateBefore(t, d, dsn, "_people.sql")
	token, err := sealer.Seal([]byte("tok3n"), variableAAD+"Token")
	must(t, err)
	vars := `[{"name":"Banner","value":"hello","environments":null},` +
		`{"name":"ConnectionString","value":"` + plainSecret + `","environments":["Development"]},` +
		`{"name":"Token","sealed":"` + token + `","sensitive":true,"environments":null}]`
	templates := `[{"name":"ConnectionString","type":"sensitive","required":true}]`
	exec(`INSERT INTO spaces (id, name, created_at) VALUES (1, 'Default', 1)`)
	exec(`INSERT INTO projects (id, space_id, name, lifecycle, process, variables, templates, created_at, updated_at)
		VALUES (1, 1, 'Web', 'Main', '[]', ?, ?, 1, 1)`, vars, templates)
	// The old version rewrote the row on every `var set`: old row versions
	// with the plain value are left in the file's free space.
	for _, pad := range []int{5000, 100, 9000} {
		exec(`UPDATE projects SET process = ? WHERE id = 1`, `[{"name":"`+strings.Repeat("x", pad)+`","type":"script","script":"echo"}]`)
		exec(`UPDATE projects SET variables = ? WHERE id = 1`, strings.Replace(vars, "hello", strings.Repeat("h", pad), 1))
	}
	exec(`UPDATE projects SET variables = ?, process = '[]' WHERE id = 1`, vars)
	exec(`INSERT INTO releases (id, project_id, version, snapshot, created_at, snapshot_digest)
		VALUES (1, 1, '1.0.0', ?, 1, 'sha256:abc')`, `{"process":[],"variables":`+vars+`,"templates":`+templates+`,"someday":"kept"}`)
	exec(`INSERT INTO tasks (id, space_id, kind, description, state, error, deployment_id, queued_at)
		VALUES (7, 1, 'deploy', 'Deploy Web 1.0.0 to Development', 'Failed', ?, 3, 1)`, "step failed: cannot reach "+plainSecret)
	exec(`INSERT INTO deployments (id, space_id, project_id, release_id, environment, task_id, created_at) VALUES (3, 1, 1, 1, 'Development', 7, 1)`)
	exec(`INSERT INTO task_logs (task_id, seq, at, level, message) VALUES (7, 1, 1, 'info', ?)`, "connecting to "+plainSecret+" now")
	exec(`INSERT INTO task_logs (task_id, seq, at, level, message) VALUES (7, 2, 1, 'info', 'nothing to hide 100%_done')`)
	for _, e := range []struct{ action, subject, details string }{
		{"variable.add", "ConnectionString", `{"project":"Web","scope":"Development"}`},
		{"release.create", "Web 1.0.0", `{}`},
		{"project.update", "Web", `{"via":"apply"}`},
		{"deployment.create", "Deploy Web 1.0.0 to Development", `{"task":"7"}`},
		{"environment.create", "Development", `{}`},
	} {
		exec(`INSERT INTO audit_events (space_id, at, actor, action, subject, details) VALUES (1, 1, 'admin', ?, ?, ?)`, e.action, e.subject, e.details)
	}
}

// TestUpgradeSealsPlainSecrets upgrades a database written before
// migration 0013: the plain value of a sensitive template is sealed in the
// project and the release (and no longer anywhere in the SQLite file),
// masked in the deployment's log and error, and audit events learn their
// project. The data migration runs once.
func TestUpgradeSealsPlainSecrets(t *testing.T) {
	check := func(t *testing.T, db *DB) {
		ctx := context.Background()
		p, err := db.Projects().Get(ctx, 1, "Web")
		must(t, err)
		for _, v := range p.Variables {
			if v.Name == "ConnectionString" && (!v.Sensitive || v.Value != plainSecret) {
				t.Errorf("project value after the upgrade: %+v", v)
			}
			if v.Name == "Banner" && v.Sensitive {
				t.Errorf("a plain value of no sensitive name became sensitive: %+v", v)
			}
			if v.Name == "Token" && (!v.Sensitive || v.Value != "tok3n") {
				t.Errorf("a value sealed before the upgrade: %+v", v)
			}
		}
		r, err := db.Releases().Get(ctx, 1, "1.0.0")
		must(t, err)
		if r.SnapshotDigest != "sha256:abc" {
			t.Errorf("the release's digest changed: %s", r.SnapshotDigest)
		}
		for _, v := range r.Snapshot.Variables {
			if v.Name == "ConnectionString" && (!v.Sensitive || v.Value != plainSecret) {
				t.Errorf("release value after the upgrade: %+v", v)
			}
		}
		var snapshot, vars string
		must(t, db.sql.QueryRowContext(ctx, `SELECT snapshot FROM releases WHERE id = 1`).Scan(&snapshot))
		must(t, db.sql.QueryRowContext(ctx, `SELECT variables FROM projects WHERE id = 1`).Scan(&vars))
		for what, text := range map[string]string{"snapshot": snapshot, "variables": vars} {
			if strings.Contains(text, plainSecret) {
				t.Errorf("%s column still holds the plain value: %s", what, text)
			}
		}
		if !strings.Contains(snapshot, `"someday":"kept"`) {
			t.Errorf("the snapshot lost a field the migration does not know: %s", snapshot)
		}
		lines, err := db.Tasks().Log(ctx, 7, 0, 0)
		must(t, err)
		if len(lines) != 2 || lines[0].Text != "connecting to *** now" || lines[1].Text != "nothing to hide 100%_done" {
			t.Errorf("log after the upgrade: %+v", lines)
		}
		task, err := db.Tasks().Get(ctx, 7)
		must(t, err)
		if task.Error != "step failed: cannot reach ***" {
			t.Errorf("task error after the upgrade: %q", task.Error)
		}
		events, err := db.Audit().List(ctx, store.AuditFilter{SpaceID: 1})
		must(t, err)
		for _, e := range events {
			want := "Web"
			if e.Action == "environment.create" {
				want = ""
			}
			if e.Project != want {
				t.Errorf("audit %s %q: project %q, want %q", e.Action, e.Subject, e.Project, want)
			}
		}
		var n int
		must(t, db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM data_migrations`).Scan(&n))
		if n != len(dataMigrations) {
			t.Errorf("data_migrations has %d rows, want %d", n, len(dataMigrations))
		}
	}

	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path, sealer := filepath.Join(t.TempDir(), "ferry.db"), newTestSealer(t)
		// The old version did not zero deleted content.
		oldDSN := strings.Replace(sqliteDSN(path), "&_pragma=secure_delete%281%29", "", 1)
		if oldDSN == sqliteDSN(path) {
			t.Fatalf("no secure_delete in %s", oldDSN)
		}
		oldDatabase(t, sqliteDialect(), oldDSN, sealer)
		db := openTemp(t, path, sealer)
		check(t, db)
		must(t, db.Close())
		for _, f := range []string{path, path + "-wal"} {
			if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte("pl4in-0ld-S3cret")) {
				t.Errorf("%s still holds the plain value", filepath.Base(f))
			}
		}
		// Opening again runs nothing again: the value stays as sealed.
		db = openTemp(t, path, sealer)
		defer db.Close()
		check(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		url, sealer := pgtest.NewDatabase(t), newTestSealer(t)
		oldDatabase(t, postgresDialect(), url, sealer)
		db := openPostgres(t, url, sealer)
		check(t, db)
		db.Close()
		db = openPostgres(t, url, sealer)
		defer db.Close()
		check(t, db)
	})
}

// TestMarkSensitiveInStore: however a value is written — a project put, a
// release created — a value of a sensitive template is stored sealed.
func TestMarkSensitiveInStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.db")
	db := openTemp(t, path, newTestSealer(t))
	defer db.Close()
	ctx := context.Background()
	sp := domain.Space{Name: "S"}
	must(t, db.Spaces().Create(ctx, &sp))
	p := domain.Project{SpaceID: sp.ID, Name: "Web", Lifecycle: "Main",
		Templates: []domain.Template{{Name: "ConnectionString", Type: domain.TemplateSensitive}},
		Variables: []domain.Variable{{Name: "connectionstring", Value: plainSecret, Environments: []string{"Development"}}}}
	must(t, db.Projects().Put(ctx, &p))
	r := domain.Release{ProjectID: p.ID, Version: "1", Snapshot: domain.Snapshot{Variables: p.Variables, Templates: p.Templates}}
	r.Snapshot.Variables[0].Sensitive = false
	must(t, db.Releases().Create(ctx, &r))
	var vars, snapshot string
	must(t, db.sql.QueryRowContext(ctx, `SELECT variables FROM projects`).Scan(&vars))
	must(t, db.sql.QueryRowContext(ctx, `SELECT snapshot FROM releases`).Scan(&snapshot))
	if strings.Contains(vars+snapshot, plainSecret) {
		t.Errorf("stored in plain text:\n%s\n%s", vars, snapshot)
	}
}
