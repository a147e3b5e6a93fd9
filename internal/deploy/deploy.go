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
	targets       store.Targets
	tenants       store.Tenants
	teams         store.Teams
	interventions store.Interventions
	access        access.Guard
	provenance    *provenance.Rules
	progress      *Progress
	audit         *audit.Log
	now           func() time.Time
	runner        Waker
	receipts      Receipts
}

// Waker is told that a task was queued (Runner.Wake).
type Waker interface{ Wake() }

// New returns a deploy service. It writes tasks and deployments, reads
// spaces, projects, releases, environments, lifecycles, the package feed,
// targets and tenants to check a deployment before queuing it, and wakes runner
// after. It reads teams and decides manual interventions (interventions) for
// the people who answer them. A deployment cancelled before it started gets
// its receipt from receipts, in the same transaction.
func New(tx store.Transactor, spaces store.Spaces, projects store.Projects, releases store.Releases, environments store.Environments, lifecycles store.Lifecycles,
	tasks store.Tasks, deployments store.Deployments, packages store.Packages, targets store.Targets, tenants store.Tenants, teams store.Teams, interventions store.Interventions,
	guard access.Guard, rules *provenance.Rules, progress *Progress, log *audit.Log, now func() time.Time, runner Waker, receipts Receipts) *Service {
	return &Service{tx: tx, spaces: spaces, projects: projects, releases: releases, environments: environments, lifecycles: lifecycles,
		tasks: tasks, deployments: deployments, packages: packages, targets: targets, tenants: tenants, teams: teams, interventions: interventions,
		access: guard, provenance: rules, progress: progress, audit: log, now: now, runner: runner, receipts: receipts}
}

// Request asks for a release to be deployed to an environment, untenanted
// or for tenants: Tenant (one), Tenants (several) and TenantTags ("SET/TAG":
// every tenant with the tag connected to the project there) add up.
type Request struct {
	Project     string   `json:"project"`
	Version     string   `json:"version"`
	Environment string   `json:"environment"`
	Tenant      string   `json:"tenant,omitempty"`
	Tenants     []string `json:"tenants,omitempty"`
	TenantTags  []string `json:"tenantTags,omitempty"`
	// Targets limits the deployment to these targets; ExcludeTargets
	// leaves these out (SPEC §5: deploy --target, --exclude-target).
	Targets        []string `json:"targets,omitempty"`
	ExcludeTargets []string `json:"excludeTargets,omitempty"`
}

// Deploy checks that the release may go to the environment now — the
// lifecycle allows it and every required template value is set — and queues
// a task for it. Nothing is queued when a check fails. It deploys for at
// most one tenant; DeployTenants deploys for several.
func (s *Service) Deploy(ctx context.Context, space string, req Request) (domain.Deployment, error) {
	if len(req.Tenants) > 0 || len(req.TenantTags) > 0 {
		return domain.Deployment{}, domain.Invalidf("this request deploys for one tenant at most; deploy for several with POST .../deployments/tenants (ferry deploy --tenant T --tenant U, --tenant-tag SET/TAG)")
	}
	list, err := s.DeployTenants(ctx, space, req)
	if err != nil {
		return domain.Deployment{}, err
	}
	return list[0], nil
}

// DeployTenants checks a deployment for every tenant it names (or an
// untenanted one when it names none) and queues one task per tenant — or,
// when any check fails for any tenant, nothing, naming every problem.
func (s *Service) DeployTenants(ctx context.Context, space string, req Request) ([]domain.Deployment, error) {
	if err := validTenantRequest(&req); err != nil {
		return nil, err
	}
	var out []domain.Deployment
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		pl, err := s.plan(ctx, space, req)
		if err != nil {
			return err
		}
		now := s.now()
		for _, t := range pl.tenants {
			d, err := s.queue(ctx, pl, t, req, now)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	if err == nil {
		s.runner.Wake()
	}
	return out, err
}

// plan is a deployment checked and ready to queue, for each of its tenants
// (nil: untenanted).
type plan struct {
	sp      domain.Space
	p       domain.Project
	rel     domain.Release
	env     domain.Environment
	tenants []*domain.Tenant
}

// plan runs every check of a deployment before anything is queued.
func (s *Service) plan(ctx context.Context, space string, req Request) (plan, error) {
	var pl plan
	sp, err := s.access.Space(ctx, space, domain.PermDeploy, req.Project, req.Environment)
	if err != nil {
		return pl, err
	}
	p, err := s.projects.Get(ctx, sp.ID, req.Project)
	if err != nil {
		return pl, err
	}
	rel, err := s.releases.Get(ctx, p.ID, req.Version)
	if err != nil {
		return pl, err
	}
	env, err := s.environments.Get(ctx, sp.ID, req.Environment)
	if err != nil {
		return pl, err
	}
	pl = plan{sp: sp, p: p, rel: rel, env: env}
	if err := s.provenance.Deliverable(ctx, sp, p, rel); err != nil {
		return pl, err
	}
	if env.IsRemote() {
		return pl, domain.Invalidf("%q is an environment of space %q; deploy there, or promote the release with `ferry promote %q %s --to %q`", env.Name, env.RemoteSpace, p.Name, rel.Version, env.RemoteSpace)
	}
	var problems []string
	if pl.tenants, problems, err = s.chooseTenants(ctx, sp, p, env.Name, req); err != nil {
		return pl, err
	}
	if err := s.checkEach(ctx, pl, problems); err != nil {
		return pl, err
	}
	if err := checkPackages(ctx, s.packages, sp, p, rel, env.Name); err != nil {
		return pl, err
	}
	if err := s.checkTeams(ctx, sp, p, rel, env.Name); err != nil {
		return pl, err
	}
	for _, t := range pl.tenants {
		if err := checkOutputsAcrossWait(rel.Snapshot.Process, env.Name, t); err != nil {
			return pl, fmt.Errorf("cannot deploy %s %s to %s: %w", p.Name, rel.Version, env.Name, err)
		}
	}
	return pl, s.checkTargets(ctx, sp, req)
}

// checkEach checks the lifecycle and the values for each tenant of pl.
// Untenanted, it returns the first refusal as it is; for tenants, it names
// every problem of every tenant at once, after problems (the tenants that
// could not be chosen: unknown, not connected, tags nobody has).
func (s *Service) checkEach(ctx context.Context, pl plan, problems []string) error {
	lc, err := s.lifecycles.Get(ctx, pl.sp.ID, pl.p.LifecycleOf(pl.rel.Channel))
	if err != nil {
		return err
	}
	gates, err := s.progress.Gates(ctx, pl.sp, pl.p, pl.rel)
	if err != nil {
		return err
	}
	for _, t := range pl.tenants {
		name := ""
		if t != nil {
			name = t.Name
		}
		g := gates(name, lc, pl.env.Name, lc.PhaseOf(pl.env.Name))
		for _, err := range s.checkOne(pl, lc, g, t) {
			if t == nil {
				return err
			}
			problems = append(problems, fmt.Sprintf("tenant %s: %v", t.Name, err))
		}
	}
	if len(problems) > 0 {
		return domain.Invalidf("cannot deploy %s %s to %s; nothing was queued:\n  - %s", pl.p.Name, pl.rel.Version, pl.env.Name, strings.Join(problems, "\n  - "))
	}
	return nil
}

// checkOne checks the lifecycle gate g, the required templates and the
// secrets of one deployment (t nil: untenanted).
func (s *Service) checkOne(pl plan, lc domain.Lifecycle, g Gate, t *domain.Tenant) []error {
	var errs []error
	p, rel, env := pl.p, pl.rel, pl.env.Name
	if err := gateError(p, rel, lc, env, g, t); err != nil {
		errs = append(errs, err)
	}
	cands, dc := TenantCandidates(t, p.Name, env, Candidates(rel, p)), Context(env, t)
	if missing := MissingTemplates(rel.Snapshot.Templates, cands, dc); len(missing) > 0 {
		errs = append(errs, missingError(p, rel, env, t, missing))
	}
	if unset := unsetIn(cands, dc); len(unset) > 0 {
		errs = append(errs, unsetError(p, rel, env, unset))
	}
	return errs
}

// gateError refuses a deployment to an environment the release's
// lifecycle (its channel's, else the project's) does not open yet.
func gateError(p domain.Project, rel domain.Release, lc domain.Lifecycle, env string, g Gate, t *domain.Tenant) error {
	switch {
	case g.Open:
		return nil
	case g.Blocker.Name == "":
		return domain.Invalidf("environment %q is not in lifecycle %q of %s %s (its phases: %s)", env, lc.Name, p.Name, rel.Version, PhaseList(lc))
	}
	tenant := ""
	if t != nil {
		tenant = " --tenant " + t.Name // a safe name (domain.ValidateSafeName)
	}
	return domain.Invalidf("release %s of %q cannot be deployed to %s yet: lifecycle %q requires phase %q to succeed first: %s. Deploy it there: `ferry deploy %q %s --to %q%s`",
		rel.Version, p.Name, env, lc.Name, g.Blocker.Name, g.Need(), p.Name, rel.Version, g.Pending[0], tenant)
}

// missingError names the required values missing for env, and how to set
// them: for a tenant, its own values.
func missingError(p domain.Project, rel domain.Release, env string, t *domain.Tenant, missing []string) error {
	if t != nil {
		return domain.Invalidf("required value(s) missing for environment %q: %s. Set them with:\n      %s",
			env, strings.Join(missing, ", "), strings.Join(TenantSetCommands(t.Name, p.Name, env, missing, rel.Snapshot.Templates), "\n      "))
	}
	return domain.Invalidf("cannot deploy %s %s to %s: required value(s) missing for environment %q: %s. Set them with:\n  %s",
		p.Name, rel.Version, env, env, strings.Join(missing, ", "), strings.Join(SetCommands(p.Name, env, missing, rel.Snapshot.Templates), "\n  "))
}

// queue creates the task and the deployment of one tenant (nil: untenanted).
func (s *Service) queue(ctx context.Context, pl plan, tenant *domain.Tenant, req Request, now time.Time) (domain.Deployment, error) {
	desc := fmt.Sprintf("Deploy %s %s to %s", pl.p.Name, pl.rel.Version, pl.env.Name)
	name := ""
	if tenant != nil {
		name = tenant.Name
		desc += " for " + name
	}
	t := domain.Task{SpaceID: pl.sp.ID, Kind: domain.TaskDeploy, Description: desc, State: domain.TaskQueued, QueuedAt: now}
	if err := s.tasks.Create(ctx, &t); err != nil {
		return domain.Deployment{}, err
	}
	d := domain.Deployment{
		SpaceID: pl.sp.ID, ProjectID: pl.p.ID, Project: pl.p.Name, ReleaseID: pl.rel.ID, Version: pl.rel.Version,
		Environment: pl.env.Name, Tenant: name, TaskID: t.ID, State: t.State,
		CreatedAt: now, CreatedBy: domain.ActorName(ctx), OnBehalfOf: onBehalfOf(ctx),
		Targets: req.Targets, ExcludeTargets: req.ExcludeTargets,
	}
	if err := s.deployments.Create(ctx, &d); err != nil {
		return d, err
	}
	if err := s.tasks.SetDeployment(ctx, t.ID, d.ID); err != nil {
		return d, err
	}
	details := map[string]string{"task": fmt.Sprint(t.ID), "project": pl.p.Name}
	if name != "" {
		details["tenant"] = name
	}
	return d, s.audit.Record(ctx, pl.sp.ID, "deployment.create", t.Description, details)
}

// checkTargets refuses --target and --exclude-target together, and names
// that are no target of the space.
func (s *Service) checkTargets(ctx context.Context, sp domain.Space, req Request) error {
	if len(req.Targets) == 0 && len(req.ExcludeTargets) == 0 {
		return nil
	}
	if len(req.Targets) > 0 && len(req.ExcludeTargets) > 0 {
		return domain.Invalidf("give the targets to deploy to (--target) or those to leave out (--exclude-target), not both")
	}
	list, err := s.targets.List(ctx, sp.ID)
	if err != nil {
		return err
	}
	return domain.UnknownTargets(append(slices.Clone(req.Targets), req.ExcludeTargets...), list)
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
	by, err := pg.byTenant(ctx, sp, p, rel)
	if err != nil {
		return nil, nil, err
	}
	counted, claimed = by(nil)
	return counted, claimed, nil
}

// byTenant reads a release's deployments and receipts once and answers,
// for a tenant, what of says: local environments count only that
// tenant's deployments ("" untenanted ones; nil any tenant's), since
// lifecycle progress is per tenant; other spaces' environments count what
// their receipts say, whatever the tenant — tenants do not cross spaces.
func (pg *Progress) byTenant(ctx context.Context, sp domain.Space, p domain.Project, rel domain.Release) (func(tenant *string) (counted, claimed func(string) bool), error) {
	done, err := pg.deployments.List(ctx, store.DeploymentFilter{ReleaseID: rel.ID})
	if err != nil {
		return nil, err
	}
	local := map[string]map[string]bool{} // tenant → environment → succeeded
	anyTenant := map[string]bool{}
	for _, d := range done {
		if d.State == domain.TaskSuccess {
			if local[d.Tenant] == nil {
				local[d.Tenant] = map[string]bool{}
			}
			local[d.Tenant][d.Environment], anyTenant[d.Environment] = true, true
		}
	}
	f := store.ReceiptFilter{OriginFingerprint: sp.Fingerprint, OriginProject: p.Name, Version: rel.Version}
	if p.IsRemote() {
		f.OriginFingerprint, f.OriginProject = p.Origin.Fingerprint, p.Origin.Project
	}
	all, err := pg.receipts.List(ctx, sp.ID, f)
	if err != nil {
		return nil, err
	}
	rules, err := pg.provenance.ForRelease(ctx, sp, p, rel)
	if err != nil {
		return nil, err
	}
	receipts, err := rules.Counting(ctx, all)
	if err != nil {
		return nil, err
	}
	mark := func(list []domain.Receipt) map[string]bool {
		in := map[string]bool{}
		for _, r := range list {
			if r.State == domain.TaskSuccess {
				in[r.Environment] = true
				if space, _, ok := strings.Cut(r.Environment, ": "); ok {
					in[space] = true
				}
			}
		}
		return in
	}
	remote, stored := mark(receipts), mark(all)
	return func(tenant *string) (func(string) bool, func(string) bool) {
		here := anyTenant
		if tenant != nil {
			here = local[*tenant]
		}
		return func(entry string) bool { return here[entry] || remote[entry] },
			func(entry string) bool { return here[entry] || stored[entry] }
	}, nil
}

// Gate decides whether rel may go to entry — an environment deployed to,
// or a remote space promoted to — whose phase in lc is idx (-1: none),
// counting every tenant's deployments (promotions ask it). See gate.
func (pg *Progress) Gate(ctx context.Context, sp domain.Space, p domain.Project, rel domain.Release, lc domain.Lifecycle, entry string, idx int) (Gate, error) {
	succeeded, claimed, err := pg.of(ctx, sp, p, rel)
	if err != nil {
		return Gate{}, err
	}
	return gate(succeeded, claimed, lc, entry, idx), nil
}

// Gates reads a release's progress once and returns the gate of one
// tenant's deployment ("" untenanted) to an entry, counting that
// tenant's deployments here (lifecycle progress is per tenant).
func (pg *Progress) Gates(ctx context.Context, sp domain.Space, p domain.Project, rel domain.Release) (func(tenant string, lc domain.Lifecycle, entry string, idx int) Gate, error) {
	by, err := pg.byTenant(ctx, sp, p, rel)
	if err != nil {
		return nil, err
	}
	return func(tenant string, lc domain.Lifecycle, entry string, idx int) Gate {
		succeeded, claimed := by(&tenant)
		return gate(succeeded, claimed, lc, entry, idx)
	}, nil
}

// gate is open when entry is in the lifecycle and no earlier phase blocks
// it (domain.Lifecycle.Blocker: all of a phase's entries by default, a
// minimum when set, optional phases skipped), and also when the release
// already succeeded in entry (a redeploy, which Octopus allows even after
// phases were inserted before it or the entry left the lifecycle) —
// unless what blocks it now is only that receipts which once opened the
// way no longer count (their signer was revoked).
func gate(succeeded, claimed func(string) bool, lc domain.Lifecycle, entry string, idx int) Gate {
	var ph domain.Phase
	blocked := idx < 0
	if idx >= 0 {
		ph, blocked = lc.Blocker(idx, succeeded)
	}
	if !blocked {
		return Gate{Open: true}
	}
	if succeeded(entry) {
		// A redeploy is allowed past a lifecycle that changed, but not
		// past a gate that only receipts which no longer count (their
		// signer was revoked) had opened: withdrawn trust stays withdrawn.
		if _, stillBlocked := lc.Blocker(max(idx, 0), claimed); idx < 0 || stillBlocked {
			return Gate{Open: true, Redeploy: true}
		}
	}
	if idx < 0 {
		return Gate{}
	}
	return Gate{Blocker: ph, Pending: ph.Pending(succeeded)}
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
		cands = append(cands, variables.Candidate{Name: v.Name, Value: v.Value, Sensitive: v.Sensitive,
			Scope: variables.Scope{Environments: v.Environments, Tenants: v.Tenants, TenantTags: v.TenantTags}})
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

// unsetIn names the sensitive values of cands that resolve to "" in dc.
func unsetIn(cands []variables.Candidate, dc variables.Context) []string {
	set := variables.Resolve(cands, dc)
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

// Cancel stops a task: a queued one at once, a running one at its next
// check (its running step is stopped). A task that has ended is refused
// (Conflict, ended); one that ends while the request is made ends as its
// steps did, and says that the cancel came too late (domain.Task.LateCancel).
func (s *Service) Cancel(ctx context.Context, space string, id int64) (domain.Task, error) {
	if _, err := s.access.Space(ctx, space, domain.PermDeploy, "", ""); err != nil {
		return domain.Task{}, err
	}
	t, err := s.Task(ctx, space, id)
	if err != nil {
		return t, err
	}
	if err := s.mayCancel(ctx, t); err != nil {
		return t, err
	}
	if t.State.Done() {
		return t, ended(t)
	}
	// A queued task ends here, with its receipt; the others end in the runner.
	finished, err := s.receipts.FinishTasks(ctx, func(ctx context.Context) ([]int64, error) {
		if err := s.tasks.RequestCancel(ctx, id, s.now()); err != nil {
			return nil, err
		}
		// Its state as of the flag: a runner may have claimed it since it
		// was read above (and runs it until it sees the flag), or finished it
		// (then the flag was not set).
		t, err := s.tasks.Get(ctx, id)
		if err == nil && t.State.Done() {
			err = ended(t)
		}
		if err == nil {
			err = s.withIntervention(ctx, &t)
		}
		if err != nil {
			return nil, err
		}
		var finished []int64
		if t.State == domain.TaskQueued {
			if err := s.tasks.Finish(ctx, id, domain.TaskCancelled, "cancelled before it started", s.now()); err != nil {
				return nil, err
			}
			finished = append(finished, id)
		}
		if t.State == domain.TaskWaiting && t.Intervention != nil {
			// Queued again: the runner ends it as cancelled, as any task.
			if _, err := s.interventions.Decide(ctx, t.Intervention.ID, domain.DecisionCancelled, domain.ActorName(ctx), "", s.now()); err != nil {
				return nil, err
			}
		}
		details := map[string]string{"task": fmt.Sprint(id)}
		if t.Project != "" {
			details["project"] = t.Project
		}
		return finished, s.audit.Record(ctx, t.SpaceID, "task.cancel", t.Description, details)
	})
	// With finished tasks, err only says their receipt is written later.
	if err != nil && len(finished) == 0 {
		return t, err
	}
	s.runner.Wake()
	return s.tasks.Get(ctx, id)
}

// ended refuses to cancel task t, which has ended.
func ended(t domain.Task) error {
	at := ""
	if t.FinishedAt != nil {
		at = " at " + t.FinishedAt.UTC().Format(time.RFC3339)
	}
	return domain.Conflictf("task %d already ended %s%s; nothing to cancel", t.ID, t.State, at)
}

// MayCancel returns nil when the actor in ctx may cancel task t (t as
// Task returns it) — the check Cancel makes — and the refusal otherwise.
// Pages ask it before offering the Cancel button.
func (s *Service) MayCancel(ctx context.Context, t domain.Task) error {
	return s.mayCancel(ctx, t)
}

// mayCancel: who may deploy in the space and, for a deployment, who may
// deploy its project to its environment.
func (s *Service) mayCancel(ctx context.Context, t domain.Task) error {
	sp, err := s.spaces.GetByID(ctx, t.SpaceID)
	if err != nil {
		return err
	}
	if err := s.access.Require(ctx, sp, domain.PermDeploy, "", ""); err != nil {
		return err
	}
	if t.DeploymentID == 0 {
		return nil
	}
	d, err := s.deployments.Get(ctx, t.DeploymentID)
	if err != nil {
		return err
	}
	return s.access.Require(ctx, sp, domain.PermDeploy, d.Project, d.Environment)
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
