package web

import (
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// parsePages parses each page template together with the shared layout.
func parsePages(funcs template.FuncMap) map[string]*template.Template {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", n))
	}
	return pages
}

func (h *Handler) funcs() template.FuncMap {
	return template.FuncMap{
		"spacePath":   spacePath,
		"projectPath": projectPath,
		"releasePath": releasePath,
		"taskPath":    taskPath,
		"remotePath":  func(space, name string) string { return spacePath(space) + "/remote-spaces/" + url.PathEscape(name) },
		"comparePath": func(space, project, from, to string) string {
			return projectPath(space, project) + "/compare?from=" + url.QueryEscape(from) + "&to=" + url.QueryEscape(to)
		},
		"age":     func(t any) string { return age(h.now(), t) },
		"when":    when,
		"timeout": func(at time.Time) string { return timeout(h.now(), at) },
		"onTargets": func(n *int) string {
			if n == nil {
				return ""
			}
			return onTargets(*n)
		},
		"healthClass":   healthClass,
		"state":         stateOf,
		"short":         short,
		"join":          func(ss []string) string { return strings.Join(ss, ", ") },
		"show":          show,
		"size":          size,
		"diffLines":     diffLines,
		"safeTemplates": safeTemplates,
		"isRemote":      func(env string) bool { return strings.Contains(env, ": ") },
		"dict":          dict,
		"pathEscape":    url.PathEscape,
	}
}

// stateView is how a deployment state looks: an icon, a word and a class
// whose colour and pattern (CSS) both tell it, so it reads in greyscale too.
type stateView struct {
	Class, Icon, Label string
}

func stateOf(s domain.TaskState) stateView {
	switch s {
	case domain.TaskSuccess:
		return stateView{"ok", "✓", "Success"}
	case domain.TaskFailed:
		return stateView{"bad", "✕", "Failed"}
	case domain.TaskExecuting:
		return stateView{"run", "▶", "Running"}
	case domain.TaskQueued:
		return stateView{"wait", "◷", "Queued"}
	case domain.TaskWaiting:
		return stateView{"wait", "✋", "Waiting for a decision"}
	case domain.TaskCancelled:
		return stateView{"off", "⊘", "Cancelled"}
	case "":
		return stateView{"none", "–", "Not deployed"}
	}
	return stateView{"wait", "?", string(s)}
}

func timeOf(t any) (time.Time, bool) {
	switch v := t.(type) {
	case time.Time:
		return v, !v.IsZero()
	case *time.Time:
		if v == nil {
			return time.Time{}, false
		}
		return *v, !v.IsZero()
	}
	return time.Time{}, false
}

// age is how long ago t was, as people say it.
func age(now time.Time, t any) string {
	at, ok := timeOf(t)
	if !ok {
		return ""
	}
	d := now.Sub(at)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// timeout says when a manual intervention's timeout aborts it, in the
// tense that is true now: "aborts at T (in 3 h 12 min) unless decided", or
// that it timed out (the scheduler aborts it at its next check).
func timeout(now, at time.Time) string {
	if !at.After(now) {
		return "timed out at " + when(at) + " without a decision; it is being aborted"
	}
	d := at.Sub(now).Round(time.Minute)
	in := "under a minute"
	switch {
	case d >= 48*time.Hour:
		in = fmt.Sprintf("%d days %d h", int(d.Hours()/24), int(d.Hours())%24)
	case d >= time.Hour:
		in = fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		in = fmt.Sprintf("%d min", int(d.Minutes()))
	}
	return "aborts at " + when(at) + " (in " + in + ") unless decided"
}

func when(t any) string {
	at, ok := timeOf(t)
	if !ok {
		return ""
	}
	return at.UTC().Format("2006-01-02 15:04:05 UTC")
}

// short abbreviates a digest or fingerprint for tables; the full value is
// in the element's title.
func short(s string) string {
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

// show renders a changed field's value.
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		if x == "" {
			return "(empty)"
		}
		return x
	case []string:
		if len(x) == 0 {
			return "(none)"
		}
		return strings.Join(x, ", ")
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = show(e)
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// diffLine is one line of a unified diff with its kind for colouring.
type diffLine struct {
	Class, Text string
}

func diffLines(diff string) []diffLine {
	var out []diffLine
	for _, l := range strings.Split(strings.TrimRight(diff, "\n"), "\n") {
		c := "ctx"
		switch {
		case strings.HasPrefix(l, "@@"):
			c = "hunk"
		case strings.HasPrefix(l, "+"):
			c = "add"
		case strings.HasPrefix(l, "-"):
			c = "del"
		}
		out = append(out, diffLine{c, l})
	}
	return out
}

// variableView is a variable as pages show it. It is built from a
// domain.Variable by safeVariables, the one place pages read a variable's
// value, which never copies a sensitive one.
type variableView struct {
	Name      string
	Value     string
	Sensitive bool
	Set       bool
	Scope     []string
}

func safeVariables(vars []domain.Variable) []variableView {
	out := make([]variableView, 0, len(vars))
	for _, v := range vars {
		vv := variableView{Name: v.Name, Sensitive: v.Sensitive, Set: v.HasValue(), Scope: v.Environments}
		if !v.Sensitive {
			vv.Value = v.Value
		}
		out = append(out, vv)
	}
	slices.SortStableFunc(out, func(a, b variableView) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// templateView is a variable template; a sensitive template's default is
// never shown.
type templateView struct {
	Name, Label, Help, Type, Default string
	Required                         bool
	Options                          []string
}

func safeTemplates(ts []domain.Template) []templateView {
	out := make([]templateView, 0, len(ts))
	for _, t := range ts {
		tv := templateView{Name: t.Name, Label: t.Label, Help: t.Help, Type: t.Type, Default: t.Default, Required: t.Required, Options: t.Options}
		if t.Type == domain.TemplateSensitive {
			tv.Default = ""
		}
		out = append(out, tv)
	}
	return out
}

// dict makes a map of its key, value arguments, for passing several values
// to a template ("delete").
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}
