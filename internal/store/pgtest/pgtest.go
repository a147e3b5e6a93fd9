// Package pgtest gives tests a real PostgreSQL: a throwaway cluster made with
// initdb in a temporary folder, listening only on a private Unix socket, and
// a fresh database per test.
//
// FERRY_TEST_POSTGRES decides whether tests that need it run:
//
//   - unset: they run when a cluster can be started here, and skip
//     otherwise;
//   - "0" or "false": they skip;
//   - a postgres:// URL: they use that server (its user must be allowed to
//     create databases) instead of starting one;
//   - anything else ("1"): they must run, and fail if no cluster can start.
//
// A package shares one cluster between its tests when its TestMain calls
// Main; a test that wants a cluster of its own calls Start.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar is the environment variable that asks for PostgreSQL tests.
const EnvVar = "FERRY_TEST_POSTGRES"

// Cluster is a PostgreSQL server for tests.
type Cluster struct {
	admin string // URL of its maintenance database, as a superuser
	dir   string // temporary folder of a cluster we started; "" for an external server
	cmd   *exec.Cmd
	exit  chan struct{} // closed when the postgres process has exited
	dbs   atomic.Int64
}

// errSkip says PostgreSQL tests should skip rather than fail.
type errSkip struct{ reason string }

func (e errSkip) Error() string { return e.reason }

// Start starts a cluster for t (or connects to the server FERRY_TEST_POSTGRES
// names) and stops it when t ends. It skips or fails t as the package doc
// says when there is none.
func Start(t testing.TB) *Cluster {
	t.Helper()
	c, err := start()
	if err != nil {
		fatalOrSkip(t, err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stop PostgreSQL: %v", err)
		}
	})
	return c
}

func fatalOrSkip(t testing.TB, err error) {
	t.Helper()
	var skip errSkip
	if errors.As(err, &skip) {
		t.Skip("PostgreSQL tests skipped: " + skip.reason)
	}
	t.Fatalf("PostgreSQL tests must run (%s=%q) but cannot: %v", EnvVar, os.Getenv(EnvVar), err)
}

var shared struct {
	once    sync.Once
	cluster *Cluster
	err     error
	mu      sync.Mutex
}

// Main runs a package's tests with one cluster shared between them, started
// when a test first asks for a database, and stops it at the end. Call it
// from TestMain: func TestMain(m *testing.M) { pgtest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	shared.mu.Lock()
	c := shared.cluster
	shared.mu.Unlock()
	if c != nil {
		if err := c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest: stop PostgreSQL:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// Shared returns the package's shared cluster, starting it on first use; it
// needs Main in the package's TestMain to be stopped.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	shared.once.Do(func() {
		c, err := start()
		shared.mu.Lock()
		shared.cluster, shared.err = c, err
		shared.mu.Unlock()
	})
	if shared.err != nil {
		fatalOrSkip(t, shared.err)
	}
	return shared.cluster
}

// NewDatabase creates an empty database in the package's shared cluster and
// returns its URL; see Shared.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return Shared(t).NewDatabase(t)
}

// NewDatabase creates an empty database and returns its postgres:// URL. The
// database is dropped when t ends, after whatever t opened on it is closed
// (cleanups registered later run first).
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("ferry_test_%d_%d", os.Getpid(), c.dbs.Add(1))
	if err := c.exec(t.Context(), `CREATE DATABASE `+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return withDatabase(c.admin, name)
}

// Exec runs a statement in the cluster's maintenance database as a superuser:
// for tests that need to do what ferry would not (end a session, say).
func (c *Cluster) Exec(ctx context.Context, sql string, args ...any) error {
	return c.exec(ctx, sql, args...)
}

func (c *Cluster) exec(ctx context.Context, sql string, args ...any) error {
	conn, err := pgx.Connect(ctx, c.admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

// withDatabase returns the URL u with its path set to database db.
func withDatabase(u, db string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		panic(err) // our own URL, or one we already connected with
	}
	parsed.Path = "/" + db
	return parsed.String()
}

// start connects to the server named in FERRY_TEST_POSTGRES or starts one.
func start() (*Cluster, error) {
	env := strings.TrimSpace(os.Getenv(EnvVar))
	switch {
	case env == "0" || strings.EqualFold(env, "false"):
		return nil, errSkip{EnvVar + "=" + env}
	case strings.HasPrefix(env, "postgres://") || strings.HasPrefix(env, "postgresql://"):
		c := &Cluster{admin: env}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.exec(ctx, `SELECT 1`); err != nil {
			return nil, fmt.Errorf("connect to %s: %w", EnvVar, err)
		}
		return c, nil
	}
	initdb, err := findBinary("initdb")
	if err != nil {
		if env == "" {
			return nil, errSkip{"initdb not found and " + EnvVar + " is not set"}
		}
		return nil, err
	}
	c, err := startCluster(initdb)
	if err != nil && env == "" {
		// Installed but unusable here (no "postgres" user, say): only a
		// developer who asked for these tests must have them.
		return nil, errSkip{fmt.Sprintf("%s is not set and no cluster could start: %v", EnvVar, err)}
	}
	return c, err
}

// findBinary looks for a PostgreSQL program on PATH, then in Debian's and
// the usual install folders.
func findBinary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	dirs = append(dirs, "/usr/local/pgsql/bin", "/opt/homebrew/bin")
	for i := len(dirs) - 1; i >= 0; i-- { // the newest version sorts last
		p := filepath.Join(dirs[i], name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH or in /usr/lib/postgresql/*/bin", name)
}

// startCluster runs initdb in a new temporary folder and starts postgres on
// it. PostgreSQL refuses to run as root, so as root both run as the
// "postgres" user. The server listens on a Unix socket in the folder only
// (no TCP port to collide with another test process), trusts local
// connections, and does not sync to disk: it is thrown away afterwards.
func startCluster(initdb string) (c *Cluster, err error) {
	postgres := filepath.Join(filepath.Dir(initdb), "postgres")
	if _, err := os.Stat(postgres); err != nil {
		if postgres, err = findBinary("postgres"); err != nil {
			return nil, err
		}
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ferry-pg-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}

	logFile, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd = exec.Command(postgres, "-D", data, "-k", dir, "-p", "5432",
		"-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=400", "-c", "shared_buffers=32MB")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Pdeathsig: if the test process dies without stopping the cluster, the
	// kernel stops it, so no server outlives its tests (see startLocked).
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	c = &Cluster{dir: dir, cmd: cmd, exit: make(chan struct{})}
	if err := startLocked(cmd, c.exit); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	q := url.Values{"host": {dir}, "sslmode": {"disable"}}
	c.admin = (&url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/postgres", RawQuery: q.Encode()}).String()

	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = c.exec(ctx, `SELECT 1`)
		cancel()
		if err == nil {
			return c, nil
		}
		select {
		case <-c.exit:
			log, _ := os.ReadFile(logFile.Name())
			return nil, fmt.Errorf("postgres exited at start: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			c.Stop()
			log, _ := os.ReadFile(logFile.Name())
			return nil, fmt.Errorf("postgres did not accept connections within 60s: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startLocked starts cmd and closes exit when it has exited. The kernel
// sends a child its parent-death signal when the *thread* that started it
// ends (go.dev/issue/27505), and Go ends a thread whose goroutine exits
// while locked to it (a test sandbox's starter does, when it closes): so
// cmd is started from a goroutine locked to its thread until cmd exits,
// or the server could be killed in the middle of a test.
func startLocked(cmd *exec.Cmd, exit chan struct{}) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread lives as long as cmd
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		cmd.Wait()
		close(exit)
	}()
	return <-started
}

// credential is who PostgreSQL runs as: the "postgres" user when we are
// root, ourselves (nil) otherwise.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL needs a \"postgres\" user: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// Stop shuts a cluster we started down (fast: sessions are ended) and
// removes its folder. For an external server it does nothing.
func (c *Cluster) Stop() error {
	if c == nil || c.cmd == nil {
		return nil
	}
	select {
	case <-c.exit:
	default:
		c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.exit:
		case <-time.After(30 * time.Second):
			c.cmd.Process.Kill()
			<-c.exit
		}
	}
	return os.RemoveAll(c.dir)
}

// WaitBlockedOrDone polls until a session of db's database waits for a
// lock, or done has a result (which it puts back), and fails t if neither
// happens within 30 s. A test of two transactions racing holds the first
// open, starts the second, waits here, then lets the first go: the second
// has either waited for the first's lock or (without one) already ended.
func WaitBlockedOrDone(t testing.TB, db *sql.DB, done chan error) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case err := <-done:
			done <- err
			return
		default:
		}
		var n int
		err := db.QueryRowContext(context.Background(),
			`SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
	}
	t.Fatal("the second transaction neither waited for a lock nor ended within 30s")
}

// Race runs first in a transaction of withTx and holds that transaction
// open; then it runs second at once, waits until second waits for a lock
// or has ended (WaitBlockedOrDone on db), lets first commit, and returns
// both errors. It tests that a lock makes the two take turns: without one,
// second has already ended before first commits. If first fails, second
// is not run.
func Race(t testing.TB, db *sql.DB, withTx func(context.Context, func(context.Context) error) error, ctx context.Context,
	first, second func(context.Context) error) (firstErr, secondErr error) {
	t.Helper()
	held, goOn, firstDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		firstDone <- withTx(ctx, func(ctx context.Context) error {
			if err := first(ctx); err != nil {
				return err
			}
			close(held)
			<-goOn
			return nil
		})
	}()
	select {
	case <-held:
	case err := <-firstDone:
		return err, nil
	}
	secondDone := make(chan error, 1)
	go func() { secondDone <- second(ctx) }()
	WaitBlockedOrDone(t, db, secondDone)
	close(goOn)
	return <-firstDone, <-secondDone
}
