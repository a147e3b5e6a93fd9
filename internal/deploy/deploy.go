// Package deploy queues deployments and runs them: it checks a deployment
// against its lifecycle and templates before anything starts, turns it into a
// task, and a Runner executes tasks' steps as real processes with a live log.
package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/audit"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/provenance"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/variables"
)

// Service queues deployments and answers questions about tasks.
type Service struct {
	tx            store.Transactor
	spaces        store.Spaces
	projects      store.Projects
	releases      store.Releases
	environments  store.Environments
	lifecycles    store.Lifecycles
	tasks         store.Tasks
	deployments   store.Deployments
	packages      store.Packages
	teams         store.Teams
	interventions store.Interventions
	access        access.Guard
	provenance    *provenance.Rules
	progress      *Progress
	audit         *audit.Log
	now           func() time.Time
	runner        Waker
}

// Waker is told that a task was queued (Runner.Wake).
type Waker interface{ Wake() }

// New returns a deploy service. It writes tasks and deployments, reads
// spaces, projects, releases, environments, lifecycles and the package
// feed to check a deployment before queuing it, and wakes runner after.
// It reads teams and decides manual interventions (interventions) for
// the people who answer them.
func New(tx store.Transactor, spaces store.Spaces, projects store.Projects, releases store.Releases, environments store.Environments, lifecycles store.Lifecycles,
	tasks store.Tasks, deployments store.Deployments, packages store.Packages, teams store.Teams, interventions store.Interventions,
	guard access.Guard, rules *provenance.Rules, progress *Progress, log *audit.Log, now func() time.Time, runner Waker) *Service {
	return &Service{tx: tx, spaces: spaces, projects: projects, releases: releases, environments: environments, lifecycles: lifecycles,
		tasks: tasks, deployments: deployments, packages: packages, teams: teams, interventions: interventions,
		access: guard, provenance: rules, progress: progress, audit: log, now: now, runner: runner}
}

// Request asks for a release to be deployed to an environment.
type Request struct {
	Project     string `json:"project"`
	Version     string `json:"version"`
	Environment string `json:"environment"`
	Tenant      string `json:"tenant,omitempty"`
}

// Deploy checks that the release may go to the environment now — the
// lifecycle allows it and every required template value is set — and queues
// a task for it. Nothing is queued when a check fails.
func (s *Service) Deploy(ctx context.Context, space string, req Request) (domain.Deployment, error) {
	var d domain.Deployment
	if req.Tenant != "" {
		if err := domain.ValidateSafeName("tenant", req.Tenant); err != nil {
			return d, err
		}
	}
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.Space(ctx, space, domain.PermDeploy, req.Project, req.Environment)
		if err != nil {
			return err
		}
		p, err := s.projects.Get(ctx, sp.ID, req.Project)
		if err != nil {
			return err
		}
		rel, err := s.releases.Get(ctx, p.ID, req.Version)
		if err != nil {
			return err
		}
		env, err := s.environments.Get(ctx, sp.ID, req.Environment)
		if err != nil {
			return err
		}
		if err := s.provenance.Deliverable(ctx, sp, p, rel); err != nil {
			return err
		}
		if env.IsRemote() {
			return domain.Invalidf("%q is an environment of space %q; deploy there, or promote the release with `ferry promote %q %s --to %q`", env.Name, env.RemoteSpace, p.Name, rel.Version, env.RemoteSpace)
		}
		if err := s.checkLifecycle(ctx, sp, p, rel, env.Name); err != nil {
			return err
		}
		if missing := MissingTemplates(rel.Snapshot.Templates, Candidates(rel, p), variables.Context{Environment: env.Name, Tenant: req.Tenant}); len(missing) > 0 {
			return domain.Invalidf("cannot deploy %s %s to %s: required value(s) missing for environment %q: %s. Set them with:\n  %s",
				p.Name, rel.Version, env.Name, env.Name, strings.Join(missing, ", "), strings.Join(SetCommands(p.Name, env.Name, missing, rel.Snapshot.Templates), "\n  "))
		}
		if unset := UnsetSecrets(rel, p, variables.Context{Environment: env.Name, Tenant: req.Tenant}); len(unset) > 0 {
			return unsetError(p, rel, env.Name, unset)
		}
		if err := checkPackages(ctx, s.packages, sp, p, rel, env.Name); err != nil {
			return err
		}
		if err := s.checkTeams(ctx, sp, p, rel, env.Name); err != nil {
			return err
		}
		now := s.now()
		t := domain.Task{
			SpaceID:     sp.ID,
			Kind:        domain.TaskDeploy,
			Description: fmt.Sprintf("Deploy %s %s to %s", p.Name, rel.Version, env.Name),
			State:       domain.TaskQueued,
			QueuedAt:    now,
		}
		if err := s.tasks.Create(ctx, &t); err != nil {
			return err
		}
		d = domain.Deployment{
			SpaceID: sp.ID, ProjectID: p.ID, Project: p.Name, ReleaseID: rel.ID, Version: rel.Version,
			Environment: env.Name, Tenant: req.Tenant, TaskID: t.ID, State: t.State,
			CreatedAt: now, CreatedBy: domain.ActorName(ctx), OnBehalfOf: onBehalfOf(ctx),
		}
		if err := s.deployments.Create(ctx, &d); err != nil {
			return err
		}
		if err := s.tasks.SetDeployment(ctx, t.ID, d.ID); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "deployment.create", t.Description, map[string]string{"task": fmt.Sprint(t.ID), "project": p.Name})
	})
	if err == nil {
		s.runner.Wake()
	}
	return d, err
}

// checkLifecycle refuses a deployment to an environment the release's
// lifecycle (its channel's, else the project's) does not open yet.
func (s *Service) checkLifecycle(ctx context.Context, sp domain.Space, p domain.Project, rel domain.Release, env string) error {
	lc, err := s.lifecycles.Get(ctx, sp.ID, p.LifecycleOf(rel.Channel))
	if err != nil {
		return err
	}
	g, err := s.progress.Gate(ctx, sp, p, rel, lc, env, lc.PhaseOf(env))
	switch {
	case err != nil || g.Open:
		return err
	case g.Blocker.Name == "":
		return domain.Invalidf("environment %q is not in lifecycle %q of %s %s (its phases: %s)", env, lc.Name, p.Name, rel.Version, PhaseList(lc))
	}
	return domain.Invalidf("release %s of %q cannot be deployed to %s yet: lifecycle %q requires phase %q to succeed first: %s. Deploy it there: `ferry deploy %q %s --to %q`",
		rel.Version, p.Name, env, lc.Name, g.Blocker.Name, g.Need(), p.Name, rel.Version, g.Pending[0])
}

// Gate is whether a release may go to one lifecycle entry now, and if not,
// which phase keeps it out and which of that phase's entries it still
// lacks.
type Gate struct {
	Open bool
	// Redeploy: the release already succeeded in the entry, which is then
	// open whatever the lifecycle says now.
	Redeploy bool
	// Blocker is the phase that keeps it out; its Name is "" when the
	// entry is in no phase of the lifecycle.
	Blocker domain.Phase
	Pending []string
}

// Need says what the blocking phase needs, for messages: "all 2 of its
// environments (still to go: Dev B)".
func (g Gate) Need() string {
	ph := g.Blocker
	n := len(ph.Environments)
	what := fmt.Sprintf("all %d of its environments", n)
	switch {
	case n == 1:
		what = "its environment " + ph.Environments[0]
	case ph.Required() < n:
		what = fmt.Sprintf("%d of its %d environments (minimumEnvironmentsBeforePromotion)", ph.Required(), n)
	}
	if n == 1 {
		return what
	}
	return what + " (not yet: " + strings.Join(g.Pending, ", ") + ")"
}

// Progress is the one place that decides which lifecycle entries a release
// has succeeded in, for deployments here and promotions onward.
type Progress struct {
	deployments store.Deployments
	receipts    store.Receipts
	provenance  *provenance.Rules
}

// NewProgress reads deployments and receipts, and counts only the receipts
// rules accept.
func NewProgress(deployments store.Deployments, receipts store.Receipts, rules *provenance.Rules) *Progress {
	return &Progress{deployments: deployments, receipts: receipts, provenance: rules}
}

// Of reports which lifecycle entries a release has succeeded in: its
// successful deployments in this space, and the environments of other spaces
// that receipts say it succeeded in — only receipts that satisfy the receipt
// rules now (internal/provenance: a signer known here and not revoked, for
// its own environments, of a release promoted toward it, with its digest),
// so no stored receipt from an earlier version or a since-revoked space
// opens a gate. An entry may also be a whole remote space, which has
// succeeded when any of its environments has.
func (pg *Progress) Of(ctx context.Context, sp domain.Space, p domain.Project, rel domain.Release) (func(entry string) bool, error) {
	counted, _, err := pg.of(ctx, sp, p, rel)
	return counted, err
}

// of is Of, and also what the release would have succeeded in if every
// stored receipt still counted (claimed): the difference is what receipts
// of since-revoked or otherwise no longer trusted spaces said.
func (pg *Progress) of(ctx context.Context, sp domain.Space, p domain.Project, rel domain.Release) (counted, claimed func(entry string) bool, err error) {
	done, err := pg.deployments.List(ctx, store.DeploymentFilter{ReleaseID: rel.ID})
	if err != nil {
		return nil, nil, err
	}
	succeeded, stored := map[string]bool{}, map[string]bool{}
	for _, d := range done {
		if d.State == domain.TaskSuccess {
			succeeded[d.Environment], stored[d.Environment] = true, true
		}
	}
	f := store.ReceiptFilter{OriginFingerprint: sp.Fingerprint, OriginProject: p.Name, Version: rel.Version}
	if p.IsRemote() {
		f.OriginFingerprint, f.OriginProject = p.Origin.Fingerprint, p.Origin.Project
	}
	all, err := pg.receipts.List(ctx, sp.ID, f)
	if err != nil {
		return nil, nil, err
	}
	rules, err := pg.provenance.ForRelease(ctx, sp, p, rel)
	if err != nil {
		return nil, nil, err
	}
	receipts, err := rules.Counting(ctx, all)
	if err != nil {
		return nil, nil, err
	}
	mark := func(in map[string]bool, list []domain.Receipt) {
		for _, r := range list {
			if r.State == domain.TaskSuccess {
				in[r.Environment] = true
				if space, _, ok := strings.Cut(r.Environment, ": "); ok {
					in[space] = true
				}
			}
		}
	}
	mark(succeeded, receipts)
	mark(stored, all)
	return func(entry string) bool { return succeeded[entry] }, func(entry string) bool { return stored[entry] }, nil
}

// Gate decides whether rel may go to entry — an environment deployed to,
// or a remote space promoted to — whose phase in lc is idx (-1: none). It
// is open when entry is in the lifecycle and no earlier phase blocks it
// (domain.Lifecycle.Blocker: all of a phase's entries by default, a
// minimum when set, optional phases skipped), and also when rel already
// succeeded in entry (a redeploy, which Octopus allows even after phases
// were inserted before it or the entry left the lifecycle) — unless what
// blocks it now is only that receipts which once opened the way no longer
// count (their signer was revoked). Deployments and promotions both ask it.
func (pg *Progress) Gate(ctx context.Context, sp domain.Space, p domain.Project, rel domain.Release, lc domain.Lifecycle, entry string, idx int) (Gate, error) {
	succeeded, claimed, err := pg.of(ctx, sp, p, rel)
	if err != nil {
		return Gate{}, err
	}
	var ph domain.Phase
	blocked := idx < 0
	if idx >= 0 {
		ph, blocked = lc.Blocker(idx, succeeded)
	}
	if !blocked {
		return Gate{Open: true}, nil
	}
	if succeeded(entry) {
		// A redeploy is allowed past a lifecycle that changed, but not
		// past a gate that only receipts which no longer count (their
		// signer was revoked) had opened: withdrawn trust stays withdrawn.
		if _, stillBlocked := lc.Blocker(max(idx, 0), claimed); idx < 0 || stillBlocked {
			return Gate{Open: true, Redeploy: true}, nil
		}
	}
	if idx < 0 {
		return Gate{}, nil
	}
	return Gate{Blocker: ph, Pending: ph.Pending(succeeded)}, nil
}

// PhaseList describes a lifecycle's phases for messages.
func PhaseList(lc domain.Lifecycle) string {
	var parts []string
	for _, ph := range lc.Phases {
		rule := ""
		switch {
		case ph.Optional:
			rule = " (optional)"
		case ph.Required() < len(ph.Environments):
			rule = fmt.Sprintf(" (%d needed)", ph.Required())
		}
		parts = append(parts, fmt.Sprintf("%s: %s%s", ph.Name, strings.Join(ph.Environments, ", "), rule))
	}
	return strings.Join(parts, "; ")
}

// Candidates returns the variable values a deployment of rel chooses from:
// the release's frozen variables, then — because template values are supplied
// per environment at deploy time rather than frozen — the project's current
// values of every templated name. A remote project's own values (set in this
// space, for its environments) come first, so they win over the bundle's
// values of equal specificity.
func Candidates(rel domain.Release, current domain.Project) []variables.Candidate {
	var cands []variables.Candidate
	add := func(v domain.Variable) {
		cands = append(cands, variables.Candidate{Name: v.Name, Value: v.Value, Sensitive: v.Sensitive, Scope: variables.Scope{Environments: v.Environments}})
	}
	templated := map[string]bool{}
	for _, t := range rel.Snapshot.Templates {
		templated[t.Name] = true
	}
	for _, v := range current.Variables {
		if templated[v.Name] || current.IsRemote() {
			add(v)
		}
	}
	for _, v := range rel.Snapshot.Variables {
		if !templated[v.Name] {
			add(v)
		}
	}
	return cands
}

// UnsetSecrets names the sensitive variables a deployment of rel in dc would
// get as "": values kept as not set because this space never had them
// (domain.UnsetSecrets) that win in dc. A secret is never given to a script
// as an empty string.
func UnsetSecrets(rel domain.Release, current domain.Project, dc variables.Context) []string {
	set := variables.Resolve(Candidates(rel, current), dc)
	var out []string
	for _, name := range set.Names() {
		if v, _ := set.Get(name); v == "" && set.IsSensitive(name) {
			out = append(out, name)
		}
	}
	return out
}

// unsetError refuses a deployment that would give scripts empty secrets,
// saying how to set them: template values and a remote project's own values
// are read when deploying; other values of a local project were frozen by
// the release, which then needs a new release.
func unsetError(p domain.Project, rel domain.Release, env string, unset []string) error {
	templated := map[string]bool{}
	for _, t := range rel.Snapshot.Templates {
		templated[strings.ToLower(t.Name)] = true
	}
	var cmds []string
	frozen := false
	for _, n := range unset {
		isFrozen := !p.IsRemote() && !templated[strings.ToLower(n)]
		frozen = frozen || isFrozen
		where := p.Variables
		if isFrozen {
			where = rel.Snapshot.Variables
		}
		scope := []string{env}
		for _, v := range domain.UnsetSecrets(where, nil) {
			if strings.EqualFold(v.Name, n) && (len(v.Environments) == 0 || slices.Contains(v.Environments, env)) {
				scope = v.Environments
				break
			}
		}
		cmds = append(cmds, domain.VarSetCommand(p.Name, n, scope, true))
	}
	then := ""
	if frozen {
		then = fmt.Sprintf("\nthen create a new release (release %s froze them without a value)", rel.Version)
	}
	return domain.Invalidf("cannot deploy %s %s to %s: sensitive value(s) not set in this space: %s. An export never carries secrets (it writes `keep: true`); set each here:\n  %s%s",
		p.Name, rel.Version, env, strings.Join(unset, ", "), strings.Join(cmds, "\n  "), then)
}

// SetCommands are the commands that set each of names for env: sensitive
// templates' values read from standard input with --sensitive.
func SetCommands(project, env string, names []string, templates []domain.Template) []string {
	var out []string
	for _, n := range names {
		sensitive := domain.SensitiveReason(n, nil, templates) != ""
		cmd := domain.VarSetCommand(project, n, []string{env}, sensitive)
		if sensitive {
			cmd += "  # reads the secret from standard input"
		}
		out = append(out, cmd)
	}
	return out
}

// MissingTemplates names the required templates that have no value (and no
// default) in the deployment context.
func MissingTemplates(templates []domain.Template, cands []variables.Candidate, dc variables.Context) []string {
	set := variables.Resolve(cands, dc)
	var missing []string
	for _, t := range templates {
		if v, ok := set.Get(t.Name); ok && v != "" {
			continue
		}
		if t.Required && t.Default == "" {
			missing = append(missing, t.Name)
		}
	}
	return missing
}

// Tasks lists a space's tasks that the caller may view (those deploying a
// project it may not view are left out), newest first.
func (s *Service) Tasks(ctx context.Context, space string, limit int) ([]domain.Task, error) {
	return s.tasksIn(ctx, space, limit, "")
}

// Waiting lists the space's tasks waiting for a manual intervention that
// the caller may view, newest first, each with what it waits for.
func (s *Service) Waiting(ctx context.Context, space string, limit int) ([]domain.Task, error) {
	return s.tasksIn(ctx, space, limit, domain.TaskWaiting)
}

func (s *Service) tasksIn(ctx context.Context, space string, limit int, state domain.TaskState) ([]domain.Task, error) {
	sp, err := s.access.Space(ctx, space, domain.PermView, "", "")
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	v, err := s.access.Viewable(ctx, sp)
	if err != nil {
		return nil, err
	}
	list, err := s.tasks.List(ctx, store.TaskFilter{SpaceID: sp.ID, Projects: v.Names(), Limit: limit, State: state})
	if err != nil {
		return nil, err
	}
	list = slices.DeleteFunc(list, func(t domain.Task) bool { return !v.Has(t.Project) })
	for i := range list {
		if err := s.withIntervention(ctx, &list[i]); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// Task returns a task of a space; a task deploying a project the caller may
// not view is refused as the project is.
func (s *Service) Task(ctx context.Context, space string, id int64) (domain.Task, error) {
	sp, err := s.access.Space(ctx, space, domain.PermView, "", "")
	if err != nil {
		return domain.Task{}, err
	}
	t, err := s.tasks.Get(ctx, id)
	if err != nil {
		return domain.Task{}, err
	}
	if t.SpaceID != sp.ID {
		return domain.Task{}, domain.NotFoundf("task %d not found in space %q", id, space)
	}
	if t.Project != "" {
		if err := s.access.Require(ctx, sp, domain.PermView, t.Project, ""); err != nil {
			return domain.Task{}, err
		}
	}
	return t, s.withIntervention(ctx, &t)
}

// Log returns a task's log lines after seq (for streaming: pass the last seq seen).
func (s *Service) Log(ctx context.Context, space string, id, after int64) (domain.Task, []domain.LogLine, error) {
	t, err := s.Task(ctx, space, id)
	if err != nil {
		return t, nil, err
	}
	lines, err := s.tasks.Log(ctx, id, after, 5000)
	return t, lines, err
}

// Cancel stops a task: a queued one at once, a running one at its next check.
func (s *Service) Cancel(ctx context.Context, space string, id int64) (domain.Task, error) {
	if _, err := s.access.Space(ctx, space, domain.PermDeploy, "", ""); err != nil {
		return domain.Task{}, err
	}
	t, err := s.Task(ctx, space, id)
	if err != nil {
		return t, err
	}
	if t.DeploymentID != 0 {
		d, err := s.deployments.Get(ctx, t.DeploymentID)
		if err != nil {
			return t, err
		}
		sp, err := s.spaces.GetByID(ctx, t.SpaceID)
		if err != nil {
			return t, err
		}
		if err := s.access.Require(ctx, sp, domain.PermDeploy, d.Project, d.Environment); err != nil {
			return t, err
		}
	}
	if t.State.Done() {
		return t, domain.Conflictf("task %d has already finished (%s)", id, t.State)
	}
	err = s.tx.WithTx(ctx, func(ctx context.Context) error {
		if err := s.tasks.RequestCancel(ctx, id); err != nil {
			return err
		}
		if t.State == domain.TaskQueued {
			if err := s.tasks.Finish(ctx, id, domain.TaskCancelled, "cancelled before it started", s.now()); err != nil {
				return err
			}
		}
		if t.State == domain.TaskWaiting && t.Intervention != nil {
			// Queued again: the runner ends it as cancelled, as any task.
			if _, err := s.interventions.Decide(ctx, t.Intervention.ID, domain.DecisionCancelled, domain.ActorName(ctx), "", s.now()); err != nil {
				return err
			}
		}
		details := map[string]string{"task": fmt.Sprint(id)}
		if t.Project != "" {
			details["project"] = t.Project
		}
		return s.audit.Record(ctx, t.SpaceID, "task.cancel", t.Description, details)
	})
	if err != nil {
		return t, err
	}
	s.runner.Wake()
	return s.tasks.Get(ctx, id)
}

// Deployments lists a space's deployments of projects the caller may
// view, newest first.
func (s *Service) Deployments(ctx context.Context, space string, f store.DeploymentFilter) ([]domain.Deployment, error) {
	sp, err := s.access.Space(ctx, space, domain.PermView, "", "")
	if err != nil {
		return nil, err
	}
	v, err := s.access.Viewable(ctx, sp)
	if err != nil {
		return nil, err
	}
	f.SpaceID, f.Projects = sp.ID, v.Names()
	list, err := s.deployments.List(ctx, f)
	return slices.DeleteFunc(list, func(d domain.Deployment) bool { return !v.Has(d.Project) }), err
}
