package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/store/pgtest"
	"github.com/ferrydeploy/ferry/internal/store/storetest"
)

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openPostgres(t, pgtest.NewDatabase(t), newTestSealer(t))
	})
}

// openPostgres opens the database at url; the caller closes it.
func openPostgres(t *testing.T, url string, sealer Sealer) *DB {
	t.Helper()
	db, err := OpenPostgres(t.Context(), url, sealer)
	if err != nil {
		t.Fatal(err)
	}
	if db.Kind() != "postgres" {
		t.Errorf("Kind = %q", db.Kind())
	}
	return db
}

// eachDialect runs fn against a fresh store of each database; open returns
// another store on the same database, as a second node would open it.
func eachDialect(t *testing.T, fn func(t *testing.T, open func() *DB)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path, sealer := filepath.Join(t.TempDir(), "ferry.db"), newTestSealer(t)
		fn(t, func() *DB {
			db := openTemp(t, path, sealer)
			t.Cleanup(func() { db.Close() })
			return db
		})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		url, sealer := pgtest.NewDatabase(t), newTestSealer(t)
		fn(t, func() *DB {
			db := openPostgres(t, url, sealer)
			t.Cleanup(func() { db.Close() })
			return db
		})
	})
}

// TestPostgresMigratesOnce opens several stores at once on one empty
// database, as nodes starting together do: each must open, and each
// migration must be applied once.
func TestPostgresMigratesOnce(t *testing.T) {
	url, sealer := pgtest.NewDatabase(t), newTestSealer(t)
	const nodes = 6
	var wg sync.WaitGroup
	dbs := make([]*DB, nodes)
	errs := make([]error, nodes)
	for i := range nodes {
		wg.Go(func() { dbs[i], errs[i] = OpenPostgres(t.Context(), url, sealer) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	want, err := loadMigrations("migrations/postgres")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := dbs[0].sql.QueryContext(t.Context(), `SELECT version, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for rows.Next() {
		var v, at int64
		if err := rows.Scan(&v, &at); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var versions []int64
	for _, m := range want {
		versions = append(versions, m.version)
	}
	if !slices.Equal(got, versions) {
		t.Errorf("schema_migrations = %v, want each of %v once", got, versions)
	}
}

func TestNodes(t *testing.T) {
	eachDialect(t, func(t *testing.T, open func() *DB) {
		a, b := open(), open()
		ctx := t.Context()
		base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		sec := func(n int) time.Time { return base.Add(time.Duration(n) * time.Second) }

		must(t, a.Nodes().Heartbeat(ctx, "node-a", sec(0)))
		must(t, b.Nodes().Heartbeat(ctx, "node-b", sec(0)))
		var tasks []domain.Task
		for range 4 {
			task := domain.Task{Kind: "test"}
			must(t, a.Tasks().Create(ctx, &task))
			tasks = append(tasks, task)
		}
		for _, n := range []struct {
			db   *DB
			node string
		}{{a, "node-a"}, {b, "node-b"}, {b, "node-b"}} {
			_, err := n.db.Tasks().Claim(ctx, n.node, sec(1))
			must(t, err)
		}
		queued, executing, err := a.Tasks().Pending(ctx)
		must(t, err)
		if queued != 1 || executing != 3 {
			t.Errorf("Pending = %d queued, %d executing; want 1 and 3", queued, executing)
		}

		// node-a keeps beating, node-b goes silent.
		must(t, a.Nodes().Heartbeat(ctx, "node-a", sec(10)))
		alive, err := b.Nodes().ListAlive(ctx, sec(5))
		must(t, err)
		if len(alive) != 1 || alive[0].Name != "node-a" || !alive[0].StartedAt.Equal(sec(0)) || !alive[0].SeenAt.Equal(sec(10)) {
			t.Errorf("ListAlive = %+v, want node-a started at 0s, seen at 10s", alive)
		}
		all, err := b.Nodes().ListAlive(ctx, sec(0))
		must(t, err)
		if len(all) != 2 || all[0].Name != "node-a" || all[1].Name != "node-b" {
			t.Errorf("ListAlive since 0s = %+v, want node-a and node-b", all)
		}

		failed, err := a.Nodes().FailTasksOfDeadNodes(ctx, sec(5), "node-b stopped", sec(11))
		must(t, err)
		if len(failed) != 1 || !slices.Equal(failed["node-b"], []int64{tasks[1].ID, tasks[2].ID}) {
			t.Errorf("FailTasksOfDeadNodes = %v, want node-b's tasks %d and %d", failed, tasks[1].ID, tasks[2].ID)
		}
		for i, want := range []domain.TaskState{domain.TaskExecuting, domain.TaskFailed, domain.TaskFailed, domain.TaskQueued} {
			got, err := a.Tasks().Get(ctx, tasks[i].ID)
			must(t, err)
			if got.State != want {
				t.Errorf("task %d: %s, want %s", i, got.State, want)
			}
			if want == domain.TaskFailed && (got.Error != "node-b stopped" || !got.CancelRequested || got.FinishedAt == nil) {
				t.Errorf("failed task %d: %+v, want reason, cancel flag and finish time", i, got)
			}
		}
		// node-b's late outcome does not overwrite the verdict.
		must(t, b.Tasks().Finish(ctx, tasks[1].ID, domain.TaskSuccess, "", sec(12)))
		if got, _ := a.Tasks().Get(ctx, tasks[1].ID); got.State != domain.TaskFailed {
			t.Errorf("a dead node's late Finish changed the task to %s", got.State)
		}
		failed, err = a.Nodes().FailTasksOfDeadNodes(ctx, sec(5), "again", sec(13))
		must(t, err)
		if len(failed) != 0 {
			t.Errorf("second FailTasksOfDeadNodes = %v, want nothing", failed)
		}

		// A node that left is dead at once; one that never heartbeat but
		// claimed after the cutoff is starting, not dead.
		must(t, a.Nodes().Leave(ctx, "node-a"))
		_, err = a.Tasks().Claim(ctx, "node-c", sec(20))
		must(t, err)
		failed, err = b.Nodes().FailTasksOfDeadNodes(ctx, sec(15), "gone", sec(21))
		must(t, err)
		if len(failed) != 1 || !slices.Equal(failed["node-a"], []int64{tasks[0].ID}) {
			t.Errorf("after node-a left: %v, want its task %d only", failed, tasks[0].ID)
		}
		alive, err = b.Nodes().ListAlive(ctx, sec(0))
		must(t, err)
		if len(alive) != 1 || alive[0].Name != "node-b" {
			t.Errorf("after node-a left: alive %+v", alive)
		}
	})
}

func TestLocks(t *testing.T) {
	eachDialect(t, func(t *testing.T, open func() *DB) {
		a := open()
		b := a
		if a.Kind() == "postgres" {
			b = open() // another node; SQLite has one
		}
		ctx := t.Context()
		l, ok, err := a.Locks().TryLock(ctx, "outbox")
		must(t, err)
		if !ok {
			t.Fatal("a free lock was refused")
		}
		if _, ok, err := b.Locks().TryLock(ctx, "outbox"); err != nil || ok {
			t.Fatalf("a held lock was taken again (ok %v, err %v)", ok, err)
		}
		other, ok, err := b.Locks().TryLock(ctx, "retention")
		must(t, err)
		if !ok {
			t.Fatal("another lock's name was refused")
		}
		must(t, other.Unlock())
		must(t, l.Unlock())
		must(t, l.Unlock()) // twice is fine
		l2, ok, err := b.Locks().TryLock(ctx, "outbox")
		must(t, err)
		if !ok {
			t.Fatal("a released lock was refused")
		}
		select {
		case <-l2.Lost():
			t.Fatal("a held lock reports itself lost")
		default:
		}
		must(t, l2.Unlock())
	})
}

// TestPostgresLockLost ends the session that holds a lock, as a node's death
// or a broken connection does: the holder learns it lost the lock, and
// another node can take it.
func TestPostgresLockLost(t *testing.T) {
	c := pgtest.Shared(t)
	url, sealer := c.NewDatabase(t), newTestSealer(t)
	a, b := openPostgres(t, url, sealer), openPostgres(t, url, sealer)
	defer a.Close()
	defer b.Close()
	l, ok, err := a.Locks().TryLock(t.Context(), "reaper")
	if err != nil || !ok {
		t.Fatalf("TryLock: ok %v, err %v", ok, err)
	}
	defer l.Unlock()
	must(t, c.Exec(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted`))
	select {
	case <-l.Lost():
	case <-time.After(30 * time.Second):
		t.Fatal("the holder was not told within 30s that its session ended")
	}
	l2, ok, err := b.Locks().TryLock(t.Context(), "reaper")
	if err != nil || !ok {
		t.Fatalf("after the holder's session ended: ok %v, err %v", ok, err)
	}
	must(t, l2.Unlock())
	must(t, l.Unlock()) // releasing a lost lock is harmless
}

// TestPostgresListenTasks checks that queuing a task wakes a listener on
// another store, and only once the queuing transaction commits.
func TestPostgresListenTasks(t *testing.T) {
	url, sealer := pgtest.NewDatabase(t), newTestSealer(t)
	a, b := openPostgres(t, url, sealer), openPostgres(t, url, sealer)
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithCancel(t.Context())
	woken := make(chan struct{}, 100)
	done := make(chan error, 1)
	go func() { done <- b.ListenTasks(ctx, func() { woken <- struct{}{} }) }()
	wait := func(what string) {
		t.Helper()
		select {
		case <-woken:
		case err := <-done:
			t.Fatalf("ListenTasks returned %v while waiting for %s", err, what)
		case <-time.After(30 * time.Second):
			t.Fatalf("no wake within 30s for %s", what)
		}
	}
	wait("the wake on starting to listen")

	// Notifications are sent on commit: a rolled-back task wakes no one, so
	// the next wake is the committed task's.
	boom := errors.New("boom")
	err := a.WithTx(t.Context(), func(ctx context.Context) error {
		if err := a.Tasks().Create(ctx, &domain.Task{Kind: "test", Description: "rolled back"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	task := domain.Task{Kind: "test"}
	must(t, a.Tasks().Create(t.Context(), &task))
	wait("a queued task")
	got, err := b.Tasks().Claim(t.Context(), "node-b", time.Now())
	must(t, err)
	if got.ID != task.ID {
		t.Errorf("claimed task %d, want the committed one, %d", got.ID, task.ID)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenTasks after cancel: %v", err)
	}
}

func TestSQLiteListenTasksWaits(t *testing.T) {
	db := openTemp(t, filepath.Join(t.TempDir(), "ferry.db"), newTestSealer(t))
	defer db.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := db.ListenTasks(ctx, func() { t.Error("woken on a one-node store") }); err != nil {
		t.Errorf("ListenTasks = %v", err)
	}
}

// TestLogTextOddBytes stores script output that PostgreSQL's TEXT refuses
// as it stands: NUL bytes and invalid UTF-8. SQLite keeps it as it is.
func TestLogTextOddBytes(t *testing.T) {
	eachDialect(t, func(t *testing.T, open func() *DB) {
		db := open()
		task := domain.Task{Kind: "test"}
		must(t, db.Tasks().Create(t.Context(), &task))
		odd := "nul\x00byte and bad \xff utf-8"
		must(t, db.Tasks().AppendLog(t.Context(), task.ID, []domain.LogLine{{Level: "info", Text: odd}}))
		lines, err := db.Tasks().Log(t.Context(), task.ID, 0, 0)
		must(t, err)
		want := odd
		if db.Kind() == "postgres" {
			want = "nul\uFFFDbyte and bad \uFFFD utf-8"
		}
		if len(lines) != 1 || lines[0].Text != want {
			t.Errorf("log = %+v, want one line %q", lines, want)
		}
	})
}

// TestConcurrentAppendLog appends to one task's log from several goroutines
// at once: every line gets its own Seq.
func TestConcurrentAppendLog(t *testing.T) {
	eachDialect(t, func(t *testing.T, open func() *DB) {
		db := open()
		task := domain.Task{Kind: "test"}
		must(t, db.Tasks().Create(t.Context(), &task))
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := range 10 {
					err := db.Tasks().AppendLog(t.Context(), task.ID, []domain.LogLine{{Text: fmt.Sprint(w, "-", i)}})
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		lines, err := db.Tasks().Log(t.Context(), task.ID, 0, 0)
		must(t, err)
		if len(lines) != 40 || lines[39].Seq != 40 {
			t.Errorf("%d lines, last Seq %d; want 40 numbered 1 to 40", len(lines), lines[len(lines)-1].Seq)
		}
	})
}

func TestPostgresText(t *testing.T) {
	for in, want := range map[string]string{
		"plain":          "plain",
		"ünïcödé ✓":      "ünïcödé ✓",
		"a\x00b":         "a\uFFFDb",
		"bad \xc3\x28 x": "bad \uFFFD( x",
	} {
		if got := postgresText(in); got != want {
			t.Errorf("postgresText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	got := RedactURL("postgres://ferry:hunter2@db.example:5432/ferry?sslmode=require")
	if strings.Contains(got, "hunter2") || !strings.Contains(got, "db.example") {
		t.Errorf("RedactURL = %q", got)
	}
	if _, err := OpenPostgres(t.Context(), "postgres://ferry:hunter2@%zz/x", newTestSealer(t)); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("OpenPostgres with a bad URL: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestPostgresDeleteRacesDeploy starts a deployment of a release while a
// delete that has read the project's releases (Removal.Uses, as retention
// and `release delete` do) has not yet removed it. The deployment must
// wait and then fail with NotFound; before the releases were locked it was
// committed and then silently removed with its release, task and all.
func TestPostgresDeleteRacesDeploy(t *testing.T) {
	db := openPostgres(t, pgtest.NewDatabase(t), newTestSealer(t))
	defer db.Close()
	ctx := t.Context()
	sp := domain.Space{Name: "Race"}
	must(t, db.Spaces().Create(ctx, &sp))
	must(t, db.Environments().Create(ctx, &domain.Environment{SpaceID: sp.ID, Name: "Dev"}))
	p := domain.Project{SpaceID: sp.ID, Name: "Shop", Lifecycle: "Default"}
	must(t, db.Projects().Put(ctx, &p))
	r := domain.Release{ProjectID: p.ID, Project: p.Name, Version: "1.0.0", CreatedAt: time.Now(), CreatedBy: "admin"}
	must(t, db.Releases().Create(ctx, &r))

	decided, goOn, deleted := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		deleted <- db.WithTx(ctx, func(ctx context.Context) error {
			uses, err := db.Removal().Uses(ctx, p.ID)
			if err != nil || len(uses) != 1 || len(uses[0].Environments) != 0 {
				return fmt.Errorf("uses before the deployment: %+v, %v", uses, err)
			}
			close(decided)
			<-goOn
			_, err = db.Removal().DeleteReleases(ctx, []int64{r.ID})
			return err
		})
	}()
	<-decided
	deployed := make(chan error, 1)
	go func() {
		deployed <- db.WithTx(ctx, func(ctx context.Context) error {
			task := domain.Task{SpaceID: sp.ID, Kind: domain.TaskDeploy, State: domain.TaskQueued, QueuedAt: time.Now()}
			if err := db.Tasks().Create(ctx, &task); err != nil {
				return err
			}
			d := domain.Deployment{SpaceID: sp.ID, ProjectID: p.ID, ReleaseID: r.ID, Environment: "Dev", TaskID: task.ID, CreatedAt: time.Now()}
			return db.Deployments().Create(ctx, &d)
		})
	}()
	// The deployment either waits for the delete's lock or (unlocked) has
	// already committed.
	pgtest.WaitBlockedOrDone(t, db.sql, deployed)
	close(goOn)
	if err := <-deleted; err != nil {
		t.Fatalf("delete: %v", err)
	}
	err := <-deployed
	if domain.KindOf(err) != domain.KindNotFound {
		t.Errorf("a deployment made during the delete: %v, want NotFound (it was made, then removed with its release)", err)
	}
	var left int
	must(t, db.sql.QueryRowContext(ctx, `SELECT count(*) FROM tasks WHERE space_id = $1`, sp.ID).Scan(&left))
	if left != 0 {
		t.Errorf("%d tasks left of a release that is gone", left)
	}
}

// TestPostgresLastAdminsDeletedAtOnce deletes the last two system
// administrators, each by the other, at once. One delete must be refused;
// before the administrators' rows were locked both went through and the
// server had none left.
func TestPostgresLastAdminsDeletedAtOnce(t *testing.T) {
	db := openPostgres(t, pgtest.NewDatabase(t), newTestSealer(t))
	defer db.Close()
	ctx := t.Context()
	a, b := domain.User{Name: "ann", IsAdmin: true}, domain.User{Name: "ben", IsAdmin: true}
	must(t, db.Users().Create(ctx, &a))
	must(t, db.Users().Create(ctx, &b))
	first, second := pgtest.Race(t, db.sql, db.WithTx, ctx,
		func(ctx context.Context) error { return db.Removal().DeleteUser(ctx, b.ID) },
		func(ctx context.Context) error {
			return db.WithTx(ctx, func(ctx context.Context) error { return db.Removal().DeleteUser(ctx, a.ID) })
		})
	if first != nil {
		t.Fatal(first)
	}
	if domain.KindOf(second) != domain.KindConflict {
		t.Errorf("deleting the other administrator at once: %v, want a refusal (none would be left)", second)
	}
	users, err := db.Users().List(ctx)
	must(t, err)
	if len(users) != 1 || !users[0].IsAdmin {
		t.Errorf("users left: %+v", users)
	}
}

// TestPostgresRefillRacesTaskUpdate: retention deletes a cell's newest
// deployment, so the cell falls back to an older one whose task is still
// running, while that task ends. The task's update must reach the new
// cell: it waits for the refill's lock on the task, else it would commit
// first, change no cell (the new one is not committed yet), and leave the
// cell showing the task running for good.
func TestPostgresRefillRacesTaskUpdate(t *testing.T) {
	db := openPostgres(t, pgtest.NewDatabase(t), newTestSealer(t))
	defer db.Close()
	ctx := t.Context()
	sp := domain.Space{Name: "Race"}
	must(t, db.Spaces().Create(ctx, &sp))
	p := domain.Project{SpaceID: sp.ID, Name: "Shop", Lifecycle: "Default"}
	must(t, db.Projects().Put(ctx, &p))
	var deployments []domain.Deployment
	for i, version := range []string{"1.0.0", "2.0.0"} {
		r := domain.Release{ProjectID: p.ID, Project: p.Name, Version: version, CreatedAt: time.Now(), CreatedBy: "admin"}
		must(t, db.Releases().Create(ctx, &r))
		task := domain.Task{SpaceID: sp.ID, Kind: domain.TaskDeploy, State: domain.TaskQueued, QueuedAt: time.Now()}
		must(t, db.Tasks().Create(ctx, &task))
		d := domain.Deployment{SpaceID: sp.ID, ProjectID: p.ID, ReleaseID: r.ID, Environment: "Dev", TaskID: task.ID, CreatedAt: time.Now()}
		must(t, db.Deployments().Create(ctx, &d))
		deployments = append(deployments, d)
		if i == 0 {
			_, err := db.Tasks().Claim(ctx, "node", time.Now())
			must(t, err)
		}
	}
	older, newer := deployments[0], deployments[1]

	deleted, finished := pgtest.Race(t, db.sql, db.WithTx, ctx,
		func(ctx context.Context) error {
			if _, err := db.exec(ctx, `DELETE FROM deployments WHERE id = ?`, newer.ID); err != nil {
				return err
			}
			return db.refillCells(ctx, sp.ID)
		},
		func(ctx context.Context) error {
			return db.Tasks().Finish(ctx, older.TaskID, domain.TaskSuccess, "", time.Now())
		})
	must(t, deleted)
	must(t, finished)
	cells, err := db.Deployments().LatestOf(ctx, sp.ID, []int64{p.ID})
	must(t, err)
	if len(cells) != 1 || cells[0].Version != "1.0.0" || cells[0].State != domain.TaskSuccess {
		t.Errorf("cells after the refill and the task's end: %+v, want 1.0.0 Success", cells)
	}
}
