// Package servicetest runs ferry's production service set in-process, on
// a real SQLite file in a test's temporary folder, so that a rule is tested
// in milliseconds in its own package while end-to-end tests stay for whole
// scenarios (nomad's TestServer and tailscale's NewTestEnv are the models).
//
//	env := servicetest.New(t)
//	env.CreateSpace("Dev")
//	env.Apply("Dev", `environments: [{name: Test}]`)
//	ctx := env.AsRole("Dev", "viewer")
//	_, err := env.Set.Deploy.Deploy(ctx, "Dev", deploy.Request{...})
//
// The set is services.New's, built exactly as the server builds it; the
// task runner and the delivery loop run only when asked (RunTasks,
// Deliver). Everything is closed and removed when the test ends.
package servicetest

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/catalog"
	"github.com/ferrydeploy/ferry/internal/config"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/outbox"
	"github.com/ferrydeploy/ferry/internal/packages"
	"github.com/ferrydeploy/ferry/internal/provenance"
	"github.com/ferrydeploy/ferry/internal/release"
	"github.com/ferrydeploy/ferry/internal/retention"
	"github.com/ferrydeploy/ferry/internal/sandbox"
	"github.com/ferrydeploy/ferry/internal/secrets"
	"github.com/ferrydeploy/ferry/internal/services"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/store/sqlstore"
	"github.com/ferrydeploy/ferry/internal/transport"
	"github.com/ferrydeploy/ferry/internal/trust"
)

// Env is one in-process ferry: the production service set over a real
// store, and helpers that act on it.
type Env struct {
	Set   services.Set
	Store store.Store // for what no service offers: checking rows, planting old data
	Dir   string      // the data folder: ferry.db, master.key, chunks, tmp
	// Ctx acts as the system (every permission), like the server's own
	// work; As and AsRole act as users.
	Ctx context.Context

	t     testing.TB
	mu    sync.Mutex
	roles map[string]bool
}

type options struct {
	now      func() time.Time
	delivery outbox.Settings
	sandbox  sandbox.Mode
	runTasks bool
	deliver  bool
	log      *slog.Logger
	dir      string
	limits   transport.Limits
	retain   retention.Settings
	// cancelPoll: deploy.RunnerConfig.CancelPoll (0: its default).
	cancelPoll time.Duration
	postgres   string // a postgres:// URL; "" for a SQLite file
}

// An Option changes how New builds the environment.
type Option func(*options)

// Clock makes now the services' clock (default: time.Now in UTC).
func Clock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Delivery times the delivery loop (default: outbox.DefaultSettings).
func Delivery(s outbox.Settings) Option { return func(o *options) { o.delivery = s } }

// RunTasks runs the task runner until the test ends, in a sandbox of mode
// m that hides the data folder: scripts really run. With sandbox.Isolate
// the test binary's TestMain must call sandbox.Main first.
func RunTasks(m sandbox.Mode) Option {
	return func(o *options) { o.runTasks, o.sandbox = true, m }
}

// CancelPoll sets how often a running task looks for a cancel request
// (deploy.RunnerConfig.CancelPoll). A test that must see a cancel arrive
// after a step's last moment sets it longer than the test runs, so the
// runner sees the request only when the step has ended: deterministic,
// no timing.
func CancelPoll(d time.Duration) Option { return func(o *options) { o.cancelPoll = d } }

// Deliver runs the delivery loop until the test ends.
func Deliver() Option { return func(o *options) { o.deliver = true } }

// Data opens the store in dir, which may hold a data folder an earlier run
// prepared (a benchmark's data set), instead of in a new temporary folder.
// The folder is left in place.
func Data(dir string) Option { return func(o *options) { o.dir = dir } }

// Limits sets what the transfer endpoints hold before a signature is
// checked (default: transport.DefaultLimits).
func Limits(l transport.Limits) Option { return func(o *options) { o.limits = l } }

// Retain sets how retention runs (default: retention.DefaultSettings).
func Retain(r retention.Settings) Option { return func(o *options) { o.retain = r } }

// Postgres builds the set on the PostgreSQL database at dsn (an empty one,
// from pgtest.NewDatabase) instead of a SQLite file: for what only
// concurrent writers show.
func Postgres(dsn string) Option { return func(o *options) { o.postgres = dsn } }

// Log sends the services' log to l (default: discarded).
func Log(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// New builds the production service set on a new SQLite file in a
// temporary folder of t, with the given options, and closes it when the
// test ends.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	o := options{now: func() time.Time { return time.Now().UTC() }, sandbox: sandbox.Off,
		log: slog.New(slog.NewTextHandler(io.Discard, nil)), limits: transport.DefaultLimits}
	for _, opt := range opts {
		opt(&o)
	}
	dir := o.dir
	if dir == "" {
		dir = t.TempDir()
	}
	ctx := domain.WithActor(context.Background(), domain.System)
	box, err := secrets.LoadOrCreateKey(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	var st *sqlstore.DB
	if o.postgres != "" {
		st, err = sqlstore.OpenPostgres(ctx, o.postgres, box)
	} else {
		st, err = sqlstore.OpenSQLite(ctx, filepath.Join(dir, "ferry.db"), box)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sb, err := sandbox.New(sandbox.Policy{Hide: []string{dir}}, o.sandbox)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	set, err := services.New(st, sb, health{}, services.Config{
		Folders:  packages.FoldersIn(dir),
		Runner:   deploy.RunnerConfig{Node: "test", WorkDir: filepath.Join(dir, "tmp", "work"), CancelPoll: o.cancelPoll},
		Delivery: o.delivery,
		Limits:   o.limits,
		Retain:   o.retain,
		Log:      o.log,
		Now:      o.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(set.Targets.Close) // before the store closes
	if err := set.Targets.EnsureIdentity(ctx); err != nil {
		t.Fatal(err)
	}
	e := &Env{Set: set, Store: st, Dir: dir, Ctx: ctx, t: t, roles: map[string]bool{}}
	if o.runTasks {
		e.Start(set.Runner.Run)
		e.Start(set.Hub.Run)
	}
	if o.deliver {
		e.Start(set.Deliverer.Run)
	}
	return e
}

// Start runs loop (Set.Runner.Run, Set.Deliverer.Run) until stop is
// called or the test ends, whichever comes first; stop waits for it to
// return. Cleanups run last-in first-out, so a loop stops before the
// store closes.
func (e *Env) Start(loop func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- loop(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("loop stopped: %v", err)
			}
		})
	}
	e.t.Cleanup(stop)
	return stop
}

// health is the node of an in-process set.
type health struct{}

func (health) Health(context.Context) any { return map[string]string{"status": "ok"} }

// Progress is the lifecycle progress rule (deploy.Progress) over the
// environment's store, for tests that ask which gates a release opened.
func (e *Env) Progress() *deploy.Progress {
	st := e.Store
	return deploy.NewProgress(st.Deployments(), st.Receipts(), provenance.New(st.RemoteSpaces(), st.Projects(), st.Bundles()))
}

// CreateSpace creates a space (with its identity) as the system.
func (e *Env) CreateSpace(name string) domain.Space {
	e.t.Helper()
	sp, err := e.Set.Catalog.CreateSpace(e.Ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return sp
}

// Apply applies a YAML document (the `ferry apply` format) to space as the
// system.
func (e *Env) Apply(space, yaml string) catalog.ApplyResult {
	e.t.Helper()
	doc, err := config.Parse([]byte(yaml))
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.Set.Catalog.Apply(e.Ctx, space, doc)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

// Release creates a release of a project as the system.
func (e *Env) Release(space, project, version string) domain.Release {
	e.t.Helper()
	rel, err := e.Set.Releases.Create(e.Ctx, space, project, release.CreateRequest{Version: version})
	if err != nil {
		e.t.Fatal(err)
	}
	return rel
}

// Trust makes space know other — another space of the same environment —
// by its certificate, trusted for trust ("releases,receipts,promote", or ""
// for none).
func (e *Env) Trust(space, other, trustFor string) domain.RemoteSpace {
	e.t.Helper()
	_, cert, err := e.Set.Trust.Certificate(e.Ctx, other)
	if err != nil {
		e.t.Fatal(err)
	}
	r, _, err := e.Set.Trust.Add(e.Ctx, space, trust.AddRequest{Name: other, Certificate: string(cert), Trust: trustFor})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// User creates a user (no role anywhere yet) and returns it.
func (e *Env) User(name string, admin bool) domain.User {
	e.t.Helper()
	u, err := e.Set.Auth.CreateUser(e.Ctx, name, admin)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// Grant puts user in a team of space with role, limited to projects and
// environments when given; the team is called "<user>-<role>".
func (e *Env) Grant(space, user, role string, projects, environments []string) {
	e.t.Helper()
	req := access.TeamRequest{Name: user + "-" + role, Role: &role, Members: &[]string{user}}
	if projects != nil {
		req.Projects = &projects
	}
	if environments != nil {
		req.Environments = &environments
	}
	if _, err := e.Set.Teams.Put(e.Ctx, space, req, true); err != nil {
		e.t.Fatal(err)
	}
}

// APIKey issues an API key for the user called name and returns its
// secret, for tests that call the API over HTTP.
func (e *Env) APIKey(name string) string {
	e.t.Helper()
	key, err := e.Set.Auth.NewAPIKey(e.Ctx, name, "test")
	if err != nil {
		e.t.Fatal(err)
	}
	return key
}

// As returns a context acting as the user called name, as a request
// authenticated as that user would.
func (e *Env) As(name string) context.Context {
	e.t.Helper()
	u, err := e.Store.Users().Get(e.Ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return domain.WithActor(context.Background(), domain.Actor{UserID: u.ID, Name: u.Name, IsAdmin: u.IsAdmin})
}

// AsRole returns a context acting as a user whose only role is role in
// space (a user "<role>-<space>", made on first use).
func (e *Env) AsRole(space, role string) context.Context {
	e.t.Helper()
	name := role + "-" + space
	e.mu.Lock()
	made := e.roles[name]
	e.roles[name] = true
	e.mu.Unlock()
	if !made {
		e.User(name, false)
		e.Grant(space, name, role, nil, nil)
	}
	return e.As(name)
}
