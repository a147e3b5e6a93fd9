// Package catalog manages what a space is made of — spaces themselves,
// environments, lifecycles, projects and their variables — and the
// declarative apply/export of all of it.
package catalog

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/audit"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Service is the catalog's API, shared by the HTTP API and the web pages.
type Service struct {
	tx           store.Transactor
	spaces       store.Spaces
	environments store.Environments
	lifecycles   store.Lifecycles
	projects     store.Projects
	access       access.Guard
	trust        Trust
	audit        *audit.Log
	now          func() time.Time
}

// Trust is what the catalog needs of the trust capability (trust.Service):
// a new space's identity, made in the transaction that creates the space,
// and the remote spaces a space knows, which remote environments must name.
type Trust interface {
	CreateIdentity(ctx context.Context, sp *domain.Space) error
	RemoteNames(ctx context.Context, spaceID int64) ([]string, error)
}

// New returns a catalog service over the spaces, environments, lifecycles
// and projects tables.
func New(tx store.Transactor, spaces store.Spaces, environments store.Environments, lifecycles store.Lifecycles, projects store.Projects,
	guard access.Guard, tr Trust, log *audit.Log, now func() time.Time) *Service {
	return &Service{tx: tx, spaces: spaces, environments: environments, lifecycles: lifecycles, projects: projects,
		access: guard, trust: tr, audit: log, now: now}
}

// CreateSpace creates a space. Only administrators may.
func (s *Service) CreateSpace(ctx context.Context, name string) (domain.Space, error) {
	if err := access.Admin(ctx, "create a space"); err != nil {
		return domain.Space{}, err
	}
	if err := domain.ValidateName("space", name); err != nil {
		return domain.Space{}, err
	}
	sp := domain.Space{Name: name}
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		if err := s.spaces.Create(ctx, &sp); err != nil {
			return err
		}
		if err := s.trust.CreateIdentity(ctx, &sp); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "space.create", name, nil)
	})
	return sp, err
}

// Spaces lists the spaces the caller has a role in (every space for
// administrators).
func (s *Service) Spaces(ctx context.Context) ([]domain.Space, error) {
	list, err := s.spaces.List(ctx)
	if err != nil {
		return nil, err
	}
	return s.access.Spaces(ctx, list)
}

// Space finds a space by name.
func (s *Service) Space(ctx context.Context, name string) (domain.Space, error) {
	return s.space(ctx, name, domain.PermView)
}

// space finds a space and checks the caller may do perm in it.
func (s *Service) space(ctx context.Context, name string, perm domain.Permission) (domain.Space, error) {
	sp, err := s.spaces.Get(ctx, name)
	if err != nil {
		return sp, err
	}
	return sp, s.access.Require(ctx, sp, perm, "", "")
}

// CreateEnvironment creates a local environment in a space.
func (s *Service) CreateEnvironment(ctx context.Context, space, name string) (domain.Environment, error) {
	var env domain.Environment
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.SpaceWide(ctx, space, domain.PermAdminSpace)
		if err != nil {
			return err
		}
		if err := domain.ValidateName("environment", name); err != nil {
			return err
		}
		env = domain.Environment{SpaceID: sp.ID, Name: name}
		if err := s.environments.Create(ctx, &env); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "environment.create", name, nil)
	})
	return env, err
}

// Environments lists a space's environments, local and remote.
func (s *Service) Environments(ctx context.Context, space string) ([]domain.Environment, error) {
	sp, err := s.space(ctx, space, domain.PermView)
	if err != nil {
		return nil, err
	}
	return s.environments.List(ctx, sp.ID)
}

// Lifecycles lists a space's lifecycles.
func (s *Service) Lifecycles(ctx context.Context, space string) ([]domain.Lifecycle, error) {
	sp, err := s.space(ctx, space, domain.PermView)
	if err != nil {
		return nil, err
	}
	return s.lifecycles.List(ctx, sp.ID)
}

// Projects lists the space's projects the caller may see.
func (s *Service) Projects(ctx context.Context, space string) ([]domain.Project, error) {
	sp, err := s.space(ctx, space, domain.PermView)
	if err != nil {
		return nil, err
	}
	list, err := s.projects.List(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(list))
	for i, p := range list {
		names[i] = p.Name
	}
	visible, err := s.access.Visible(ctx, sp, names)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(list, func(p domain.Project) bool { return !slices.Contains(visible, p.Name) }), nil
}

// Project finds a project of a space by name.
func (s *Service) Project(ctx context.Context, space, name string) (domain.Project, error) {
	sp, err := s.spaces.Get(ctx, space)
	if err != nil {
		return domain.Project{}, err
	}
	if err := s.access.Require(ctx, sp, domain.PermView, name, ""); err != nil {
		return domain.Project{}, err
	}
	return s.projects.Get(ctx, sp.ID, name)
}

// Audit lists a space's audit events; its administrators may read it,
// except events about projects they may not view.
func (s *Service) Audit(ctx context.Context, space string, limit int) ([]domain.AuditEvent, error) {
	sp, err := s.space(ctx, space, domain.PermAdminSpace)
	if err != nil {
		return nil, err
	}
	v, err := s.access.Viewable(ctx, sp)
	if err != nil {
		return nil, err
	}
	events, err := s.audit.List(ctx, store.AuditFilter{SpaceID: sp.ID, Projects: v.Names(), Limit: limit})
	return slices.DeleteFunc(events, func(e domain.AuditEvent) bool {
		if !v.Has(e.Project) {
			return true
		}
		// A team limited to projects is about them: seen by those who may
		// view one of them.
		if granted := e.Details["projects"]; strings.HasPrefix(e.Action, "team.") && granted != "" {
			return !slices.ContainsFunc(strings.Split(granted, ","), v.Has)
		}
		return false
	}), err
}

// VariableChange sets one value of a project variable.
type VariableChange struct {
	Name         string   `json:"name"`
	Value        string   `json:"value"`
	Sensitive    bool     `json:"sensitive"`
	Environments []string `json:"environments"`
}

// SetVariable sets the value of a project variable for exactly the given
// scope, replacing a value with the same name and scope or adding one. The
// value is sensitive when the change says so, and also when the name is a
// sensitive template's or already has sensitive values: leaving out
// --sensitive never turns a secret into plain text.
func (s *Service) SetVariable(ctx context.Context, space, project string, c VariableChange) (domain.Project, error) {
	var p domain.Project
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.spaces.Get(ctx, space)
		if err != nil {
			return err
		}
		if err := s.access.Require(ctx, sp, domain.PermEditProject, project, ""); err != nil {
			return err
		}
		if err := domain.ValidateVariableName(c.Name); err != nil {
			return err
		}
		p, err = s.projects.Get(ctx, sp.ID, project)
		if err != nil {
			return err
		}
		envs, err := s.envIndex(ctx, sp.ID)
		if err != nil {
			return err
		}
		for _, e := range c.Environments {
			if _, ok := envs[e]; !ok {
				return domain.NotFoundf("environment %q not found in space %q (known: %s)", e, space, strings.Join(sortedKeys(envs), ", "))
			}
		}
		scope := slices.Clone(c.Environments)
		slices.Sort(scope)
		v := domain.Variable{Name: c.Name, Value: c.Value, Sensitive: c.Sensitive, Environments: scope}
		// A secret is never turned into plain text by leaving out
		// --sensitive: a value of a sensitive template, or of a name that
		// has sensitive values, is sensitive (domain.MarkSensitive).
		if domain.SensitiveReason(c.Name, p.Variables, p.Templates) != "" {
			v.Sensitive = true
		}
		if v.Sensitive && v.Value == "" {
			return domain.Invalidf("the value of sensitive variable %q is empty; a secret is never empty (give the value, or - to read it from standard input)", c.Name)
		}
		action := "variable.add"
		replaced := false
		for i, old := range p.Variables {
			if old.Name == c.Name && sameSet(old.Environments, scope) {
				p.Variables[i] = v
				replaced, action = true, "variable.update"
				break
			}
		}
		if !replaced {
			p.Variables = append(p.Variables, v)
		}
		p.UpdatedAt = s.now()
		if err := s.projects.Put(ctx, &p); err != nil {
			return err
		}
		details := map[string]string{"project": project, "scope": scopeText(scope)}
		if v.Sensitive {
			details["sensitive"] = "true"
		}
		return s.audit.Record(ctx, sp.ID, action, c.Name, details)
	})
	return p, err
}

// envIndex maps the names of a space's environments to themselves.
func (s *Service) envIndex(ctx context.Context, spaceID int64) (map[string]domain.Environment, error) {
	list, err := s.environments.List(ctx, spaceID)
	if err != nil {
		return nil, err
	}
	m := make(map[string]domain.Environment, len(list))
	for _, e := range list {
		m[e.Name] = e
	}
	return m, nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func scopeText(envs []string) string {
	if len(envs) == 0 {
		return "(unscoped)"
	}
	return strings.Join(envs, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// describe is used in messages that list choices.
func describe(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
