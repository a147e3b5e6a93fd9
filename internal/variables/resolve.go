package variables

import "strings"

// Scope limits where a variable value applies. Empty slice = unscoped in that dimension.
type Scope struct {
	Environments []string `json:"environments,omitempty" yaml:"environments,omitempty"`
	Tenants      []string `json:"tenants,omitempty" yaml:"tenants,omitempty"`
	// TenantTags ("SET/TAG") are the same dimension as Tenants (as in
	// Octopus): the scope applies to a tenant it names or that has one of
	// its tags.
	TenantTags []string `json:"tenantTags,omitempty" yaml:"tenantTags,omitempty"`
}

// Candidate is one stored value of a variable.
type Candidate struct {
	Name      string
	Value     string
	Sensitive bool
	Scope     Scope
}

// Context says where a deployment runs.
type Context struct {
	Environment string
	Tenant      string
	TenantTags  []string // the tenant's tags, "SET/TAG"
}

// Resolve picks, for every name, the most specific candidate that applies in ctx.
//
// A candidate applies when every non-empty scope dimension contains ctx's value
// for it. Its rank is the number of non-empty dimensions (environment and
// tenant count 1 each). Among applicable candidates of the same name the
// highest rank wins; ties go to the one listed earlier in cands, so the result
// is deterministic for a given order. Names are case-sensitive.
func Resolve(cands []Candidate, ctx Context) *Set {
	set := NewSet()
	ranks := make(map[string]int, len(cands))
	for _, c := range cands {
		rank, ok := c.Scope.rank(ctx)
		if !ok {
			continue
		}
		key := strings.ToLower(c.Name)
		if best, seen := ranks[key]; seen && rank <= best {
			continue // an earlier candidate of equal or higher rank wins
		}
		ranks[key] = rank
		set.Set(c.Name, c.Value, c.Sensitive)
	}
	return set
}

// rank reports whether the scope applies in ctx and, if so, how many
// dimensions it constrains.
func (s Scope) rank(ctx Context) (int, bool) {
	rank := 0
	if len(s.Environments) > 0 {
		if !contains(s.Environments, ctx.Environment) {
			return 0, false
		}
		rank++
	}
	if len(s.Tenants) > 0 || len(s.TenantTags) > 0 {
		if ctx.Tenant == "" || !contains(s.Tenants, ctx.Tenant) && !anyFold(s.TenantTags, ctx.TenantTags) {
			return 0, false
		}
		rank++
	}
	return rank, true
}

func contains(list []string, v string) bool {
	for _, item := range list {
		if item == v {
			return true
		}
	}
	return false
}

// anyFold reports whether a and b share an element, ignoring case.
func anyFold(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if strings.EqualFold(x, y) {
				return true
			}
		}
	}
	return false
}
