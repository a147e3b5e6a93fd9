// Package agent is ferry's agent: the program (`ferry agent run`, the same
// binary as the server) that runs deployment steps on a target machine
// for the server that trusts it, and only for that server. It listens for
// the server (listening mode) or dials it and holds the connection
// (polling mode); either way it serves the agentproto protocol over pinned
// TLS, runs steps with internal/step in a sandbox that hides its own data
// folder and key, and keeps a chunk cache so that each package version
// costs only the chunks it lacks (docs/agents.md).
package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/ferrydeploy/ferry/internal/agentproto"
	"github.com/ferrydeploy/ferry/internal/packages"
	"github.com/ferrydeploy/ferry/internal/sandbox"
	"github.com/ferrydeploy/ferry/internal/step"
)

// Config is how an agent runs.
type Config struct {
	Data string // its data folder, with the identity `ferry agent init` made
	// Listen is the address a listening agent listens on; Poll the
	// server's agent listener (https://HOST:PORT) a polling agent dials.
	// Exactly one is set.
	Listen string
	Poll   string
	// Trust lists the server fingerprints the agent accepts (--trust).
	Trust []string
	// Sandbox says how steps run (sandbox.Isolate by default); Hide lists
	// more paths steps must not reach, besides the data folder.
	Sandbox sandbox.Mode
	Hide    []string
	// Timeout bounds a step the server gave no timeout (0: one hour).
	Timeout time.Duration
	Log     *slog.Logger
}

// Run runs the agent until ctx ends; then the steps it runs are stopped.
func Run(ctx context.Context, cfg Config) error {
	if (cfg.Listen == "") == (cfg.Poll == "") {
		return errors.New("give either --listen ADDR (a listening agent) or --poll https://SERVER:PORT (a polling agent)")
	}
	data, err := filepath.Abs(cfg.Data)
	if err != nil {
		return err
	}
	h, sb, err := newHandler(ctx, data, cfg)
	if err != nil {
		return err
	}
	defer sb.Close()
	if cfg.Listen != "" {
		return h.listen(ctx, cfg.Listen)
	}
	return h.poll(ctx, cfg.Poll)
}

// newHandler loads the agent's identity, trust and chunk cache, and
// builds the sandbox its steps run in.
func newHandler(ctx context.Context, data string, cfg Config) (*handler, *sandbox.Sandbox, error) {
	id, err := loadIdentity(data)
	if err != nil {
		return nil, nil, err
	}
	trusted, err := loadTrust(data, cfg.Trust)
	if err != nil {
		return nil, nil, err
	}
	chunks, err := packages.OpenChunks(filepath.Join(data, chunksDir), "")
	if err != nil {
		return nil, nil, err
	}
	work := filepath.Join(data, workDir)
	step.StopLeftovers(work, cfg.Log)
	if err := os.RemoveAll(work); err != nil {
		return nil, nil, fmt.Errorf("clean the agent's work folder: %w", err)
	}
	sb, status, err := newSandbox(ctx, data, cfg)
	if err != nil {
		return nil, nil, err
	}
	host, _ := os.Hostname()
	return &handler{id: id, trust: trusted, steps: step.NewRunner(sb, "agent", cfg.Timeout), chunks: chunks,
		work: work, sandbox: status, log: cfg.Log, host: host}, sb, nil
}

// newSandbox hides the data folder (key, chunk cache, trust) and cfg.Hide
// from steps, and says whether this host can isolate them.
func newSandbox(ctx context.Context, data string, cfg Config) (*sandbox.Sandbox, string, error) {
	sb, err := sandbox.New(sandbox.Policy{Hide: append([]string{data}, cfg.Hide...)}, cfg.Sandbox)
	if err != nil {
		return nil, "", fmt.Errorf("what steps must not reach (--sandbox-hide): %w", err)
	}
	if sb.Mode() == sandbox.Off {
		cfg.Log.Warn("steps run WITHOUT isolation (--sandbox off): a step can read this agent's key")
		return sb, string(sandbox.Off), nil
	}
	if err := sb.Check(ctx); err != nil {
		cfg.Log.Error("steps cannot run isolated on this host; every step will fail until this is fixed", "err", err)
		return sb, "unavailable: " + err.Error(), nil
	}
	return sb, string(sandbox.Isolate), nil
}

func (h *handler) identity() agentproto.Identity { return h.id }

// listen serves the server that dials this agent, on addr, until ctx ends.
func (h *handler) listen(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           h.checkPeer(h.routes()),
		TLSConfig:         agentproto.AcceptTLS(h.identity, "h2"),
		ReadHeaderTimeout: 30 * time.Second,
		// The server redials an agent whose connection went idle; nobody
		// else keeps one open.
		IdleTimeout: 2 * time.Minute,
		BaseContext: func(net.Listener) context.Context { return ctx },
		ErrorLog:    slog.NewLogLogger(h.log.Handler(), slog.LevelDebug),
	}
	h.log.Info("ferry agent listening", "url", "https://"+ln.Addr().String(), "fingerprint", h.id.Fingerprint, "trusted", h.trust.list(), "sandbox", h.sandbox)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(tls.NewListener(ln, srv.TLSConfig)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(shut)
	h.log.Info("stopped")
	return nil
}
