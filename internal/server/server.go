// Package server wires ferry's subsystems together and runs them: the store,
// the services, the HTTP API and the task runner. main builds a Config and
// calls Run; nothing here is global.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ferrydeploy/ferry/internal/api"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/outbox"
	"github.com/ferrydeploy/ferry/internal/secrets"
	"github.com/ferrydeploy/ferry/internal/services"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/store/sqlstore"
	"github.com/ferrydeploy/ferry/internal/web"
)

// Config is everything a server needs to start.
type Config struct {
	DataDir     string // holds the SQLite file, master key, admin key, work folders
	Listen      string // host:port; port 0 picks a free one
	DatabaseURL string // empty: embedded SQLite in DataDir
	// AdminPassword, if set, becomes the first administrator's sign-in
	// password on first start (FERRY_ADMIN_PASSWORD).
	AdminPassword string
	Node          string // this node's name; defaults to the host name
	Log           *slog.Logger
	// TLS, when set, serves HTTPS; Delivery times the delivery of what
	// this server's spaces send to connected spaces (see connected.go).
	TLS      TLSConfig
	Delivery outbox.Settings
	// Ready, if set, receives the address the server listens on.
	Ready func(addr string)
}

// Files in the data folder.
const (
	masterKeyFile = "master.key"
	adminKeyFile  = "admin.key"
	sqliteFile    = "ferry.db"
)

// Run starts the server and blocks until ctx ends, then shuts down cleanly:
// it stops accepting requests, lets running requests finish, cancels
// running tasks (recording them as cancelled) and closes the store.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Log
	if cfg.Node == "" {
		cfg.Node, _ = os.Hostname()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data folder: %w", err)
	}
	box, err := secrets.LoadOrCreateKey(filepath.Join(cfg.DataDir, masterKeyFile))
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, box)
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
	runner := deploy.NewRunner(deploy.Runner{
		Store:   st,
		Log:     log.With("component", "runner"),
		Node:    cfg.Node,
		WorkDir: filepath.Join(cfg.DataDir, "work"),
		Now:     now,
	})
	svc, err := services.New(st, cfg.DataDir, now, runner)
	if err != nil {
		return err
	}
	svc.Health = nd.health
	deliverer, err := connectSpaces(cfg, st, &svc, svc.Receipts, log, now)
	if err != nil {
		return err
	}
	// Nodes starting together on an empty store must not both create it.
	if err := nd.withLock(ctx, bootstrapLock, func() error { return bootstrap(ctx, cfg, svc, log) }); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	addr := ln.Addr().String()
	ln, scheme, err := serveTLS(cfg, ln, log)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler(svc, log),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("ferry server started", "url", scheme+"://"+addr, "data", cfg.DataDir, "store", st.Kind(), "node", cfg.Node)
	if cfg.Ready != nil {
		cfg.Ready(addr)
	}

	runCtx, stopRunner := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	var runErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := runner.Run(runCtx); err != nil {
			runErr = err
			log.Error("task runner stopped", "err", err)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		nd.run(runCtx, runner.Wake)
	}()
	wg.Go(func() { nd.exclusive(runCtx, deliveryLock, deliverer.Run) })
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

// handler serves the JSON API under /api/ and the web pages everywhere
// else; both call the same services.
func handler(svc api.Services, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", api.Handler(svc, log.With("component", "api")))
	mux.Handle("/", web.New(svc, log.With("component", "web")))
	return mux
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
	return svc.Trust.EnsureIdentities(ctx)
}
