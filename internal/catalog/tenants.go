package catalog

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/config"
	"github.com/ferrydeploy/ferry/internal/domain"
)

// planTenants checks the document's tenants: safe names, SET/TAG tags,
// projects of this space (or of the document) and this space's own
// environments — never another space's. A listed tenant's projects the
// document does not list are kept unless prune; its values are never
// touched by a file.
func (st *applyState) planTenants(doc *config.Document, prune bool, plan *applyPlan, probs *problems) {
	projects := map[string]bool{}
	for name := range st.projects {
		projects[name] = true
	}
	for _, p := range plan.projects {
		projects[p.Name] = true
	}
	envs := map[string]domain.Environment{}
	for name, e := range st.envs {
		envs[name] = e
	}
	for _, e := range plan.envs {
		envs[e.Name] = e
	}
	seen := map[string]bool{}
	for i, ct := range doc.Tenants {
		path := fmt.Sprintf("tenants[%d]", i)
		t, err := st.tenant(ct, prune, projects, envs)
		if err == nil && seen[t.Name] {
			err = domain.Invalidf("tenant %q is listed twice", t.Name)
		}
		if err != nil {
			probs.add(path, err)
			continue
		}
		seen[t.Name] = true
		plan.tenants = append(plan.tenants, t)
	}
}

// tenant converts a document tenant, merged into the stored one.
func (st *applyState) tenant(ct config.Tenant, prune bool, projects map[string]bool, envs map[string]domain.Environment) (domain.Tenant, error) {
	t := domain.Tenant{SpaceID: st.space.ID, Name: ct.Name, Tags: slices.Clone(ct.Tags), Projects: map[string][]string{}}
	if old, ok := st.tenants[ct.Name]; ok {
		t.ID, t.CreatedAt, t.Values = old.ID, old.CreatedAt, old.Values
		if !prune {
			maps.Copy(t.Projects, old.Projects)
		}
	}
	if err := t.Validate(); err != nil {
		return t, err
	}
	for project, list := range ct.Projects {
		if !projects[project] {
			return t, domain.NotFoundf("tenant %q: project %q not found in this space", t.Name, project)
		}
		for _, e := range list {
			env, ok := envs[e]
			if !ok {
				return t, domain.NotFoundf("tenant %q: environment %q not found in this space", t.Name, e)
			}
			if env.IsRemote() {
				return t, domain.Invalidf("tenant %q: cannot connect it to %q, an environment of space %q: tenants belong to the space that deploys", t.Name, e, env.RemoteSpace)
			}
		}
		sorted := slices.Clone(list)
		sort.Strings(sorted)
		t.Projects[project] = slices.Compact(sorted)
	}
	return t, nil
}

// previewTenants adds the plan's tenant changes to res.
func (st *applyState) previewTenants(plan *applyPlan, res *ApplyResult, add func(...Change)) {
	for _, t := range plan.tenants {
		old, exists := st.tenants[t.Name]
		switch {
		case !exists:
			res.Created = append(res.Created, "tenant "+t.Name)
			add(Change{Action: ActionCreate, Kind: "tenant", Name: t.Name, Detail: tenantText(t)})
		case sameTenant(old, t):
			res.Unchanged++
		default:
			res.Updated = append(res.Updated, "tenant "+t.Name)
			add(Change{Action: ActionUpdate, Kind: "tenant", Name: t.Name, Detail: tenantText(old) + " → " + tenantText(t)})
		}
	}
}

func sameTenant(a, b domain.Tenant) bool {
	return slices.Equal(a.Tags, b.Tags) && reflect.DeepEqual(nonEmpty(a.Projects), nonEmpty(b.Projects))
}

func nonEmpty(m map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range m {
		if len(v) > 0 {
			out[k] = v
		}
	}
	return out
}

// tenantText is "tags Region/EU; Shop [Test, Production]".
func tenantText(t domain.Tenant) string {
	parts := []string{"tags " + describe(t.Tags)}
	for _, p := range slices.Sorted(maps.Keys(t.Projects)) {
		parts = append(parts, fmt.Sprintf("%s [%s]", p, strings.Join(t.Projects[p], ", ")))
	}
	return strings.Join(parts, "; ")
}

// writeTenants creates and updates the plan's tenants.
func (s *Service) writeTenants(ctx context.Context, sp domain.Space, st *applyState, plan *applyPlan) error {
	for _, t := range plan.tenants {
		old, exists := st.tenants[t.Name]
		var err error
		switch {
		case exists && sameTenant(old, t):
			continue
		case exists:
			err = s.tenants.Update(ctx, &t)
		default:
			t.CreatedAt = s.now()
			err = s.tenants.Create(ctx, &t)
		}
		if err != nil {
			return err
		}
		action := map[bool]string{true: "tenant.update", false: "tenant.create"}[exists]
		if err := s.audit.Record(ctx, sp.ID, action, t.Name, map[string]string{"via": "apply"}); err != nil {
			return err
		}
	}
	return nil
}

// dropOrphanValues removes the tenants' values of templates the plan's
// projects no longer have (apply --prune removed them): a sealed value
// must not outlive its template, to come back for a new one of its name.
func (s *Service) dropOrphanValues(ctx context.Context, sp domain.Space, st *applyState, plan *applyPlan) error {
	templates := map[string]map[string]bool{} // project → template names, of projects that lost one
	for _, p := range plan.projects {
		old, ok := st.projects[p.Name]
		if !ok {
			continue
		}
		names := map[string]bool{}
		for _, t := range p.Templates {
			names[t.Name] = true
		}
		if slices.ContainsFunc(old.Templates, func(t domain.Template) bool { return !names[t.Name] }) {
			templates[p.Name] = names
		}
	}
	if len(templates) == 0 {
		return nil
	}
	list, err := s.tenants.List(ctx, sp.ID)
	if err != nil {
		return err
	}
	for _, t := range list {
		n := len(t.Values)
		t.Values = slices.DeleteFunc(t.Values, func(v domain.TenantValue) bool {
			names, lost := templates[v.Project]
			return lost && !names[v.Name]
		})
		if len(t.Values) == n {
			continue
		}
		if err := s.tenants.Update(ctx, &t); err != nil {
			return err
		}
	}
	return nil
}

// exportTenants writes the space's tenants with their tags and the
// projects the caller may view (values never: they are set one by one).
func (s *Service) exportTenants(ctx context.Context, sp domain.Space, viewable access.Viewable) ([]config.Tenant, error) {
	list, err := s.tenants.List(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	var out []config.Tenant
	for _, t := range list {
		ct := config.Tenant{Name: t.Name, Tags: t.Tags}
		for p, envs := range t.Projects {
			if viewable.Has(p) && len(envs) > 0 {
				if ct.Projects == nil {
					ct.Projects = map[string][]string{}
				}
				ct.Projects[p] = envs
			}
		}
		if len(ct.Tags) == 0 {
			ct.Tags = nil
		}
		out = append(out, ct)
	}
	return out, nil
}

// validTenantScopes checks the tenants: and tenantTags: scopes of a
// project's steps and variables: tenant names and SET/TAG tags.
func validTenantScopes(p domain.Project) error {
	check := func(what string, tenants, tags []string) error {
		for _, t := range tenants {
			if err := domain.ValidateSafeName("tenant", t); err != nil {
				return fmt.Errorf("project %q: %s: %w", p.Name, what, err)
			}
		}
		for _, t := range tags {
			if err := domain.ValidateTag(t); err != nil {
				return fmt.Errorf("project %q: %s: %w", p.Name, what, err)
			}
		}
		return nil
	}
	for _, st := range p.Process {
		if err := check("step "+st.Name, st.Tenants, st.TenantTags); err != nil {
			return err
		}
	}
	for _, v := range p.Variables {
		if err := check("variable "+v.Name, v.Tenants, v.TenantTags); err != nil {
			return err
		}
	}
	return nil
}
