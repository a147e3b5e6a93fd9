package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/api"
)

func (a *app) varCommand() *cobra.Command {
	var envs []string
	var sensitive bool
	var project, name string
	set := show(a, &cobra.Command{
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
	}, func(x call) (api.VariableList, error) {
		project, name = x.args[0], x.args[1]
		value := x.args[2]
		if value == "-" {
			b, err := io.ReadAll(a.stdin)
			if err != nil {
				return api.VariableList{}, err
			}
			value = strings.TrimRight(string(b), "\r\n")
		}
		return x.SetVariable(x, x.space, x.args[0], api.SetVariableRequest{Name: x.args[1], Value: value, Sensitive: sensitive, Environments: envs})
	}, func(w io.Writer, res api.VariableList) {
		note := ""
		if why := sensitiveReason(name, res); !sensitive && why != "" {
			note = fmt.Sprintf(" as a sensitive value (%s: it is encrypted and never shown)", why)
		}
		fmt.Fprintf(w, "Set %s of %q for %s%s\n", name, project, scopeText(envs), note)
	})
	set.Flags().StringArrayVar(&envs, "env", nil, "scope the value to this environment (repeatable)")
	set.Flags().BoolVar(&sensitive, "sensitive", false, "the value is a secret: encrypted at rest, masked in logs, never shown")
	list := show(a, &cobra.Command{Use: "list PROJECT", Short: "List a project's variables and templates (secrets are never shown)", Example: `  ferry var list Shop
  ferry var list "DevTest Space: Shop" --space "Prod Space" -o json`, Args: cobra.ExactArgs(1)},
		func(x call) (api.VariableList, error) { return x.ListVariables(x, x.space, x.args[0]) },
		func(w io.Writer, res api.VariableList) { printVariables(w, res.Variables, res.Templates) })
	return group("var", "Set and list project variables and template values", set, list)
}

// sensitiveReason says why the server keeps name's value sensitive (as
// domain.SensitiveReason does), or "" when it does not.
func sensitiveReason(name string, res api.VariableList) string {
	for _, t := range res.Templates {
		if t.Type == "sensitive" && strings.EqualFold(t.Name, name) {
			return name + " is a template of type sensitive"
		}
	}
	for _, v := range res.Variables {
		if v.Sensitive && strings.EqualFold(v.Name, name) {
			return name + " already has sensitive values"
		}
	}
	return ""
}

func printVariables(w io.Writer, vars []api.Variable, templates []api.Template) {
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
		templateRows("TEMPLATE")(w, templates)
	}
}

// templateRows is a table of templates whose first column is headed first.
func templateRows(first string) func(io.Writer, []api.Template) {
	return rows(first+"\tTYPE\tREQUIRED\tDEFAULT\tLABEL", func(t api.Template) []string {
		req := "optional"
		if t.Required {
			req = "required"
		}
		return []string{t.Name, t.Type, req, dash(t.Default), t.Label}
	})
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
