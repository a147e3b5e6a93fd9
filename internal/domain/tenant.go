package domain

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
)

// Tenant is a customer a space deploys releases to, each with its own values
// (SPEC §6). Tenants belong to the space that deploys: they never travel in
// a bundle, and are never connected to another space's environment.
type Tenant struct {
	ID      int64  `json:"id"`
	SpaceID int64  `json:"-"`
	Name    string `json:"name"`
	// Tags are "SET/TAG"; a tag set and its tags exist once a tenant uses them.
	Tags []string `json:"tags"`
	// Projects maps a project's name (local or remote) to the environments
	// the tenant is connected to for it.
	Projects map[string][]string `json:"projects"`
	// Values are project templates' values for this tenant, one per
	// project, environment and name (Octopus issue #2710).
	Values    []TenantValue `json:"values"`
	CreatedAt time.Time     `json:"createdAt"`
	UpdatedAt time.Time     `json:"updatedAt"`
}

// TenantValue is a project template's value for one tenant in one
// environment. A sensitive value is held in plaintext only in memory: the
// store seals it and JSON leaves it out.
type TenantValue struct {
	Project     string `json:"project"`
	Environment string `json:"environment"`
	Name        string `json:"name"`
	Value       string `json:"value"`
	Sensitive   bool   `json:"sensitive,omitempty"`
}

// MarshalJSON hides a sensitive value, as Variable's does.
func (v TenantValue) MarshalJSON() ([]byte, error) {
	type plain TenantValue
	if !v.Sensitive {
		return json.Marshal(plain(v))
	}
	return json.Marshal(struct {
		Project     string `json:"project"`
		Environment string `json:"environment"`
		Name        string `json:"name"`
		Sensitive   bool   `json:"sensitive"`
		IsSet       bool   `json:"isSet"`
	}{v.Project, v.Environment, v.Name, true, v.Value != ""})
}

// Tenanted deployments of a project (Octopus's terms): untenanted only (the
// default), tenanted only, or both.
const (
	TenantedUntenanted = "untenanted"
	TenantedTenanted   = "tenanted"
	TenantedBoth       = "both"
)

// ValidateTenantedDeployments checks a project's tenantedDeployments ("" is
// untenanted).
func ValidateTenantedDeployments(mode string) error {
	switch mode {
	case "", TenantedUntenanted, TenantedTenanted, TenantedBoth:
		return nil
	}
	return Invalidf("tenantedDeployments %q is not one of untenanted, tenanted, both", mode)
}

// ValidateTag checks a tenant tag "SET/TAG": two non-empty parts of letters,
// digits, spaces and . _ -, at most 100 characters.
func ValidateTag(tag string) error {
	set, name, ok := strings.Cut(tag, "/")
	valid := ok && len(tag) <= 100 && strings.TrimSpace(set) == set && strings.TrimSpace(name) == name && set != "" && name != ""
	for _, r := range set + name {
		if !valid {
			break
		}
		// Beyond ASCII only letters and digits: no bidi or zero-width
		// formatting, no C1 controls (U+009B is a terminal's CSI), no
		// line or paragraph separators — tags are shown in terminals and
		// pages, and arrive in bundles from other spaces.
		valid = r == ' ' || r == '.' || r == '_' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)
	}
	if !valid {
		return Invalidf("tag %q is not SET/TAG (letters, digits, spaces and . _ - in each part, for example Region/Europe)", tag)
	}
	return nil
}

// Validate checks a tenant's name (a safe name: scripts receive it as
// #{Ferry.Tenant.Name}) and tags, and sorts and dedups its tags.
func (t *Tenant) Validate() error {
	if err := ValidateSafeName("tenant", t.Name); err != nil {
		return err
	}
	for _, tag := range t.Tags {
		if err := ValidateTag(tag); err != nil {
			return err
		}
	}
	sort.Strings(t.Tags)
	t.Tags = slices.Compact(t.Tags)
	return nil
}

// ConnectedTo reports whether the tenant is connected to project in env.
func (t Tenant) ConnectedTo(project, env string) bool {
	return slices.Contains(t.Projects[project], env)
}

// HasTag reports whether the tenant has tag (case-insensitive, as Octopus).
func (t Tenant) HasTag(tag string) bool {
	return slices.ContainsFunc(t.Tags, func(x string) bool { return strings.EqualFold(x, tag) })
}

// ValueOf returns the tenant's value of project's name in env.
func (t Tenant) ValueOf(project, env, name string) (TenantValue, bool) {
	for _, v := range t.Values {
		if v.Project == project && v.Environment == env && strings.EqualFold(v.Name, name) {
			return v, true
		}
	}
	return TenantValue{}, false
}

// SetValue sets (or replaces) a value.
func (t *Tenant) SetValue(v TenantValue) {
	for i, old := range t.Values {
		if old.Project == v.Project && old.Environment == v.Environment && strings.EqualFold(old.Name, v.Name) {
			t.Values[i] = v
			return
		}
	}
	t.Values = append(t.Values, v)
}

// TenantScope limits a variable, step or target to some tenants: by name,
// or by tag. Empty is every tenant and untenanted deployments too.
type TenantScope struct {
	Tenants    []string
	TenantTags []string
}

// Matches reports whether a deployment for tenant (nil: untenanted) is in
// the scope: an unscoped one always is; a scoped one only for a tenant
// named in it or having one of its tags.
func (s TenantScope) Matches(tenant *Tenant) bool {
	if len(s.Tenants) == 0 && len(s.TenantTags) == 0 {
		return true
	}
	if tenant == nil {
		return false
	}
	if slices.Contains(s.Tenants, tenant.Name) {
		return true
	}
	return slices.ContainsFunc(s.TenantTags, tenant.HasTag)
}
