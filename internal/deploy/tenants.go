package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/variables"
)

// validTenantRequest checks the names and tags a deployer typed (data that
// reaches scripts as #{Ferry.Tenant.Name}) and folds Tenant into Tenants.
func validTenantRequest(req *Request) error {
	if req.Tenant != "" {
		req.Tenants = append([]string{req.Tenant}, req.Tenants...)
		req.Tenant = ""
	}
	for _, name := range req.Tenants {
		if err := domain.ValidateSafeName("tenant", name); err != nil {
			return err
		}
	}
	for _, tag := range req.TenantTags {
		if err := domain.ValidateTag(tag); err != nil {
			return err
		}
	}
	return nil
}

// chooseTenants finds the tenants a deployment is for — every one named,
// and every one with a tag given that is connected to the project in env —
// or nil (one untenanted deployment) when none is asked for. Unknown
// tenants, tenants not connected and tags no connected tenant has are
// returned as problems, to be refused together with every other problem of
// the tenants chosen; a tenantedDeployments that does not allow the kind
// asked for is an error.
func (s *Service) chooseTenants(ctx context.Context, sp domain.Space, p domain.Project, env string, req Request) ([]*domain.Tenant, []string, error) {
	mode := p.TenantedDeployments
	if len(req.Tenants) == 0 && len(req.TenantTags) == 0 {
		if mode == domain.TenantedTenanted {
			return nil, nil, domain.Invalidf("project %q deploys only to tenants (tenantedDeployments: tenanted); say which: --tenant NAME or --tenant-tag SET/TAG (see `ferry tenant list`)", p.Name)
		}
		return []*domain.Tenant{nil}, nil, nil
	}
	if mode == domain.TenantedUntenanted {
		return nil, nil, domain.Invalidf("project %q is not deployed to tenants (tenantedDeployments: untenanted); set tenantedDeployments: tenanted or both in its YAML to deploy it to tenants", p.Name)
	}
	all, byName, err := s.loadTenants(ctx, sp, req)
	if err != nil {
		return nil, nil, err
	}
	var chosen []*domain.Tenant
	var problems []string
	seen := map[string]bool{}
	add := func(t *domain.Tenant) {
		if !seen[t.Name] {
			seen[t.Name] = true
			chosen = append(chosen, t)
		}
	}
	for _, name := range req.Tenants {
		t, ok := byName[name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("tenant %s: no such tenant in this space (see `ferry tenant list`; create it with `ferry tenant create %s`)", name, name))
		case !t.ConnectedTo(p.Name, env):
			problems = append(problems, fmt.Sprintf("tenant %s: not connected to project %q in %s (connect it: `ferry tenant connect %s %q --env %q`)", name, p.Name, env, name, p.Name, env))
		default:
			add(t)
		}
	}
	for _, tag := range req.TenantTags {
		n := 0
		for i := range all {
			if all[i].HasTag(tag) && all[i].ConnectedTo(p.Name, env) {
				add(&all[i])
				n++
			}
		}
		if n == 0 {
			problems = append(problems, fmt.Sprintf("tag %s: no tenant with it is connected to project %q in %s", tag, p.Name, env))
		}
	}
	return chosen, problems, nil
}

// loadTenants reads the tenants a request may name: every tenant of the
// space when it gives tags, else only those it names (so deploying for one
// tenant does not read all of them).
func (s *Service) loadTenants(ctx context.Context, sp domain.Space, req Request) ([]domain.Tenant, map[string]*domain.Tenant, error) {
	var all []domain.Tenant
	if len(req.TenantTags) > 0 {
		var err error
		if all, err = s.tenants.List(ctx, sp.ID); err != nil {
			return nil, nil, err
		}
	} else {
		for _, name := range req.Tenants {
			t, err := s.tenants.Get(ctx, sp.ID, name)
			if errors.Is(err, domain.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, nil, err
			}
			all = append(all, t)
		}
	}
	byName := make(map[string]*domain.Tenant, len(all))
	for i := range all {
		byName[all[i].Name] = &all[i]
	}
	return all, byName, nil
}

// Context is where a deployment for tenant t (nil: untenanted) in env runs.
func Context(env string, t *domain.Tenant) variables.Context {
	if t == nil {
		return variables.Context{Environment: env}
	}
	return variables.Context{Environment: env, Tenant: t.Name, TenantTags: t.Tags}
}

// TenantCandidates puts the tenant's own template values for project in
// env before cands: scoped to the environment and the tenant, they are
// the most specific values there are.
func TenantCandidates(t *domain.Tenant, project, env string, cands []variables.Candidate) []variables.Candidate {
	if t == nil {
		return cands
	}
	var own []variables.Candidate
	for _, v := range t.Values {
		if v.Project == project && v.Environment == env {
			own = append(own, variables.Candidate{Name: v.Name, Value: v.Value, Sensitive: v.Sensitive,
				Scope: variables.Scope{Environments: []string{env}, Tenants: []string{t.Name}}})
		}
	}
	return append(own, cands...)
}

// TenantSetCommands are the commands that set each of names for a tenant
// in env: sensitive templates' values read from standard input.
func TenantSetCommands(tenant, project, env string, names []string, templates []domain.Template) []string {
	var out []string
	for _, n := range names {
		cmd := fmt.Sprintf("ferry tenant var set %s %q %s", tenant, project, n)
		if domain.SensitiveReason(n, nil, templates) != "" {
			cmd += fmt.Sprintf(" - --env %q --sensitive  # reads the secret from standard input", env)
		} else {
			cmd += fmt.Sprintf(" VALUE --env %q", env)
		}
		out = append(out, cmd)
	}
	return out
}

// tenantTargets keeps the targets that serve tenant t (nil: untenanted): a
// target limited to tenants serves only those.
func tenantTargets(list []domain.Target, t *domain.Tenant) []domain.Target {
	return slices.DeleteFunc(list, func(tg domain.Target) bool {
		return !domain.TenantScope{Tenants: tg.Tenants, TenantTags: tg.TenantTags}.Matches(t)
	})
}
