// Package trigger runs a project's triggers, which deploy on their own in
// the space that deploys (docs/lifecycles.md): on-arrival triggers when a
// release of a remote project arrives from another space, schedule
// triggers at the times their cron expression names. Each firing acts as
// the system actor "trigger:<name>", is audited, and is remembered as the
// trigger's last result, so a trigger that cannot deploy is visible. The
// scheduler loop (Run) also times out manual interventions nobody answered.
package trigger

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/audit"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/schedule"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Service fires triggers and reports what they did.
type Service struct {
	tx          store.Transactor
	spaces      store.Spaces
	projects    store.Projects
	deployments store.Deployments
	tasks       store.Tasks
	states      store.TriggerStates
	users       store.Users
	access      access.Guard
	deployer    Deployer
	audit       *audit.Log
	log         *slog.Logger
	now         func() time.Time
	poll        time.Duration
}

// Deployer is what triggers need of deployments (deploy.Service): queue
// one, with every check a person's deployment gets, and time out manual
// interventions.
type Deployer interface {
	Deploy(ctx context.Context, space string, req deploy.Request) (domain.Deployment, error)
	ExpireWaiting(ctx context.Context) (int, error)
}

// DefaultPoll is how often the scheduler looks for due triggers when the
// server is not told otherwise (FERRY_SCHEDULER_POLL).
const DefaultPoll = 10 * time.Second

// New returns a trigger service. It reads spaces, projects (their
// triggers), deployments (the latest success of a source environment) and
// tasks (the state of what a trigger queued), writes trigger states, and
// deploys through deployer, after checking with users and guard that the
// user who set the trigger may still deploy there. Run looks for due triggers every poll (0:
// DefaultPoll).
func New(tx store.Transactor, spaces store.Spaces, projects store.Projects, deployments store.Deployments, tasks store.Tasks, states store.TriggerStates,
	users store.Users, guard access.Guard, deployer Deployer, log *audit.Log, logger *slog.Logger, now func() time.Time, poll time.Duration) *Service {
	if poll <= 0 {
		poll = DefaultPoll
	}
	return &Service{tx: tx, spaces: spaces, projects: projects, deployments: deployments, tasks: tasks, states: states,
		users: users, access: guard, deployer: deployer, audit: log, log: logger, now: now, poll: poll}
}

// Arrived fires p's on-arrival triggers for rel, which just arrived from
// another space. It runs in the transaction that imports rel, so the
// release and the deployments its triggers queue land together; a
// deployment a trigger cannot make (a missing value, the lifecycle) is
// recorded as the trigger's result and does not stop the import. Only a
// failure to write is returned.
func (s *Service) Arrived(ctx context.Context, sp domain.Space, p domain.Project, rel domain.Release) error {
	for _, tr := range p.Triggers {
		if tr.Type != domain.TriggerOnArrival {
			continue
		}
		if err := s.fire(ctx, sp, p.ID, p.Name, tr, rel.Version, nil); err != nil {
			return err
		}
	}
	return nil
}

// fire deploys version of a project as trigger tr (for due, a schedule's
// due time) and records, audits and logs the outcome.
func (s *Service) fire(ctx context.Context, sp domain.Space, projectID int64, project string, tr domain.Trigger, version string, due *time.Time) error {
	actx := domain.WithActor(ctx, domain.TriggerActor(tr))
	f := domain.TriggerFiring{At: s.now(), Due: due, Version: version}
	err := s.setterMayDeploy(ctx, sp, project, tr)
	if err == nil && version == "" {
		err = domain.Invalidf("nothing to deploy: no release of %q has succeeded in %s yet", project, tr.SourceEnvironment)
	} else if err == nil {
		var d domain.Deployment
		d, err = s.deployer.Deploy(actx, sp.Name, deploy.Request{Project: project, Version: version, Environment: tr.Environment})
		f.TaskID = d.TaskID
	}
	switch {
	case err == nil:
		f.OK, f.Result = true, fmt.Sprintf("queued deployment of %s to %s (task %d)", version, tr.Environment, f.TaskID)
	case domain.KindOf(err) == domain.KindInternal:
		return err // the store failed: the caller's transaction is done for
	default:
		f.Result = "failed: " + domain.Message(err)
	}
	repeated, err := s.repeats(ctx, projectID, tr.Name, f)
	if err != nil {
		return err
	}
	if err := s.states.Record(ctx, projectID, tr.Name, f); err != nil {
		return err
	}
	details := map[string]string{"project": project, "trigger": tr.Name, "type": tr.Type, "environment": tr.Environment, "version": version, "result": f.Result, "setBy": tr.SetBy}
	if f.TaskID != 0 {
		details["task"] = fmt.Sprint(f.TaskID)
	}
	if err := s.audit.Record(actx, sp.ID, "trigger.fire", project+": "+tr.Name, details); err != nil {
		return err
	}
	level := slog.LevelInfo
	if !f.OK && !repeated {
		level = slog.LevelWarn
	}
	s.log.Log(ctx, level, "trigger fired", "space", sp.Name, "project", project, "trigger", tr.Name, "result", f.Result)
	return nil
}

// setterMayDeploy refuses a firing when the user who set tr (Trigger.SetBy)
// may no longer deploy project to its environment — their teams changed, or
// the user is gone: a trigger deploys on its setter's behalf, so it must
// not outlive their permission. Triggers set by the system, or before
// ferry recorded who set them (SetBy ""), fire as before.
func (s *Service) setterMayDeploy(ctx context.Context, sp domain.Space, project string, tr domain.Trigger) error {
	if tr.SetBy == "" || tr.SetBy == domain.System.Name {
		return nil
	}
	again := fmt.Sprintf("someone who may deploy %q to %s sets the trigger again (ferry apply), or an administrator gives %q the deploy permission there back", project, tr.Environment, tr.SetBy)
	u, err := s.users.Get(ctx, tr.SetBy)
	if domain.KindOf(err) == domain.KindNotFound {
		return domain.Errorf(domain.KindForbidden, "%q, who set this trigger, is no longer a user here; it fires again once %s", tr.SetBy, again)
	} else if err != nil {
		return err
	}
	uctx := domain.WithActor(ctx, domain.Actor{UserID: u.ID, Name: u.Name, IsAdmin: u.IsAdmin})
	if err := s.access.Require(uctx, sp, domain.PermDeploy, project, tr.Environment); domain.KindOf(err) == domain.KindForbidden {
		return domain.Errorf(domain.KindForbidden, "%q, who set this trigger, may no longer deploy %q to %s; it fires again once %s", tr.SetBy, project, tr.Environment, again)
	} else if err != nil {
		return err
	}
	return nil
}

// repeats reports whether firing f failed for the same reason as the
// trigger's last firing, which was logged then: a refused schedule
// trigger is logged as a warning once, not at every due time.
func (s *Service) repeats(ctx context.Context, projectID int64, name string, f domain.TriggerFiring) (bool, error) {
	if f.OK {
		return false, nil
	}
	states, err := s.states.List(ctx, projectID)
	if err != nil {
		return false, err
	}
	for _, st := range states {
		if st.Name == name && st.Last != nil && !st.Last.OK && st.Last.Result == f.Result {
			return true, nil
		}
	}
	return false, nil
}

// Run fires due schedule triggers and times out unanswered manual
// interventions every poll, until ctx ends. The server runs it on one node
// at a time; Tick is safe to run on several at once all the same.
func (s *Service) Run(ctx context.Context) error {
	tick := time.NewTicker(s.poll)
	defer tick.Stop()
	for {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("scheduler", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Tick does what is due now (the service's clock): it times out manual
// interventions past their timeout, and fires each schedule trigger whose
// cron named a time since it last fired — once, for the latest such time,
// however long the server was away. A due time is claimed in the store
// before the trigger fires, in the same transaction, so it fires once
// even if two nodes tick together.
func (s *Service) Tick(ctx context.Context) error {
	ctx = domain.WithActor(ctx, domain.System)
	if _, err := s.deployer.ExpireWaiting(ctx); err != nil {
		return fmt.Errorf("time out manual interventions: %w", err)
	}
	projects, err := s.projects.Triggered(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	for _, p := range projects {
		if err := s.tickProject(ctx, p, now); err != nil {
			return fmt.Errorf("triggers of project %q: %w", p.Name, err)
		}
	}
	return nil
}

func (s *Service) tickProject(ctx context.Context, p store.TriggeredProject, now time.Time) error {
	states, err := s.states.List(ctx, p.ID)
	if err != nil {
		return err
	}
	last := map[string]time.Time{}
	for _, st := range states {
		last[st.Name] = st.LastDue
	}
	for _, tr := range p.Triggers {
		if tr.Type != domain.TriggerSchedule {
			continue
		}
		sched, err := schedule.Parse(tr.Cron, tr.Timezone)
		if err != nil { // checked by apply; a schedule read back broken waits
			s.log.Warn("schedule trigger not readable", "project", p.Name, "trigger", tr.Name, "err", err)
			continue
		}
		since := last[tr.Name]
		if since.IsZero() {
			// First seen: due times count from the project's last change,
			// when the trigger was set at the latest (now, if that is
			// later by the clocks' disagreement), remembered from now on.
			since = p.UpdatedAt
			if now.Before(since) {
				since = now
			}
			if _, err := s.states.Claim(ctx, p.ID, tr.Name, since); err != nil {
				return err
			}
		}
		due := sched.Latest(since, now)
		if due.IsZero() {
			continue
		}
		if err := s.fireDue(ctx, p, tr, due); err != nil {
			return err
		}
	}
	return nil
}

// fireDue claims due for tr and fires it, in one transaction.
func (s *Service) fireDue(ctx context.Context, p store.TriggeredProject, tr domain.Trigger, due time.Time) error {
	return s.tx.WithTx(ctx, func(ctx context.Context) error {
		ok, err := s.states.Claim(ctx, p.ID, tr.Name, due)
		if err != nil || !ok {
			return err
		}
		sp, err := s.spaces.GetByID(ctx, p.SpaceID)
		if err != nil {
			return err
		}
		version, err := s.latestSuccess(ctx, p.SpaceID, p.ID, tr.SourceEnvironment)
		if err != nil {
			return err
		}
		return s.fire(ctx, sp, p.ID, p.Name, tr, version, &due)
	})
}

// latestSuccess is the version of the newest successful deployment of a
// project to env here (untenanted), or "".
func (s *Service) latestSuccess(ctx context.Context, spaceID, projectID int64, env string) (string, error) {
	list, err := s.deployments.List(ctx, store.DeploymentFilter{SpaceID: spaceID, ProjectID: projectID, Environment: env, Limit: 500})
	if err != nil {
		return "", err
	}
	for _, d := range list {
		if d.State == domain.TaskSuccess && d.Tenant == "" {
			return d.Version, nil
		}
	}
	return "", nil
}

// Status is a trigger with when it is next due (schedule triggers) and
// what it did last, with the state of the task it queued.
type Status struct {
	domain.Trigger
	NextDue *time.Time            `json:"nextDue,omitempty"`
	Last    *domain.TriggerFiring `json:"last,omitempty"`
	// TaskState is the state of the task the last firing queued.
	TaskState domain.TaskState `json:"taskState,omitempty"`
}

// List returns a project's triggers and what each did last.
func (s *Service) List(ctx context.Context, space, project string) ([]Status, error) {
	sp, err := s.access.Space(ctx, space, domain.PermView, project, "")
	if err != nil {
		return nil, err
	}
	p, err := s.projects.Get(ctx, sp.ID, project)
	if err != nil {
		return nil, err
	}
	states, err := s.states.List(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	byName := map[string]store.TriggerState{}
	for _, st := range states {
		byName[st.Name] = st
	}
	out := []Status{}
	for _, tr := range p.Triggers {
		st := Status{Trigger: tr, Last: byName[tr.Name].Last}
		if sched, err := schedule.Parse(tr.Cron, tr.Timezone); err == nil && tr.Type == domain.TriggerSchedule {
			since := byName[tr.Name].LastDue
			if now := s.now(); since.IsZero() || since.Before(now) {
				since = now
			}
			if next := sched.Next(since); !next.IsZero() {
				st.NextDue = &next
			}
		}
		if st.Last != nil && st.Last.TaskID != 0 {
			if t, err := s.tasks.Get(ctx, st.Last.TaskID); err == nil {
				st.TaskState = t.State
			}
		}
		out = append(out, st)
	}
	return out, nil
}
