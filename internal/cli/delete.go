package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/api"
)

// Deleting things (SPEC §7). A delete that would break something is
// refused by the server, naming every referrer; the command then exits
// with the conflict code (exit.go) and prints nothing on standard output.

// deleteLong is what every delete's help says about refusals.
const deleteLong = `

A delete that would break something is refused (exit code 6, rule in-use)
and the message names everything that still uses it — lifecycles, teams,
steps, variables, releases, tasks that have not finished, deliveries on
their way. Remove those references first. Every delete is in the audit log.`

// deleteCommand makes a delete command: use and short as cobra's, what it
// says in its help before the common part, the example, the number of
// arguments and the client call.
func deleteCommand(a *app, use, short, long, example string, args cobra.PositionalArgs, fn func(x call) (api.Deleted, error)) *cobra.Command {
	return show(a, &cobra.Command{Use: use, Short: short, Long: long + deleteLong, Example: example, Args: args}, fn, printDeleted)
}

func printDeleted(w io.Writer, d api.Deleted) {
	fmt.Fprintf(w, "Deleted %s %q", d.Kind, d.Name)
	if s := removedText(d.Removed); s != "" {
		fmt.Fprintf(w, ", with %s", s)
	}
	fmt.Fprintln(w)
}

// removedText lists the non-zero counts of r: "3 releases, 7 tasks".
func removedText(r api.Removal) string {
	var parts []string
	add := func(n int64, one, many string) {
		switch {
		case n == 1:
			parts = append(parts, "1 "+one)
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", n, many))
		}
	}
	add(int64(r.Projects), "project", "projects")
	add(int64(r.Releases), "release", "releases")
	add(int64(r.Deployments), "deployment", "deployments")
	add(int64(r.Tasks), "task", "tasks")
	add(int64(r.LogLines), "task log line", "task log lines")
	add(int64(r.Receipts), "receipt", "receipts")
	add(int64(r.Environments), "environment", "environments")
	add(int64(r.Packages), "package version", "package versions")
	add(int64(r.Variables), "value", "values")
	add(int64(r.TenantConnections), "tenant connection", "tenant connections")
	add(int64(r.Deliveries), "queued delivery", "queued deliveries")
	add(int64(r.Chunks), "chunk", "chunks")
	if r.ChunkBytes > 0 {
		parts = append(parts, fmt.Sprintf("%d bytes freed", r.ChunkBytes))
	}
	return joinComma(parts)
}

func joinComma(parts []string) string {
	s := ""
	for i, p := range parts {
		if i > 0 {
			s += ", "
		}
		s += p
	}
	return s
}

func (a *app) envDelete() *cobra.Command {
	return deleteCommand(a, "delete NAME", "Delete an environment with its deployments and their task logs",
		"Delete an environment of the space. Its deployments, their tasks and task logs go with it.",
		`  ferry env delete Test
  ferry env delete Test --space "QA Space" -o json`, cobra.ExactArgs(1),
		func(x call) (api.Deleted, error) { return x.DeleteEnvironment(x, x.space, x.args[0]) })
}

func (a *app) lifecycleDelete() *cobra.Command {
	return deleteCommand(a, "delete NAME", "Delete a lifecycle no project uses",
		"Delete a lifecycle. Projects that use it must be given another one first (ferry apply).",
		`  ferry lifecycle delete Legacy`, cobra.ExactArgs(1),
		func(x call) (api.Deleted, error) { return x.DeleteLifecycle(x, x.space, x.args[0]) })
}

func (a *app) projectDelete() *cobra.Command {
	return deleteCommand(a, "delete NAME", "Delete a project with its releases, deployments and task logs",
		`Delete a project and everything that belongs to it: releases, deployments,
tasks and task logs. Bundles of its releases that other spaces imported stay
theirs; receipts they send back are still accepted.`,
		`  ferry project delete Shop
  ferry project delete "DevTest Space: Shop" -o json`, cobra.ExactArgs(1),
		func(x call) (api.Deleted, error) { return x.DeleteProject(x, x.space, x.args[0]) })
}

func (a *app) releaseDelete() *cobra.Command {
	return deleteCommand(a, "delete PROJECT VERSION", "Delete a release with its deployments and task logs",
		`Delete a release. It is refused while the release is what runs in an
environment (deploy another release there first), while one of its tasks has
not finished, and while a promotion of it is on its way to another space.
Lifecycle phases can remove old releases by themselves: retention:
{keepReleases: N} (see 'ferry retention run --help').`,
		`  ferry release delete Shop 1.0.3
  ferry release delete Shop 1.0.3 -o json`, cobra.ExactArgs(2),
		func(x call) (api.Deleted, error) { return x.DeleteRelease(x, x.space, x.args[0], x.args[1]) })
}

func (a *app) packageDelete() *cobra.Command {
	return deleteCommand(a, "delete ID [VERSION]", "Delete a package version (or every version) from the feed",
		`Delete one version of a package from the space's feed, or every version when
no version is given. It is refused while a release pins the version (and, for
every version, while a deploy-package step deploys the package). The chunks
the package used are freed by the next retention run, when no other package
of any space uses them.`,
		`  ferry package delete web 1.0.0
  ferry package delete web          # every version`, cobra.RangeArgs(1, 2),
		func(x call) (api.Deleted, error) {
			if len(x.args) == 2 {
				return x.DeletePackageVersion(x, x.space, x.args[0], x.args[1])
			}
			return x.DeletePackage(x, x.space, x.args[0])
		})
}

func (a *app) varDelete() *cobra.Command {
	var envs []string
	cmd := deleteCommand(a, "delete PROJECT NAME [--env ENV]...", "Delete a project variable's value for one scope, or every value",
		`Delete the value of a variable whose scope is exactly the environments given
with --env, or every value of the variable without --env. Templates stay
(remove them with 'ferry apply --prune').`,
		`  ferry var delete Shop ConnectionString --env Production
  ferry var delete Shop Greeting`, cobra.ExactArgs(2),
		func(x call) (api.Deleted, error) { return x.DeleteVariable(x, x.space, x.args[0], x.args[1], envs) })
	cmd.Flags().StringArrayVar(&envs, "env", nil, "the value scoped to exactly these environments (repeatable)")
	return cmd
}

func (a *app) userDelete() *cobra.Command {
	return deleteCommand(a, "delete NAME", "Delete a user with their API keys (administrators)",
		"Delete a user, their API keys and team memberships. The last system administrator, and yourself, cannot be deleted.",
		`  ferry user delete alice`, cobra.ExactArgs(1),
		func(x call) (api.Deleted, error) { return x.DeleteUser(x, x.args[0]) })
}

func (a *app) teamDelete() *cobra.Command {
	return deleteCommand(a, "delete NAME", "Delete a team of the space",
		"Delete a team; its members lose the role it granted.",
		`  ferry team delete Contractors`, cobra.ExactArgs(1),
		func(x call) (api.Deleted, error) { return x.DeleteTeam(x, x.space, x.args[0]) })
}

func (a *app) spaceDelete() *cobra.Command {
	return deleteCommand(a, "delete NAME", "Delete a space and everything in it (administrators)",
		`Delete a space: its identity, environments, lifecycles, projects, releases,
deployments, task logs, packages, trust and teams. Its audit events stay, as
the server's. Other spaces that trusted it keep what they imported.`,
		`  ferry space delete "Old Space"`, cobra.ExactArgs(1),
		func(x call) (api.Deleted, error) { return x.DeleteSpace(x, x.args[0]) })
}

func (a *app) remoteSpaceDelete() *cobra.Command {
	return deleteCommand(a, "delete NAME", "Revoke a remote space, then delete it",
		`Revoke a remote space (everything it signs is refused from now on), then
delete it: what is queued for it is dropped and its remote environments go.
The releases it delivered stay readable and can never be deployed again.`,
		`  ferry remote-space delete "Old QA Space"`, cobra.ExactArgs(1),
		func(x call) (api.Deleted, error) { return x.DeleteRemoteSpace(x, x.space, x.args[0]) })
}

func (a *app) retentionCommand() *cobra.Command {
	var dryRun bool
	run := show(a, &cobra.Command{
		Use:   "run [--dry-run]",
		Short: "Run retention now (administrators)",
		Long: `Retention keeps a server's disk in check. A lifecycle phase may set
retention: {keepReleases: N}; a release whose every phase keeps newer
releases is removed with its deployments, tasks and task logs — never one
that is what runs in an environment, has a task that has not finished or a
promotion on its way. Then the package versions no release pins go (in
spaces with a policy, never a package's newest version), and every chunk no
package of any space uses.

The server runs it every hour by itself (FERRY_RETENTION_INTERVAL) and logs
what it removed; this runs it now. --dry-run lists exactly what it would
remove (it runs in a transaction it rolls back), chunks aside: they are
counted when they are removed.`,
		Example: `  ferry retention run --dry-run
  ferry retention run -o json`,
		Args: cobra.NoArgs,
	}, func(x call) (api.RetentionReport, error) { return x.RunRetention(x, dryRun) }, printRetention)
	run.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be removed; remove nothing")
	return group("retention", "Remove old releases, task logs, packages and chunks", run)
}

func printRetention(w io.Writer, r api.RetentionReport) {
	verb := "Removed"
	if r.DryRun {
		verb = "Would remove"
	}
	for _, rel := range r.Releases {
		fmt.Fprintf(w, "%s release %s %s (space %q)\n", verb, rel.Project, rel.Version, rel.Space)
	}
	for _, p := range r.Packages {
		fmt.Fprintf(w, "%s package %s %s (space %q)\n", verb, p.ID, p.Version, p.Space)
	}
	s := removedText(r.Removed)
	if s == "" {
		s = "nothing"
	}
	fmt.Fprintf(w, "%s %s", verb, s)
	if r.Kept > 0 {
		fmt.Fprintf(w, "; kept %d older releases that run somewhere or are in use", r.Kept)
	}
	fmt.Fprintln(w)
}
