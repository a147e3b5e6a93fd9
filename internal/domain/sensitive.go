package domain

import "strings"

// SensitiveNames returns the variable names (lower-cased: names are
// case-insensitive, as in Octopus) whose every value must be sensitive:
// the names of templates of type sensitive, and the names of which some
// value already is sensitive — a secret stays a secret, so a plain value set
// later for the same name (for another environment, say) is sealed too.
func SensitiveNames(vars []Variable, templates []Template) map[string]bool {
	names := map[string]bool{}
	for _, t := range templates {
		if t.Type == TemplateSensitive {
			names[strings.ToLower(t.Name)] = true
		}
	}
	for _, v := range vars {
		if v.Sensitive {
			names[strings.ToLower(v.Name)] = true
		}
	}
	return names
}

// MarkSensitive marks sensitive every value in vars whose name
// SensitiveNames(vars, templates) holds, in place, and reports whether it
// changed any. Whatever sets values — var set, apply, the pages, an import,
// and later tenant values — goes through it (the store calls it before it
// seals), so a value of a sensitive template is never kept in plain text.
func MarkSensitive(vars []Variable, templates []Template) bool {
	names := SensitiveNames(vars, templates)
	changed := false
	for i := range vars {
		if !vars[i].Sensitive && names[strings.ToLower(vars[i].Name)] {
			vars[i].Sensitive = true
			changed = true
		}
	}
	return changed
}

// SensitiveReason says why a value of name must be sensitive, for
// messages: "ConnectionString is a sensitive template", or "" when it
// need not be.
func SensitiveReason(name string, vars []Variable, templates []Template) string {
	for _, t := range templates {
		if t.Type == TemplateSensitive && strings.EqualFold(t.Name, name) {
			return name + " is a template of type sensitive"
		}
	}
	for _, v := range vars {
		if v.Sensitive && strings.EqualFold(v.Name, name) {
			return name + " already has sensitive values"
		}
	}
	return ""
}

// VarSetCommand is the command that sets the value of project's variable
// name scoped to envs (none: unscoped), as refusals suggest it. For a
// sensitive value it reads the value from standard input ("-") and says
// --sensitive, which keeps the secret out of shell history and the process
// list and encrypted at rest.
func VarSetCommand(project, name string, envs []string, sensitive bool) string {
	cmd := "ferry var set " + shellQuote(project) + " " + shellQuote(name)
	if sensitive {
		cmd += " -"
	} else {
		cmd += " VALUE"
	}
	for _, env := range envs {
		cmd += " --env " + shellQuote(env)
	}
	if sensitive {
		cmd += " --sensitive"
	}
	return cmd
}

// shellQuote quotes s for a POSIX shell unless it needs none.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/@%+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// UnsetSecrets returns the sensitive values in vars that have no value,
// leaving out values of templates (those are supplied per environment when
// deploying). They come from `keep: true` in a document exported elsewhere:
// export never writes a secret, so a space that never had the value holds
// it as not set — and a release or deployment that needs it is refused
// rather than given "".
func UnsetSecrets(vars []Variable, templates []Template) []Variable {
	templated := map[string]bool{}
	for _, t := range templates {
		templated[strings.ToLower(t.Name)] = true
	}
	var out []Variable
	for _, v := range vars {
		if v.Sensitive && !v.HasValue() && !templated[strings.ToLower(v.Name)] {
			out = append(out, v)
		}
	}
	return out
}
