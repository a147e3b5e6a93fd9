package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/ferrydeploy/ferry/internal/config"
	"github.com/ferrydeploy/ferry/internal/domain"
)

// ApplyOptions change what Apply does.
type ApplyOptions struct {
	// DryRun works out every change and reports it without making any.
	DryRun bool
	// Prune removes, from each project the document lists, the steps,
	// templates and variable values the document does not list. Without it
	// they are kept (and reported as kept). Environments, lifecycles and
	// projects the document does not list are never removed by apply.
	Prune bool
}

// Change is one change an apply makes, or with DryRun would make.
type Change struct {
	Action  string `json:"action"` // "remove", "create", "update"; "keep" in ApplyResult.Kept
	Kind    string `json:"kind"`   // environment, remote environment, lifecycle, project, step, template, variable
	Name    string `json:"name"`   // a variable's name and scope: "Banner [Test]", "Banner (unscoped)"
	Project string `json:"project,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// String describes the change for people, e.g. `remove variable Banner
// [Test] of project "Shop"`.
func (c Change) String() string {
	s := c.Action + " " + c.Kind + " " + c.Name
	if c.Project != "" {
		s += fmt.Sprintf(" of project %q", c.Project)
	}
	if c.Detail != "" {
		s += " (" + c.Detail + ")"
	}
	return s
}

// Change actions.
const (
	ActionRemove = "remove"
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionKeep   = "keep"
)

// ApplyResult says what an apply changed (or would change, DryRun).
type ApplyResult struct {
	DryRun bool `json:"dryRun,omitempty"`
	// Changes lists every change, removals first, then in the document's
	// order.
	Changes []Change `json:"changes"`
	// Kept lists what the listed projects hold that the document does not
	// list, left as it is; --prune would remove it.
	Kept []Change `json:"kept,omitempty"`
	// Created and Updated name the environments, lifecycles and projects
	// created and changed.
	Created   []string `json:"created"`
	Updated   []string `json:"updated"`
	Unchanged int      `json:"unchanged"`
	Warnings  []string `json:"warnings,omitempty"`
}

// maxApplyErrors bounds how many problems one apply reports at once.
const maxApplyErrors = 20

// Apply makes a space match doc: it creates what is missing and changes
// what differs, and removes nothing the document does not mention (see
// ApplyWith for --prune and --dry-run).
func (s *Service) Apply(ctx context.Context, space string, doc *config.Document) (ApplyResult, error) {
	return s.ApplyWith(ctx, space, doc, ApplyOptions{})
}

// ApplyWith is Apply with options. Every problem in the document is found
// before anything is written, and all writes happen in one transaction;
// with DryRun none do.
func (s *Service) ApplyWith(ctx context.Context, space string, doc *config.Document, opts ApplyOptions) (ApplyResult, error) {
	var res ApplyResult
	var written []domain.Target
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.spaces.Get(ctx, space)
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
		plan, err := st.plan(doc, opts.Prune, s.targets)
		if err != nil {
			return err
		}
		if opts.DryRun {
			res = st.preview(plan)
			return nil
		}
		res, err = s.write(ctx, sp, st, plan)
		written = plan.targetsWritten
		return err
	})
	if err == nil {
		s.targets.CheckSoon(ctx, written)
	}
	return res, err
}

// mayApply: environments and lifecycles are the space's administrators'
// business; projects are their contributors'.
func (s *Service) mayApply(ctx context.Context, sp domain.Space, doc *config.Document) error {
	if err := s.access.Require(ctx, sp, domain.PermView, "", ""); err != nil {
		return err
	}
	if len(doc.Environments)+len(doc.RemoteEnvironments)+len(doc.Lifecycles)+len(doc.Tenants)+len(doc.Targets) > 0 {
		if err := s.access.RequireSpaceWide(ctx, sp, domain.PermAdminSpace); err != nil {
			return err
		}
	}
	for _, p := range doc.Projects {
		if err := s.access.Require(ctx, sp, domain.PermEditProject, p.Name, ""); err != nil {
			return err
		}
		// A trigger deploys with the server's authority: only someone who
		// may deploy the project there may set one.
		for _, tr := range p.Triggers {
			if err := s.access.Require(ctx, sp, domain.PermDeploy, p.Name, tr.Environment); err != nil {
				return domain.Errorf(domain.KindForbidden, "trigger %q of project %q deploys to %q, which you may not deploy to: %s", tr.Name, p.Name, tr.Environment, domain.Message(err))
			}
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
	tenants      map[string]domain.Tenant
	remoteSpaces map[string]bool
	targets      map[string]domain.Target
	actor        string // who applies: the user who sets the triggers
}

func (s *Service) loadState(ctx context.Context, sp domain.Space) (*applyState, error) {
	st := &applyState{space: sp, actor: domain.ActorName(ctx), lifecycles: map[string]domain.Lifecycle{}, projects: map[string]domain.Project{}, tenants: map[string]domain.Tenant{}, remoteSpaces: map[string]bool{}, targets: map[string]domain.Target{}}
	var err error
	if st.envs, err = s.envIndex(ctx, sp.ID); err != nil {
		return nil, err
	}
	lcs, err := s.lifecycles.List(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	for _, l := range lcs {
		st.lifecycles[l.Name] = l
	}
	ps, err := s.projects.List(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		st.projects[p.Name] = p
	}
	ts, err := s.tenants.List(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		st.tenants[t.Name] = t
	}
	names, err := s.trust.RemoteNames(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		st.remoteSpaces[n] = true
	}
	tgs, err := s.targets.InSpace(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	for _, t := range tgs {
		st.targets[t.Name] = t
	}
	return st, nil
}

// applyPlan is a validated document, ready to write.
type applyPlan struct {
	envs       []domain.Environment
	lifecycles []domain.Lifecycle
	projects   []domain.Project
	tenants    []domain.Tenant
	// targets are the document's targets, checked; targetsWritten those
	// write created or changed.
	targets        []domain.Target
	targetsWritten []domain.Target
	warnings       []string
	// kept lists what listed projects hold that the document does not
	// list, and the plan keeps (without --prune).
	kept []Change
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

// plan validates the whole document against the space — environments,
// then lifecycles (which name environments), then projects (which name
// lifecycles and environments) — collecting every problem with its line.
func (st *applyState) plan(doc *config.Document, prune bool, tg Targets) (*applyPlan, error) {
	probs := &problems{doc: doc}
	plan := &applyPlan{warnings: slices.Clone(doc.Warnings())}
	known := st.planEnvironments(doc, plan, probs)
	lcNames := st.planLifecycles(doc, plan, probs, known)
	st.planProjects(doc, prune, plan, probs, known, lcNames)
	st.planTenants(doc, prune, plan, probs)
	st.planTargets(doc, plan, probs, known, tg)
	if err := probs.err(); err != nil {
		return nil, err
	}
	return plan, nil
}

// planEnvironments adds the document's local and remote environments to
// the plan and returns the names of every environment known after it.
func (st *applyState) planEnvironments(doc *config.Document, plan *applyPlan, probs *problems) map[string]bool {
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
	return known
}

// planLifecycles adds the document's lifecycles to the plan, each phase
// naming known environments (or whole remote spaces), and returns the
// names of every lifecycle known after it.
func (st *applyState) planLifecycles(doc *config.Document, plan *applyPlan, probs *problems, known map[string]bool) map[string]bool {
	lcNames := map[string]bool{}
	for name := range st.lifecycles {
		lcNames[name] = true
	}
	seen := map[string]bool{}
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
				if !known[e] && !st.remoteSpaces[e] {
					probs.add(fmt.Sprintf("%s.phases[%d]", path, j), domain.NotFoundf("lifecycle %q, phase %q: unknown environment %q (known: %s)", l.Name, ph.Name, e, describe(sortedKeys(known))))
				}
			}
		}
		plan.lifecycles = append(plan.lifecycles, lc)
	}
	return lcNames
}

// planProjects adds the document's projects to the plan, merged with what
// they hold here (project), each in a known lifecycle and naming known
// environments.
func (st *applyState) planProjects(doc *config.Document, prune bool, plan *applyPlan, probs *problems, known, lcNames map[string]bool) {
	knownEnv := func(e string) bool { return known[e] }
	localEnv := st.localEnvironments(doc)
	seen := map[string]bool{}
	for i, cp := range doc.Projects {
		path := fmt.Sprintf("projects[%d]", i)
		if skip := st.notImported(cp.Name); skip != "" {
			plan.warnings = append(plan.warnings, doc.At(path, skip))
			continue
		}
		p, warns, kept, err := st.project(cp, prune)
		if err == nil && !lcNames[p.Lifecycle] {
			err = domain.NotFoundf("project %q: unknown lifecycle %q (known: %s)", p.Name, p.Lifecycle, describe(sortedKeys(lcNames)))
		}
		if err == nil {
			err = validateProject(p, cp, knownEnv)
			if err != nil && strings.Contains(err.Error(), "unknown environment") {
				err = fmt.Errorf("%w (known: %s)", err, describe(sortedKeys(known)))
			}
		}
		if err == nil {
			err = checkSettings(p, localEnv, lcNames)
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
		plan.kept = append(plan.kept, kept...)
	}
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
// the document says `keep: true`. An existing project's steps, templates and
// variable values that the document does not list are kept, where they
// were, and returned as kept — unless prune.
func (st *applyState) project(cp config.Project, prune bool) (domain.Project, []string, []Change, error) {
	old, exists := st.projects[cp.Name]
	if exists && old.IsRemote() {
		var err error
		if cp, err = remoteProject(cp, old); err != nil {
			return domain.Project{}, nil, nil, err
		}
	} else if err := domain.ValidateName("project", cp.Name); err != nil {
		return domain.Project{}, nil, nil, err
	}
	p := domain.Project{SpaceID: st.space.ID, Name: cp.Name, Lifecycle: cp.Lifecycle, Process: slices.Clone(cp.Process), Templates: slices.Clone(cp.Templates),
		Channels: slices.Clone(cp.Channels), Triggers: slices.Clone(cp.Triggers), TenantedDeployments: cp.TenantedDeployments}
	if err := domain.ValidateTenantedDeployments(cp.TenantedDeployments); err != nil {
		return p, nil, nil, err
	}
	if exists {
		p.ID, p.CreatedAt, p.Origin = old.ID, old.CreatedAt, old.Origin
		if p.TenantedDeployments == "" && !prune {
			p.TenantedDeployments = old.TenantedDeployments
		}
	}
	for i := range p.Templates {
		if p.Templates[i].Type == "" {
			p.Templates[i].Type = domain.TemplateText
		}
	}
	var warns []string
	for _, v := range cp.Variables {
		dv := domain.Variable{Name: v.Name, Value: v.Value, Sensitive: v.Sensitive, Environments: v.Environments, Tenants: v.Tenants, TenantTags: v.TenantTags}
		if v.KeepExisting {
			if !v.Sensitive {
				return p, nil, nil, domain.Invalidf("project %q: variable %q has `keep: true`, which only sensitive variables may have", cp.Name, v.Name)
			}
			if v.Value != "" {
				return p, nil, nil, domain.Invalidf("project %q: variable %q has both a value and `keep: true`; remove one", cp.Name, v.Name)
			}
			prev, found := findVariable(old.Variables, v.Name, v.Environments)
			if found && prev.Sensitive {
				dv.Value = prev.Value
			}
			if dv.Value == "" {
				// Kept as a value that is not set: releases and
				// deployments that need it are refused, naming it.
				warns = append(warns, fmt.Sprintf("project %q: sensitive variable %q (%s) has no value in this space; releases are refused until you set it: `%s`", cp.Name, v.Name, scopeText(v.Environments), domain.VarSetCommand(cp.Name, v.Name, v.Environments, true)))
			}
		}
		p.Variables = append(p.Variables, dv)
	}
	var kept []Change
	if exists && !prune {
		keep := func(kind, name string) {
			kept = append(kept, Change{Action: ActionKeep, Kind: kind, Name: name, Project: p.Name, Detail: "not in the file; --prune removes it"})
		}
		p.Process = mergeKept(old.Process, p.Process, func(s domain.Step) string { return s.Name }, func(s domain.Step) { keep("step", s.Name) })
		p.Templates = mergeKept(old.Templates, p.Templates, func(t domain.Template) string { return t.Name }, func(t domain.Template) { keep("template", t.Name) })
		p.Variables = mergeKept(old.Variables, p.Variables, variableKey, func(v domain.Variable) { keep("variable", variableName(v)) })
		p.Channels = mergeKept(old.Channels, p.Channels, func(c domain.Channel) string { return c.Name }, func(c domain.Channel) { keep("channel", c.Name) })
		p.Triggers = mergeKept(old.Triggers, p.Triggers, func(t domain.Trigger) string { return t.Name }, func(t domain.Trigger) { keep("trigger", t.Name) })
		// Without --prune the space's secrets stay secrets: a plain value
		// the file gives for a name that has sensitive values is sealed.
		names := domain.SensitiveNames(old.Variables, nil)
		for i := range p.Variables {
			if names[strings.ToLower(p.Variables[i].Name)] {
				p.Variables[i].Sensitive = true
			}
		}
	}
	if err := validTenantScopes(p); err != nil {
		return p, nil, nil, err
	}
	domain.MarkSensitive(p.Variables, p.Templates)
	stampTriggers(old.Triggers, p.Triggers, st.actor)
	normalize(&p)
	return p, warns, kept, nil
}

// mergeKept returns listed with every item of old whose key listed lacks
// put back after the item that came before it in old (first, if none), and
// calls kept for each.
func mergeKept[T any](old, listed []T, key func(T) string, kept func(T)) []T {
	in := map[string]bool{}
	for _, x := range listed {
		in[key(x)] = true
	}
	out := slices.Clone(listed)
	at := 0 // where the next kept item goes
	for _, x := range old {
		k := key(x)
		if in[k] {
			at = slices.IndexFunc(out, func(y T) bool { return key(y) == k }) + 1
			continue
		}
		out = slices.Insert(out, at, x)
		at++
		kept(x)
	}
	return out
}

// variableKey identifies a variable value: its name and its scope, as a set.
func variableKey(v domain.Variable) string {
	scope := slices.Clone(v.Environments)
	slices.Sort(scope)
	return v.Name + "\x00" + strings.Join(scope, "\x00")
}

// variableName names a value for people: "Banner [Test]", "Banner (unscoped)".
func variableName(v domain.Variable) string {
	if len(v.Environments) == 0 {
		return v.Name + " (unscoped)"
	}
	return v.Name + " [" + strings.Join(v.Environments, ", ") + "]"
}

func findVariable(vars []domain.Variable, name string, scope []string) (domain.Variable, bool) {
	for _, v := range vars {
		if v.Name == name && sameSet(v.Environments, scope) {
			return v, true
		}
	}
	return domain.Variable{}, false
}

// preview works out what writing plan changes, without writing.
func (st *applyState) preview(plan *applyPlan) ApplyResult {
	res := ApplyResult{DryRun: true, Warnings: plan.warnings, Kept: plan.kept, Changes: []Change{}}
	var removals, others []Change
	add := func(cs ...Change) {
		for _, c := range cs {
			if c.Action == ActionRemove {
				removals = append(removals, c)
			} else {
				others = append(others, c)
			}
		}
	}
	for _, e := range plan.envs {
		if _, ok := st.envs[e.Name]; ok {
			res.Unchanged++
			continue
		}
		kind := "environment"
		if e.IsRemote() {
			kind = "remote environment"
		}
		res.Created = append(res.Created, kind+" "+e.Name)
		add(Change{Action: ActionCreate, Kind: kind, Name: e.Name})
	}
	for _, l := range plan.lifecycles {
		old, exists := st.lifecycles[l.Name]
		switch {
		case !exists:
			res.Created = append(res.Created, "lifecycle "+l.Name)
			add(Change{Action: ActionCreate, Kind: "lifecycle", Name: l.Name, Detail: PhaseText(l)})
		case reflect.DeepEqual(old.Phases, l.Phases):
			res.Unchanged++
		default:
			res.Updated = append(res.Updated, "lifecycle "+l.Name)
			add(Change{Action: ActionUpdate, Kind: "lifecycle", Name: l.Name, Detail: "was " + PhaseText(old) + "; now " + PhaseText(l)})
		}
	}
	for _, p := range plan.projects {
		old, exists := st.projects[p.Name]
		switch {
		case !exists:
			res.Created = append(res.Created, "project "+p.Name)
			add(Change{Action: ActionCreate, Kind: "project", Name: p.Name})
		case sameProject(old, p):
			res.Unchanged++
		default:
			res.Updated = append(res.Updated, "project "+p.Name)
			detail := ""
			if old.Lifecycle != p.Lifecycle {
				detail = "lifecycle " + old.Lifecycle + " → " + p.Lifecycle
			}
			add(Change{Action: ActionUpdate, Kind: "project", Name: p.Name, Detail: detail})
			add(projectChanges(old, p)...)
		}
	}
	st.previewTenants(plan, &res, add)
	add(st.previewTargets(plan, &res)...)
	res.Changes = append(append(res.Changes, removals...), others...)
	return res
}

// PhaseText describes a lifecycle's phases: "Dev [Development] → Test [Test]".
func PhaseText(l domain.Lifecycle) string {
	var parts []string
	for _, ph := range l.Phases {
		text := ph.Name + " [" + strings.Join(ph.Environments, ", ") + "]"
		if ph.Retention != nil {
			text += " (" + ph.Retention.String() + ")"
		}
		parts = append(parts, text)
	}
	return strings.Join(parts, " → ")
}

// projectChanges lists the steps, templates and variable values that differ
// between two states of a project.
func projectChanges(old, p domain.Project) []Change {
	var out []Change
	out = append(out, listChanges(old.Process, p.Process, "step", p.Name,
		func(s domain.Step) string { return s.Name }, func(s domain.Step) string { return s.Name },
		func(a, b domain.Step) string {
			if reflect.DeepEqual(a, b) {
				return ""
			}
			return "changed: " + strings.Join(changedFields(a, b), ", ")
		})...)
	out = append(out, listChanges(old.Templates, p.Templates, "template", p.Name,
		func(t domain.Template) string { return t.Name }, func(t domain.Template) string { return t.Name },
		func(a, b domain.Template) string {
			if reflect.DeepEqual(a, b) {
				return ""
			}
			return "changed: " + strings.Join(changedFields(a, b), ", ")
		})...)
	same := func(a, b any) string {
		if reflect.DeepEqual(a, b) {
			return ""
		}
		return "changed: " + strings.Join(changedFields(a, b), ", ")
	}
	out = append(out, listChanges(old.Channels, p.Channels, "channel", p.Name,
		func(c domain.Channel) string { return c.Name }, func(c domain.Channel) string { return c.Name },
		func(a, b domain.Channel) string { return same(a, b) })...)
	out = append(out, listChanges(old.Triggers, p.Triggers, "trigger", p.Name,
		func(t domain.Trigger) string { return t.Name }, func(t domain.Trigger) string { return t.Name },
		func(a, b domain.Trigger) string { return same(a, b) })...)
	out = append(out, listChanges(old.Variables, p.Variables, "variable", p.Name, variableKey, variableName,
		func(a, b domain.Variable) string {
			switch {
			case a.Sensitive && b.Sensitive && a.Value == b.Value:
				return ""
			case a.Sensitive && b.Sensitive:
				return "sensitive value changed"
			case b.Sensitive:
				return "now sensitive"
			case a.Sensitive:
				return "no longer sensitive"
			case a.Value != b.Value:
				return strconv.Quote(oneLine(a.Value)) + " → " + strconv.Quote(oneLine(b.Value))
			}
			return ""
		})...)
	return out
}

// listChanges compares two lists of things by key: removed, added, changed
// (diff says how, "" when not) and, for steps, moved among the steps both
// lists have.
func listChanges[T any](old, now []T, kind, project string, key, name func(T) string, diff func(a, b T) string) []Change {
	index := func(list []T) map[string]int {
		m := make(map[string]int, len(list))
		for i, x := range list {
			m[key(x)] = i
		}
		return m
	}
	before, after := index(old), index(now)
	// Positions among the things both lists have, to tell a move from a
	// shift caused by something added or removed before it.
	rank := func(list []T, other map[string]int) map[string]int {
		m := map[string]int{}
		for _, x := range list {
			if _, ok := other[key(x)]; ok {
				m[key(x)] = len(m)
			}
		}
		return m
	}
	oldRank, newRank := rank(old, after), rank(now, before)
	var out []Change
	for _, x := range old {
		if _, ok := after[key(x)]; !ok {
			out = append(out, Change{Action: ActionRemove, Kind: kind, Name: name(x), Project: project})
		}
	}
	for _, x := range now {
		k := key(x)
		j, existed := before[k]
		if !existed {
			out = append(out, Change{Action: ActionCreate, Kind: kind, Name: name(x), Project: project})
			continue
		}
		detail := diff(old[j], x)
		if kind == "step" && oldRank[k] != newRank[k] {
			detail = strings.Join(slices.DeleteFunc([]string{detail, "moved"}, func(s string) bool { return s == "" }), ", ")
		}
		if detail != "" {
			out = append(out, Change{Action: ActionUpdate, Kind: kind, Name: name(x), Project: project, Detail: detail})
		}
	}
	return out
}

// changedFields names the JSON fields in which two values differ.
func changedFields(a, b any) []string {
	var ma, mb map[string]any
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	json.Unmarshal(ja, &ma)
	json.Unmarshal(jb, &mb)
	var out []string
	for k := range ma {
		if !reflect.DeepEqual(ma[k], mb[k]) {
			out = append(out, k)
		}
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// write makes the changes plan holds, recording each environment,
// lifecycle and project changed in the audit log.
func (s *Service) write(ctx context.Context, sp domain.Space, st *applyState, plan *applyPlan) (ApplyResult, error) {
	res := st.preview(plan)
	res.DryRun = false
	record := func(action, kind, name string) error {
		details := map[string]string{"via": "apply"}
		if kind == "project" {
			details["project"] = name
		}
		return s.audit.Record(ctx, sp.ID, action, name, details)
	}
	for _, e := range plan.envs {
		if _, ok := st.envs[e.Name]; ok {
			continue
		}
		kind, action := "environment", "environment.create"
		if e.IsRemote() {
			kind, action = "remote environment", "remote-environment.create"
		}
		if err := s.environments.Create(ctx, &e); err != nil {
			return res, err
		}
		if err := record(action, kind, e.Name); err != nil {
			return res, err
		}
	}
	for _, l := range plan.lifecycles {
		old, exists := st.lifecycles[l.Name]
		if exists && reflect.DeepEqual(old.Phases, l.Phases) {
			continue
		}
		if err := s.lifecycles.Put(ctx, &l); err != nil {
			return res, err
		}
		action := "lifecycle.create"
		if exists {
			action = "lifecycle.update"
		}
		if err := record(action, "lifecycle", l.Name); err != nil {
			return res, err
		}
	}
	if err := s.writeProjects(ctx, st, plan, record); err != nil {
		return res, err
	}
	if err := s.writeTenants(ctx, sp, st, plan); err != nil {
		return res, err
	}
	if err := s.dropOrphanValues(ctx, sp, st, plan); err != nil {
		return res, err
	}
	return res, s.writeTargets(ctx, st, plan)
}

// writeProjects writes the plan's projects that changed.
func (s *Service) writeProjects(ctx context.Context, st *applyState, plan *applyPlan, record func(action, kind, name string) error) error {
	for _, p := range plan.projects {
		old, exists := st.projects[p.Name]
		if exists && sameProject(old, p) {
			continue
		}
		now := s.now()
		if !exists {
			p.CreatedAt = now
		}
		p.UpdatedAt = now
		if err := s.projects.Put(ctx, &p); err != nil {
			return err
		}
		action := "project.create"
		if exists {
			action = "project.update"
		}
		if err := record(action, "project", p.Name); err != nil {
			return err
		}
	}
	return nil
}

func sameProject(a, b domain.Project) bool {
	normalize(&a)
	normalize(&b)
	return a.Lifecycle == b.Lifecycle && a.TenantedDeployments == b.TenantedDeployments &&
		reflect.DeepEqual(a.Process, b.Process) &&
		reflect.DeepEqual(a.Variables, b.Variables) &&
		reflect.DeepEqual(a.Templates, b.Templates) &&
		reflect.DeepEqual(a.Channels, b.Channels) &&
		reflect.DeepEqual(a.Triggers, b.Triggers)
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
		p.Process[i].Tenants = nilIfEmpty(p.Process[i].Tenants)
		p.Process[i].TenantTags = nilIfEmpty(p.Process[i].TenantTags)
	}
	if len(p.Variables) == 0 {
		p.Variables = nil
	}
	for i := range p.Variables {
		p.Variables[i].Environments = nilIfEmpty(p.Variables[i].Environments)
		p.Variables[i].Tenants = nilIfEmpty(p.Variables[i].Tenants)
		p.Variables[i].TenantTags = nilIfEmpty(p.Variables[i].TenantTags)
	}
	if len(p.Templates) == 0 {
		p.Templates = nil
	}
	if len(p.Channels) == 0 {
		p.Channels = nil
	}
	for i := range p.Channels {
		if len(p.Channels[i].Rules) == 0 {
			p.Channels[i].Rules = nil
		}
	}
	if len(p.Triggers) == 0 {
		p.Triggers = nil
	}
	for i := range p.Process {
		p.Process[i].ResponsibleTeams = nilIfEmpty(p.Process[i].ResponsibleTeams)
	}
	for i := range p.Templates {
		p.Templates[i].Options = nilIfEmpty(p.Templates[i].Options)
	}
}

// Export returns the space's configuration as a document that Apply accepts.
// Sensitive values are written as `keep: true`, never in plaintext. A space
// admin limited to some projects gets those projects only.
func (s *Service) Export(ctx context.Context, space string) (*config.Document, error) {
	sp, err := s.space(ctx, space, domain.PermAdminSpace)
	if err != nil {
		return nil, err
	}
	viewable, err := s.access.Viewable(ctx, sp)
	if err != nil {
		return nil, err
	}
	doc := &config.Document{}
	envs, err := s.environments.List(ctx, sp.ID)
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
	lcs, err := s.lifecycles.List(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	for _, l := range lcs {
		doc.Lifecycles = append(doc.Lifecycles, config.Lifecycle{Name: l.Name, Phases: l.Phases})
	}
	ps, err := s.projects.List(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if !viewable.Has(p.Name) {
			continue
		}
		cp := config.Project{Name: p.Name, Lifecycle: p.Lifecycle, Templates: p.Templates, Process: p.Process, Channels: p.Channels, Triggers: unstamped(p.Triggers),
			TenantedDeployments: p.TenantedDeployments}
		if p.IsRemote() {
			// Its process comes from bundles; what this space set is its own.
			cp.Templates, cp.Process = nil, nil
			if len(p.Variables)+len(p.Channels)+len(p.Triggers) == 0 {
				continue
			}
		}
		for _, v := range p.Variables {
			cv := config.Variable{Name: v.Name, Value: v.Value, Sensitive: v.Sensitive, Environments: v.Environments, Tenants: v.Tenants, TenantTags: v.TenantTags}
			if v.Sensitive {
				cv.Value, cv.KeepExisting = "", true
			}
			cp.Variables = append(cp.Variables, cv)
		}
		doc.Projects = append(doc.Projects, cp)
	}
	if doc.Tenants, err = s.exportTenants(ctx, sp, viewable); err != nil {
		return nil, err
	}
	return doc, s.exportTargets(ctx, sp, doc)
}
