// Package cli is the ferry command line. Every command but `server` talks to
// a ferry server only through the public client package.
package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/client"
)

// app holds the global flags and the streams commands write to.
type app struct {
	server string
	apiKey string
	pin    string // the server's pinned TLS certificate fingerprint
	space  string
	output string
	// stdout and stderr take text for people: they show control characters
	// as visible text (termsafe.go). rawStdout and rawStderr take data —
	// files written to standard output, JSON, progress bars — unchanged.
	stdout    *termWriter
	stderr    *termWriter
	rawStdout io.Writer
	rawStderr io.Writer
	stdin     io.Reader
	askedJSON bool // -o json is in the arguments
	// profile is --profile; profileRead is set once the profile in use
	// has filled the settings no flag or variable gave (connect.go).
	profile     string
	profileRead bool
	root        *cobra.Command
	showVersion bool
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{stdout: newTermWriter(stdout), stderr: newTermWriter(stderr), rawStdout: stdout, rawStderr: stderr, stdin: stdin}
}

// Execute runs the ferry command line and returns the process exit code
// (exitCodes).
func Execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := newApp(stdin, stdout, stderr)
	a.askedJSON = askedJSON(args)
	defer a.stdout.Flush()
	defer a.stderr.Flush()
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		return a.report(err)
	}
	return 0
}

// askedJSON reports whether args ask for -o json, for errors that come
// before the flags are read (an unknown flag).
func askedJSON(args []string) bool {
	for i, arg := range args {
		switch arg {
		case "-ojson", "-o=json", "--output=json":
			return true
		case "-o", "--output":
			if i+1 < len(args) && args[i+1] == "json" {
				return true
			}
		}
	}
	return false
}

func (a *app) jsonOutput() bool { return a.output == "json" || a.askedJSON }

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "ferry",
		Short: "Deploy releases and promote them across spaces and servers",
		Long: `ferry is a deployment server. It deploys releases through environments and
promotes one release across independently run servers ("spaces"), even across
air gaps, with signed bundles and encrypted secrets.

Start a server with 'ferry server'; every other command talks to a server
(--server, default http://127.0.0.1:8080) as the user whose API key you give
(--api-key or FERRY_API_KEY; when neither is set, the admin key in
./ferry-data/admin.key or $FERRY_DATA/admin.key is used if readable).
'ferry login' saves these settings as a profile so that later commands need
none of them; flags and FERRY_* variables still win.

` + exitCodeHelp(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if a.output != "text" && a.output != "json" {
				return usagef("unknown output format %q: use -o text or -o json", a.output)
			}
			if cmd.Name() == "login" {
				a.profileRead = true // login saves what its flags say, not a profile's
			}
			return nil // client() reads the profile: commands that need no server never do
		},
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if a.showVersion && len(args) == 0 {
				return a.printVersion(cmd)
			}
			return group(cmd.Use, cmd.Short).RunE(cmd, args) // help, or an unknown command
		},
	}
	a.root = root
	root.Flags().BoolVar(&a.showVersion, "version", false, "print the client's and the server's version (as 'ferry version')")
	pf := root.PersistentFlags()
	pf.StringVar(&a.server, "server", envOr("FERRY_SERVER", "http://127.0.0.1:8080"), "server URL (env FERRY_SERVER)")
	// The environment is read when the key is needed (client), not as
	// the flag's default: --help prints defaults.
	pf.StringVar(&a.apiKey, "api-key", "", "API key (env FERRY_API_KEY)")
	pf.StringVar(&a.pin, "server-fingerprint", os.Getenv("FERRY_SERVER_FINGERPRINT"), "accept the HTTPS server whose self-signed certificate has this SHA-256 fingerprint (env FERRY_SERVER_FINGERPRINT)")
	pf.StringVar(&a.space, "space", envOr("FERRY_SPACE", "Default"), "space to work in (env FERRY_SPACE)")
	pf.StringVarP(&a.output, "output", "o", "text", "output format: text or json")
	pf.StringVar(&a.profile, "profile", os.Getenv("FERRY_PROFILE"), "saved connection settings to use (env FERRY_PROFILE; see 'ferry login')")
	root.AddCommand(a.commands()...)
	usageErrors(root)
	a.completeNames(root)
	return root
}

// commands are ferry's top-level commands, in the order help lists them.
func (a *app) commands() []*cobra.Command {
	return []*cobra.Command{
		a.serverCommand(), a.spaceCommand(), a.remoteSpaceCommand(), a.envCommand(), a.lifecycleCommand(),
		a.projectCommand(), a.applyCommand(), a.exportCommand(), a.varCommand(), a.varsCommand(),
		a.releaseCommand(), a.deployCommand(), a.promoteCommand(), a.bundleCommand(), a.receiptCommand(),
		a.packageCommand(), a.dashboardCommand(), a.userCommand(), a.teamCommand(), a.taskCommand(),
		a.triggerCommand(), a.auditCommand(), a.agentCommand(), a.targetCommand(), a.retentionCommand(),
		a.tenantCommand(), a.versionCommand(), a.loginCommand(), a.logoutCommand(), a.profileCommand(),
	}
}

// usageErrors makes every error of the command line itself — an unknown
// command, help topic or flag, a wrong number of arguments — a usage
// error (exit code 2), and every command that only holds others fail on
// an unknown one. Cobra's own commands (help, completion) are added first
// so that they follow the same rules.
func usageErrors(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "help" {
			c.RunE = helpTopic
		}
	}
	usageErrorsBelow(root)
}

// helpTopic is `ferry help COMMAND...`: that command's help, or a usage
// error when there is no such command.
func helpTopic(c *cobra.Command, args []string) error {
	cmd, rest, err := c.Root().Find(args)
	if err != nil || len(rest) > 0 {
		return usagef("unknown help topic %q (see 'ferry --help')", strings.Join(args, " "))
	}
	cmd.InitDefaultHelpFlag()
	return cmd.Help()
}

func usageErrorsBelow(cmd *cobra.Command) {
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usagef("%v (see '%s --help')", err, c.CommandPath())
	})
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				return usagef("%v (see '%s --help')", err, c.CommandPath())
			}
			return nil
		}
	}
	if cmd.HasSubCommands() && cmd.RunE == nil && cmd.Run == nil {
		g := group(cmd.Use, cmd.Short)
		cmd.Args, cmd.RunE = g.Args, g.RunE
	}
	for _, sub := range cmd.Commands() {
		usageErrorsBelow(sub)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// client returns an API client for the global flags.
func (a *app) client() (*client.Client, error) {
	if a.root != nil {
		if err := a.useProfile(a.root); err != nil {
			return nil, err
		}
	}
	server, err := serverURL(a.server)
	if err != nil {
		return nil, err
	}
	a.server = server
	key := a.apiKey
	if key == "" {
		key = os.Getenv("FERRY_API_KEY")
	}
	if key == "" {
		key = a.localAdminKey()
	}
	if key == "" {
		return nil, exitError{kind: api.KindUnauthorized, msg: "no API key: pass --api-key or set FERRY_API_KEY (a new server writes the admin key to DATA/admin.key)"}
	}
	c := client.New(server, key)
	if a.pin != "" {
		if err := c.PinCertificate(a.pin); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// localAdminKey reads the admin key of a server on this machine, so that the
// first steps with a local server need no configuration.
func (a *app) localAdminKey() string {
	for _, dir := range []string{os.Getenv("FERRY_DATA"), "ferry-data"} {
		if dir == "" {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(dir, "admin.key")); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return ""
}

// render prints v as JSON with -o json, or calls text otherwise. Either way
// no character that a terminal obeys reaches standard output (termsafe.go).
func (a *app) render(v any, text func(w io.Writer)) error {
	if a.output == "json" {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return err
		}
		_, err := a.rawStdout.Write(jsonSafe(b.Bytes()))
		return err
	}
	text(a.stdout)
	return a.stdout.Flush()
}

// table prints rows under a header, aligned.
func table(w io.Writer, header string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// readInput reads a file, or standard input when path is "-".
func (a *app) readInput(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(a.stdin)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// writeOutput writes data to path (mode 0644), or to stdout when path is "" or "-".
func (a *app) writeOutput(path string, data []byte) error {
	if path == "" || path == "-" {
		_, err := a.rawStdout.Write(data)
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
