package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/internal/variables"
)

func (a *app) varsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vars",
		Short: "Work with #{...} variable substitution offline",
	}
	cmd.AddCommand(a.varsRenderCommand())
	return cmd
}

func (a *app) varsRenderCommand() *cobra.Command {
	var o renderOptions
	cmd := &cobra.Command{
		Use:     "render [FILE|-]",
		Short:   "Render a template with given variables, offline (no server)",
		Long:    varsRenderHelp,
		Example: varsRenderExamples,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "-"
			if len(args) == 1 {
				path = args[0]
			}
			return a.renderFile(path, o)
		},
	}
	cmd.Flags().StringArrayVar(&o.vars, "var", nil, "a variable as NAME=VALUE (repeatable; wins over --vars-file)")
	cmd.Flags().StringVar(&o.varsFile, "vars-file", "", "a JSON object of variable names to values")
	cmd.Flags().BoolVar(&o.lenient, "lenient", false, "leave what cannot be substituted as it is, with warnings (as deploy-package does for files)")
	return cmd
}

const varsRenderHelp = `Render substitutes the #{...} expressions of FILE (or standard input, with "-"
or no FILE) and prints exactly the result on standard output, nothing added.
Warnings and errors go to standard error. No server is contacted: use it to
check a script or a config file before a deployment.

The language is Octopus's (Octostache): #{Name}, #{Name | Filter options},
#{if}/#{elseif}/#{else}/#{unless}, #{each x in Collection}, #{calc}, JSON
values (#{Json.Prop}, #{Json.Items[0]}), names with spaces inside [...].
See docs/variables.md for every construct and filter.

Strict by default, as a script step is rendered: an undefined variable, a
malformed expression or a filter that cannot be applied fails with a
non-zero exit and the line and column of each problem. With --lenient,
render as deploy-package substitutes files: such places are left as they
are (as Octopus leaves them) and each is listed on standard error.

With -o json the result is {"text", "warnings": [{"line", "col", "message"}]}.

Variables come from --vars-file (a JSON object of names to values; an
object or array value is used as JSON text) and then --var NAME=VALUE,
which wins. Names are case-insensitive; Octopus.* and Ferry.* are one.`

const varsRenderExamples = `  # Check a config file with the values of an environment
  ferry vars render app.config --vars-file staging.json

  # Try an expression
  echo '#{Url | UriPart Host}' | ferry vars render - --var Url=https://shop.example/cart

  # Loop over steps, as Octopus.Action[...] variables are laid out
  ferry vars render - --var 'Octopus.Action[Build].Name=build' \
      --var 'Octopus.Action[Ship it].Name=ship' <<'EOF'
  #{each a in Octopus.Action}#{a}: #{a.Name}
  #{/each}
  EOF

  # See what deploy-package would leave behind in a file
  ferry vars render web.config --vars-file prod.json --lenient > /dev/null`

// renderOptions are the flags of vars render.
type renderOptions struct {
	vars     []string
	varsFile string
	lenient  bool
}

// renderFile renders the template at path ("-": standard input) and
// prints the result: as it is, with warnings on standard error, or as
// JSON.
func (a *app) renderFile(path string, o renderOptions) error {
	set, err := renderVariables(o.varsFile, o.vars)
	if err != nil {
		return err
	}
	text, err := a.readInput(path)
	if err != nil {
		return err
	}
	mode := variables.Strict
	if o.lenient {
		mode = variables.Lenient
	}
	res, err := variables.Render(string(text), set, mode)
	if err != nil {
		return renderFailure(err)
	}
	if a.output == "json" {
		return a.render(renderJSON(res), nil)
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(a.stderr, "warning:", w)
	}
	if res.Null {
		fmt.Fprintln(a.stderr, "warning: the null filter makes the whole text null; nothing is printed")
	}
	_, err = a.rawStdout.Write([]byte(res.Text))
	return err
}

type renderedJSON struct {
	Text     string        `json:"text"`
	Null     bool          `json:"null,omitempty"`
	Warnings []warningJSON `json:"warnings"`
}

type warningJSON struct {
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Message string `json:"message"`
}

func renderJSON(res variables.Result) renderedJSON {
	out := renderedJSON{Text: res.Text, Null: res.Null, Warnings: []warningJSON{}}
	for _, w := range res.Warnings {
		out.Warnings = append(out.Warnings, warningJSON{Line: w.Line, Col: w.Col, Message: w.Err.Error()})
	}
	return out
}

// renderFailure prints each problem of a strict render on its own line.
func renderFailure(err error) error {
	var pe *variables.ProblemsError
	if errors.As(err, &pe) && len(pe.Problems) > 1 {
		lines := make([]string, len(pe.Problems))
		for i, p := range pe.Problems {
			lines[i] = "  " + p.Error()
		}
		return fmt.Errorf("%d problems (use --lenient to leave them as they are):\n%s", len(pe.Problems), strings.Join(lines, "\n"))
	}
	return err
}

// renderVariables builds the variable set of vars render: the JSON file
// first (in its order, which #{each} follows), then --var.
func renderVariables(file string, vars []string) (*variables.Set, error) {
	set := variables.NewSet()
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read --vars-file: %w", err)
		}
		if err := readVarsJSON(data, set); err != nil {
			return nil, fmt.Errorf("--vars-file %s: %w (want a JSON object of names to values, like {\"Url\": \"https://x\"})", file, err)
		}
	}
	for _, kv := range vars {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("--var %q: want NAME=VALUE", kv)
		}
		set.Set(name, value, false)
	}
	return set, nil
}

// readVarsJSON reads a JSON object keeping its order; a value that is not
// a string is kept as its JSON text (null as "").
func readVarsJSON(data []byte, set *variables.Set) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("not a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		name := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		var s string
		switch {
		case json.Unmarshal(raw, &s) == nil:
		case string(raw) == "null":
		default:
			var compact bytes.Buffer
			if err := json.Compact(&compact, raw); err != nil {
				return err
			}
			s = compact.String()
		}
		set.Set(name, s, false)
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("more than one JSON value")
	}
	return nil
}

// when is a moment for people, in local time to the minute.
func when(t time.Time) string { return t.Local().Format("2006-01-02 15:04") }
