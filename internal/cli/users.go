package cli

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/client"
	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/domain"
)

func (a *app) userCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage users, passwords and API keys"}
	var admin bool
	create := &cobra.Command{
		Use:     "create NAME [--admin]",
		Short:   "Create a user (system administrators only); give them a role with 'ferry team'",
		Example: `  ferry user create alice && ferry user apikey alice --name laptop`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var u domain.User
			if err := c.Do(cmd.Context(), "POST", client.Path("users"), map[string]any{"name": args[0], "admin": admin}, &u); err != nil {
				return err
			}
			return a.render(u, func(w io.Writer) { fmt.Fprintf(w, "Created user %q\n", u.Name) })
		},
	}
	create.Flags().BoolVar(&admin, "admin", false, "a system administrator: may do everything, including spaces and users")
	list := &cobra.Command{
		Use:   "list",
		Short: "List users (system administrators only)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var list []domain.User
			if err := c.Do(cmd.Context(), "GET", client.Path("users"), nil, &list); err != nil {
				return err
			}
			return a.render(list, func(w io.Writer) {
				var rows [][]string
				for _, u := range list {
					rows = append(rows, []string{u.Name, fmt.Sprint(u.IsAdmin), u.CreatedAt.Local().Format("2006-01-02 15:04")})
				}
				table(w, "NAME\tADMIN\tCREATED", rows)
			})
		},
	}
	passwd := &cobra.Command{
		Use:   "passwd NAME",
		Short: "Set a user's sign-in password, read from standard input (yourself, or anyone as administrator)",
		Long: `Set a user's sign-in password for the web pages, read from standard input.
Every web session the user has ends (on every server node); the user's API
keys are separate credentials and stay valid — revoke them with
'ferry user revoke-key' if they may be compromised too.`,
		Example: `  ferry user passwd alice            # type the password, then Enter
  printf '%s\n' "$PW" | ferry user passwd alice`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(a.stderr, "New password for %s (at least 12 characters): ", args[0])
			line, err := bufio.NewReader(a.stdin).ReadString('\n')
			if err != nil && line == "" {
				return fmt.Errorf("no password on standard input")
			}
			fmt.Fprintln(a.stderr)
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.Do(cmd.Context(), "POST", client.Path("users", args[0], "password"), map[string]string{"password": strings.TrimRight(line, "\r\n")}, nil); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Password of %q set; every web session of %q was signed out (API keys stay valid: `ferry user keys %s`)\n", args[0], args[0], args[0])
			return nil
		},
	}
	var keyName string
	apikey := &cobra.Command{
		Use:   "apikey NAME [--name KEYNAME]",
		Short: "Create an API key for a user and print only the key",
		Long: `Create a named API key for a user (yourself, or anyone as administrator) and
print it on standard output — nothing else — so it can be captured:
  export FERRY_API_KEY=$(ferry user apikey alice --name ci)
The key is stored hashed and never shown again; revoke it with 'ferry user revoke-key'.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var res map[string]string
			if err := c.Do(cmd.Context(), "POST", client.Path("users", args[0], "keys"), map[string]string{"name": keyName}, &res); err != nil {
				return err
			}
			if a.output == "json" {
				return a.render(res, nil)
			}
			fmt.Fprintln(a.stdout, res["key"])
			return nil
		},
	}
	apikey.Flags().StringVar(&keyName, "name", "key", "a name for the key (where it is used)")
	keys := &cobra.Command{
		Use:   "keys NAME",
		Short: "List a user's API keys with their last use (never the keys themselves)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var list []domain.APIKey
			if err := c.Do(cmd.Context(), "GET", client.Path("users", args[0], "keys"), nil, &list); err != nil {
				return err
			}
			return a.render(list, func(w io.Writer) {
				var rows [][]string
				for _, k := range list {
					state := "active"
					if k.RevokedAt != nil {
						state = "revoked " + k.RevokedAt.Local().Format("2006-01-02 15:04")
					}
					rows = append(rows, []string{fmt.Sprint(k.ID), k.Name, k.CreatedAt.Local().Format("2006-01-02 15:04"), timeOrNever(k.LastUsed), state})
				}
				table(w, "ID\tNAME\tCREATED\tLAST USED\tSTATE", rows)
			})
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke-key NAME KEY-ID",
		Short: "Revoke one of a user's API keys (see 'ferry user keys')",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.Do(cmd.Context(), "POST", client.Path("users", args[0], "keys", args[1], "revoke"), map[string]string{}, nil); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Revoked key %s of %q\n", args[1], args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, passwd, apikey, keys, revoke)
	return cmd
}

func timeOrNever(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.Local().Format("2006-01-02 15:04")
}

func (a *app) teamCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "team",
		Short: "Grant roles in a space to users",
		Long: `A team grants one role in one space to its members, optionally limited to some
projects (remote projects included) and environments.

Roles: viewer (see), deployer (deploy, promote), project-contributor (edit process
and variables, create releases), space-admin (everything in the space, including
trust and imports). System administrators ('ferry user create --admin') may do
everything everywhere. See docs/permissions.md.`,
	}
	var users, projects, envs []string
	var role string
	req := func(cmd *cobra.Command, name string) access.TeamRequest {
		r := access.TeamRequest{Name: name}
		if cmd.Flags().Changed("role") {
			r.Role = &role
		}
		if cmd.Flags().Changed("user") {
			r.Members = &users
		}
		if cmd.Flags().Changed("project") {
			r.Projects = &projects
		}
		if cmd.Flags().Changed("env") {
			r.Environments = &envs
		}
		return r
	}
	flags := func(c *cobra.Command) {
		c.Flags().StringArrayVar(&users, "user", nil, "member (repeatable)")
		c.Flags().StringVar(&role, "role", "", "viewer, deployer, project-contributor or space-admin")
		c.Flags().StringArrayVar(&projects, "project", nil, "limit to this project (repeatable)")
		c.Flags().StringArrayVar(&envs, "env", nil, "limit to this environment (repeatable)")
	}
	show := func(w io.Writer, t domain.Team) {
		fmt.Fprintf(w, "Team %q: role %s, members %s, projects %s, environments %s\n", t.Name, t.Role,
			listOrAll(t.Members, "none"), listOrAll(t.Projects, "all"), listOrAll(t.Environments, "all"))
	}
	create := &cobra.Command{
		Use:     "create NAME --role ROLE --user U... [--project P]... [--env E]...",
		Short:   "Create a team in the space",
		Example: `  ferry team create "Prod deployers" --role deployer --user bob --project Shop --env Production`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var t domain.Team
			if err := c.Do(cmd.Context(), "POST", a.sp("teams"), req(cmd, args[0]), &t); err != nil {
				return err
			}
			return a.render(t, func(w io.Writer) { show(w, t) })
		},
	}
	flags(create)
	update := &cobra.Command{
		Use:   "update NAME [--role ROLE] [--user U]... [--project P]... [--env E]...",
		Short: "Change a team: each flag given replaces that part",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var t domain.Team
			if err := c.Do(cmd.Context(), "PATCH", a.sp("teams", args[0]), req(cmd, args[0]), &t); err != nil {
				return err
			}
			return a.render(t, func(w io.Writer) { show(w, t) })
		},
	}
	flags(update)
	list := &cobra.Command{
		Use:   "list",
		Short: "List the space's teams",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var list []domain.Team
			if err := c.Do(cmd.Context(), "GET", a.sp("teams"), nil, &list); err != nil {
				return err
			}
			return a.render(list, func(w io.Writer) {
				var rows [][]string
				for _, t := range list {
					rows = append(rows, []string{t.Name, t.Role, listOrAll(t.Members, "none"), listOrAll(t.Projects, "all"), listOrAll(t.Environments, "all")})
				}
				table(w, "TEAM\tROLE\tMEMBERS\tPROJECTS\tENVIRONMENTS", rows)
			})
		},
	}
	cmd.AddCommand(create, update, list)
	return cmd
}

func listOrAll(s []string, empty string) string {
	if len(s) == 0 {
		return empty
	}
	return strings.Join(s, ", ")
}
