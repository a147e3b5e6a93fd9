package cli

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/client"
)

// Names of things the command line completes (cobra's dynamic completion:
// `ferry completion bash|zsh|fish|powershell`) and suggests when the
// server answers that a name does not exist.
//
// Adding a kind (tenants, targets): a constant, a case in names, and the
// placeholder or flag that holds it in placeholders/flagKinds.
type nameKind string

const (
	kindProject     nameKind = "project"
	kindEnvironment nameKind = "environment"
	kindRelease     nameKind = "release" // of the project before it
	kindSpace       nameKind = "space"
	kindRemoteSpace nameKind = "remote space"
	kindLifecycle   nameKind = "lifecycle"
	kindTeam        nameKind = "team"
	kindUser        nameKind = "user"
	kindTenant      nameKind = "tenant"
	kindTarget      nameKind = "target"
)

// names lists the names of kind in space (releases: of project).
func names(ctx context.Context, c *client.Client, kind nameKind, space, project string) ([]string, error) {
	switch kind {
	case kindProject:
		return listed(c.ListProjects(ctx, space))(func(p api.Project) string { return p.Name })
	case kindEnvironment:
		return listed(c.ListEnvironments(ctx, space))(func(e api.Environment) string { return e.Name })
	case kindRelease:
		return listed(c.ListReleases(ctx, space, project))(func(r api.Release) string { return r.Version })
	case kindSpace:
		return listed(c.ListSpaces(ctx))(func(s api.Space) string { return s.Name })
	case kindRemoteSpace:
		return listed(c.ListRemoteSpaces(ctx, space))(func(r api.RemoteSpaceStatus) string { return r.Name })
	case kindLifecycle:
		return listed(c.ListLifecycles(ctx, space))(func(l api.Lifecycle) string { return l.Name })
	case kindTeam:
		return listed(c.ListTeams(ctx, space))(func(t api.Team) string { return t.Name })
	case kindUser:
		return listed(c.ListUsers(ctx))(func(u api.User) string { return u.Name })
	case kindTenant:
		return listed(c.ListTenants(ctx, space))(func(t api.Tenant) string { return t.Name })
	case kindTarget:
		return listed(c.ListTargets(ctx, space))(func(t api.Target) string { return t.Name })
	}
	return nil, fmt.Errorf("no list of %ss", kind)
}

func listed[T any](list []T, err error) func(func(T) string) ([]string, error) {
	return func(name func(T) string) ([]string, error) {
		if err != nil {
			return nil, err
		}
		out := make([]string, len(list))
		for i, v := range list {
			out[i] = name(v)
		}
		return out, nil
	}
}

// placeholders maps the argument names of a command's Use line to kinds;
// NAME is the kind of the command's group (groupKinds).
var placeholders = map[string]nameKind{
	"PROJECT": kindProject, "ENV": kindEnvironment, "VERSION": kindRelease, "V1": kindRelease, "V2": kindRelease,
	"TENANT": kindTenant,
}

var groupKinds = map[string]nameKind{
	"space": kindSpace, "remote-space": kindRemoteSpace, "env": kindEnvironment, "lifecycle": kindLifecycle,
	"user": kindUser, "team": kindTeam, "tenant": kindTenant, "target": kindTarget,
}

// flagKinds maps flags to kinds; --to names an environment or a remote
// space, as its help says.
var flagKinds = map[string]nameKind{
	"env": kindEnvironment, "project": kindProject, "user": kindUser, "lifecycle": kindLifecycle, "space": kindSpace,
	"tenant": kindTenant, "target": kindTarget, "exclude-target": kindTarget,
}

// completeNames gives every command below root dynamic completion of the
// names its arguments and flags take.
func (a *app) completeNames(root *cobra.Command) {
	for kind, flag := range map[nameKind]string{kindSpace: "space"} {
		root.RegisterFlagCompletionFunc(flag, a.completer(func([]string) (nameKind, string) { return kind, "" }))
	}
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		if kinds := argKinds(cmd); len(kinds) > 0 && cmd.ValidArgsFunction == nil {
			cmd.ValidArgsFunction = a.completer(func(args []string) (nameKind, string) {
				if len(args) >= len(kinds) {
					return "", ""
				}
				project := ""
				if len(args) > 0 {
					project = args[0]
				}
				return kinds[len(args)], project
			})
		}
		cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
			kind, ok := flagKinds[f.Name]
			if f.Name == "to" {
				kind, ok = kindRemoteSpace, true
				if strings.Contains(f.Usage, "environment") {
					kind = kindEnvironment
				}
			}
			if ok {
				cmd.RegisterFlagCompletionFunc(f.Name, a.completer(func(args []string) (nameKind, string) {
					if len(args) > 0 {
						return kind, args[0]
					}
					return kind, ""
				}))
			}
		})
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// argKinds reads the kinds of a command's arguments from its Use line.
func argKinds(cmd *cobra.Command) []nameKind {
	fields := strings.Fields(cmd.Use)
	var kinds []nameKind
	for _, f := range fields[1:] {
		f = strings.Trim(f, "[]")
		if strings.HasPrefix(f, "-") || f == "|" {
			break
		}
		kind, ok := placeholders[f]
		if f == "NAME" && cmd.Parent() != nil {
			kind, ok = groupKinds[cmd.Parent().Name()]
		}
		if !ok {
			kind = ""
		}
		kinds = append(kinds, kind)
	}
	if !slices.ContainsFunc(kinds, func(k nameKind) bool { return k != "" }) {
		return nil
	}
	return kinds
}

// completer completes the names of the kind which says (from the
// arguments given so far); a server that does not answer completes
// nothing rather than failing the shell.
func (a *app) completer(which func(args []string) (nameKind, string)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		kind, project := which(args)
		if kind == "" {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := a.client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		list, err := names(cmd.Context(), c, kind, a.space, project)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, n := range list {
			if strings.HasPrefix(strings.ToLower(n), strings.ToLower(prefix)) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// notFoundRE reads what a not-found answer names: `project "Shpo" not
// found`, `release "1.0" of project "Shop" not found`.
var notFoundRE = regexp.MustCompile(`^(project|environment|space|remote space|lifecycle|release|team|user|tenant|target) "([^"]*)"(?: of project "([^"]*)")? not found`)

// noSpaceRE reads the answer for a space the caller does not have (it
// does not exist, or they are not a member: domain.NoSpace).
var noSpaceRE = regexp.MustCompile(`^no space "([^"]*)" \(or you are not a member of it\)`)

// suggest adds to a not-found answer the names that exist of that kind,
// closest first, and asks whether one of them was meant.
func suggest(ctx context.Context, c *client.Client, space string, err error) error {
	var e *client.Error
	if !errors.As(err, &e) || e.Kind != api.KindNotFound {
		return err
	}
	m := notFoundRE.FindStringSubmatch(e.Message)
	ns := noSpaceRE.FindStringSubmatch(e.Message)
	if ns != nil {
		m = []string{ns[0], "space", ns[1], ""} // suggested from the caller's own spaces only
	}
	if m == nil || strings.Contains(strings.ToLower(e.Message), "known") {
		return err
	}
	known, lerr := names(ctx, c, nameKind(m[1]), space, m[3])
	if lerr != nil {
		return err
	}
	more := *e
	if ns != nil && len(known) == 0 {
		// The caller is shown only their own spaces: that none show does
		// not mean there are none.
		more.Message += "; you are not a member of any space"
		return &more
	}
	more.Message += knownNames(m[1], m[2], known)
	return &more
}

// knownNames is "; did you mean "Shop"? Known projects: Api, Shop".
func knownNames(kind, asked string, known []string) string {
	if len(known) == 0 {
		return fmt.Sprintf("; there are no %ss yet", kind)
	}
	var close []string
	for _, n := range known {
		if near(asked, n) {
			close = append(close, fmt.Sprintf("%q", n))
		}
	}
	msg := ""
	if len(close) > 0 {
		msg = "; did you mean " + strings.Join(close, " or ") + "?"
	}
	shown := known
	if len(shown) > 20 {
		shown = shown[:20]
	}
	if msg == "" {
		msg = ";"
	}
	msg += fmt.Sprintf(" Known %ss: %s", kind, strings.Join(shown, ", "))
	if len(known) > len(shown) {
		msg += fmt.Sprintf(" and %d more", len(known)-len(shown))
	}
	return msg
}

// near reports whether a person who typed a probably meant b: the same
// but for case, one a prefix of the other, or at most a third of the
// letters different (at least one).
func near(a, b string) bool {
	if len(a) > 200 || len(b) > 200 {
		return false
	}
	la, lb := strings.ToLower(a), strings.ToLower(b)
	if la == lb || (len(la) >= 3 && strings.HasPrefix(lb, la)) {
		return true
	}
	return distance(la, lb) <= max(1, len([]rune(lb))/3)
}

// distance is the edit distance between a and b in runes, a swap of two
// neighbours counting as one edit (optimal string alignment).
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
