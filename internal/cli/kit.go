package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/client"
)

// The command kit: a command is its flags, one client call and its text
// form. show wires them into a cobra command that fetches, then renders
// (JSON with -o json, the text form otherwise); do is the same for a
// command whose output is not one value.

// call is one run of a command: it is the run's context, it calls the
// server with the client, and it has the command's arguments and space.
type call struct {
	context.Context
	*client.Client
	args  []string
	space string
	cmd   *cobra.Command
}

// show makes cmd fetch a value and render it with text.
func show[T any](a *app, cmd *cobra.Command, fetch func(x call) (T, error), text func(w io.Writer, v T)) *cobra.Command {
	return do(a, cmd, func(x call) error {
		v, err := fetch(x)
		if err != nil {
			return err
		}
		return a.render(v, func(w io.Writer) { text(w, v) })
	})
}

// do makes cmd run fn with a client.
func do(a *app, cmd *cobra.Command, fn func(x call) error) *cobra.Command {
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		err = fn(call{Context: cmd.Context(), Client: c, args: args, space: a.space, cmd: cmd})
		return a.explain(suggest(cmd.Context(), c, a.space, err))
	}
	return cmd
}

// rows renders a list as a table under header ("NAME\tKIND").
func rows[T any](header string, row func(T) []string) func(io.Writer, []T) {
	return func(w io.Writer, list []T) {
		var cells [][]string
		for _, v := range list {
			cells = append(cells, row(v))
		}
		table(w, header, cells)
	}
}

// line renders a value as one formatted line.
func line[T any](format string, args func(T) []any) func(io.Writer, T) {
	return func(w io.Writer, v T) { fmt.Fprintf(w, format+"\n", args(v)...) }
}

// group is a command that only holds subcommands. Run with no
// subcommand it prints its help; with an unknown one it fails (exit
// code 2) and suggests what was meant.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ArbitraryArgs}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return usagef("%s (see '%s --help')", msg, cmd.CommandPath())
	}
	cmd.AddCommand(subs...)
	return cmd
}

// output is where a command that fetches a file writes it.
type output struct {
	private bool // only its owner may read it (0600)
	stdout  bool // without --out, standard output; otherwise --out is required
}

// savedFile is what a command that wrote a file prints with -o json.
type savedFile struct {
	File  string `json:"file"`
	Bytes int    `json:"bytes"`
}

// save makes cmd write the file fetch returns to --out FILE (a flag it
// adds), then say so: as a savedFile with -o json, with said (if not nil)
// otherwise. Written to standard output, the file is all it prints.
func save(a *app, cmd *cobra.Command, o output, fetch func(x call) ([]byte, error), said func(w io.Writer, x call, out string)) *cobra.Command {
	var out string
	usage := "file to write"
	if o.stdout {
		usage += " (default: standard output)"
	}
	cmd.Flags().StringVar(&out, "out", "", usage)
	return do(a, cmd, func(x call) error {
		if out == "" && !o.stdout {
			return usagef("give the file to write with --out FILE")
		}
		data, err := fetch(x)
		if err == nil && o.private {
			err = writePrivateFile(out, data)
		} else if err == nil {
			err = a.writeOutput(out, data)
		}
		if err != nil || out == "" || out == "-" {
			return err
		}
		return a.render(savedFile{File: out, Bytes: len(data)}, func(w io.Writer) {
			if said != nil {
				said(w, x, out)
			}
		})
	})
}

// required reads the file a flag names, or fails saying how to give it.
func (a *app) required(path, how string) ([]byte, error) {
	if path == "" {
		return nil, usagef("%s", how)
	}
	return a.readInput(path)
}

// changed is v when the flag was given, nil otherwise: for requests
// whose nil fields mean "unchanged".
func changed[T any](x call, flag string, v *T) *T {
	if x.cmd.Flags().Changed(flag) {
		return v
	}
	return nil
}
