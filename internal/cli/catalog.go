package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/ferrydeploy/ferry/api"
)

func (a *app) envCommand() *cobra.Command {
	return group("env", "Manage environments",
		show(a, &cobra.Command{Use: "create NAME", Short: "Create an environment in the space", Example: `  ferry env create Development`, Args: cobra.ExactArgs(1)},
			func(x call) (api.Environment, error) { return x.CreateEnvironment(x, x.space, x.args[0]) },
			line("Created environment %q in space %q", func(e api.Environment) []any { return []any{e.Name, a.space} })),
		show(a, &cobra.Command{Use: "list", Short: "List the space's environments, local and remote", Example: `  ferry env list
  ferry env list --space "Prod Space" -o json`, Args: cobra.NoArgs},
			func(x call) ([]api.Environment, error) { return x.ListEnvironments(x, x.space) },
			rows("NAME\tKIND", func(e api.Environment) []string {
				if e.IsRemote() {
					return []string{e.Name, "remote (space " + e.RemoteSpace + ")"}
				}
				return []string{e.Name, "local"}
			})),
		a.envDelete())
}

func (a *app) lifecycleCommand() *cobra.Command {
	list := show(a, &cobra.Command{Use: "list", Short: "List the space's lifecycles and their phases", Example: `  ferry lifecycle list
  ferry lifecycle list -o json`, Args: cobra.NoArgs},
		func(x call) ([]api.Lifecycle, error) { return x.ListLifecycles(x, x.space) },
		func(w io.Writer, list []api.Lifecycle) {
			for _, l := range list {
				var phases []string
				for _, p := range l.Phases {
					rule := ""
					switch {
					case p.Optional:
						rule = " optional"
					case p.MinimumEnvironmentsBeforePromotion > 0 && p.MinimumEnvironmentsBeforePromotion < len(p.Environments):
						rule = fmt.Sprintf(" %d of %d", p.MinimumEnvironmentsBeforePromotion, len(p.Environments))
					}
					if p.Retention != nil {
						rule += fmt.Sprintf(" (keep %d %s)", p.Retention.KeepReleases, plural(p.Retention.KeepReleases, "release", "releases"))
					}
					phases = append(phases, fmt.Sprintf("%s [%s]%s", p.Name, strings.Join(p.Environments, ", "), rule))
				}
				fmt.Fprintf(w, "%s: %s\n", l.Name, strings.Join(phases, " → "))
			}
		})
	return group("lifecycle", "Show lifecycles (define them with 'ferry apply')", list, a.lifecycleShowCommand(), a.lifecycleDelete())
}

func (a *app) projectCommand() *cobra.Command {
	list := show(a, &cobra.Command{Use: "list", Short: "List the space's projects", Example: `  ferry project list
  ferry project list --space "Prod Space" -o json`, Args: cobra.NoArgs},
		func(x call) ([]api.Project, error) { return x.ListProjects(x, x.space) },
		rows("NAME\tLIFECYCLE\tSTEPS\tVARIABLES", func(p api.Project) []string {
			return []string{p.Name, p.Lifecycle, fmt.Sprint(len(p.Process)), fmt.Sprint(len(p.Variables))}
		}))
	var add string
	deliverers := show(a, &cobra.Command{
		Use:   "deliverers PROJECT [--add SPACE]",
		Short: "Show (or add) the spaces allowed to deliver releases of a remote project",
		Long: `A remote project (one imported from a bundle) is bound to where it came
from: its origin space may always deliver its releases, and so may the space
that delivered its first release. A bundle of it signed by any other space is
refused, so a space trusted for releases cannot put its code into another
origin's project.

When a release really travels a new path — say QA Space now relays what
DevTest Space used to deliver directly — allow the new space with --add
(space admins; audited).`,
		Example: `  ferry project deliverers "DevTest Space: Shop"
  ferry project deliverers "DevTest Space: Shop" --add "QA Space"`,
		Args: cobra.ExactArgs(1),
	}, func(x call) (api.ProjectDeliverers, error) {
		if add != "" {
			return x.AddDeliverer(x, x.space, x.args[0], add)
		}
		return x.Deliverers(x, x.space, x.args[0])
	}, printDeliverers)
	deliverers.Flags().StringVar(&add, "add", "", "allow this remote space to deliver the project too")
	return group("project", "Show projects (define them with 'ferry apply')", list, deliverers, a.projectDelete())
}

func printDeliverers(w io.Writer, d api.ProjectDeliverers) {
	fmt.Fprintf(w, "%s comes from origin %q (fingerprint %s), which may always deliver it.\n", d.Project, d.Origin.Space, d.Origin.Fingerprint)
	if len(d.Deliverers) == 0 {
		fmt.Fprintln(w, "No other space may deliver it.")
		return
	}
	rows("ALSO DELIVERED BY\tFINGERPRINT\tSINCE\tADDED BY", func(x api.Deliverer) []string {
		return []string{x.Space, x.Fingerprint, when(x.AddedAt), dash(x.AddedBy)}
	})(w, d.Deliverers)
}

func (a *app) applyCommand() *cobra.Command {
	var file string
	var opts api.ApplyOptions
	cmd := show(a, &cobra.Command{
		Use:   "apply -f FILE [--dry-run] [--prune]",
		Short: "Make the space match a YAML file (environments, lifecycles, projects)",
		Long: `Apply a declarative YAML file to the space. The whole file is checked first —
malformed YAML, unknown fields, unknown environments or lifecycles — and every
problem is reported with its line; nothing changes unless the whole file is
valid, and then everything changes in one transaction. Applying the same file
again changes nothing.

Apply removes nothing the file does not mention. In a project the file lists,
steps, templates and variable values the file does not list — such as values
set with 'ferry var set' — are kept where they are (and listed as kept);
--prune removes them. Environments, lifecycles and projects the file does not
list are never removed by apply.

--dry-run lists every change apply would make, removals first, and makes
none.

Sensitive variables exported by 'ferry export' appear as 'keep: true': apply
keeps the value the space already has. One this space never had is kept as
"not set": releases and deployments that need it are refused until it is set
with 'ferry var set ... --sensitive'. A plain value the file gives for a name
that has sensitive values (or is a sensitive template) is stored sensitive.`,
		Example: `  ferry apply -f space.yaml --dry-run
  ferry apply -f space.yaml
  ferry apply -f space.yaml --prune --dry-run     # what --prune would remove
  ferry export | ferry apply -f - --space Other`,
		Args: cobra.NoArgs,
	}, func(x call) (api.ApplyResult, error) {
		data, err := a.required(file, "give the file with -f FILE (or -f - for standard input)")
		if err != nil {
			return api.ApplyResult{}, err
		}
		res, err := x.Apply(x, x.space, data, opts)
		for _, w := range res.Warnings {
			fmt.Fprintln(a.stderr, "warning:", w)
		}
		return res, err
	}, func(w io.Writer, res api.ApplyResult) {
		done := map[string]string{api.ActionRemove: "removed", api.ActionCreate: "created", api.ActionUpdate: "updated"}
		for _, c := range res.Changes {
			if res.DryRun {
				fmt.Fprintln(w, "would", c)
			} else {
				fmt.Fprintln(w, done[c.Action]+strings.TrimPrefix(c.String(), c.Action))
			}
		}
		for _, c := range res.Kept {
			fmt.Fprintln(w, "kept"+strings.TrimPrefix(c.String(), c.Action))
		}
		if res.DryRun {
			fmt.Fprintf(w, "Dry run for space %q: %d to create, %d to update, %d unchanged; nothing was changed\n", a.space, len(res.Created), len(res.Updated), res.Unchanged)
			return
		}
		fmt.Fprintf(w, "Applied to space %q: %d created, %d updated, %d unchanged\n", a.space, len(res.Created), len(res.Updated), res.Unchanged)
	})
	cmd.Flags().StringVarP(&file, "file", "f", "", "YAML file to apply (- for standard input)")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "list every change, removals first, and make none")
	cmd.Flags().BoolVar(&opts.Prune, "prune", false, "also remove the steps, templates and variable values of listed projects that the file does not list")
	return cmd
}

func (a *app) exportCommand() *cobra.Command {
	return save(a, &cobra.Command{
		Use:   "export [--out FILE]",
		Short: "Write the space's configuration as YAML that 'ferry apply' accepts",
		Long: `Export the space's environments, remote environments, lifecycles and projects
as YAML, for source control or to copy into another space. Sensitive values are
never exported: they appear as 'keep: true'. With -o json the document is
written as JSON (keys in the same order), which 'ferry apply' reads as well.`,
		Example: `  ferry export > space.yaml
  ferry export --space "DevTest Space" --out devtest.yaml
  ferry export -o json | jq '.projects[].name'`,
		Args: cobra.NoArgs,
	}, output{stdout: true}, func(x call) ([]byte, error) {
		doc, err := x.Export(x, x.space)
		if err != nil || !a.jsonOutput() {
			return doc, err
		}
		return yamlToJSON(doc)
	}, func(w io.Writer, x call, out string) { fmt.Fprintf(w, "Wrote %s\n", out) })
}

func (a *app) auditCommand() *cobra.Command {
	var all bool
	var limit int
	list := show(a, &cobra.Command{Use: "list", Short: "List who changed what, and when (newest first)", Example: `  ferry audit list
  ferry audit list --limit 20 -o json
  ferry audit list --all            # every space and the server (administrators)`, Args: cobra.NoArgs},
		func(x call) ([]api.AuditEvent, error) {
			if all {
				return x.ListAllAudit(x, limit)
			}
			return x.ListAudit(x, x.space, limit)
		},
		rows("WHEN\tWHO\tACTION\tSUBJECT\tDETAILS", func(e api.AuditEvent) []string {
			return []string{e.At.Local().Format("2006-01-02 15:04:05"), e.Actor, e.Action, e.Subject, detailText(e.Details)}
		}))
	list.Flags().BoolVar(&all, "all", false, "every space and server-wide events (administrators)")
	list.Flags().IntVar(&limit, "limit", 200, "at most this many events")
	return group("audit", "Read the audit log", list)
}

func detailText(d map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(d) {
		parts = append(parts, k+"="+d[k])
	}
	return strings.Join(parts, " ")
}

// yamlToJSON writes a YAML document as JSON with its keys in the same
// order. JSON is YAML too, so 'ferry apply' reads the result alike.
func yamlToJSON(doc []byte) ([]byte, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(doc, &n); err != nil {
		return nil, fmt.Errorf("the server's export is not YAML: %w", err)
	}
	var b bytes.Buffer
	if err := nodeJSON(&b, &n); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// nodeJSON writes one YAML node as JSON.
func nodeJSON(b *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			b.WriteString("null")
			return nil
		}
		return nodeJSON(b, n.Content[0])
	case yaml.AliasNode:
		return nodeJSON(b, n.Alias)
	case yaml.MappingNode, yaml.SequenceNode:
		open, close, step := byte('['), byte(']'), 1
		if n.Kind == yaml.MappingNode {
			open, close, step = '{', '}', 2
		}
		b.WriteByte(open)
		for i := 0; i+step <= len(n.Content); i += step {
			if i > 0 {
				b.WriteByte(',')
			}
			if step == 2 {
				key, _ := json.Marshal(n.Content[i].Value)
				b.Write(key)
				b.WriteByte(':')
			}
			if err := nodeJSON(b, n.Content[i+step-1]); err != nil {
				return err
			}
		}
		b.WriteByte(close)
		return nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	b.Write(data)
	return nil
}

// plural is one when n is 1, many otherwise.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
