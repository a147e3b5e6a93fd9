package cli

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/internal/sandbox"
	"github.com/ferrydeploy/ferry/internal/server"
)

func (a *app) serverCommand() *cobra.Command {
	cfg := server.Config{}
	var logLevel, logFormat, sandboxMode string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a ferry server",
		Long:  serverHelp,
		Example: `  ferry server
  ferry server --data /var/lib/ferry --listen 0.0.0.0:8080
  ferry server --listen 0.0.0.0:8443 --tls-generate
  ferry server --sandbox-hide /etc/ferry/env --sandbox-hide /srv/secrets`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return err
			}
			opts := &slog.HandlerOptions{Level: level}
			var h slog.Handler = slog.NewTextHandler(a.rawStderr, opts)
			if strings.EqualFold(logFormat, "json") {
				h = slog.NewJSONHandler(a.rawStderr, opts)
			}
			cfg.Log = slog.New(h)
			cfg.AgentListenDefault = !cmd.Flags().Changed("agent-listen") && os.Getenv("FERRY_AGENT_LISTEN") == ""
			mode, err := sandbox.ParseMode(sandboxMode)
			if err != nil {
				return err
			}
			cfg.Sandbox = mode
			return server.Run(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data", envOr("FERRY_DATA", "ferry-data"), "data folder (env FERRY_DATA)")
	f.StringVar(&cfg.Listen, "listen", envOr("FERRY_LISTEN", "127.0.0.1:8080"), "address to listen on (env FERRY_LISTEN)")
	f.StringVar(&cfg.AgentListen, "agent-listen", envOr("FERRY_AGENT_LISTEN", "127.0.0.1:10943"),
		"address polling agents connect to, mutual TLS (env FERRY_AGENT_LISTEN; empty: accept none)")
	f.StringVar(&cfg.Node, "node", os.Getenv("FERRY_NODE"), "this node's name (env FERRY_NODE; default: host name)")
	f.StringVar(&logLevel, "log-level", envOr("FERRY_LOG_LEVEL", "info"), "log level: debug, info, warn, error")
	f.StringVar(&logFormat, "log-format", envOr("FERRY_LOG_FORMAT", "text"), "log format: text or json")
	f.StringVar(&cfg.TLS.CertFile, "tls-cert", os.Getenv("FERRY_TLS_CERT"), "serve HTTPS with this certificate (PEM; env FERRY_TLS_CERT)")
	f.StringVar(&cfg.TLS.KeyFile, "tls-key", os.Getenv("FERRY_TLS_KEY"), "the certificate's private key (PEM; env FERRY_TLS_KEY)")
	f.BoolVar(&cfg.TLS.Generate, "tls-generate", os.Getenv("FERRY_TLS_GENERATE") == "true",
		"serve HTTPS with a self-signed certificate made once in DATA; logs its fingerprint (env FERRY_TLS_GENERATE=true)")
	f.StringVar(&sandboxMode, "sandbox", envOr("FERRY_SANDBOX", "namespaces"),
		"how steps run: namespaces (isolated from the data folder and keys) or off (not isolated; env FERRY_SANDBOX)")
	f.StringArrayVar(&cfg.Hide, "sandbox-hide", filepath.SplitList(os.Getenv("FERRY_SANDBOX_HIDE")),
		"another file or folder steps must not reach, such as a file of secrets this server's environment is loaded from (repeatable; env FERRY_SANDBOX_HIDE, ':'-separated)")
	cfg.DatabaseURL = os.Getenv("FERRY_DATABASE_URL")
	cfg.AdminPassword = os.Getenv("FERRY_ADMIN_PASSWORD")
	return cmd
}

const serverHelp = `Run a ferry server in the foreground.

The first start creates the store (embedded SQLite in the data folder), a master
key that encrypts secrets at rest (DATA/master.key, mode 0600), the space
"Default", and the user "admin", whose API key is written to DATA/admin.key
(mode 0600). Stop it with Ctrl-C or SIGTERM: running tasks are cancelled and
recorded, and a restart keeps everything.

With FERRY_DATABASE_URL=postgres://... the server uses PostgreSQL instead, and
several nodes (each with its own --node name, all sharing one --data folder for
the master key) can serve one database; see docs/operations.md. Node timing:
FERRY_HEARTBEAT_INTERVAL (default 10s) and FERRY_NODE_TIMEOUT (default 3x).

HTTPS: --tls-cert and --tls-key serve a certificate you have; --tls-generate
makes a self-signed one once (DATA/tls-cert.pem, key DATA/tls-key.pem mode
0600) and logs its SHA-256 fingerprint, which the servers that send to this
one pin with 'ferry remote-space add|update NAME --tls-fingerprint FP'.

Connected spaces: what this server's spaces promote, and the receipts they
send back, go through an outbox delivered by a background loop (one node at
a time). Timing: FERRY_DELIVERY_POLL (default 2s) between looks for due
items, FERRY_DELIVERY_RETRY_MIN (1s) doubling up to FERRY_DELIVERY_RETRY_MAX
(5m) between retries while a remote server cannot be reached, with jitter,
and FERRY_DELIVERY_TIMEOUT (5m) for one delivery.

Limits before authentication: a request's body must arrive within
FERRY_BODY_TIMEOUT (default 30s) until its caller is known (an API key, a
session, an admitted transfer); then it may take longer, but never stall for
more than 30s. One remote address may hold at most FERRY_MAX_CONNS_PER_ADDR
(default 256) connections at once; behind a reverse proxy every client shares
the proxy's address: raise it, or bound connections at the proxy and set 0.

Deployment targets: agents pin this server by its agent identity, made on
first start and kept (sealed) in the store; its fingerprint is logged at
start-up and printed by 'ferry target trust-info'. Polling agents connect to
--agent-listen (default 127.0.0.1:10943; 0.0.0.0:10943 to accept them from
other machines). A second server on one host finds the default taken: it
starts without the listener and says so; give each its own --agent-listen to
accept polling agents on both. See docs/agents.md.

Script isolation: every step runs in new user, mount and PID namespaces where
the data folder, the TLS files, the database client's credential files and
every --sandbox-hide path are invisible (by any path), and /proc shows only
the step's own processes; a step and everything it started end with it, and
with the server. The start-up log says whether this host can isolate; if it
cannot, steps fail, saying why and how to enable it. --sandbox off runs steps
without isolation (they can then read the data folder and keys): only for
hosts without namespaces, knowingly. See docs/operations.md.`
