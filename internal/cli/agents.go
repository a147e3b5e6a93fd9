package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/agent"
	"github.com/ferrydeploy/ferry/internal/sandbox"
)

func (a *app) agentCommand() *cobra.Command {
	cmd := group("agent", "Run ferry's agent on a machine the server deploys to",
		a.agentInit(), a.agentRun(), a.agentRegister())
	cmd.Long = `The agent runs deployment steps on a machine (a deployment target) for the one
server that trusts it, and only for that server. The same ferry binary is the
agent. Each side knows the other by the SHA-256 fingerprint of its certificate:

  1. On the machine:    ferry agent init --data /var/lib/ferry-agent
                        (prints the agent's fingerprint)
  2. On the server:     ferry target trust-info
                        (prints the server's agent fingerprint and listener)
  3. On the machine, one of:
       listening (the server dials the agent; the machine accepts a connection):
         ferry agent run --data DIR --listen 0.0.0.0:10933 --trust SERVER_FP
       polling (the agent dials the server; nothing connects to the machine):
         ferry agent run --data DIR --poll https://SERVER:10943 --trust SERVER_FP
  4. Register it:       ferry target add NAME --env E --role R --thumbprint AGENT_FP
                          (--url https://MACHINE:10933 | --polling)
                        or from the machine: ferry agent register --data DIR ...

Steps run in a sandbox that hides the agent's data folder and key from them.
See docs/agents.md (modes, trust, firewalls, a systemd unit).`
	return cmd
}

func agentData(f *cobra.Command, data *string) {
	f.Flags().StringVar(data, "data", envOr("FERRY_AGENT_DATA", "ferry-agent"), "the agent's data folder: its key, certificate and chunk cache (env FERRY_AGENT_DATA)")
}

func (a *app) agentInit() *cobra.Command {
	var data string
	cmd := &cobra.Command{
		Use:   "init --data DIR",
		Short: "Create the agent's key and certificate, and print its fingerprint",
		Long: `Create the agent's identity in its data folder: an ECDSA P-256 key
(agent-key.pem, mode 0600) and a self-signed certificate (agent-cert.pem). It
prints the certificate's SHA-256 fingerprint, which the server registers as the
target's thumbprint. Run again, it prints the fingerprint it has.`,
		Example: `  ferry agent init --data /var/lib/ferry-agent
  ferry agent init --data /var/lib/ferry-agent -o json    # {"fingerprint": "..."}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fp, created, err := agent.Init(data, time.Now())
			if err != nil {
				return err
			}
			return a.render(struct {
				Fingerprint string `json:"fingerprint"`
			}{fp}, func(w io.Writer) {
				if created {
					fmt.Fprintf(w, "Created the agent's identity in %s\n", data)
				} else {
					fmt.Fprintf(w, "The agent in %s has its identity already\n", data)
				}
				fmt.Fprintf(w, "  SHA-256 fingerprint: %s\nRegister it on the server with --thumbprint %s\n", fp, fp)
			})
		},
	}
	agentData(cmd, &data)
	return cmd
}

func (a *app) agentRun() *cobra.Command {
	cfg := agent.Config{}
	var logLevel, sandboxMode string
	cmd := &cobra.Command{
		Use:   "run --data DIR (--listen ADDR | --poll https://SERVER:PORT) --trust SERVER_FP",
		Short: "Run the agent: serve the server that trusts it, until stopped",
		Long: `Run the agent in the foreground until SIGTERM or Ctrl-C (steps running then
are stopped).

Listening (--listen ADDR): the agent is a TLS server; it serves only a server
whose certificate has a trusted fingerprint, and answers any other with a
refusal naming both fingerprints. The server must reach ADDR.

Polling (--poll https://SERVER:PORT, the server's --agent-listen): the agent
dials the server, presents its certificate, and holds one connection over which
the server sends steps; nothing connects to the machine. When the connection
drops or the server refuses the agent (not registered yet, disabled), it dials
again by itself, waiting 1 s and doubling up to 10 s.

--trust (repeatable; env FERRY_AGENT_TRUST, comma-separated) gives the server
fingerprints to accept: 'ferry target trust-info' on the server prints it. While
the server rotates its identity, a trusted server tells its agents the next
one; the agent keeps it in DATA/trusted-servers.json.`,
		Example: `  ferry agent run --data /var/lib/ferry-agent --listen 0.0.0.0:10933 --trust 3A:0E:...
  ferry agent run --data /var/lib/ferry-agent --poll https://ferry.example.com:10943 --trust 3A:0E:...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return usagef("--log-level: %v", err)
			}
			opts := &slog.HandlerOptions{Level: level}
			var h slog.Handler = slog.NewTextHandler(a.rawStderr, opts)
			if a.jsonOutput() {
				h = slog.NewJSONHandler(a.rawStderr, opts)
			}
			cfg.Log = slog.New(h)
			mode, err := sandbox.ParseMode(sandboxMode)
			if err != nil {
				return usagef("%v", err)
			}
			cfg.Sandbox = mode
			if len(cfg.Trust) == 0 && os.Getenv("FERRY_AGENT_TRUST") != "" {
				cfg.Trust = strings.Split(os.Getenv("FERRY_AGENT_TRUST"), ",")
			}
			return agent.Run(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	agentData(cmd, &cfg.Data)
	f.StringVar(&cfg.Listen, "listen", "", "listen for the server on this address (a listening agent)")
	f.StringVar(&cfg.Poll, "poll", "", "dial the server's agent listener, https://HOST:PORT (a polling agent)")
	f.StringArrayVar(&cfg.Trust, "trust", nil, "a server fingerprint to accept (repeatable; env FERRY_AGENT_TRUST)")
	f.StringVar(&logLevel, "log-level", envOr("FERRY_LOG_LEVEL", "info"), "log level: debug, info, warn, error (-o json logs JSON)")
	f.StringVar(&sandboxMode, "sandbox", envOr("FERRY_SANDBOX", "namespaces"), "how steps run: namespaces (isolated from the agent's data folder) or off")
	f.StringArrayVar(&cfg.Hide, "sandbox-hide", filepath.SplitList(os.Getenv("FERRY_SANDBOX_HIDE")), "another file or folder steps must not reach (repeatable)")
	f.DurationVar(&cfg.Timeout, "step-timeout", 0, "how long a step the server gave no timeout may run (default 1h)")
	return cmd
}

func (a *app) agentRegister() *cobra.Command {
	var data, name, url string
	var envs, roles []string
	var polling bool
	cmd := show(a, &cobra.Command{
		Use:   "register --data DIR --name NAME --env ENV... --role ROLE... (--polling | --url URL)",
		Short: "Register this agent as a target of a space (as Tentacle's register-with)",
		Long: `Register the agent whose data folder is DIR as a deployment target, with its
own fingerprint: the same as 'ferry target add' on the server, run from the
machine. Give the server with --server, an API key allowed to administer the
space with --api-key, and the space with --space.`,
		Example: `  ferry agent register --data /var/lib/ferry-agent --server https://ferry.example.com --api-key KEY \
      --space Default --name web-1 --env Production --role web --polling`,
		Args: cobra.NoArgs,
	}, func(x call) (api.AddedTarget, error) {
		fp, err := agent.Fingerprint(data)
		if err != nil {
			return api.AddedTarget{}, err
		}
		if name == "" {
			return api.AddedTarget{}, usagef("name the target with --name")
		}
		return x.AddTarget(x, x.space, api.AddTargetRequest{Name: name, Environments: envs, Roles: roles, URL: url, Polling: polling, Thumbprint: fp})
	}, printAddedTarget)
	agentData(cmd, &data)
	targetFlags(cmd, &url, &envs, &roles, &polling)
	cmd.Flags().StringVar(&name, "name", "", "the target's name (a machine name scripts see as #{Ferry.Machine.Name})")
	return cmd
}

// targetFlags are the flags of a target's registration.
func targetFlags(cmd *cobra.Command, url *string, envs, roles *[]string, polling *bool) {
	f := cmd.Flags()
	f.StringArrayVar(envs, "env", nil, "an environment the target serves (repeatable)")
	f.StringArrayVar(roles, "role", nil, "a role steps choose it by (repeatable)")
	f.StringVar(url, "url", "", "where a listening agent listens: https://HOST:PORT")
	f.BoolVar(polling, "polling", false, "a polling agent: it dials the server (no --url)")
}

func printAddedTarget(w io.Writer, res api.AddedTarget) {
	t := res.Target
	if res.Created {
		fmt.Fprintf(w, "Added target %q (%s) to %s with role %s\n", t.Name, t.Mode, strings.Join(t.Environments, ", "), strings.Join(t.Roles, ", "))
	} else {
		fmt.Fprintf(w, "Target %q is registered alike already; nothing changed\n", t.Name)
	}
	fmt.Fprintf(w, "  thumbprint: %s\nIt is checked now; see 'ferry target check %s'.\n", t.Thumbprint, t.Name)
}
