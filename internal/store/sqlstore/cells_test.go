package sqlstore

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/store/pgtest"
)

// TestUpgradeFillsDashboardCells upgrades a database written before the
// dashboard_cells migration, and one written before the
// dashboard_cell_rows migration (cells that held only an id), with several
// deployments and receipts per cell: the migrations fill each cell with
// its newest row and what it shows, and new rows move the cells on (and an
// older row written later does not).
func TestUpgradeFillsDashboardCells(t *testing.T) {
	for _, upTo := range []string{"_dashboard_cells.sql", "_dashboard_cell_rows.sql"} {
		t.Run(strings.TrimSuffix(upTo, ".sql"), func(t *testing.T) { testUpgradeFillsDashboardCells(t, upTo) })
	}
}

func testUpgradeFillsDashboardCells(t *testing.T, upTo string) {
	before := func(t *testing.T, d dialect, dsn string) {
		_, exec := migrateBefore(t, d, dsn, upTo)
		exec(`INSERT INTO spaces (id, name, created_at) VALUES (1, 'Default', 1)`)
		exec(`INSERT INTO projects (id, space_id, name, lifecycle, process, variables, templates, created_at, updated_at)
			VALUES (1, 1, 'Web', 'Main', '[]', '[]', '[]', 1, 1)`)
		exec(`INSERT INTO releases (id, project_id, version, snapshot, created_at, snapshot_digest) VALUES (1, 1, '1.0.0', '{}', 1, 'sha256:a')`)
		exec(`INSERT INTO releases (id, project_id, version, snapshot, created_at, snapshot_digest) VALUES (2, 1, '2.0.0', '{}', 2, 'sha256:b')`)
		// Ids out of environment order, and the newest of a cell not last.
		for _, r := range []struct {
			id      int
			env     string
			release int
		}{{5, "Test", 2}, {1, "Dev", 1}, {2, "Test", 1}, {4, "Dev", 2}, {3, "Dev", 1}} {
			exec(`INSERT INTO deployments (id, space_id, project_id, release_id, environment, created_at) VALUES (?, 1, 1, ?, ?, 1)`, r.id, r.release, r.env)
			exec(`INSERT INTO receipts (id, space_id, digest, deploying_space, signer_fingerprint, origin_space, origin_fingerprint,
				origin_project, version, snapshot_digest, environment, state, deployed_by, received_at, payload, signature, signer_pem)
				VALUES (?, 1, ?, 'Prod', 'fp', 'Default', 'me', 'Web', ?, 'sha256:a', ?, 'Success', 'ops', 1, '', '', '')`,
				r.id, "sha256:r"+r.env+string(rune('0'+r.id)), []string{"", "1.0.0", "2.0.0"}[r.release], "Prod: "+r.env)
		}
		if upTo != "_dashboard_cells.sql" { // cells of ids only, as that version's store wrote them
			exec(`INSERT INTO deployment_cells (space_id, project_id, environment, deployment_id)
				SELECT space_id, project_id, environment, MAX(id) FROM deployments GROUP BY space_id, project_id, environment`)
			exec(`INSERT INTO receipt_cells (space_id, origin_fingerprint, origin_project, environment, receipt_id)
				SELECT space_id, origin_fingerprint, origin_project, environment, MAX(id) FROM receipts
				GROUP BY space_id, origin_fingerprint, origin_project, environment`)
		}
		if d.driver != "sqlite" { // identity columns do not see explicit ids
			exec(`SELECT setval(pg_get_serial_sequence('deployments', 'id'), 10), setval(pg_get_serial_sequence('receipts', 'id'), 10)`)
		}
	}
	check := func(t *testing.T, db *DB, want map[string]int64) {
		t.Helper()
		ctx := context.Background()
		got := map[string]int64{} // environment → the id of its cell's row
		rows, err := db.sql.QueryContext(ctx, `SELECT environment, deployment_id FROM deployment_cells WHERE space_id = 1 AND project_id = 1
			UNION ALL SELECT environment, receipt_id FROM receipt_cells WHERE space_id = 1 AND origin_fingerprint = 'me' AND origin_project = 'Web'`)
		must(t, err)
		for rows.Next() {
			var env string
			var id int64
			must(t, rows.Scan(&env, &id))
			got[env] = id
		}
		must(t, rows.Err())
		rows.Close()
		deps, err := db.Deployments().LatestOf(ctx, 1, []int64{1})
		must(t, err)
		receipts, err := db.Receipts().LatestOf(ctx, 1, []store.OriginProject{{Fingerprint: "me", Project: "Web"}})
		must(t, err)
		version := map[int64]string{1: "1.0.0", 2: "1.0.0", 3: "1.0.0", 4: "2.0.0", 5: "2.0.0"}
		for _, d := range deps {
			if want := version[got[d.Environment]]; want != "" && d.Version != want {
				t.Errorf("cell %s: deployment %d of version %q, want %q", d.Environment, got[d.Environment], d.Version, want)
			}
		}
		for _, r := range receipts {
			if want := version[got[r.Environment]]; want != "" && (r.Version != want || r.DeployedBy != "ops" || r.State != domain.TaskSuccess) {
				t.Errorf("cell %s: receipt %d of version %q by %q, %s; want %q by ops, Success", r.Environment, got[r.Environment], r.Version, r.DeployedBy, r.State, want)
			}
		}
		if len(got) != len(want) || len(deps)+len(receipts) != len(want) {
			t.Fatalf("cells %v, want %v", got, want)
		}
		for env, id := range want {
			if got[env] != id {
				t.Errorf("cell %s: %d, want %d (all: %v)", env, got[env], id, got)
			}
		}
	}
	then := func(t *testing.T, db *DB) {
		check(t, db, map[string]int64{"Dev": 4, "Test": 5, "Prod: Dev": 4, "Prod: Test": 5})
		ctx := domain.WithActor(context.Background(), domain.System)
		d := domain.Deployment{SpaceID: 1, ProjectID: 1, ReleaseID: 2, Environment: "Dev"}
		must(t, db.Deployments().Create(ctx, &d))
		r := domain.Receipt{SpaceID: 1, Digest: "sha256:new", OriginFingerprint: "me", OriginProject: "Web", Environment: "Prod: Test", State: domain.TaskSuccess}
		_, err := db.Receipts().Create(ctx, &r)
		must(t, err)
		check(t, db, map[string]int64{"Dev": d.ID, "Test": 5, "Prod: Dev": 4, "Prod: Test": r.ID})
		// A row with a lower id written after a higher one (two
		// transactions committing out of order) leaves the cell alone.
		err = db.putDeploymentCell(ctx, domain.Deployment{ID: 3})
		must(t, err)
		check(t, db, map[string]int64{"Dev": d.ID, "Test": 5, "Prod: Dev": 4, "Prod: Test": r.ID})
		// Deleting rows (retention) and refilling: each cell falls back to
		// the newest row left, or goes when none is.
		for _, del := range []struct {
			q    string
			args []any
		}{{`DELETE FROM deployments WHERE id IN (?, 4)`, []any{d.ID}}, {`DELETE FROM deployments WHERE id = 5 OR id = 2`, nil},
			{`DELETE FROM receipts WHERE id IN (?, 5, 2)`, []any{r.ID}}} {
			_, err = db.sql.ExecContext(ctx, db.d.rebind(del.q), del.args...)
			must(t, err)
		}
		must(t, db.refillCells(ctx, 1))
		check(t, db, map[string]int64{"Dev": 3, "Prod: Dev": 4})
	}
	upgradeBoth(t, before, then)
}

// TestUpgradeCopiesTaskStateIntoCells upgrades a database whose
// deployment cells were read joined to their tasks (before migration
// 0024): each cell gets its task's state and times, a cell without a task
// none, and from then on the cell follows its task.
func TestUpgradeCopiesTaskStateIntoCells(t *testing.T) {
	before := func(t *testing.T, d dialect, dsn string) {
		_, exec := migrateBefore(t, d, dsn, "_deployment_cell_state.sql")
		exec(`INSERT INTO spaces (id, name, created_at) VALUES (1, 'Default', 1)`)
		exec(`INSERT INTO projects (id, space_id, name, lifecycle, process, variables, templates, created_at, updated_at)
			VALUES (1, 1, 'Web', 'Main', '[]', '[]', '[]', 1, 1)`)
		exec(`INSERT INTO releases (id, project_id, version, snapshot, created_at, snapshot_digest) VALUES (1, 1, '1.0.0', '{}', 1, 'sha256:a')`)
		exec(`INSERT INTO tasks (id, space_id, kind, state, queued_at, started_at, finished_at) VALUES (1, 1, 'deploy', 'Success', 1, 10, 20)`)
		exec(`INSERT INTO tasks (id, space_id, kind, state, queued_at, started_at, node) VALUES (2, 1, 'deploy', 'Executing', 1, 30, 'node')`)
		for _, r := range []struct {
			id   int
			env  string
			task any
		}{{1, "Dev", 1}, {2, "Test", 2}, {3, "Prod", nil}} {
			exec(`INSERT INTO deployments (id, space_id, project_id, release_id, environment, task_id, created_at) VALUES (?, 1, 1, 1, ?, ?, 5)`,
				r.id, r.env, r.task)
		}
		// The cells as that version's store wrote them.
		exec(`INSERT INTO deployment_cells (space_id, project_id, environment, deployment_id, release_id, version, tenant, task_id,
				created_at, created_by, on_behalf_of)
			SELECT d.space_id, d.project_id, d.environment, d.id, d.release_id, r.version, d.tenant, d.task_id, d.created_at, d.created_by, d.on_behalf_of
			FROM deployments d JOIN releases r ON r.id = d.release_id`)
	}
	check := func(t *testing.T, db *DB, want map[string]string) {
		t.Helper()
		cells, err := db.Deployments().LatestOf(context.Background(), 1, []int64{1})
		must(t, err)
		got := map[string]string{}
		for _, c := range cells {
			got[c.Environment] = fmt.Sprintf("%s %s %s", c.State, micro(c.StartedAt), micro(c.FinishedAt))
		}
		if !maps.Equal(got, want) {
			t.Errorf("cells:\n got %v\nwant %v", got, want)
		}
	}
	then := func(t *testing.T, db *DB) {
		check(t, db, map[string]string{"Dev": "Success 10 20", "Test": "Executing 30 -", "Prod": " - -"})
		must(t, db.Tasks().Finish(context.Background(), 2, domain.TaskFailed, "boom", time.UnixMicro(40)))
		check(t, db, map[string]string{"Dev": "Success 10 20", "Test": "Failed 30 40", "Prod": " - -"})
	}
	upgradeBoth(t, before, then)
}

// micro is a time as unix microseconds, "-" for none.
func micro(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return fmt.Sprint(t.UnixMicro())
}

// upgradeBoth runs an upgrade test on SQLite and on PostgreSQL: before
// writes the old database at a DSN, then checks it once the store has
// opened (and migrated) it.
func upgradeBoth(t *testing.T, before func(t *testing.T, d dialect, dsn string), then func(t *testing.T, db *DB)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path, sealer := filepath.Join(t.TempDir(), "ferry.db"), newTestSealer(t)
		before(t, sqliteDialect(), sqliteDSN(path))
		db := openTemp(t, path, sealer)
		defer db.Close()
		then(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		url, sealer := pgtest.NewDatabase(t), newTestSealer(t)
		before(t, postgresDialect(), url)
		db := openPostgres(t, url, sealer)
		defer db.Close()
		then(t, db)
	})
}
