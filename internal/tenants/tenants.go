// Package tenants keeps a space's tenants (SPEC §6): the customers one
// release is deployed to, each with tags, the projects and environments it
// is connected to, and its own values of the projects' templates per
// environment. Tenants belong to the space that deploys: they never travel
// in a bundle and are never connected to another space's environment.
package tenants

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/audit"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Service creates tenants, connects them to projects and sets their values.
type Service struct {
	tx           store.Transactor
	tenants      store.Tenants
	projects     store.Projects
	environments store.Environments
	targets      targetLister
	tasks        activeTasks
	access       access.Guard
	audit        *audit.Log
	now          func() time.Time
}

// targetLister lists a space's targets (to find those scoped to a tenant).
type targetLister interface {
	List(ctx context.Context, spaceID int64) ([]domain.Target, error)
}

// activeTasks lists the tasks that have not finished (store.Removal).
type activeTasks interface {
	ActiveTasks(ctx context.Context, f store.ActiveFilter) ([]store.ActiveTask, error)
}

// New returns the tenants service: it writes tenants, and reads projects
// and environments to check connections and values, and projects, targets
// and unfinished tasks to refuse deleting a tenant they use.
func New(tx store.Transactor, tenants store.Tenants, projects store.Projects, environments store.Environments,
	targets targetLister, tasks activeTasks, guard access.Guard, log *audit.Log, now func() time.Time) *Service {
	return &Service{tx: tx, tenants: tenants, projects: projects, environments: environments,
		targets: targets, tasks: tasks, access: guard, audit: log, now: now}
}

// CreateRequest creates a tenant with tags ("SET/TAG").
type CreateRequest struct {
	Name string   `json:"name"`
	Tags []string `json:"tags,omitempty"`
}

// Create creates a tenant (space administrators).
func (s *Service) Create(ctx context.Context, space string, req CreateRequest) (domain.Tenant, error) {
	t := domain.Tenant{Name: req.Name, Tags: slices.Clone(req.Tags)}
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.Space(ctx, space, domain.PermAdminSpace, "", "")
		if err != nil {
			return err
		}
		if err := t.Validate(); err != nil {
			return err
		}
		t.SpaceID, t.CreatedAt = sp.ID, s.now()
		if err := s.tenants.Create(ctx, &t); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "tenant.create", t.Name, map[string]string{"tags": strings.Join(t.Tags, ",")})
	})
	return t, err
}

// List returns the space's tenants by name, each with only the projects
// the caller may view.
func (s *Service) List(ctx context.Context, space string) ([]domain.Tenant, error) {
	sp, err := s.access.Space(ctx, space, domain.PermView, "", "")
	if err != nil {
		return nil, err
	}
	list, err := s.tenants.List(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	v, err := s.access.Viewable(ctx, sp)
	if err != nil {
		return nil, err
	}
	for i := range list {
		visibleOnly(&list[i], v)
	}
	return list, nil
}

// visibleOnly leaves out the projects and values of projects v lacks.
func visibleOnly(t *domain.Tenant, v access.Viewable) {
	for p := range t.Projects {
		if !v.Has(p) {
			delete(t.Projects, p)
		}
	}
	t.Values = slices.DeleteFunc(t.Values, func(x domain.TenantValue) bool { return !v.Has(x.Project) })
}

// Show returns one tenant.
func (s *Service) Show(ctx context.Context, space, name string) (domain.Tenant, error) {
	sp, err := s.access.Space(ctx, space, domain.PermView, "", "")
	if err != nil {
		return domain.Tenant{}, err
	}
	t, err := s.tenants.Get(ctx, sp.ID, name)
	if err != nil {
		return t, err
	}
	v, err := s.access.Viewable(ctx, sp)
	if err != nil {
		return t, err
	}
	visibleOnly(&t, v)
	return t, nil
}

// Delete deletes a tenant and its values (space administrators). It is
// refused (SPEC §7), naming every referrer, while a variable's, a step's
// or a target's scope names the tenant or a task deploying for it has not
// finished. Its finished deployments stay in the history under its name.
func (s *Service) Delete(ctx context.Context, space, name string) (domain.Tenant, error) {
	var t domain.Tenant
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.Space(ctx, space, domain.PermAdminSpace, "", "")
		if err != nil {
			return err
		}
		if t, err = s.tenants.Get(ctx, sp.ID, name); err != nil {
			return err
		}
		if err := s.mayRemove(ctx, sp, t); err != nil {
			return err
		}
		if err := s.unused(ctx, sp, t.Name); err != nil {
			return err
		}
		if err := s.tenants.Delete(ctx, t.ID); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "tenant.delete", t.Name, nil)
	})
	return t, err
}

// ConnectRequest connects a tenant to a project in some environments
// (added to those it is connected to already).
type ConnectRequest struct {
	Project      string   `json:"project"`
	Environments []string `json:"environments"`
}

// Connect connects a tenant to a project — local, or remote (imported from
// another space) — in environments of this space. An environment of
// another space is refused: tenants do not cross space boundaries.
func (s *Service) Connect(ctx context.Context, space, name string, req ConnectRequest) (domain.Tenant, error) {
	var t domain.Tenant
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.Space(ctx, space, domain.PermEditProject, req.Project, "")
		if err != nil {
			return err
		}
		if len(req.Environments) == 0 {
			return domain.Invalidf("give the environments to connect tenant %q to project %q in (--env ENV, repeatable)", name, req.Project)
		}
		if t, err = s.tenants.Get(ctx, sp.ID, name); err != nil {
			return err
		}
		if err := s.connect(ctx, sp, &t, req); err != nil {
			return err
		}
		if err := s.tenants.Update(ctx, &t); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "tenant.connect", t.Name, map[string]string{"project": req.Project, "environments": strings.Join(req.Environments, ",")})
	})
	return t, err
}

// connect checks req against the space and adds it to t.
func (s *Service) connect(ctx context.Context, sp domain.Space, t *domain.Tenant, req ConnectRequest) error {
	if _, err := s.projects.Get(ctx, sp.ID, req.Project); err != nil {
		return err
	}
	for _, e := range req.Environments {
		env, err := s.environments.Get(ctx, sp.ID, e)
		if err != nil {
			return err
		}
		if env.IsRemote() {
			return domain.Invalidf("cannot connect tenant %q to %q: it is an environment of space %q, and tenants belong to the space that deploys (connect the tenants of %q there)",
				t.Name, env.Name, env.RemoteSpace, env.RemoteSpace)
		}
	}
	if t.Projects == nil {
		t.Projects = map[string][]string{}
	}
	envs := append(t.Projects[req.Project], req.Environments...)
	sort.Strings(envs)
	t.Projects[req.Project] = slices.Compact(envs)
	return nil
}

// ValueRequest sets a project template's value for a tenant in one
// environment.
type ValueRequest struct {
	Project     string `json:"project"`
	Name        string `json:"name"`
	Value       string `json:"value"`
	Environment string `json:"environment"`
	Sensitive   bool   `json:"sensitive,omitempty"`
}

// SetValue sets a template's value for a tenant in an environment it is
// connected to. A value of a sensitive template is sensitive whether or
// not the request says so, and is never empty.
func (s *Service) SetValue(ctx context.Context, space, name string, req ValueRequest) (domain.Tenant, error) {
	var t domain.Tenant
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.Space(ctx, space, domain.PermEditProject, req.Project, req.Environment)
		if err != nil {
			return err
		}
		if t, err = s.tenants.Get(ctx, sp.ID, name); err != nil {
			return err
		}
		v, err := s.checkValue(ctx, sp, t, req)
		if err != nil {
			return err
		}
		t.SetValue(v)
		if err := s.tenants.Update(ctx, &t); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "tenant.value", t.Name, map[string]string{
			"project": req.Project, "environment": req.Environment, "name": req.Name, "sensitive": fmt.Sprint(v.Sensitive)})
	})
	return t, err
}

// checkValue checks that req names a template of the project and an
// environment the tenant is connected to.
func (s *Service) checkValue(ctx context.Context, sp domain.Space, t domain.Tenant, req ValueRequest) (domain.TenantValue, error) {
	v := domain.TenantValue{Project: req.Project, Environment: req.Environment, Name: req.Name, Value: req.Value, Sensitive: req.Sensitive}
	p, err := s.projects.Get(ctx, sp.ID, req.Project)
	if err != nil {
		return v, err
	}
	if !t.ConnectedTo(p.Name, req.Environment) {
		return v, domain.Invalidf("tenant %q is not connected to project %q in %q; connect it first: ferry tenant connect %s %q --env %q",
			t.Name, p.Name, req.Environment, t.Name, p.Name, req.Environment)
	}
	i := slices.IndexFunc(p.Templates, func(tp domain.Template) bool { return strings.EqualFold(tp.Name, req.Name) })
	if i < 0 {
		return v, domain.Invalidf("project %q has no template %q (its templates: %s); tenant values are values of the project's templates", p.Name, req.Name, templateNames(p.Templates))
	}
	v.Name = p.Templates[i].Name
	if p.Templates[i].Type == domain.TemplateSensitive {
		v.Sensitive = true
	}
	if v.Sensitive && v.Value == "" {
		return v, domain.Invalidf("the value of sensitive template %q is empty; a secret is never empty (give the value, or - to read it from standard input)", v.Name)
	}
	return v, nil
}

func templateNames(ts []domain.Template) string {
	if len(ts) == 0 {
		return "none"
	}
	var names []string
	for _, t := range ts {
		names = append(names, t.Name)
	}
	return strings.Join(names, ", ")
}

// mayRemove checks that the actor administers, in every environment,
// each project the tenant is connected to or has values of: deleting it
// removes those connections and values, so a grant limited to other
// projects or to some environments is not enough.
func (s *Service) mayRemove(ctx context.Context, sp domain.Space, t domain.Tenant) error {
	projects := map[string]bool{"": true}
	for p := range t.Projects {
		projects[p] = true
	}
	for _, v := range t.Values {
		projects[v.Project] = true
	}
	names := slices.Sorted(maps.Keys(projects))
	for _, p := range names {
		if err := s.access.RequireEveryEnvironment(ctx, sp, domain.PermAdminSpace, p); err != nil {
			return err
		}
	}
	return nil
}

// unused refuses, naming them all, the scopes (variables, steps, targets)
// that name tenant and the unfinished tasks deploying for it.
func (s *Service) unused(ctx context.Context, sp domain.Space, tenant string) error {
	var refs []domain.Referrer
	add := func(kind, name, detail string) {
		refs = append(refs, domain.Referrer{Kind: kind, Name: name, Detail: detail})
	}
	names := func(list []string) bool {
		return slices.Contains(list, tenant) // scopes match tenants by exact name, as deployments do
	}
	projects, err := s.projects.List(ctx, sp.ID)
	if err != nil {
		return err
	}
	for _, p := range projects {
		for _, st := range p.Process {
			if names(st.Tenants) {
				add("step", p.Name+": "+st.Name, "runs only for it")
			}
		}
		for _, v := range p.Variables {
			if names(v.Tenants) {
				add("variable", p.Name+": "+v.Name, "scoped to it")
			}
		}
	}
	targets, err := s.targets.List(ctx, sp.ID)
	if err != nil {
		return err
	}
	for _, tg := range targets {
		if names(tg.Tenants) {
			add("target", tg.Name, "serves only it")
		}
	}
	tasks, err := s.tasks.ActiveTasks(ctx, store.ActiveFilter{SpaceID: sp.ID, Tenant: tenant})
	if err != nil {
		return err
	}
	for _, t := range tasks {
		add("task", fmt.Sprint(t.ID), fmt.Sprintf("%s, deploying %s %s to %s", strings.ToLower(string(t.State)), t.Project, t.Version, t.Environment))
	}
	if len(refs) == 0 {
		return nil
	}
	return domain.Refusal(fmt.Sprintf("tenant %q", tenant), refs,
		"Remove it from those scopes first (ferry apply, or the target's registration); wait for the tasks to finish or cancel them ('ferry task cancel ID')")
}
