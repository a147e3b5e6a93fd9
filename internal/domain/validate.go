package domain

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/mtibben/confusables"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// ValidateName checks a name of a thing (what says which kind, for the
// message). Local names may not contain ':' — nor a character that reads as
// one, such as a full-width colon — because "<space>: <name>" is how ferry
// names things that belong to another space. Nor may a name hold what a
// person cannot see: control and format characters (zero-width spaces and
// joiners, direction marks and overrides, byte order marks, and others that
// show nothing: the combining grapheme joiner, Hangul fillers) and spaces
// other than the plain one, so two names that look the same are the same.
// Nor may a name be "." or "..": in a URL path (RFC 3986 §5.2.4 dot
// segments) it would name the folder, or the one above, never the thing.
func ValidateName(what, name string) error {
	switch {
	case name == "":
		return Invalidf("%s name is empty", what)
	case name == "." || name == "..":
		return Invalidf("%s name %q cannot be used: in a URL it means a folder, so the %s could never be addressed; choose another name", what, name, what)
	case len(name) > 100:
		return Invalidf("%s name %q is longer than 100 characters", what, name)
	case strings.TrimSpace(name) != name:
		return Invalidf("%s name %q has leading or trailing spaces", what, name)
	case strings.Contains(norm.NFKC.String(name), ":"):
		return Invalidf("%s name %q contains ':', which is reserved for remote names like \"Prod Space: Production\"", what, name)
	}
	for _, r := range name {
		switch {
		case unicode.IsControl(r):
			return Invalidf("%s name %q contains a control character; write the name without it", what, name)
		case unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r):
			return Invalidf("%s name %q contains an invisible formatting character (%U); write the name without it", what, name, r)
		case unicode.IsSpace(r) && r != ' ':
			return Invalidf("%s name %q contains a space character other than the plain space (%U); use plain spaces", what, name, r)
		}
	}
	return nil
}

// NameKey is what two names share when a person would read them as the same
// name: compatibility forms (full-width letters, ligatures) normalised, case
// folded, characters that show nothing dropped, and every run of spaces one
// plain space. Names that come from other spaces are compared with it, so a
// space cannot pass for one this space knows by spelling its name slightly
// differently ("prod space", "Prod  Space", "Prod Space\u200b").
func NameKey(name string) string {
	s := cases.Fold().String(norm.NFKC.String(name))
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case invisible(r) || unicode.IsControl(r) && !unicode.IsSpace(r):
			continue
		case unicode.IsSpace(r) || r == '\u2800': // the blank Braille pattern shows as a space
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// invisible reports whether r shows nothing: Unicode's
// Default_Ignorable_Code_Point (format characters, the combining grapheme
// joiner, Hangul fillers, variation selectors and the like).
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}

// LookAlike reports whether a person could take name a for name b: they
// share a NameKey (case, width, compatibility forms, invisible characters,
// spaces) or, on top of it, a skeleton of Unicode TR39's confusable
// look-alikes (https://www.unicode.org/reports/tr39/#Confusable_Detection):
// Cyrillic "ѕ" and "у" read as Latin "s" and "y", "0" as "O", "I" and "1"
// as "l", "rn" as "m". Some look-alikes hold in one case only (capital "I"
// looks like "l"; small "i" does not), so two skeletons are compared: one
// taken after case folding ("ALICE" is "alice") and one before ("aIice"
// is "alice"). Names that are identities (users, teams) are refused when
// they look like another's.
func LookAlike(a, b string) bool {
	ka, kb := lookalikeKeys(a), lookalikeKeys(b)
	return ka[0] == kb[0] || ka[1] == kb[1]
}

func lookalikeKeys(name string) [2]string {
	fold, n := cases.Fold(), norm.NFKC.String(name)
	return [2]string{
		fold.String(confusables.Skeleton(NameKey(n))),
		fold.String(confusables.Skeleton(NameKey(confusables.Skeleton(n)))),
	}
}

// ValidateSafeName checks a name that a deployer (not a project
// contributor) supplies and that reaches scripts through a system variable
// — a tenant's now, a target's later. What a deployer types is data: since
// `#{Ferry.Tenant.Name}` is pasted into a script as it is, the name must be
// one plain word there, quoted or not: it starts with a letter or digit
// (no option like "-rf", no "..") and holds only letters, digits and . _ -
// (no space, quote, $, backquote, ;, &, |, <, >, glob, newline), at most
// 100 characters.
func ValidateSafeName(what, name string) error {
	ok := name != "" && len(name) <= 100
	for i, r := range name {
		letter := unicode.IsLetter(r) || unicode.IsDigit(r)
		if !letter && (i == 0 || !strings.ContainsRune("._-", r)) {
			ok = false
			break
		}
	}
	if !ok {
		return Invalidf("%s %q is not a valid name: it may contain only letters, digits and . _ - and must start with a letter or digit (at most 100 characters), because scripts receive it as #{Ferry.%s.Name}",
			what, name, strings.ToUpper(what[:1])+what[1:])
	}
	return nil
}

// ValidateVariableName checks a variable name: letters, digits and . _ - [ ],
// and spaces inside [...] (as in Octopus.Action[Step A].Name).
func ValidateVariableName(name string) error {
	if name == "" {
		return Invalidf("variable name is empty")
	}
	depth := 0
	for _, r := range name {
		switch r {
		case '[':
			depth++
		case ']':
			depth--
		}
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-[]", r) || r == ' ' && depth > 0) {
			return Invalidf("variable name %q may contain only letters, digits and . _ - [ ] (and spaces inside [...])", name)
		}
	}
	if len(name) >= 6 && strings.EqualFold(name[:6], "Ferry.") {
		return Invalidf("variable name %q: names starting with \"Ferry.\" are reserved for system variables", name)
	}
	return nil
}

// Validate checks the lifecycle on its own; references to environments are
// checked by the caller, who knows which exist.
func (l Lifecycle) Validate() error {
	if err := ValidateName("lifecycle", l.Name); err != nil {
		return err
	}
	if len(l.Phases) == 0 {
		return Invalidf("lifecycle %q has no phases", l.Name)
	}
	seen := map[string]string{}
	for i, p := range l.Phases {
		if p.Name == "" {
			return Invalidf("lifecycle %q: phase %d has no name", l.Name, i+1)
		}
		if len(p.Environments) == 0 {
			return Invalidf("lifecycle %q: phase %q lists no environments", l.Name, p.Name)
		}
		if err := p.Retention.Validate(l.Name, p.Name); err != nil {
			return err
		}
		if n := p.MinimumEnvironmentsBeforePromotion; n < 0 || n > len(p.Environments) {
			return Invalidf("lifecycle %q: phase %q has minimumEnvironmentsBeforePromotion: %d, but %d environment(s); give 1 to %d, or leave it out to require all of them", l.Name, p.Name, n, len(p.Environments), len(p.Environments))
		}
		for _, e := range p.Environments {
			if prev, dup := seen[e]; dup {
				return Invalidf("lifecycle %q: environment %q is in phase %q and phase %q; an environment may be in one phase only", l.Name, e, prev, p.Name)
			}
			seen[e] = p.Name
		}
	}
	return nil
}

// Validate checks the project's own rules. Every environment named in a scope
// must satisfy knownEnv, which the caller builds from the space.
func (p Project) Validate(knownEnv func(string) bool) error {
	if err := ValidateName("project", p.Name); err != nil {
		return err
	}
	if p.Lifecycle == "" {
		return Invalidf("project %q has no lifecycle", p.Name)
	}
	where := func(format string, args ...any) error {
		return Invalidf("project %q: %s", p.Name, fmt.Sprintf(format, args...))
	}
	checkScope := func(what string, envs []string) error {
		for _, e := range envs {
			if !knownEnv(e) {
				return where("%s is scoped to unknown environment %q", what, e)
			}
		}
		return nil
	}
	steps := map[string]bool{}
	for i, s := range p.Process {
		if s.Name == "" {
			return where("step %d has no name", i+1)
		}
		if steps[s.Name] {
			return where("two steps are named %q", s.Name)
		}
		steps[s.Name] = true
		if err := s.validateKind(); err != nil {
			return where("%s", Message(err))
		}
		if s.TimeoutSeconds < 0 || s.TimeoutSeconds > MaxStepTimeoutSeconds {
			return where("step %q has timeoutSeconds %d; give 1 to %d (24 hours), or leave it out for the server's default (one hour)",
				s.Name, s.TimeoutSeconds, MaxStepTimeoutSeconds)
		}
		if err := checkScope(fmt.Sprintf("step %q", s.Name), s.Environments); err != nil {
			return err
		}
	}
	if err := p.ValidateVariables(knownEnv); err != nil {
		return err
	}
	templates := map[string]bool{}
	for _, t := range p.Templates {
		if err := ValidateVariableName(t.Name); err != nil {
			return where("template: %s", Message(err))
		}
		if templates[t.Name] {
			return where("two templates are named %q", t.Name)
		}
		templates[t.Name] = true
		if t.Type == TemplateSensitive && t.Default != "" {
			return where("template %q is sensitive and has a default; secrets have no defaults — set the value per environment with `ferry var set --sensitive`", t.Name)
		}
		switch t.Type {
		case TemplateText, TemplateSensitive, TemplateBool, TemplateMultiline:
		case TemplateSelect:
			if len(t.Options) == 0 {
				return where("template %q is a select with no options", t.Name)
			}
		default:
			return where("template %q has unknown type %q (known: text, sensitive, bool, select, multiline)", t.Name, t.Type)
		}
	}
	return nil
}

// ValidateVariables checks the names and scopes of a project's variable
// values (a remote project's own values are checked this way alone: its
// process comes from bundles).
func (p Project) ValidateVariables(knownEnv func(string) bool) error {
	for _, v := range p.Variables {
		if err := ValidateVariableName(v.Name); err != nil {
			return Invalidf("project %q: %s", p.Name, Message(err))
		}
		for _, e := range v.Environments {
			if !knownEnv(e) {
				return Invalidf("project %q: variable %q is scoped to unknown environment %q", p.Name, v.Name, e)
			}
		}
	}
	return nil
}

// validateKind checks what a step of its type needs.
func (s Step) validateKind() error {
	switch s.Type {
	case StepScript:
		if strings.TrimSpace(s.Script) == "" {
			return Invalidf("step %q has an empty script", s.Name)
		}
	case StepDeployPackage:
		if err := s.validatePackageStep(); err != nil {
			return err
		}
	case StepManualIntervention:
		return s.validateIntervention()
	case "":
		return Invalidf("step %q has no type (use \"script\", \"deploy-package\" or \"manual-intervention\")", s.Name)
	default:
		return Invalidf("step %q has unknown type %q (known: script, deploy-package, manual-intervention)", s.Name, s.Type)
	}
	if s.Instructions != "" || len(s.ResponsibleTeams) > 0 || s.PreventSelfApproval || s.TimeoutMinutes != 0 {
		return Invalidf("step %q is a %s step: instructions, responsibleTeams, preventSelfApproval and timeoutMinutes belong to manual-intervention steps", s.Name, s.Type)
	}
	return nil
}

// maxInstructions bounds what a manual-intervention step asks (bytes).
const maxInstructions = 10000

// MaxStepTimeoutSeconds bounds a step's timeoutSeconds: 24 hours, checked
// where a process comes in (apply, bundle import). A step that may need
// longer should be split, or wait in a manual intervention, whose
// timeoutMinutes reaches a year.
const MaxStepTimeoutSeconds = 24 * 60 * 60

// maxWaitMinutes bounds a manual intervention's timeout: a year.
const maxWaitMinutes = 366 * 24 * 60

// validateIntervention checks a manual-intervention step: it asks a person
// something, so it has instructions, and runs nothing.
func (s Step) validateIntervention() error {
	switch {
	case strings.TrimSpace(s.Instructions) == "":
		return Invalidf("manual-intervention step %q has no instructions: say what the person approving should check", s.Name)
	case s.Script != "" || s.Package != "" || s.Destination != "" || s.PreDeploy != "" || s.PostDeploy != "" || len(s.Substitute) > 0:
		return Invalidf("manual-intervention step %q runs nothing: it takes instructions, responsibleTeams, preventSelfApproval and timeoutMinutes, not a script or a package", s.Name)
	case s.TimeoutMinutes < 0 || s.TimeoutMinutes > maxWaitMinutes:
		return Invalidf("manual-intervention step %q has timeoutMinutes %d; give 1 to %d (a year), or leave it out to wait until someone decides", s.Name, s.TimeoutMinutes, maxWaitMinutes)
	}
	for _, r := range s.Instructions {
		if (unicode.IsControl(r) && r != '\n' && r != '\t') || unicode.Is(unicode.Cf, r) {
			return Invalidf("manual-intervention step %q: its instructions contain a control or invisible formatting character (%U); write plain text", s.Name, r)
		}
	}
	if len(s.Instructions) > maxInstructions {
		return Invalidf("manual-intervention step %q: its instructions are %d bytes; at most %d", s.Name, len(s.Instructions), maxInstructions)
	}
	for _, t := range s.ResponsibleTeams {
		if err := ValidateName("team", t); err != nil {
			return Invalidf("manual-intervention step %q: %s", s.Name, Message(err))
		}
	}
	return nil
}

// ValidateSettings checks a project's channels and triggers on their own:
// names, one default channel, each trigger's type and the fields it needs,
// and trigger environments that satisfy knownEnv (local environments of the
// space). Lifecycles, version ranges, tags, cron expressions and time zones
// are checked by the caller, who can parse them.
func (p Project) ValidateSettings(knownEnv func(string) bool) error {
	where := func(format string, args ...any) error {
		return Invalidf("project %q: %s", p.Name, fmt.Sprintf(format, args...))
	}
	names := map[string]bool{}
	var defaults []string
	for _, ch := range p.Channels {
		if err := ValidateName("channel", ch.Name); err != nil {
			return where("%s", Message(err))
		}
		if names[ch.Name] {
			return where("two channels are named %q", ch.Name)
		}
		names[ch.Name] = true
		if ch.Default {
			defaults = append(defaults, ch.Name)
		}
		for i, r := range ch.Rules {
			if r.Package == "" {
				return where("channel %q: rule %d names no package", ch.Name, i+1)
			}
			if r.VersionRange == "" && r.Tag == "" {
				return where("channel %q: the rule for package %q has neither a versionRange nor a tag", ch.Name, r.Package)
			}
		}
	}
	switch {
	case len(p.Channels) > 0 && len(defaults) == 0:
		return where("no channel is the default; mark exactly one `default: true` (it takes releases created without --channel)")
	case len(defaults) > 1:
		return where("channels %s are all marked default; exactly one may be", strings.Join(defaults, ", "))
	}
	names = map[string]bool{}
	for _, tr := range p.Triggers {
		if err := ValidateName("trigger", tr.Name); err != nil {
			return where("%s", Message(err))
		}
		if names[tr.Name] {
			return where("two triggers are named %q", tr.Name)
		}
		names[tr.Name] = true
		if err := tr.validate(knownEnv); err != nil {
			return where("trigger %q: %s", tr.Name, Message(err))
		}
		if p.TenantedDeployments == TenantedTenanted {
			// A trigger deploys untenanted (SPEC §7 gives it no tenants);
			// such a project would refuse every firing.
			return where("trigger %q deploys untenanted, but the project deploys only to tenants (tenantedDeployments: tenanted); set tenantedDeployments: both, or deploy to tenants yourself (ferry deploy --tenant-tag SET/TAG)", tr.Name)
		}
	}
	return nil
}

func (tr Trigger) validate(knownEnv func(string) bool) error {
	if tr.Environment == "" {
		return Invalidf("no environment to deploy to")
	}
	if !knownEnv(tr.Environment) {
		return Invalidf("environment %q is not a local environment of this space", tr.Environment)
	}
	switch tr.Type {
	case TriggerSchedule:
		switch {
		case tr.Cron == "":
			return Invalidf("a schedule trigger needs cron (for example \"0 0 2 * * Mon-Fri\")")
		case tr.SourceEnvironment == "":
			return Invalidf("a schedule trigger needs sourceEnvironment: it deploys the latest release that succeeded there")
		case !knownEnv(tr.SourceEnvironment):
			return Invalidf("sourceEnvironment %q is not a local environment of this space", tr.SourceEnvironment)
		case tr.SourceEnvironment == tr.Environment:
			return Invalidf("sourceEnvironment and environment are both %q", tr.Environment)
		}
	case TriggerOnArrival:
		if tr.Cron != "" || tr.Timezone != "" || tr.SourceEnvironment != "" {
			return Invalidf("an on-arrival trigger takes only an environment (no cron, timezone or sourceEnvironment)")
		}
	case "":
		return Invalidf("no type (use \"schedule\" or \"on-arrival\")")
	default:
		return Invalidf("unknown type %q (known: schedule, on-arrival)", tr.Type)
	}
	return nil
}
