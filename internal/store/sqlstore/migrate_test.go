package sqlstore

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/ferrydeploy/ferry/internal/store/pgtest"
)

// TestMigration12KeepsImportsDeployable applies migration 0012 to a
// database holding what the previous release wrote — remote spaces (one
// revoked, its revocation in the audit log), a remote project and releases
// imported from two spaces — on each database: every remote project is
// bound to the spaces that delivered its releases, the revocation names
// who made it, and the remote spaces are known to read schema version 1.
func TestMigration12KeepsImportsDeployable(t *testing.T) {
	for _, c := range []struct {
		name string
		d    dialect
		dsn  func(t *testing.T) string
	}{
		{"sqlite", sqliteDialect(), func(t *testing.T) string { return sqliteDSN(filepath.Join(t.TempDir(), "ferry.db")) }},
		{"postgres", postgresDialect(), func(t *testing.T) string { return pgtest.NewDatabase(t) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, err := sql.Open(c.d.driver, c.dsn(t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ms, err := loadMigrations(c.d.migrations)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(t.Context(), `CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if m.version >= 12 {
					break
				}
				if err := inMigrationTx(t.Context(), db, c.d, func(tx *sql.Tx) error { return applyMigration(t.Context(), tx, c.d, m) }); err != nil {
					t.Fatalf("%s: %v", m.name, err)
				}
			}
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := db.ExecContext(t.Context(), c.d.rebind(q), args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			exec(`INSERT INTO spaces (id, name, created_at) VALUES (1, 'Prod', 0)`)
			exec(`INSERT INTO remote_spaces (space_id, name, cert_pem, fingerprint, created_at, updated_at, revoked_at) VALUES (1, 'Dev', '', 'FP:DEV', 0, 0, 5)`)
			exec(`INSERT INTO remote_spaces (space_id, name, cert_pem, fingerprint, created_at, updated_at) VALUES (1, 'QA', '', 'FP:QA', 0, 0)`)
			exec(`INSERT INTO audit_events (space_id, at, actor, action, subject) VALUES (1, 5, 'alice', 'remote-space.revoke', 'Dev')`)
			exec(`INSERT INTO projects (id, space_id, name, process, variables, templates, origin, created_at, updated_at) VALUES (7, 1, 'Dev: Shop', '[]', '[]', '[]', '{"space":"Dev","project":"Shop","fingerprint":"FP:DEV"}', 0, 0)`)
			exec(`INSERT INTO projects (id, space_id, name, process, variables, templates, created_at, updated_at) VALUES (8, 1, 'Own', '[]', '[]', '[]', 0, 0)`)
			for i, src := range []string{"Dev", "QA", "QA"} {
				exec(`INSERT INTO releases (project_id, version, snapshot, provenance, created_at) VALUES (7, ?, '{}', ?, ?)`,
					[]string{"1.0.0", "1.0.1", "1.0.2"}[i], `{"bundleDigest":"sha256:x","sourceSpace":"`+src+`","sourceFingerprint":"FP:`+map[string]string{"Dev": "DEV", "QA": "QA"}[src]+`","targetName":"Prod"}`, 10+i)
			}
			exec(`INSERT INTO releases (project_id, version, snapshot, created_at) VALUES (8, '1.0.0', '{}', 0)`)

			if err := migrate(t.Context(), db, c.d); err != nil {
				t.Fatal(err)
			}
			rows, err := db.QueryContext(t.Context(), `SELECT project_id, fingerprint, space, added_at FROM project_deliverers ORDER BY fingerprint`)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for rows.Next() {
				var pid, at int64
				var fp, space string
				if err := rows.Scan(&pid, &fp, &space, &at); err != nil {
					t.Fatal(err)
				}
				got = append(got, fmtRow(pid, fp, space, at))
			}
			rows.Close()
			if want := []string{fmtRow(7, "FP:DEV", "Dev", 10), fmtRow(7, "FP:QA", "QA", 11)}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
				t.Errorf("deliverers after the migration: %v, want %v", got, want)
			}
			var by string
			var version int
			if err := db.QueryRowContext(t.Context(), `SELECT revoked_by, schema_version FROM remote_spaces WHERE name = 'Dev'`).Scan(&by, &version); err != nil {
				t.Fatal(err)
			}
			if by != "alice" || version != 1 {
				t.Errorf("revoked remote space after the migration: revoked_by %q, schema_version %d", by, version)
			}
		})
	}
}

func fmtRow(pid int64, fp, space string, at int64) string {
	return fmt.Sprintf("project %d: %s %s since %d", pid, fp, space, at)
}
