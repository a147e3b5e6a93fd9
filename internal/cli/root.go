// Package cli is the ferry command line. Every command but `server` talks to
// a ferry server only through the public client package.
package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

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
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{stdout: newTermWriter(stdout), stderr: newTermWriter(stderr), rawStdout: stdout, rawStderr: stderr, stdin: stdin}
}

// Execute runs the ferry command line and returns the process exit code.
func Execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := newApp(stdin, stdout, stderr)
	defer a.stdout.Flush()
	defer a.stderr.Flush()
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		var ex exitError
		if errors.As(err, &ex) {
			if ex.msg != "" {
				fmt.Fprintln(a.stderr, "error:", ex.msg)
			}
			return ex.code
		}
		fmt.Fprintln(a.stderr, "error:", err)
		return 1
	}
	return 0
}

// exitError ends the program with a specific code.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

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
./ferry-data/admin.key or $FERRY_DATA/admin.key is used if readable).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.server, "server", envOr("FERRY_SERVER", "http://127.0.0.1:8080"), "server URL (env FERRY_SERVER)")
	pf.StringVar(&a.apiKey, "api-key", os.Getenv("FERRY_API_KEY"), "API key (env FERRY_API_KEY)")
	pf.StringVar(&a.pin, "server-fingerprint", os.Getenv("FERRY_SERVER_FINGERPRINT"), "accept the HTTPS server whose self-signed certificate has this SHA-256 fingerprint (env FERRY_SERVER_FINGERPRINT)")
	pf.StringVar(&a.space, "space", envOr("FERRY_SPACE", "Default"), "space to work in (env FERRY_SPACE)")
	pf.StringVarP(&a.output, "output", "o", "text", "output format: text or json")
	root.AddCommand(
		a.serverCommand(),
		a.spaceCommand(),
		a.remoteSpaceCommand(),
		a.envCommand(),
		a.lifecycleCommand(),
		a.projectCommand(),
		a.applyCommand(),
		a.exportCommand(),
		a.varCommand(),
		a.varsCommand(),
		a.releaseCommand(),
		a.deployCommand(),
		a.promoteCommand(),
		a.bundleCommand(),
		a.receiptCommand(),
		a.packageCommand(),
		a.dashboardCommand(),
		a.userCommand(),
		a.teamCommand(),
		a.taskCommand(),
		a.auditCommand(),
	)
	return root
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// client returns an API client for the global flags.
func (a *app) client() (*client.Client, error) {
	switch a.output {
	case "text", "json":
	default:
		return nil, fmt.Errorf("unknown output format %q: use -o text or -o json", a.output)
	}
	key := a.apiKey
	if key == "" {
		key = a.localAdminKey()
	}
	if key == "" {
		return nil, fmt.Errorf("no API key: pass --api-key or set FERRY_API_KEY (a new server writes the admin key to DATA/admin.key)")
	}
	c := client.New(a.server, key)
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

// sp returns the path of segments within the current space.
func (a *app) sp(segments ...string) string {
	return client.SpacePath(a.space, segments...)
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
