package bundle

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// slicer decides what of a release travels to a target space, and under
// which names: only what the target needs, and what spaces the release may
// travel on to from the target need ("downstream": spaces in phases of this
// space's lifecycle after the target's). Everything else — this space's own
// environments, spaces that are neither the target nor downstream — stays
// behind, steps and values alike.
//
// Spaces are told apart by certificate fingerprint, never by name, since
// every space names the others its own way: a scope "<name>: <environment>"
// names the space the snapshot's own table says (a release imported with
// one), else the remote space this space calls name.
type slicer struct {
	target     string          // the target's fingerprint
	downstream map[string]bool // fingerprints of the spaces after the target
	names      map[string]string
	// used collects the downstream spaces that kept scopes name, as the
	// bundle's table of them.
	used map[string]string // name → fingerprint
}

// entry is one scope entry, classified.
type entry struct {
	space string // fingerprint of the space it names; "" for this space's own
	name  string // the entry as it travels: the target's own name for its environments
}

// newSlicer returns a slicer for a target (fingerprint) and the downstream
// spaces (fingerprints); names maps the names that scopes may use to the
// fingerprints of the spaces they mean.
func newSlicer(target string, downstream map[string]bool, names map[string]string) *slicer {
	return &slicer{target: target, downstream: downstream, names: names, used: map[string]string{}}
}

// classify says which space a scope entry names and what it becomes.
func (sl *slicer) classify(e string) entry {
	name, env, ok := strings.Cut(e, ": ")
	if !ok {
		return entry{} // this space's own environment: local names have no ':'
	}
	fp := sl.names[name]
	switch {
	case fp == "":
		return entry{space: "?"} // a space nobody here can name by fingerprint
	case fp == sl.target:
		return entry{space: fp, name: env}
	}
	return entry{space: fp, name: e}
}

// scope slices a scope for the target: its environments renamed to its own
// names, downstream spaces' environments kept, the rest dropped. ok is
// false when a scoped item keeps no entry: it could never apply on the
// target or after it, and stays behind.
func (sl *slicer) scope(scope []string) (out []string, ok bool) {
	if len(scope) == 0 {
		return nil, true
	}
	for _, e := range scope {
		c := sl.classify(e)
		switch {
		case c.space == sl.target:
			out = append(out, c.name)
		case sl.downstream[c.space]:
			sl.used[strings.SplitN(e, ": ", 2)[0]] = c.space
			out = append(out, c.name)
		}
	}
	return out, len(out) > 0
}

// forTarget reports whether a sliced scope applies on the target itself
// (an unscoped item, or one naming one of its environments).
func (sl *slicer) forTarget(sliced []string) bool {
	if len(sliced) == 0 {
		return true
	}
	return slices.ContainsFunc(sliced, func(e string) bool { return !strings.Contains(e, ": ") })
}

// bySpace groups the entries of a sliced, downstream-only scope by the
// space (fingerprint) they name.
func (sl *slicer) bySpace(sliced []string) map[string][]string {
	out := map[string][]string{}
	for _, e := range sliced {
		fp := sl.names[strings.SplitN(e, ": ", 2)[0]]
		out[fp] = append(out[fp], e)
	}
	return out
}

// table is the bundle's list of the downstream spaces its scopes name.
func (sl *slicer) table() []SpaceRef {
	var out []SpaceRef
	for name, fp := range sl.used {
		out = append(out, SpaceRef{Space: name, Fingerprint: fp})
	}
	slices.SortFunc(out, func(a, b SpaceRef) int { return strings.Compare(a.Space, b.Space) })
	return out
}

// downstreamOf lists the spaces (fingerprints) after the target in a
// lifecycle: those of the phases after the first that holds the target —
// a remote environment of it, or the space itself. remoteOf maps an
// environment name to its remote space's name; fingerprint maps a remote
// space's name to its fingerprint ("" when unknown or revoked).
func downstreamOf(lc domain.Lifecycle, target string, remoteOf map[string]string, fingerprint func(string) string) map[string]bool {
	out := map[string]bool{}
	idx := -1
	for i, ph := range lc.Phases {
		for _, e := range ph.Environments {
			if idx < 0 && (e == target || remoteOf[e] == target) {
				idx = i
			}
		}
		if idx < 0 || i == idx {
			continue
		}
		for _, e := range ph.Environments {
			space := remoteOf[e]
			if space == "" {
				space = e // a bare remote space, or a local environment (no fingerprint)
			}
			if fp := fingerprint(space); fp != "" {
				out[fp] = true
			}
		}
	}
	return out
}

// validateScopes checks, on import, that a schema-2 bundle's scopes name
// only the target's own environments or the downstream spaces it lists, and
// that its table and sealed values are consistent: every remote name the
// target stores means one space it can tell by fingerprint.
func validateScopes(pl *Payload, self string) error {
	if pl.SchemaVersion < 2 {
		return nil // an older source names scopes as it always did
	}
	names := map[string]string{}
	fps := map[string]bool{}
	if d := pl.Downstream; d != nil {
		for _, s := range d.Spaces {
			if err := domain.ValidateName("space", s.Space); err != nil {
				return domain.Refuse(domain.KindInvalid, domain.RuleBundleScopes, "a downstream space's name is not usable: %s", domain.Message(err))
			}
			switch {
			case s.Fingerprint == "" || names[s.Space] != "" || fps[s.Fingerprint]:
				return domain.Refuse(domain.KindInvalid, domain.RuleBundleScopes, "the bundle lists downstream space %q (fingerprint %s) twice or without a fingerprint", s.Space, s.Fingerprint)
			case s.Fingerprint == self:
				return domain.Refuse(domain.KindInvalid, domain.RuleBundleScopes, "the bundle lists this space itself as a space after it (%q); its environments must be named as its own", s.Space)
			}
			names[s.Space], fps[s.Fingerprint] = s.Fingerprint, true
		}
	}
	check := func(what string, scope []string) error {
		for _, e := range scope {
			name, env, remote := strings.Cut(e, ": ")
			if !remote {
				if err := domain.ValidateName("environment", e); err != nil {
					return domain.Refuse(domain.KindInvalid, domain.RuleBundleScopes, "%s is scoped to %q, which is not an environment name: %s", what, e, domain.Message(err))
				}
				continue
			}
			if names[name] == "" || domain.ValidateName("environment", env) != nil {
				return domain.Refuse(domain.KindInvalid, domain.RuleBundleScopes, "%s is scoped to %q, which names neither an environment of this space nor one of a downstream space the bundle lists", what, e)
			}
		}
		return nil
	}
	for _, st := range pl.Process {
		if err := check(fmt.Sprintf("step %q", st.Name), st.Environments); err != nil {
			return err
		}
	}
	for _, v := range pl.Variables {
		if err := check(fmt.Sprintf("variable %q", v.Name), v.Environments); err != nil {
			return err
		}
	}
	if pl.Downstream == nil {
		return nil
	}
	for _, v := range pl.Downstream.Sealed {
		if err := domain.ValidateVariableName(v.Name); err != nil {
			return domain.Refuse(domain.KindInvalid, domain.RuleBundleScopes, "a value sealed for a downstream space has an unusable name: %s", domain.Message(err))
		}
		if !fps[v.For] || v.Sealed == "" || len(v.Environments) == 0 {
			return domain.Refuse(domain.KindInvalid, domain.RuleBundleScopes, "the value %q is sealed for fingerprint %s, which the bundle does not list as a downstream space, or carries no value or scope", v.Name, v.For)
		}
		for _, e := range v.Environments {
			name, env, ok := strings.Cut(e, ": ")
			if !ok || names[name] != v.For || domain.ValidateName("environment", env) != nil {
				return domain.Refuse(domain.KindInvalid, domain.RuleBundleScopes, "the value %q, sealed for one space, is scoped to %q, an environment of another", v.Name, e)
			}
		}
	}
	return nil
}

// validateTenants checks, on import, that a bundle carries no tenant (SPEC
// §6: tenants belong to the space that deploys): no step scoped to
// tenants by name, tag scopes that are SET/TAG, a known tenantedDeployments.
// Anything else a payload says about tenants is not read at all.
func validateTenants(pl *Payload) error {
	for _, st := range pl.Process {
		if len(st.Tenants) > 0 {
			return domain.Refuse(domain.KindInvalid, domain.RuleBundleScopes, "step %q is scoped to tenants by name (%s): tenants belong to the space that deploys and never travel in a bundle", st.Name, strings.Join(st.Tenants, ", "))
		}
		if err := validTags(fmt.Sprintf("step %q", st.Name), st.TenantTags); err != nil {
			return err
		}
	}
	for _, v := range pl.Variables {
		if err := validTags(fmt.Sprintf("variable %q", v.Name), v.TenantTags); err != nil {
			return err
		}
	}
	if err := domain.ValidateTenantedDeployments(pl.TenantedDeployments); err != nil {
		return domain.Refuse(domain.KindInvalid, domain.RuleBundleProject, "%s", domain.Message(err))
	}
	return nil
}

// validTags refuses a tag scope that is not SET/TAG.
func validTags(what string, tags []string) error {
	for _, t := range tags {
		if err := domain.ValidateTag(t); err != nil {
			return domain.Refuse(domain.KindInvalid, domain.RuleBundleScopes, "%s: %s", what, domain.Message(err))
		}
	}
	return nil
}
