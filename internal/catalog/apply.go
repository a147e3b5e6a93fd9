package catalog

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/config"
	"github.com/ferrydeploy/ferry/internal/domain"
)

// ApplyResult says what an apply changed.
type ApplyResult struct {
	Created   []string `json:"created"`
	Updated   []string `json:"updated"`
	Unchanged int      `json:"unchanged"`
	Warnings  []string `json:"warnings,omitempty"`
}

// maxApplyErrors bounds how many problems one apply reports at once.
const maxApplyErrors = 20

// Apply makes a space match doc: it creates what is missing and replaces
// what differs; things the document does not mention are left alone. Every
// problem in the document is found before anything is written, and all
// writes happen in one transaction.
func (s *Service) Apply(ctx context.Context, space string, doc *config.Document) (ApplyResult, error) {
	var res ApplyResult
	err := s.store.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.store.Spaces().Get(ctx, space)
		if err != nil {
			return err
		}
		if err := s.mayApply(ctx, sp, doc); err != nil {
			return err
		}
		st, err := s.loadState(ctx, sp)
		if err != nil {
			return err
		}
		plan, err := st.plan(doc)
		if err != nil {
			return err
		}
		res, err = s.write(ctx, sp, st, plan)
		return err
	})
	return res, err
}

// mayApply: environments and lifecycles are the space's administrators'
// business; projects are their contributors'.
func (s *Service) mayApply(ctx context.Context, sp domain.Space, doc *config.Document) error {
	if err := access.Require(ctx, s.store, sp, domain.PermView, "", ""); err != nil {
		return err
	}
	if len(doc.Environments)+len(doc.RemoteEnvironments)+len(doc.Lifecycles) > 0 {
		if err := access.Require(ctx, s.store, sp, domain.PermAdminSpace, "", ""); err != nil {
			return err
		}
	}
	for _, p := range doc.Projects {
		if err := access.Require(ctx, s.store, sp, domain.PermEditProject, p.Name, ""); err != nil {
			return err
		}
	}
	return nil
}

// applyState is what the space holds before the apply.
type applyState struct {
	space        domain.Space
	envs         map[string]domain.Environment
	lifecycles   map[string]domain.Lifecycle
	projects     map[string]domain.Project
	remoteSpaces map[string]bool
}

func (s *Service) loadState(ctx context.Context, sp domain.Space) (*applyState, error) {
	st := &applyState{space: sp, lifecycles: map[string]domain.Lifecycle{}, projects: map[string]domain.Project{}, remoteSpaces: map[string]bool{}}
	var err error
	if st.envs, err = s.envIndex(ctx, sp.ID); err != nil {
		return nil, err
	}
	lcs, err := s.store.Lifecycles().List(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	for _, l := range lcs {
		st.lifecycles[l.Name] = l
	}
	ps, err := s.store.Projects().List(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		st.projects[p.Name] = p
	}
	if s.RemoteSpaces != nil {
		names, err := s.RemoteSpaces(ctx, sp.ID)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			st.remoteSpaces[n] = true
		}
	}
	return st, nil
}

// applyPlan is a validated document, ready to write.
type applyPlan struct {
	envs       []domain.Environment
	lifecycles []domain.Lifecycle
	projects   []domain.Project
	warnings   []string
}

// problems collects every error in a document, each with its line.
type problems struct {
	doc  *config.Document
	msgs []string
}

func (p *problems) add(path string, err error) {
	if len(p.msgs) < maxApplyErrors {
		p.msgs = append(p.msgs, p.doc.At(path, domain.Message(err)))
	}
}

func (p *problems) err() error {
	switch len(p.msgs) {
	case 0:
		return nil
	case 1:
		return domain.Invalidf("%s; nothing was changed", p.msgs[0])
	}
	return domain.Invalidf("%d problems; nothing was changed:\n  %s", len(p.msgs), strings.Join(p.msgs, "\n  "))
}

func (st *applyState) plan(doc *config.Document) (*applyPlan, error) {
	probs := &problems{doc: doc}
	plan := &applyPlan{}
	known := map[string]bool{}
	for name := range st.envs {
		known[name] = true
	}

	seen := map[string]bool{}
	for i, e := range doc.Environments {
		path := fmt.Sprintf("environments[%d]", i)
		if err := domain.ValidateName("environment", e.Name); err != nil {
			probs.add(path, err)
			continue
		}
		if seen[e.Name] {
			probs.add(path, domain.Invalidf("environment %q is listed twice", e.Name))
			continue
		}
		if old, ok := st.envs[e.Name]; ok && old.IsRemote() {
			probs.add(path, domain.Conflictf("%q is a remote environment of this space, not a local one", e.Name))
			continue
		}
		seen[e.Name] = true
		known[e.Name] = true
		plan.envs = append(plan.envs, domain.Environment{SpaceID: st.space.ID, Name: e.Name})
	}
	for i, name := range doc.RemoteEnvironments {
		path := fmt.Sprintf("remoteEnvironments[%d]", i)
		remote, env, err := st.parseRemote(name)
		if err != nil {
			probs.add(path, err)
			continue
		}
		if seen[name] {
			probs.add(path, domain.Invalidf("remote environment %q is listed twice", name))
			continue
		}
		seen[name] = true
		known[name] = true
		plan.envs = append(plan.envs, domain.Environment{SpaceID: st.space.ID, Name: remote + ": " + env, RemoteSpace: remote})
	}
	knownEnv := func(e string) bool { return known[e] }
	envList := func() string { return describe(sortedKeys(known)) }

	lcNames := map[string]bool{}
	for name := range st.lifecycles {
		lcNames[name] = true
	}
	seen = map[string]bool{}
	for i, l := range doc.Lifecycles {
		path := fmt.Sprintf("lifecycles[%d]", i)
		lc := domain.Lifecycle{SpaceID: st.space.ID, Name: l.Name, Phases: l.Phases}
		if err := lc.Validate(); err != nil {
			probs.add(path, err)
			continue
		}
		if seen[l.Name] {
			probs.add(path, domain.Invalidf("lifecycle %q is listed twice", l.Name))
			continue
		}
		seen[l.Name] = true
		lcNames[l.Name] = true
		for j, ph := range lc.Phases {
			for _, e := range ph.Environments {
				// A phase may also name a whole remote space.
				if !knownEnv(e) && !st.remoteSpaces[e] {
					probs.add(fmt.Sprintf("%s.phases[%d]", path, j), domain.NotFoundf("lifecycle %q, phase %q: unknown environment %q (known: %s)", l.Name, ph.Name, e, envList()))
				}
			}
		}
		plan.lifecycles = append(plan.lifecycles, lc)
	}

	seen = map[string]bool{}
	for i, cp := range doc.Projects {
		path := fmt.Sprintf("projects[%d]", i)
		p, warns, err := st.project(cp)
		if err == nil && !lcNames[p.Lifecycle] {
			err = domain.NotFoundf("project %q: unknown lifecycle %q (known: %s)", p.Name, p.Lifecycle, describe(sortedKeys(lcNames)))
		}
		if err == nil {
			err = p.Validate(knownEnv)
			if err != nil && strings.Contains(err.Error(), "unknown environment") {
				err = fmt.Errorf("%w (known: %s)", err, envList())
			}
		}
		if err == nil && seen[p.Name] {
			err = domain.Invalidf("project %q is listed twice", p.Name)
		}
		if err != nil {
			probs.add(path, err)
			continue
		}
		seen[p.Name] = true
		plan.projects = append(plan.projects, p)
		plan.warnings = append(plan.warnings, warns...)
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	return plan, nil
}

// parseRemote splits "<space>: <environment>" and checks the space is known.
func (st *applyState) parseRemote(name string) (space, env string, err error) {
	space, env, ok := strings.Cut(name, ": ")
	if !ok {
		return "", "", domain.Invalidf("remote environment %q must be written \"<remote space>: <environment>\"", name)
	}
	if err := domain.ValidateName("remote space", space); err != nil {
		return "", "", err
	}
	if err := domain.ValidateName("environment", env); err != nil {
		return "", "", err
	}
	if !st.remoteSpaces[space] {
		return "", "", domain.NotFoundf("remote environment %q: %q is not a remote space of this space; add it first with `ferry remote-space add %q --cert FILE`", name, space, space)
	}
	return space, env, nil
}

// project converts a document project, keeping stored sensitive values where
// the document says `keep: true`.
func (st *applyState) project(cp config.Project) (domain.Project, []string, error) {
	p := domain.Project{SpaceID: st.space.ID, Name: cp.Name, Lifecycle: cp.Lifecycle, Process: cp.Process, Templates: cp.Templates}
	if err := domain.ValidateName("project", cp.Name); err != nil {
		return p, nil, err
	}
	old, exists := st.projects[cp.Name]
	if exists {
		p.ID, p.CreatedAt = old.ID, old.CreatedAt
	}
	for i := range p.Templates {
		if p.Templates[i].Type == "" {
			p.Templates[i].Type = domain.TemplateText
		}
	}
	var warns []string
	for _, v := range cp.Variables {
		dv := domain.Variable{Name: v.Name, Value: v.Value, Sensitive: v.Sensitive, Environments: v.Environments}
		if v.KeepExisting {
			if !v.Sensitive {
				return p, nil, domain.Invalidf("project %q: variable %q has `keep: true`, which only sensitive variables may have", cp.Name, v.Name)
			}
			if v.Value != "" {
				return p, nil, domain.Invalidf("project %q: variable %q has both a value and `keep: true`; remove one", cp.Name, v.Name)
			}
			prev, found := findVariable(old.Variables, v.Name, v.Environments)
			if found && prev.Sensitive {
				dv.Value = prev.Value
			} else {
				warns = append(warns, fmt.Sprintf("project %q: sensitive variable %q (%s) has no value in this space; set it with `ferry var set %q %s VALUE --sensitive`", cp.Name, v.Name, scopeText(v.Environments), cp.Name, v.Name))
			}
		}
		p.Variables = append(p.Variables, dv)
	}
	normalize(&p)
	return p, warns, nil
}

func findVariable(vars []domain.Variable, name string, scope []string) (domain.Variable, bool) {
	for _, v := range vars {
		if v.Name == name && sameSet(v.Environments, scope) {
			return v, true
		}
	}
	return domain.Variable{}, false
}

func (s *Service) write(ctx context.Context, sp domain.Space, st *applyState, plan *applyPlan) (ApplyResult, error) {
	res := ApplyResult{Warnings: plan.warnings}
	record := func(action, kind, name string, created bool) error {
		if created {
			res.Created = append(res.Created, kind+" "+name)
		} else {
			res.Updated = append(res.Updated, kind+" "+name)
		}
		details := map[string]string{"via": "apply"}
		if kind == "project" {
			details["project"] = name
		}
		return s.audit.Record(ctx, sp.ID, action, name, details)
	}
	for _, e := range plan.envs {
		if _, ok := st.envs[e.Name]; ok {
			res.Unchanged++
			continue
		}
		kind, action := "environment", "environment.create"
		if e.IsRemote() {
			kind, action = "remote environment", "remote-environment.create"
		}
		if err := s.store.Environments().Create(ctx, &e); err != nil {
			return res, err
		}
		if err := record(action, kind, e.Name, true); err != nil {
			return res, err
		}
	}
	for _, l := range plan.lifecycles {
		old, exists := st.lifecycles[l.Name]
		if exists && reflect.DeepEqual(old.Phases, l.Phases) {
			res.Unchanged++
			continue
		}
		if err := s.store.Lifecycles().Put(ctx, &l); err != nil {
			return res, err
		}
		action := "lifecycle.create"
		if exists {
			action = "lifecycle.update"
		}
		if err := record(action, "lifecycle", l.Name, !exists); err != nil {
			return res, err
		}
	}
	for _, p := range plan.projects {
		old, exists := st.projects[p.Name]
		if exists && sameProject(old, p) {
			res.Unchanged++
			continue
		}
		now := s.now()
		if !exists {
			p.CreatedAt = now
		}
		p.UpdatedAt = now
		if err := s.store.Projects().Put(ctx, &p); err != nil {
			return res, err
		}
		action := "project.create"
		if exists {
			action = "project.update"
		}
		if err := record(action, "project", p.Name, !exists); err != nil {
			return res, err
		}
	}
	return res, nil
}

func sameProject(a, b domain.Project) bool {
	normalize(&a)
	normalize(&b)
	return a.Lifecycle == b.Lifecycle &&
		reflect.DeepEqual(a.Process, b.Process) &&
		reflect.DeepEqual(a.Variables, b.Variables) &&
		reflect.DeepEqual(a.Templates, b.Templates)
}

// normalize makes empty lists nil so that a project read back from the store
// compares equal to the same project parsed from YAML.
func normalize(p *domain.Project) {
	nilIfEmpty := func(s []string) []string {
		if len(s) == 0 {
			return nil
		}
		return s
	}
	if len(p.Process) == 0 {
		p.Process = nil
	}
	for i := range p.Process {
		p.Process[i].Environments = nilIfEmpty(p.Process[i].Environments)
	}
	if len(p.Variables) == 0 {
		p.Variables = nil
	}
	for i := range p.Variables {
		p.Variables[i].Environments = nilIfEmpty(p.Variables[i].Environments)
	}
	if len(p.Templates) == 0 {
		p.Templates = nil
	}
	for i := range p.Templates {
		p.Templates[i].Options = nilIfEmpty(p.Templates[i].Options)
	}
}

// Export returns the space's configuration as a document that Apply accepts.
// Sensitive values are written as `keep: true`, never in plaintext.
func (s *Service) Export(ctx context.Context, space string) (*config.Document, error) {
	sp, err := s.space(ctx, space, domain.PermAdminSpace)
	if err != nil {
		return nil, err
	}
	doc := &config.Document{}
	envs, err := s.store.Environments().List(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	for _, e := range envs {
		if e.IsRemote() {
			doc.RemoteEnvironments = append(doc.RemoteEnvironments, e.Name)
		} else {
			doc.Environments = append(doc.Environments, config.Environment{Name: e.Name})
		}
	}
	lcs, err := s.store.Lifecycles().List(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	for _, l := range lcs {
		doc.Lifecycles = append(doc.Lifecycles, config.Lifecycle{Name: l.Name, Phases: l.Phases})
	}
	ps, err := s.store.Projects().List(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.IsRemote() {
			continue // remote projects come from bundles, not from YAML
		}
		cp := config.Project{Name: p.Name, Lifecycle: p.Lifecycle, Templates: p.Templates, Process: p.Process}
		for _, v := range p.Variables {
			cv := config.Variable{Name: v.Name, Value: v.Value, Sensitive: v.Sensitive, Environments: v.Environments}
			if v.Sensitive {
				cv.Value, cv.KeepExisting = "", true
			}
			cp.Variables = append(cp.Variables, cv)
		}
		doc.Projects = append(doc.Projects, cp)
	}
	return doc, nil
}
