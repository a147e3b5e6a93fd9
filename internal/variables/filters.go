package variables

import (
	"encoding/base64"
	"fmt"
	"html"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// filterFunc transforms a value; it is built once at parse time with its
// arguments already validated.
type filterFunc func(string) (string, error)

// filterCall is one "| Name args" step of an expression.
type filterCall struct {
	name string
	fn   filterFunc
}

// filterSpec describes a filter: how many arguments it takes and how to build
// it from them.
type filterSpec struct {
	name             string
	minArgs, maxArgs int
	build            func(args []string) (filterFunc, error)
}

// filters is keyed by lower-cased name because Octopus matches filter names
// case-insensitively. It is never modified.
var filters = map[string]filterSpec{
	"toupper":      simple("ToUpper", strings.ToUpper),
	"tolower":      simple("ToLower", strings.ToLower),
	"trim":         simple("Trim", strings.TrimSpace),
	"htmlescape":   simple("HtmlEscape", html.EscapeString),
	"xmlescape":    simple("XmlEscape", xmlEscaper.Replace),
	"jsonescape":   simple("JsonEscape", jsonEscape),
	"uriescape":    simple("UriEscape", url.QueryEscape),
	"base64encode": simple("Base64Encode", base64Encode),
	"base64decode": {name: "Base64Decode", build: func([]string) (filterFunc, error) {
		return base64Decode, nil
	}},
	"replace":   {name: "Replace", minArgs: 2, maxArgs: 2, build: buildReplace},
	"truncate":  {name: "Truncate", minArgs: 1, maxArgs: 1, build: buildTruncate},
	"substring": {name: "Substring", minArgs: 1, maxArgs: 2, build: buildSubstring},
}

// xmlEscaper escapes the five XML special characters and nothing else, so
// line breaks in values stay line breaks.
var xmlEscaper = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;",
)

func simple(name string, f func(string) string) filterSpec {
	return filterSpec{name: name, build: func([]string) (filterFunc, error) {
		return func(s string) (string, error) { return f(s), nil }, nil
	}}
}

// buildFilter looks up a filter by name and binds its arguments.
func buildFilter(name string, args []string) (filterFunc, error) {
	spec, ok := filters[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("unknown filter %q (known: %s)", name, strings.Join(knownFilters(), ", "))
	}
	if len(args) < spec.minArgs || len(args) > spec.maxArgs {
		return nil, fmt.Errorf("filter %s takes %s, got %d", spec.name, argCount(spec), len(args))
	}
	fn, err := spec.build(args)
	if err != nil {
		return nil, fmt.Errorf("filter %s: %w", spec.name, err)
	}
	return fn, nil
}

func knownFilters() []string {
	names := make([]string, 0, len(filters))
	for _, spec := range filters {
		names = append(names, spec.name)
	}
	sort.Strings(names)
	return names
}

func argCount(spec filterSpec) string {
	switch {
	case spec.maxArgs == 0:
		return "no arguments"
	case spec.minArgs == spec.maxArgs && spec.maxArgs == 1:
		return "1 argument"
	case spec.minArgs == spec.maxArgs:
		return fmt.Sprintf("%d arguments", spec.maxArgs)
	default:
		return fmt.Sprintf("%d to %d arguments", spec.minArgs, spec.maxArgs)
	}
}

// jsonEscape escapes s for use inside a JSON string literal (without the
// surrounding quotes). Unlike encoding/json it leaves <, > and & alone, which
// are harmless in config files.
func jsonEscape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\u2028', '\u2029':
			// Valid JSON but not valid JavaScript; escaping is always safe.
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

func base64Encode(s string) string {
	return base64.StdEncoding.EncodeToString([]byte(s))
}

func base64Decode(s string) (string, error) {
	out, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("not valid base64: %w", err)
	}
	return string(out), nil
}

func buildReplace(args []string) (filterFunc, error) {
	old, repl := args[0], args[1]
	if old == "" {
		// An empty pattern would insert repl between every character.
		return nil, fmt.Errorf("the text to replace must not be empty")
	}
	return func(s string) (string, error) {
		n := strings.Count(s, old)
		if n > 0 && len(s)+n*(len(repl)-len(old)) > maxOutput {
			return "", fmt.Errorf("%w: Replace result would exceed %d MiB", ErrLimit, maxOutput>>20)
		}
		return strings.ReplaceAll(s, old, repl), nil
	}, nil
}

// buildTruncate keeps the first N characters and, like Octopus, appends
// "..." when anything was cut.
func buildTruncate(args []string) (filterFunc, error) {
	n, err := nonNegative(args[0], "length")
	if err != nil {
		return nil, err
	}
	return func(s string) (string, error) {
		if utf8.RuneCountInString(s) <= n {
			return s, nil
		}
		return s[:runeOffset(s, n)] + "...", nil
	}, nil
}

// buildSubstring takes START [LENGTH] in characters; out-of-range values are
// clamped rather than treated as errors.
func buildSubstring(args []string) (filterFunc, error) {
	start, err := nonNegative(args[0], "start")
	if err != nil {
		return nil, err
	}
	length := -1
	if len(args) == 2 {
		if length, err = nonNegative(args[1], "length"); err != nil {
			return nil, err
		}
	}
	return func(s string) (string, error) {
		s = s[runeOffset(s, start):]
		if length >= 0 {
			s = s[:runeOffset(s, length)]
		}
		return s, nil
	}, nil
}

func nonNegative(arg, what string) (int, error) {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s %q is not a non-negative integer", what, arg)
	}
	return n, nil
}

// runeOffset returns the byte offset of the n-th character of s, or len(s).
func runeOffset(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}
