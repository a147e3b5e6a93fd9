// Package server wires ferry's subsystems together and runs them: the store,
// the services, the HTTP API and the task runner. main builds a Config and
// calls Run; nothing here is global.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	wire "github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/api"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/outbox"
	"github.com/ferrydeploy/ferry/internal/packages"
	"github.com/ferrydeploy/ferry/internal/sandbox"
	"github.com/ferrydeploy/ferry/internal/scratch"
	"github.com/ferrydeploy/ferry/internal/secrets"
	"github.com/ferrydeploy/ferry/internal/services"
	"github.com/ferrydeploy/ferry/internal/step"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/store/sqlstore"
	"github.com/ferrydeploy/ferry/internal/transport"
	"github.com/ferrydeploy/ferry/internal/trigger"
	"github.com/ferrydeploy/ferry/internal/web"
)

// Config is everything a server needs to start.
type Config struct {
	DataDir string // holds the SQLite file, master key, admin key, temporary files; made absolute at start
	Listen  string // host:port; port 0 picks a free one
	// AgentListen is where polling agents connect (mutually authenticated
	// TLS); "" accepts none. AgentListenDefault says it is the default
	// rather than chosen: then an address in use (a second server on one
	// host) leaves the server without a listener, with a warning, instead
	// of stopping it.
	AgentListen        string
	AgentListenDefault bool
	DatabaseURL        string // empty: embedded SQLite in DataDir
	// AdminPassword, if set, becomes the first administrator's sign-in
	// password on first start (FERRY_ADMIN_PASSWORD).
	AdminPassword string
	Node          string // this node's name; defaults to the host name
	Log           *slog.Logger
	// TLS, when set, serves HTTPS; Delivery times the delivery of what
	// this server's spaces send to connected spaces (see connected.go).
	TLS      TLSConfig
	Delivery outbox.Settings
	// Sandbox says how steps run: sandbox.Isolate (the default) hides the
	// data folder and key files from them; sandbox.Off does not, for hosts
	// without namespaces whose operator accepts that.
	Sandbox sandbox.Mode
	// Hide lists more files and folders steps must not reach, besides the
	// data folder, the TLS files and the database client's credentials.
	Hide []string
	// Ready, if set, receives the address the server listens on.
	Ready func(addr string)
}

// Files and folders in the data folder.
const (
	masterKeyFile = "master.key"
	adminKeyFile  = "admin.key"
	sqliteFile    = "ferry.db"
	chunksDir     = "chunks"
	tmpDir        = "tmp"  // DATA/tmp and DATA/chunks/tmp hold one claimed folder per server process
	legacyWorkDir = "work" // where versions before scratch claims ran steps
)

// Run starts the server and blocks until ctx ends, then shuts down cleanly:
// it stops accepting requests, lets running requests finish, cancels
// running tasks (recording them as cancelled) and closes the store.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Log
	if cfg.Node == "" {
		cfg.Node, _ = os.Hostname()
	}
	if err := absolutePaths(&cfg); err != nil {
		return err
	}
	st, err := openData(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	now := func() time.Time { return time.Now().UTC() }
	nd, err := joinCluster(ctx, cfg.Node, st, log.With("component", "node"), now)
	if err != nil {
		return err
	}
	defer nd.leave()
	claim, err := claimScratch(cfg, nd.others, log)
	if err != nil {
		return err
	}
	defer claim.Close()
	sb, status, err := newSandbox(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer sb.Close()
	nd.sandbox = status
	agents, err := agentListener(&cfg, log)
	if err != nil {
		return err
	}
	if agents != nil {
		defer agents.Close()
	}
	svc, err := newServices(cfg, st, sb, nd, claim, now)
	if err != nil {
		return err
	}
	defer svc.Targets.Close() // its background checks end before the store closes
	// Nodes starting together on an empty store must not both create it.
	if err := nd.withLock(ctx, bootstrapLock, func() error { return bootstrap(ctx, cfg, svc, log) }); err != nil {
		return err
	}
	logAgentTrust(ctx, svc, cfg, log)
	if err := svc.Hub.Recover(ctx); err != nil {
		return err
	}

	ln, addr, scheme, err := listen(cfg, log)
	if err != nil {
		return err
	}
	bodyTimeout, err := durationEnv(bodyTimeoutEnv, transport.DefaultLimits.Idle)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: bodyDeadline(handler(svc, newObservability(st, svc.Auth, log.With("component", "metrics")), log), bodyTimeout),
		// Bodies have their own pace once the caller is known (see
		// bodyDeadline): a package may take minutes.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		HTTP2:             receiveWindows,
	}
	log.Info("ferry server started", "url", scheme+"://"+addr, "data", cfg.DataDir, "store", st.Kind(), "node", cfg.Node)
	if cfg.Ready != nil {
		cfg.Ready(addr)
	}
	return serve(ctx, srv, ln, agents, svc, nd, log)
}

// agentListener opens the agent listener and sets cfg.AgentListen to its
// address. Nil without an error when none is configured, or when the
// default address is taken (another ferry server on this host): that
// server still starts, warning that polling agents cannot reach it, while
// an address the operator chose must be free.
func agentListener(cfg *Config, log *slog.Logger) (net.Listener, error) {
	agents, err := listenAgents(*cfg)
	if err != nil && cfg.AgentListenDefault && errors.Is(err, syscall.EADDRINUSE) {
		log.Warn("polling agents cannot connect to this server: the default agent address is in use (another ferry server on this host?); set --agent-listen (FERRY_AGENT_LISTEN) to a free address to accept them",
			"address", cfg.AgentListen)
		cfg.AgentListen = ""
		return nil, nil
	}
	if err != nil || agents == nil {
		return nil, err
	}
	cfg.AgentListen = agents.Addr().String()
	return agents, nil
}

// openData makes the data folder and opens the store with the master key
// kept there.
func openData(ctx context.Context, cfg Config) (store.Store, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	box, err := secrets.LoadOrCreateKey(filepath.Join(cfg.DataDir, masterKeyFile))
	if err != nil {
		return nil, err
	}
	return openStore(ctx, cfg, box)
}

// newServices builds the service set of this process: its feed and steps
// keep temporary files in the process's claimed folders.
func newServices(cfg Config, st store.Store, sb *sandbox.Sandbox, nd *node, claim *scratch.Claim, now func() time.Time) (services.Set, error) {
	settings, err := deliverySettings(cfg.Delivery)
	if err != nil {
		return services.Set{}, err
	}
	retain, err := retentionSettings()
	if err != nil {
		return services.Set{}, err
	}
	poll, err := durationEnv(schedulerPollEnv, trigger.DefaultPoll)
	if err != nil {
		return services.Set{}, err
	}
	tmp := claim.Dir(filepath.Join(cfg.DataDir, tmpDir))
	return services.New(st, sb, nd, services.Config{
		SchedulerPoll: poll,
		Folders: packages.Folders{
			Chunks:    filepath.Join(cfg.DataDir, chunksDir),
			ChunkTemp: claim.Dir(filepath.Join(cfg.DataDir, chunksDir, tmpDir)),
			Uploads:   filepath.Join(tmp, "uploads"),
		},
		Runner:      deploy.RunnerConfig{Node: cfg.Node, WorkDir: filepath.Join(tmp, "work")},
		AgentListen: cfg.AgentListen,
		Delivery:    settings,
		Limits:      transport.DefaultLimits,
		Retain:      retain,
		Log:         cfg.Log,
		Now:         now,
	})
}

// listen opens the listening socket, with TLS when cfg asks for it, and
// returns its address and the scheme of the server's URL.
func listen(cfg Config, log *slog.Logger) (net.Listener, string, string, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, "", "", fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	addr := ln.Addr().String()
	max, err := connsPerAddr()
	if err != nil {
		ln.Close()
		return nil, "", "", err
	}
	// Counted before TLS, so a handshake left hanging holds a place too.
	ln = limitPerAddr(ln, max, log)
	ln, scheme, err := serveTLS(cfg, ln, log)
	if err != nil {
		return nil, "", "", err
	}
	return ln, addr, scheme, nil
}

// serve runs the task runner, the node's loops (heartbeat, task
// notifications, the delivery loop and the scheduler on one node at a time) and srv on ln
// until ctx ends or serving fails; then it stops them in order: requests
// first, then tasks, which are recorded as cancelled.
func serve(ctx context.Context, srv *http.Server, ln, agents net.Listener, svc services.Set, nd *node, log *slog.Logger) error {
	runCtx, stopRunner := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	var runErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := svc.Runner.Run(runCtx); err != nil {
			runErr = err
			log.Error("task runner stopped", "err", err)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		nd.run(runCtx, svc.Runner.Wake, svc.Receipts)
	}()
	wg.Go(func() { nd.exclusive(runCtx, deliveryLock, svc.Deliverer.Run) })
	runAgents(runCtx, &wg, agents, svc, nd, log)
	wg.Go(func() { nd.exclusive(runCtx, retentionLock, svc.Retention.Loop) })
	wg.Go(func() { nd.exclusive(runCtx, schedulerLock, svc.Triggers.Run) })
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-serveErr:
		stopRunner()
		wg.Wait()
		return fmt.Errorf("serve: %w", err)
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("http shutdown", "err", err)
	}
	stopRunner()
	wg.Wait()
	log.Info("stopped")
	return runErr
}

// handler serves the JSON API under /api/, the operations endpoints
// (metrics.go) and the web pages everywhere else; the API and the pages
// call the same services.
func handler(svc api.Services, ops *observability, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", api.Handler(svc, log.With("component", "api")))
	ops.routes(mux)
	mux.Handle("/", web.New(svc, log.With("component", "web")))
	return ops.wrap(noRedirectedChanges(mux))
}

// noRedirectedChanges answers 400 to a request that may change something
// (any method but GET and HEAD) whose path is not clean: a "." or ".."
// segment, a doubled slash. The mux would redirect it (307, which keeps
// the method and body) to the cleaned path, another route: a client that
// follows, as Go's and most do, would send DELETE
// /api/spaces/S/projects/P/variables/.. on to DELETE the project P.
func noRedirectedChanges(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.EscapedPath()
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodConnect || cleanPath(p) == p {
			next.ServeHTTP(w, r)
			return
		}
		msg := fmt.Sprintf("the path %q has a \".\" or \"..\" segment or a doubled slash; send it clean (escape a name that is \".\" or \"..\" as %%2E or %%2E%%2E)", p)
		if strings.HasPrefix(p, "/api/") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(wire.ErrorBody{Error: msg, Kind: wire.KindInvalid})
			return
		}
		http.Error(w, msg, http.StatusBadRequest)
	})
}

// cleanPath is p as http.ServeMux cleans it before matching: path.Clean,
// keeping a trailing slash.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// bodyTimeoutEnv is how long a request's body may take to arrive before
// its caller is authenticated (default 30s).
const bodyTimeoutEnv = "FERRY_BODY_TIMEOUT"

// bodyDeadline gives every request d to send its whole body, so that nobody
// unknown can hold connections open by sending a body (or the rest of one
// the handler does not read) a byte at a time. Handlers that know their
// caller lift it (transport.Authenticated, transport.Paced).
func bodyDeadline(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
		next.ServeHTTP(w, r)
	})
}

// openStore opens PostgreSQL when cfg.DatabaseURL is a postgres:// URL, and
// the embedded SQLite file in the data folder when it is empty.
func openStore(ctx context.Context, cfg Config, box *secrets.Box) (store.Store, error) {
	u := cfg.DatabaseURL
	switch {
	case u == "":
		return sqlstore.OpenSQLite(ctx, filepath.Join(cfg.DataDir, sqliteFile), box)
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		st, err := sqlstore.OpenPostgres(ctx, u, box)
		if err != nil {
			return nil, err
		}
		cfg.Log.Info("opened PostgreSQL store", "database", sqlstore.RedactURL(u))
		return st, nil
	default:
		return nil, fmt.Errorf("FERRY_DATABASE_URL must be a postgres:// URL, or unset for the embedded SQLite store")
	}
}

// bootstrap creates what a new server needs: the Default space and the admin
// user whose key is written to the data folder.
func bootstrap(ctx context.Context, cfg Config, svc api.Services, log *slog.Logger) error {
	ctx = domain.WithActor(ctx, domain.System)
	keyFile := filepath.Join(cfg.DataDir, adminKeyFile)
	created, err := svc.Auth.Bootstrap(ctx, keyFile, cfg.AdminPassword)
	if err != nil {
		return fmt.Errorf("create admin user: %w", err)
	}
	if created {
		log.Info("created user admin; its API key is in "+keyFile, "file", keyFile)
	}
	spaces, err := svc.Catalog.Spaces(ctx)
	if err != nil {
		return err
	}
	if len(spaces) == 0 {
		if _, err := svc.Catalog.CreateSpace(ctx, domain.DefaultSpace); err != nil {
			return fmt.Errorf("create space %s: %w", domain.DefaultSpace, err)
		}
		log.Info("created space " + domain.DefaultSpace)
	}
	if err := svc.Trust.EnsureIdentities(ctx); err != nil {
		return err
	}
	return svc.Targets.EnsureIdentity(ctx)
}

// absolutePaths makes every path of cfg absolute, from the folder the
// server starts in, once: nothing later may resolve a relative path from
// another folder (a step's working folder, say).
func absolutePaths(cfg *Config) error {
	paths := []*string{&cfg.DataDir, &cfg.TLS.CertFile, &cfg.TLS.KeyFile}
	for i := range cfg.Hide {
		paths = append(paths, &cfg.Hide[i])
	}
	for _, p := range paths {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return fmt.Errorf("%s: %w", *p, err)
		}
		*p = abs
	}
	if cfg.DataDir == "" {
		return errors.New("no data folder given (--data)")
	}
	return nil
}

// claimScratch claims this process's folders for temporary files: step
// work folders and uploads under DATA/tmp, chunks being written under
// DATA/chunks/tmp. It first removes those of server processes that are
// gone, stopping any script one of them left running; others is the list
// of other nodes alive, whose folders stay.
func claimScratch(cfg Config, others []string, log *slog.Logger) (*scratch.Claim, error) {
	tmp, chunkTmp := filepath.Join(cfg.DataDir, tmpDir), filepath.Join(cfg.DataDir, chunksDir, tmpDir)
	return scratch.New([]string{tmp, chunkTmp}, scratch.Options{
		Node:   cfg.Node,
		Alive:  others,
		Dead:   func(dir string) { step.StopLeftovers(filepath.Join(dir, "work"), log) },
		Legacy: []string{tmp, chunkTmp, filepath.Join(cfg.DataDir, legacyWorkDir)},
		Log:    log.With("component", "scratch"),
	})
}

// newSandbox builds the sandbox steps run in. It hides the data folder,
// the TLS files, the database client's credential files, and cfg.Hide,
// and checks at once whether this host can isolate, so that an operator
// learns it from the start-up log rather than from a failed deployment.
// The status is for /api/health: "namespaces", "off" or "unavailable".
func newSandbox(ctx context.Context, cfg Config, log *slog.Logger) (*sandbox.Sandbox, string, error) {
	hide := append([]string{cfg.DataDir}, existing(secretFiles(cfg))...)
	hide = append(hide, cfg.Hide...)
	sb, err := sandbox.New(sandbox.Policy{Hide: hide}, cfg.Sandbox)
	if err != nil {
		return nil, "", fmt.Errorf("what steps must not reach (--sandbox-hide): %w", err)
	}
	if sb.Mode() == sandbox.Off {
		log.Warn("steps run WITHOUT isolation (--sandbox off): a script can read the data folder and key files, and may outlive a crash of the server")
		return sb, string(sandbox.Off), nil
	}
	if err := sb.Check(ctx); err != nil {
		log.Error("steps cannot run isolated on this host; every step will fail until this is fixed", "err", err)
		return sb, "unavailable", nil
	}
	log.Info("steps run isolated (user, mount and PID namespaces)", "hidden", sb.Hidden())
	return sb, string(sandbox.Isolate), nil
}

// secretFiles are files outside the data folder this server was
// configured with whose contents are secret or identify it: the TLS
// certificate and key, and the PostgreSQL client's password file and key.
func secretFiles(cfg Config) []string {
	files := []string{cfg.TLS.CertFile, cfg.TLS.KeyFile}
	if cfg.DatabaseURL == "" {
		return files
	}
	home, _ := os.UserHomeDir()
	if f := os.Getenv("PGPASSFILE"); f != "" {
		files = append(files, f)
	} else if home != "" {
		files = append(files, filepath.Join(home, ".pgpass"))
	}
	if home != "" {
		files = append(files, filepath.Join(home, ".postgresql", "postgresql.key"))
	}
	files = append(files, os.Getenv("PGSSLKEY"))
	if u, err := url.Parse(cfg.DatabaseURL); err == nil {
		for _, k := range []string{"sslkey", "sslcert", "passfile"} {
			files = append(files, u.Query().Get(k))
		}
	}
	return files
}

// existing keeps the absolute paths that exist.
func existing(paths []string) []string {
	var out []string
	for _, p := range paths {
		if p == "" || !filepath.IsAbs(p) {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// receiveWindows are HTTP/2's flow-control windows for what clients send.
// A stream carries at most a window per round trip, so Go's default of
// 1 MiB held a package transfer from another space to 1 MiB per round
// trip: about 2.6 MB/s over a 200 ms one, slower than the link
// (docs/performance.md, "First package transfer"). 4 MiB a stream and
// 8 MiB a connection allow 20 MB/s at 200 ms; a handler that reads its
// body as it comes (every upload here does) holds far less.
var receiveWindows = &http.HTTP2Config{MaxReceiveBufferPerStream: 4 << 20, MaxReceiveBufferPerConnection: 8 << 20}
