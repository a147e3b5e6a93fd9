package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/internal/catalog"
	"github.com/ferrydeploy/ferry/internal/domain"
)

type variableList struct {
	Variables []domain.Variable `json:"variables"`
	Templates []domain.Template `json:"templates"`
}

func (a *app) varCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "var", Short: "Set and list project variables and template values"}
	var envs []string
	var sensitive bool
	set := &cobra.Command{
		Use:   "set PROJECT NAME VALUE",
		Short: "Set a variable's value for a scope (or a template value for an environment)",
		Long: `Set the value of a project variable for exactly the given scope: a value with
the same name and the same environments is replaced, otherwise one is added.
When deploying, the most specific value wins (scoped beats unscoped).

Give VALUE as - to read it from standard input, which keeps secrets out of
your shell history and the process list. Sensitive values are encrypted at
rest and never shown again.

A value is sensitive with --sensitive, and also without it when the name is
a template of type sensitive or already has sensitive values: a secret never
becomes plain text because a flag was left out.`,
		Example: `  ferry var set Shop Banner "Hello"
  ferry var set Shop Banner "Hello, Test" --env Test
  ferry var set Shop ConnectionString - --env Production --sensitive < conn.txt`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			value := args[2]
			if value == "-" {
				b, err := io.ReadAll(a.stdin)
				if err != nil {
					return err
				}
				value = strings.TrimRight(string(b), "\r\n")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var res variableList
			req := catalog.VariableChange{Name: args[1], Value: value, Sensitive: sensitive, Environments: envs}
			if err := c.Do(cmd.Context(), "POST", a.sp("projects", args[0], "variables"), req, &res); err != nil {
				return err
			}
			return a.render(res, func(w io.Writer) {
				note := ""
				if !sensitive {
					if why := domain.SensitiveReason(args[1], res.Variables, res.Templates); why != "" {
						note = fmt.Sprintf(" as a sensitive value (%s: it is encrypted and never shown)", why)
					}
				}
				fmt.Fprintf(w, "Set %s of %q for %s%s\n", args[1], args[0], scopeText(envs), note)
			})
		},
	}
	set.Flags().StringArrayVar(&envs, "env", nil, "scope the value to this environment (repeatable)")
	set.Flags().BoolVar(&sensitive, "sensitive", false, "the value is a secret: encrypted at rest, masked in logs, never shown")
	list := &cobra.Command{
		Use:   "list PROJECT",
		Short: "List a project's variables and templates (secrets are never shown)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var res variableList
			if err := c.Do(cmd.Context(), "GET", a.sp("projects", args[0], "variables"), nil, &res); err != nil {
				return err
			}
			return a.render(res, func(w io.Writer) { printVariables(w, res.Variables, res.Templates) })
		},
	}
	cmd.AddCommand(set, list)
	return cmd
}

func printVariables(w io.Writer, vars []domain.Variable, templates []domain.Template) {
	var rows [][]string
	for _, v := range vars {
		value := v.Value
		if v.Sensitive {
			value = "<sensitive, set>"
			if !v.HasValue() {
				value = "<sensitive, not set>"
			}
		}
		rows = append(rows, []string{v.Name, oneLine(value), scopeText(v.Environments)})
	}
	table(w, "NAME\tVALUE\tSCOPE", rows)
	if len(templates) > 0 {
		fmt.Fprintln(w)
		var rows [][]string
		for _, t := range templates {
			req := "optional"
			if t.Required {
				req = "required"
			}
			rows = append(rows, []string{t.Name, t.Type, req, dash(t.Default), t.Label})
		}
		table(w, "TEMPLATE\tTYPE\tREQUIRED\tDEFAULT\tLABEL", rows)
	}
}

func scopeText(envs []string) string {
	if len(envs) == 0 {
		return "(unscoped)"
	}
	return strings.Join(envs, ", ")
}

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
