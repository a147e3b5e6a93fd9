package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// bigOldDatabase writes, with the schema before migration 0013, projects
// projects each with releases releases, one deployment per release whose
// log has lines lines (one in a hundred printing the plain secret).
func bigOldDatabase(b *testing.B, path string, projects, releases, lines int) {
	b.Helper()
	ctx := context.Background()
	d := sqliteDialect()
	raw, _ := migrateBefore(b, d, strings.Replace(sqliteDSN(path), "&_pragma=secure_delete%281%29", "", 1), "_people.sql")
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	exec := func(q string, args ...any) {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO spaces (id, name, created_at) VALUES (1, 'Default', 1)`)
	templates := `[{"name":"ConnectionString","type":"sensitive","required":true}]`
	id := 0
	for p := 1; p <= projects; p++ {
		secret := fmt.Sprintf("Server=db%d;Password=plain-%d", p, p)
		vars := `[{"name":"Banner","value":"hello"},{"name":"ConnectionString","value":"` + secret + `","environments":["Development"]}]`
		exec(`INSERT INTO projects (id, space_id, name, lifecycle, process, variables, templates, created_at, updated_at) VALUES (?, 1, ?, 'Main', '[]', ?, ?, 1, 1)`,
			p, fmt.Sprintf("P%d", p), vars, templates)
		for r := 1; r <= releases; r++ {
			id++
			exec(`INSERT INTO releases (id, project_id, version, snapshot, created_at) VALUES (?, ?, ?, ?, 1)`,
				id, p, fmt.Sprint(r), `{"process":[],"variables":`+vars+`,"templates":`+templates+`}`)
			exec(`INSERT INTO tasks (id, space_id, kind, description, state, deployment_id, queued_at) VALUES (?, 1, 'deploy', 'd', 'Success', ?, 1)`, id, id)
			exec(`INSERT INTO deployments (id, space_id, project_id, release_id, environment, task_id, created_at) VALUES (?, 1, ?, ?, 'Development', ?, 1)`, id, p, id, id)
			for l := 1; l <= lines; l++ {
				msg := fmt.Sprintf("line %d of an ordinary deployment log, nothing to see here", l)
				if l%100 == 0 {
					msg = "connecting to " + secret
				}
				exec(`INSERT INTO task_logs (task_id, seq, at, level, message) VALUES (?, ?, 1, 'info', ?)`, id, l, msg)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkUpgradeSealPlainSecrets opens a database written before 0013 —
// 100 projects × 10 releases, 200,000 log lines — which runs migration 0013
// and the data migration that seals, masks and compacts. The baseline,
// BenchmarkOpenMigrated, opens the same database once migrated.
func BenchmarkUpgradeSealPlainSecrets(b *testing.B) {
	sealer := newTestSealer(b)
	for b.Loop() {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "ferry.db")
		bigOldDatabase(b, path, 100, 10, 200)
		b.StartTimer()
		db, err := OpenSQLite(context.Background(), path, sealer)
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
}

func BenchmarkOpenMigrated(b *testing.B) {
	sealer := newTestSealer(b)
	path := filepath.Join(b.TempDir(), "ferry.db")
	bigOldDatabase(b, path, 100, 10, 200)
	db, err := OpenSQLite(context.Background(), path, sealer)
	if err != nil {
		b.Fatal(err)
	}
	db.Close()
	for b.Loop() {
		db, err := OpenSQLite(context.Background(), path, sealer)
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
}
