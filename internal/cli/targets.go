package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/api"
)

func (a *app) targetCommand() *cobra.Command {
	cmd := group("target", "Manage deployment targets: the machines a space deploys to",
		a.targetAdd(), a.targetList(), a.targetShow(), a.targetCheck(),
		a.targetSetDisabled(true), a.targetSetDisabled(false), a.targetDelete(), a.targetTrustInfo(), a.targetRotate())
	cmd.Long = `A deployment target is a machine running 'ferry agent run', known by the SHA-256
fingerprint of its certificate (its thumbprint), in some environments, with roles.
Steps with 'roles: [web]' run on every enabled target of the deployment's
environment that has one of them; steps without roles run on the server.

Targets are checked when added or enabled and every 30 s: Healthy, Unhealthy
(it answered, but its certificate or sandbox is wrong), Offline (no answer, or
a polling agent not connected) or Unknown (not checked yet).`
	return cmd
}

func (a *app) targetAdd() *cobra.Command {
	var url, thumbprint string
	var envs, roles []string
	var polling bool
	cmd := show(a, &cobra.Command{
		Use:   "add NAME --env ENV... --role ROLE... --thumbprint FP (--url https://HOST:PORT | --polling)",
		Short: "Register a target by its agent's fingerprint (without contacting it)",
		Long: `Register a deployment target. The thumbprint is what 'ferry agent init' printed on
the machine; compare it over a channel you trust. A listening agent is reached at
--url; a polling agent dials this server (--polling). The target is recorded
without contacting it, then checked in the background ('ferry target check').
The name is the machine's name steps see (#{Ferry.Machine.Name}): letters,
digits and . _ -.`,
		Example: `  ferry target add web-1 --env Production --role web --url https://10.0.1.5:10933 --thumbprint 9F:...
  ferry target add db-1 --env Production --role db --polling --thumbprint 4C:...`,
		Args: cobra.ExactArgs(1),
	}, func(x call) (api.AddedTarget, error) {
		return x.AddTarget(x, x.space, api.AddTargetRequest{Name: x.args[0], Environments: envs, Roles: roles, URL: url, Polling: polling, Thumbprint: thumbprint})
	}, printAddedTarget)
	targetFlags(cmd, &url, &envs, &roles, &polling)
	cmd.Flags().StringVar(&thumbprint, "thumbprint", "", "the SHA-256 fingerprint of the agent's certificate (`ferry agent init` prints it)")
	return cmd
}

func (a *app) targetList() *cobra.Command {
	return show(a, &cobra.Command{Use: "list", Short: "List targets: environments, roles, mode, health, last seen, agent version", Args: cobra.NoArgs,
		Example: `  ferry target list
  ferry target list -o json | jq -r '.[] | select(.health != "Healthy") | .name'`},
		func(x call) ([]api.Target, error) { return x.ListTargets(x, x.space) },
		rows("NAME\tENVIRONMENTS\tROLES\tMODE\tHEALTH\tLAST SEEN\tAGENT", func(t api.Target) []string {
			health := t.Health
			if t.Disabled {
				health = "disabled"
			}
			return []string{t.Name, strings.Join(t.Environments, ","), strings.Join(t.Roles, ","), t.Mode, health, seen(t.LastSeen), dash(t.AgentVersion)}
		}))
}

// seen says when a target was last seen, for people.
func seen(at *time.Time) string {
	if at == nil {
		return "never"
	}
	return at.Local().Format("2006-01-02 15:04:05")
}

func printTarget(w io.Writer, t api.Target) {
	fmt.Fprintf(w, "Target %s (%s)\n", t.Name, t.Mode)
	fmt.Fprintf(w, "  environments: %s\n  roles:        %s\n", strings.Join(t.Environments, ", "), strings.Join(t.Roles, ", "))
	if t.URL != "" {
		fmt.Fprintf(w, "  url:          %s\n", t.URL)
	}
	fmt.Fprintf(w, "  thumbprint:   %s\n", t.Thumbprint)
	health := t.Health
	if t.Disabled {
		health += " (disabled)"
	}
	fmt.Fprintf(w, "  health:       %s\n", health)
	if t.HealthReason != "" {
		fmt.Fprintf(w, "                %s\n", t.HealthReason)
	}
	if t.CheckedAt != nil {
		fmt.Fprintf(w, "  checked:      %s\n", seen(t.CheckedAt))
	}
	fmt.Fprintf(w, "  last seen:    %s\n  agent:        %s\n", seen(t.LastSeen), dash(t.AgentVersion))
	if t.Node != "" {
		fmt.Fprintf(w, "  connected to: server node %s\n", t.Node)
	}
}

func (a *app) targetShow() *cobra.Command {
	return show(a, &cobra.Command{Use: "show NAME", Short: "Show a target: how it is reached, its health and why, when its agent was last seen",
		Long: `Show a target as the server last found it: its environments and roles, its mode
(listening: the server dials its url; polling: its agent dials the server),
the thumbprint its agent's certificate must have, its health with the reason
(what to do when it is not Healthy), when it was checked and its agent last
seen, the agent's version, and for a polling agent the server node it is
connected to. It contacts nothing: 'ferry target check NAME' checks it now.`,
		Args: cobra.ExactArgs(1),
		Example: `  ferry target show web-1
  ferry target show web-1 -o json`},
		func(x call) (api.Target, error) { return x.GetTarget(x, x.space, x.args[0]) }, printTarget)
}

func (a *app) targetCheck() *cobra.Command {
	return do(a, &cobra.Command{
		Use:   "check NAME",
		Short: "Check a target's health now; exits non-zero unless it is Healthy, saying why",
		Example: `  ferry target check web-1
  ferry target check web-1 -o json`,
		Args: cobra.ExactArgs(1),
	}, func(x call) error {
		c, err := x.CheckTarget(x, x.space, x.args[0])
		if err != nil {
			return err
		}
		if err := a.render(c, func(w io.Writer) { printTarget(w, c.Target) }); err != nil {
			return err
		}
		if !c.Healthy {
			why := c.Target.HealthReason
			if why == "" {
				why = "not checked"
			}
			return failed("", "target %s is %s: %s", c.Target.Name, c.Target.Health, why)
		}
		return nil
	})
}

func (a *app) targetSetDisabled(disable bool) *cobra.Command {
	use, short, verb := "enable NAME", "Enable a target again (it is checked at once)", "Enabled"
	example := "  ferry target enable web-1\n  ferry target enable web-1 -o json"
	if disable {
		use, short, verb = "disable NAME", "Disable a target: steps no longer choose it, and its agent is refused", "Disabled"
		example = "  ferry target disable web-1\n  ferry target disable web-1 -o json"
	}
	return show(a, &cobra.Command{Use: use, Short: short, Example: example, Args: cobra.ExactArgs(1)},
		func(x call) (api.Target, error) {
			if disable {
				return x.DisableTarget(x, x.space, x.args[0])
			}
			return x.EnableTarget(x, x.space, x.args[0])
		}, line(verb+" target %s", func(t api.Target) []any { return []any{t.Name} }))
}

func (a *app) targetDelete() *cobra.Command {
	return show(a, &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a target: its agent runs none of this space's steps from then on",
		Example: `  ferry target delete web-1
  ferry target delete web-1 -o json`,
		Args: cobra.ExactArgs(1),
	}, func(x call) (api.Target, error) { return x.DeleteTarget(x, x.space, x.args[0]) },
		line("Deleted target %s (thumbprint %s)", func(t api.Target) []any { return []any{t.Name, t.Thumbprint} }))
}

func (a *app) targetTrustInfo() *cobra.Command {
	return show(a, &cobra.Command{
		Use:   "trust-info",
		Short: "Print the fingerprint agents trust this server by, and where polling agents connect",
		Long: `Print the SHA-256 fingerprint of this server's agent identity, which every agent
pins ('ferry agent run --trust FP'), and the address polling agents dial (the
server's --agent-listen). With -o json: {"fingerprint", "agentListen", ...}.`,
		Example: `  ferry target trust-info
  ferry target trust-info -o json
  ferry agent run --data /var/lib/ferry-agent --poll https://ferry.example.com:10943 \
      --trust "$(ferry target trust-info -o json | jq -r .fingerprint)"`,
		Args: cobra.NoArgs,
	}, func(x call) (api.AgentTrust, error) { return x.AgentTrust(x) },
		func(w io.Writer, t api.AgentTrust) {
			fmt.Fprintf(w, "Server agent fingerprint: %s\n", t.Fingerprint)
			fmt.Fprintf(w, "Polling agents connect to: https://%s\n", dash(t.AgentListen))
			if t.Next != "" {
				fmt.Fprintf(w, "Next identity (rotation staged): %s\n", t.Next)
			}
			fmt.Fprintf(w, "Agents: ferry agent run ... --trust %s\n", t.Fingerprint)
		})
}

func (a *app) targetRotate() *cobra.Command {
	var activate bool
	cmd := show(a, &cobra.Command{
		Use:   "rotate-identity [--activate]",
		Short: "Rotate the server's agent identity: stage a new one, then activate it",
		Long: `Rotate the certificate agents know this server by, in two steps (system
administrators only):

  ferry target rotate-identity              stage a new identity; every agent the
                                            server checks (every 30 s) is told to
                                            trust it as well
  ferry target rotate-identity --activate   present the new identity from now on

Between the two, check that every target is Healthy ('ferry target list'): an
agent that was offline meanwhile refuses the server afterwards, naming both
fingerprints, until it is given --trust NEW. See docs/trust.md.`,
		Example: `  ferry target rotate-identity
  ferry target list            # wait until every target is Healthy (it learned the new identity)
  ferry target rotate-identity --activate`,
		Args: cobra.NoArgs,
	}, func(x call) (api.AgentTrust, error) {
		return x.RotateIdentity(x, api.RotateRequest{Activate: activate})
	},
		func(w io.Writer, t api.AgentTrust) {
			if activate {
				fmt.Fprintf(w, "The server's agent identity is now %s\n", t.Fingerprint)
				return
			}
			fmt.Fprintf(w, "Staged the next agent identity %s (current: %s).\nAgents learn it when checked; then run 'ferry target rotate-identity --activate'.\n", t.Next, t.Fingerprint)
		})
	cmd.Flags().BoolVar(&activate, "activate", false, "make the staged identity the current one")
	return cmd
}
