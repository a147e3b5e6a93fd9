package cli

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/api"
)

func (a *app) userCommand() *cobra.Command {
	var req api.CreateUserRequest
	create := show(a, &cobra.Command{
		Use:     "create NAME [--admin]",
		Short:   "Create a user (system administrators only); give them a role with 'ferry team'",
		Example: `  ferry user create alice && ferry user apikey alice --name laptop`,
		Args:    cobra.ExactArgs(1),
	}, func(x call) (api.User, error) {
		req.Name = x.args[0]
		return x.CreateUser(x, req)
	}, line("Created user %q", func(u api.User) []any { return []any{u.Name} }))
	create.Flags().BoolVar(&req.Admin, "admin", false, "a system administrator: may do everything, including spaces and users")
	list := show(a, &cobra.Command{Use: "list", Short: "List users (system administrators only)", Example: `  ferry user list
  ferry user list -o json`, Args: cobra.NoArgs},
		func(x call) ([]api.User, error) { return x.ListUsers(x) },
		rows("NAME\tADMIN\tCREATED", func(u api.User) []string { return []string{u.Name, fmt.Sprint(u.IsAdmin), when(u.CreatedAt)} }))
	passwd := do(a, &cobra.Command{
		Use:   "passwd NAME",
		Short: "Set a user's sign-in password, read from standard input (yourself, or anyone as administrator)",
		Long: `Set a user's sign-in password for the web pages, read from standard input.
Every web session the user has ends (on every server node); the user's API
keys are separate credentials and stay valid — revoke them with
'ferry user revoke-key' if they may be compromised too.`,
		Example: `  ferry user passwd alice            # type the password, then Enter
  printf '%s\n' "$PW" | ferry user passwd alice`,
		Args: cobra.ExactArgs(1),
	}, func(x call) error {
		name := x.args[0]
		fmt.Fprintf(a.stderr, "New password for %s (at least 12 characters): ", name)
		pw, err := bufio.NewReader(a.stdin).ReadString('\n')
		if err != nil && pw == "" {
			return usagef("no password on standard input")
		}
		fmt.Fprintln(a.stderr)
		if _, err := x.SetPassword(x, name, strings.TrimRight(pw, "\r\n")); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "Password of %q set; every web session of %q was signed out (API keys stay valid: `ferry user keys %s`)\n", name, name, name)
		return nil
	})
	var keyName string
	apikey := show(a, &cobra.Command{
		Use:   "apikey NAME [--name KEYNAME]",
		Short: "Create an API key for a user and print only the key",
		Long: `Create a named API key for a user (yourself, or anyone as administrator) and
print it on standard output — nothing else — so it can be captured:
  export FERRY_API_KEY=$(ferry user apikey alice --name ci)
The key is stored hashed and never shown again; revoke it with 'ferry user revoke-key'.`,
		Example: `  ferry user apikey ci --name github-actions`, Args: cobra.ExactArgs(1),
	}, func(x call) (api.NewAPIKey, error) { return x.CreateKey(x, x.args[0], keyName) },
		func(w io.Writer, k api.NewAPIKey) { fmt.Fprintln(w, k.Key) })
	apikey.Flags().StringVar(&keyName, "name", "key", "a name for the key (where it is used)")
	keys := show(a, &cobra.Command{Use: "keys NAME", Short: "List a user's API keys with their last use (never the keys themselves)", Example: `  ferry user keys ci`, Args: cobra.ExactArgs(1)},
		func(x call) ([]api.APIKey, error) { return x.ListKeys(x, x.args[0]) },
		rows("ID\tNAME\tCREATED\tLAST USED\tSTATE", func(k api.APIKey) []string {
			state := "active"
			if k.RevokedAt != nil {
				state = "revoked " + when(*k.RevokedAt)
			}
			return []string{fmt.Sprint(k.ID), k.Name, when(k.CreatedAt), timeOrNever(k.LastUsed), state}
		}))
	revoke := show(a, &cobra.Command{Use: "revoke-key NAME KEY-ID", Short: "Revoke one of a user's API keys (see 'ferry user keys')", Example: `  ferry user keys ci
  ferry user revoke-key ci 3`, Args: cobra.ExactArgs(2)},
		func(x call) (api.RevokedKey, error) {
			id, err := strconv.ParseInt(x.args[1], 10, 64)
			if err != nil || id <= 0 {
				return api.RevokedKey{}, usagef("key ID %q is not a positive whole number (see 'ferry user keys %s')", x.args[1], x.args[0])
			}
			return x.RevokeKey(x, x.args[0], id)
		},
		line("Revoked key %d of %q", func(r api.RevokedKey) []any { return []any{r.Revoked, r.User} }))
	return group("user", "Manage users, passwords and API keys", create, list, passwd, apikey, keys, revoke)
}

func timeOrNever(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return when(*t)
}

func (a *app) teamCommand() *cobra.Command {
	var users, projects, envs []string
	var role string
	req := func(x call) api.TeamRequest {
		return api.TeamRequest{Name: x.args[0], Role: changed(x, "role", &role), Members: changed(x, "user", &users),
			Projects: changed(x, "project", &projects), Environments: changed(x, "env", &envs)}
	}
	flags := func(c *cobra.Command) *cobra.Command {
		c.Flags().StringArrayVar(&users, "user", nil, "member (repeatable)")
		c.Flags().StringVar(&role, "role", "", "viewer, deployer, project-contributor or space-admin")
		c.Flags().StringArrayVar(&projects, "project", nil, "limit to this project (repeatable)")
		c.Flags().StringArrayVar(&envs, "env", nil, "limit to this environment (repeatable)")
		return c
	}
	showTeam := line("Team %q: role %s, members %s, projects %s, environments %s", func(t api.Team) []any {
		return []any{t.Name, t.Role, listOrAll(t.Members, "none"), listOrAll(t.Projects, "all"), listOrAll(t.Environments, "all")}
	})
	create := flags(show(a, &cobra.Command{
		Use:     "create NAME --role ROLE --user U... [--project P]... [--env E]...",
		Short:   "Create a team in the space",
		Example: `  ferry team create "Prod deployers" --role deployer --user bob --project Shop --env Production`,
		Args:    cobra.ExactArgs(1),
	}, func(x call) (api.Team, error) { return x.CreateTeam(x, x.space, req(x)) }, showTeam))
	update := flags(show(a, &cobra.Command{Use: "update NAME [--role ROLE] [--user U]... [--project P]... [--env E]...", Short: "Change a team: each flag given replaces that part", Example: `  ferry team update deployers --role deployer
  ferry team update deployers --user alice --user bob   # the members are now alice and bob`, Args: cobra.ExactArgs(1)},
		func(x call) (api.Team, error) { return x.UpdateTeam(x, x.space, x.args[0], req(x)) }, showTeam))
	list := show(a, &cobra.Command{Use: "list", Short: "List the space's teams", Example: `  ferry team list
  ferry team list --space "Prod Space" -o json`, Args: cobra.NoArgs},
		func(x call) ([]api.Team, error) { return x.ListTeams(x, x.space) },
		rows("TEAM\tROLE\tMEMBERS\tPROJECTS\tENVIRONMENTS", func(t api.Team) []string {
			return []string{t.Name, t.Role, listOrAll(t.Members, "none"), listOrAll(t.Projects, "all"), listOrAll(t.Environments, "all")}
		}))
	cmd := group("team", "Grant roles in a space to users", create, update, list)
	cmd.Long = `A team grants one role in one space to its members, optionally limited to some
projects (remote projects included) and environments.

Roles: viewer (see), deployer (deploy, promote), project-contributor (edit process
and variables, create releases), space-admin (everything in the space, including
trust and imports). System administrators ('ferry user create --admin') may do
everything everywhere. See docs/permissions.md.`
	return cmd
}

func listOrAll(s []string, empty string) string {
	if len(s) == 0 {
		return empty
	}
	return strings.Join(s, ", ")
}
