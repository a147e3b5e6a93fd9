package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/api"
)

func (a *app) tenantCommand() *cobra.Command {
	cmd := group("tenant", "Manage tenants: the customers this space deploys releases to",
		a.tenantCreate(), a.tenantList(), a.tenantShow(), a.tenantDelete(), a.tenantConnect(), a.tenantVarCommand())
	cmd.Long = `A tenant is a customer one release is deployed to, with its own values. Tenants
belong to the space that deploys: they never travel in a bundle, and cannot be
connected to another space's environment.

  ferry tenant create acme --tag Region/Europe
  ferry tenant connect acme Shop --env Test --env Production
  ferry tenant var set acme Shop DbUrl - --env Production --sensitive < url.txt
  ferry deploy Shop 1.0.0 --to Production --tenant acme --tenant globex
  ferry deploy Shop 1.0.0 --to Production --tenant-tag Region/Europe

Variables, steps and targets may be scoped to tenants (tenants: [acme]) or to
tags (tenantTags: [Region/Europe]) in YAML; a project's tenantedDeployments
(untenanted, tenanted, both) says whether it deploys for tenants.`
	return cmd
}

func (a *app) tenantCreate() *cobra.Command {
	var tags []string
	cmd := show(a, &cobra.Command{
		Use:   "create NAME [--tag SET/TAG]...",
		Short: "Create a tenant, with tags (a tag set and its tags are created on first use)",
		Long: `Create a tenant. Its name reaches scripts as #{Ferry.Tenant.Name}: letters,
digits and . _ -, starting with a letter or digit. Tags are SET/TAG
(Region/Europe, Tier/Gold); deploy --tenant-tag SET/TAG deploys to every tenant
with the tag.`,
		Example: `  ferry tenant create acme
  ferry tenant create globex --tag Region/Europe --tag Tier/Gold`,
		Args: cobra.ExactArgs(1),
	}, func(x call) (api.Tenant, error) {
		return x.CreateTenant(x, x.space, api.CreateTenantRequest{Name: x.args[0], Tags: tags})
	}, line("Created tenant %s", func(t api.Tenant) []any { return []any{t.Name} }))
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "a tag SET/TAG (repeatable)")
	return cmd
}

func (a *app) tenantList() *cobra.Command {
	return show(a, &cobra.Command{Use: "list", Short: "List tenants with their tags and projects", Args: cobra.NoArgs,
		Example: "  ferry tenant list\n  ferry tenant list -o json"},
		func(x call) ([]api.Tenant, error) { return x.ListTenants(x, x.space) },
		rows("NAME\tTAGS\tPROJECTS", func(t api.Tenant) []string {
			return []string{t.Name, dash(strings.Join(t.Tags, ", ")), dash(projectsText(t.Projects))}
		}))
}

// projectsText is "Shop (Test, Production); Api (Test)".
func projectsText(projects map[string][]string) string {
	var parts []string
	for _, p := range sortedNames(projects) {
		parts = append(parts, fmt.Sprintf("%s (%s)", p, strings.Join(projects[p], ", ")))
	}
	return strings.Join(parts, "; ")
}

func sortedNames(m map[string][]string) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func printTenant(w io.Writer, t api.Tenant) {
	fmt.Fprintf(w, "Tenant %s\n  tags: %s\n", t.Name, dash(strings.Join(t.Tags, ", ")))
	if len(t.Projects) == 0 {
		fmt.Fprintf(w, "  not connected to any project (ferry tenant connect %s PROJECT --env ENV)\n", t.Name)
		return
	}
	fmt.Fprintln(w, "  projects:")
	for _, p := range sortedNames(t.Projects) {
		fmt.Fprintf(w, "    %s: %s\n", p, strings.Join(t.Projects[p], ", "))
	}
	printTenantValues(w, t.Values)
}

func printTenantValues(w io.Writer, values []api.TenantValue) {
	if len(values) == 0 {
		fmt.Fprintln(w, "  no values set")
		return
	}
	var cells [][]string
	for _, v := range values {
		value := v.Value
		if v.Sensitive {
			value = "(sensitive, set)"
		}
		cells = append(cells, []string{"  " + v.Project, v.Environment, v.Name, value})
	}
	table(w, "  PROJECT\tENVIRONMENT\tNAME\tVALUE", cells)
}

func (a *app) tenantShow() *cobra.Command {
	return show(a, &cobra.Command{Use: "show NAME", Short: "Show a tenant: tags, projects and environments, values (secrets never)", Args: cobra.ExactArgs(1),
		Example: "  ferry tenant show acme\n  ferry tenant show acme -o json"},
		func(x call) (api.Tenant, error) { return x.GetTenant(x, x.space, x.args[0]) }, printTenant)
}

func (a *app) tenantDelete() *cobra.Command {
	return show(a, &cobra.Command{Use: "delete NAME", Short: "Delete a tenant and its values (refused while a scope names it or a task deploys for it)", Args: cobra.ExactArgs(1),
		Example: "  ferry tenant delete acme"},
		func(x call) (api.Tenant, error) { return x.DeleteTenant(x, x.space, x.args[0]) },
		line("Deleted tenant %s", func(t api.Tenant) []any { return []any{t.Name} }))
}

func (a *app) tenantConnect() *cobra.Command {
	var envs []string
	var project string
	cmd := show(a, &cobra.Command{
		Use:   "connect TENANT PROJECT --env ENV...",
		Short: "Connect a tenant to a project (also a remote one) in environments of this space",
		Long: `Connect a tenant to a project in some environments (added to those it has).
The project may be a remote project imported from another space ("DevTest
Space: Shop"); the environments must be this space's: a tenant is never
connected to another space's environment.`,
		Example: `  ferry tenant connect acme Shop --env Test --env Production
  ferry tenant connect acme "DevTest Space: Shop" --env Production`,
		Args: cobra.ExactArgs(2),
	}, func(x call) (api.Tenant, error) {
		project = x.args[1]
		return x.ConnectTenant(x, x.space, x.args[0], api.ConnectTenantRequest{Project: project, Environments: envs})
	}, func(w io.Writer, t api.Tenant) {
		fmt.Fprintf(w, "Connected tenant %s to %s in %s\n", t.Name, project, strings.Join(t.Projects[project], ", "))
	})
	cmd.Flags().StringArrayVar(&envs, "env", nil, "an environment of this space (repeatable, required)")
	return cmd
}

func (a *app) tenantVarCommand() *cobra.Command {
	var env, project, name string
	var sensitive bool
	set := show(a, &cobra.Command{
		Use:   "set TENANT PROJECT NAME VALUE --env ENV",
		Short: "Set a project template's value for a tenant in one environment",
		Long: `Set the value of one of a project's templates for a tenant in one environment
it is connected to (Octopus issue #2710: tenant values that vary by
environment). Give VALUE as - to read it from standard input. A value of a
sensitive template is encrypted at rest and never shown, with or without
--sensitive.`,
		Example: `  ferry tenant var set acme Shop Region eu-west --env Production
  ferry tenant var set acme Shop DbUrl - --env Production --sensitive < url.txt`,
		Args: cobra.ExactArgs(4),
	}, func(x call) (api.Tenant, error) {
		value, err := a.valueArg(x.args[3])
		if err != nil {
			return api.Tenant{}, err
		}
		if env == "" {
			return api.Tenant{}, usagef("say which environment with --env ENV")
		}
		project, name = x.args[1], x.args[2]
		return x.SetTenantValue(x, x.space, x.args[0], api.TenantValueRequest{Project: project, Name: name, Value: value, Environment: env, Sensitive: sensitive})
	}, func(w io.Writer, t api.Tenant) {
		fmt.Fprintf(w, "Set %s of project %s for tenant %s in %s\n", name, project, t.Name, env)
	})
	set.Flags().StringVar(&env, "env", "", "the environment (required)")
	set.Flags().BoolVar(&sensitive, "sensitive", false, "the value is a secret: encrypted at rest, masked in logs, never shown")
	list := show(a, &cobra.Command{Use: "list TENANT", Short: "List a tenant's values (secrets are never shown)", Args: cobra.ExactArgs(1),
		Example: "  ferry tenant var list acme\n  ferry tenant var list acme -o json"},
		func(x call) ([]api.TenantValue, error) {
			t, err := x.GetTenant(x, x.space, x.args[0])
			return t.Values, err
		}, printTenantValues)
	return group("var", "Set and list a tenant's values of project templates", set, list)
}

// valueArg is a value argument: "-" reads it from standard input.
func (a *app) valueArg(v string) (string, error) {
	if v != "-" {
		return v, nil
	}
	b, err := io.ReadAll(a.stdin)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
