package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// The YAML library reports problems in Go's words ("field x not found in
// type config.Project", "cannot unmarshal !!str into bool"); a person
// wrote YAML, so they are told in its words, each with its line.

// things names each type of the document as the file calls it.
var things = map[string]struct {
	words string
	typ   reflect.Type
}{
	"config.Document":    {"the top level", reflect.TypeFor[Document]()},
	"config.Environment": {"an environment", reflect.TypeFor[Environment]()},
	"config.Lifecycle":   {"a lifecycle", reflect.TypeFor[Lifecycle]()},
	"domain.Phase":       {"a phase", reflect.TypeFor[domain.Phase]()},
	"config.Project":     {"a project", reflect.TypeFor[Project]()},
	"domain.Template":    {"a template", reflect.TypeFor[domain.Template]()},
	"config.Variable":    {"a variable", reflect.TypeFor[Variable]()},
	"domain.Step":        {"a step", reflect.TypeFor[domain.Step]()},
}

var (
	unknownFieldRE = regexp.MustCompile(`^line (\d+): field (.+) not found in type (\S+)$`)
	mismatchRE     = regexp.MustCompile("^line (\\d+): cannot unmarshal (!!\\w+)(?: `(.*)`)? into (.+)$")
	goTypeRE       = regexp.MustCompile(`\b(?:config|domain)\.[A-Z]\w*|\[\][\w.]+|map\[[^\]]+\][\w.]+|\bu?int\d*\b|\bfloat\d+\b|\bbool\b|\bstring\b`)
)

// inYAMLWords rewrites one of the library's messages.
func inYAMLWords(msg string) string {
	if m := unknownFieldRE.FindStringSubmatch(msg); m != nil {
		t, ok := things[m[3]]
		if !ok {
			return fmt.Sprintf("line %s: unknown field %q", m[1], m[2])
		}
		return fmt.Sprintf("line %s: unknown field %q in %s (its fields: %s)", m[1], m[2], t.words, strings.Join(fieldsOf(t.typ), ", "))
	}
	if m := mismatchRE.FindStringSubmatch(msg); m != nil {
		got := tagWords(m[2])
		if m[3] != "" {
			got = fmt.Sprintf("%q (%s)", m[3], got)
		}
		return fmt.Sprintf("line %s: %s where %s belongs", m[1], got, typeWords(m[4]))
	}
	// Whatever else: no Go type names.
	return goTypeRE.ReplaceAllStringFunc(msg, typeWords)
}

func tagWords(tag string) string {
	switch tag {
	case "!!str":
		return "text"
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "true or false"
	case "!!seq":
		return "a list"
	case "!!map":
		return "a mapping (key: value lines)"
	case "!!null":
		return "nothing"
	}
	return "a value"
}

// typeWords names what a Go type holds in YAML.
func typeWords(goType string) string {
	goType = strings.TrimSpace(goType)
	if t, ok := things[goType]; ok {
		return t.words + " (a mapping of " + strings.Join(fieldsOf(t.typ), ", ") + ")"
	}
	switch {
	case goType == "bool":
		return "true or false"
	case goType == "string":
		return "text"
	case strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "uint") || strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "[]"):
		inner := strings.TrimPrefix(goType, "[]")
		if t, ok := things[inner]; ok {
			return "a list of " + plural(t.words)
		}
		return "a list of " + plural(typeWords(inner))
	case strings.HasPrefix(goType, "map["):
		return "a mapping (key: value lines)"
	}
	return "another kind of value"
}

// plural turns "a project" into "projects", "text" into "texts".
func plural(words string) string {
	w := strings.TrimPrefix(strings.TrimPrefix(words, "an "), "a ")
	if i := strings.Index(w, " ("); i >= 0 {
		w = w[:i]
	}
	switch w {
	case "text":
		return "texts (names)"
	case "true or false":
		return "true or false values"
	}
	return w + "s"
}

// fieldsOf lists the YAML field names of a struct type.
func fieldsOf(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name != "" && name != "-" && f.IsExported() {
			out = append(out, name)
		}
	}
	return out
}

// cutValues finds plain values that a " #" cut short: YAML reads " #" as
// the start of a comment, so `script: echo #{Greeting}` sets script to
// "echo" — a habit from Octopus, where #{...} is everywhere. Each is a
// warning with its line.
func cutValues(n *yaml.Node, warn func(string)) {
	if n == nil {
		return
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			if val.Kind == yaml.ScalarNode && val.Style == 0 && strings.HasPrefix(val.LineComment, "#{") {
				warn(fmt.Sprintf("line %d: %s was cut to %q: YAML reads \" #\" as the start of a comment, so %q is not part of it. Quote the value (%s: '%s %s') or write it as a block (%s: |)",
					val.Line, key.Value, val.Value, val.LineComment, key.Value, val.Value, val.LineComment, key.Value))
			}
		}
	}
	for _, c := range n.Content {
		cutValues(c, warn)
	}
}
