package deploy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// Manual intervention: a deployment that reaches a manual-intervention step
// waits, in the store, for a person (docs/lifecycles.md). The runner opens
// the wait (Runner.wait); Decide and ExpireWaiting close it and queue the
// task again, and the runner goes on or ends it.

// maxNote bounds the note a decision carries (task log and audit log).
const maxNote = 2000

// checkTeams refuses a deployment whose manual-intervention steps in env
// name a team this space lacks: nobody but a space admin could answer it,
// which is not what the step asked for. (A bundle's steps name teams of
// the space they were written in; the space that deploys must have them.)
func (s *Service) checkTeams(ctx context.Context, sp domain.Space, p domain.Project, rel domain.Release, env string) error {
	for _, st := range rel.Snapshot.Process {
		if st.Type != domain.StepManualIntervention || !st.AppliesTo(env) {
			continue
		}
		for _, team := range st.ResponsibleTeams {
			_, err := s.teams.Get(ctx, sp.ID, team)
			if errors.Is(err, domain.ErrNotFound) {
				return domain.Invalidf("cannot deploy %s %s to %s: step %q waits for a member of team %q, which space %q does not have. Create it first: `ferry team create %q --role viewer --user NAME`",
					p.Name, rel.Version, env, st.Name, team, sp.Name, team)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// onBehalfOf is the user a trigger in ctx acts for, or "".
func onBehalfOf(ctx context.Context) string {
	a, _ := domain.ActorFrom(ctx)
	return a.OnBehalfOf
}

// withIntervention adds to a waiting task what it waits for.
func (s *Service) withIntervention(ctx context.Context, t *domain.Task) error {
	if t.State != domain.TaskWaiting {
		return nil
	}
	iv, err := s.interventions.Pending(ctx, t.ID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil // decided a moment ago: the task is queued again
	}
	if err != nil {
		return err
	}
	t.Intervention = &iv
	return nil
}

// Decision answers a manual intervention.
type Decision struct {
	Approve bool
	Note    string
}

// Decide approves or aborts the manual intervention task id waits for. A
// member of one of the step's responsible teams may decide (when it names
// none, anyone who may deploy the project to the environment), and so may
// the space's admins; with preventSelfApproval the person who started the
// deployment (see notSelf) may abort it but not approve it. Who, when and the note go
// into the task log and the audit log, and the task is queued again: the
// runner goes on after the step, or ends the deployment there (Failed).
func (s *Service) Decide(ctx context.Context, space string, id int64, dec Decision) (domain.Task, error) {
	t, err := s.Task(ctx, space, id)
	if err != nil {
		return t, err
	}
	if t.State != domain.TaskWaiting || t.Intervention == nil {
		return t, domain.Conflictf("task %d waits for no decision (it is %s)", id, t.State)
	}
	iv := *t.Intervention
	d, err := s.decider(ctx, t, dec.Approve)
	if err != nil {
		return t, err
	}
	// The note is read only once the actor may decide: a person who may
	// not learns that first.
	note, err := cleanNote(dec.Note)
	if err != nil {
		return t, err
	}
	decision, action := domain.DecisionAborted, "task.abort"
	if dec.Approve {
		decision, action = domain.DecisionApproved, "task.approve"
	}
	err = s.close(ctx, t, iv, decision, note, func(ctx context.Context) error {
		return s.audit.Record(ctx, t.SpaceID, action, t.Description, map[string]string{
			"task": fmt.Sprint(id), "project": t.Project, "environment": d.Environment, "step": iv.Step, "note": note,
		})
	})
	if err != nil {
		return t, err
	}
	return s.Task(ctx, space, id)
}

// MayDecide reports, for a task waiting for a manual intervention (t as
// Task returns it), whether the actor in ctx may abort it and whether they
// may approve it: nil, or the refusal Decide would give (mayDecide, and
// notSelf for approving). Pages ask it before offering Approve and Abort.
func (s *Service) MayDecide(ctx context.Context, t domain.Task) (abort, approve error) {
	if t.State != domain.TaskWaiting || t.Intervention == nil {
		err := domain.Conflictf("task %d waits for no decision (it is %s)", t.ID, t.State)
		return err, err
	}
	if _, err := s.decider(ctx, t, false); err != nil {
		return err, err
	}
	_, approve = s.decider(ctx, t, true)
	return nil, approve
}

// decider returns t's deployment when the actor in ctx may decide the
// intervention t waits for (approve: also that they did not start it,
// when the step prevents self-approval).
func (s *Service) decider(ctx context.Context, t domain.Task, approve bool) (domain.Deployment, error) {
	iv := *t.Intervention
	d, err := s.deployments.Get(ctx, t.DeploymentID)
	if err != nil {
		return d, err
	}
	sp, err := s.spaces.GetByID(ctx, t.SpaceID)
	if err != nil {
		return d, err
	}
	if err := s.mayDecide(ctx, sp, d, iv); err != nil {
		return d, err
	}
	if approve && iv.PreventSelfApproval {
		return d, s.notSelf(ctx, d, iv)
	}
	return d, nil
}

// notSelf refuses the approval of a step with preventSelfApproval by
// whoever started the deployment: the deployer, the user who set the
// trigger that started it, and — for an on-arrival trigger — the user who
// imported the release, whose import started it.
func (s *Service) notSelf(ctx context.Context, d domain.Deployment, iv domain.Intervention) error {
	who := domain.ActorName(ctx)
	trigger, byTrigger := strings.CutPrefix(iv.Deployer, "trigger:")
	how := ""
	switch {
	case who == iv.Deployer:
		how = "started this deployment"
	case who == d.OnBehalfOf:
		how = fmt.Sprintf("set trigger %q, which started this deployment on their behalf", trigger)
	case byTrigger:
		importer, err := s.arrivalImporter(ctx, d, trigger)
		if err != nil {
			return err
		}
		if importer != "" && who == importer {
			how = fmt.Sprintf("imported this release, and its arrival started this deployment (on-arrival trigger %q)", trigger)
		}
	}
	if how == "" {
		return nil
	}
	return domain.Errorf(domain.KindForbidden, "user %q %s, and step %q must be approved by someone else (preventSelfApproval); ask %s",
		who, how, iv.Step, deciders(iv.ResponsibleTeams, d.Project, d.Environment))
}

// arrivalImporter is who imported d's release when on-arrival trigger
// trigger of d's project made d, or "".
func (s *Service) arrivalImporter(ctx context.Context, d domain.Deployment, trigger string) (string, error) {
	p, err := s.projects.GetByID(ctx, d.ProjectID)
	if err != nil {
		return "", err
	}
	if !slices.ContainsFunc(p.Triggers, func(tr domain.Trigger) bool { return tr.Name == trigger && tr.Type == domain.TriggerOnArrival }) {
		return "", nil
	}
	rel, err := s.releases.GetByID(ctx, d.ReleaseID)
	if err != nil || rel.Provenance == nil {
		return "", err
	}
	return rel.Provenance.ImportedBy, nil
}

// cleanNote makes a decision's note one line of plain text for the task
// log and the audit log: line breaks and tabs become spaces (a note cannot
// forge log lines), and other control or invisible formatting characters
// (terminal escapes, bidirectional overrides) are refused.
func cleanNote(note string) (string, error) {
	var b strings.Builder
	for _, r := range note {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			return "", domain.Invalidf("the note contains a control or invisible formatting character (%U); write plain text", r)
		default:
			b.WriteRune(r)
		}
	}
	clean := strings.TrimSpace(b.String())
	if len(clean) > maxNote {
		return "", domain.Invalidf("the note is %d bytes; at most %d", len(clean), maxNote)
	}
	return clean, nil
}

// mayDecide: system and space admins, members of the responsible teams,
// or — when the step names none — those who may deploy there.
func (s *Service) mayDecide(ctx context.Context, sp domain.Space, d domain.Deployment, iv domain.Intervention) error {
	if s.access.Require(ctx, sp, domain.PermAdminSpace, d.Project, d.Environment) == nil {
		return nil
	}
	if len(iv.ResponsibleTeams) == 0 {
		return s.access.Require(ctx, sp, domain.PermDeploy, d.Project, d.Environment)
	}
	a, _ := domain.ActorFrom(ctx)
	mine, err := s.teams.OfUser(ctx, a.UserID, sp.ID)
	if err != nil {
		return err
	}
	// A responsible team decides only where its own grant reaches: a team
	// limited to other projects or environments does not decide this
	// deployment's step (as Octopus scopes who may submit an
	// interruption), even if its members may view it through another team.
	responsible, elsewhere := false, false
	for _, t := range mine {
		if slices.Contains(iv.ResponsibleTeams, t.Name) {
			covers := t.Allows(domain.PermView, d.Project, d.Environment)
			responsible, elsewhere = responsible || covers, elsewhere || !covers
		}
	}
	switch {
	case responsible:
		return nil
	case elsewhere:
		return domain.Errorf(domain.KindForbidden, "user %q is a member of %s, responsible for step %q, but that team's grant does not cover project %q in %s; widen the team's projects and environments (ferry team update) or ask a space admin",
			a.Name, teamList(iv.ResponsibleTeams), iv.Step, d.Project, d.Environment)
	}
	return domain.Errorf(domain.KindForbidden, "user %q is not a member of %s, responsible for step %q; one of its members or a space admin decides",
		a.Name, teamList(iv.ResponsibleTeams), iv.Step)
}

// close records a decision, if none was made meanwhile, with its task-log
// line and whatever record adds, in one transaction, and wakes the runner.
func (s *Service) close(ctx context.Context, t domain.Task, iv domain.Intervention, decision, note string, record func(ctx context.Context) error) error {
	now := s.now()
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		ok, err := s.interventions.Decide(ctx, iv.ID, decision, domain.ActorName(ctx), note, now)
		if err != nil {
			return err
		}
		if !ok {
			return domain.Conflictf("step %q of task %d was decided meanwhile", iv.Step, t.ID)
		}
		line := fmt.Sprintf("Manual intervention %q %s by %s at %s", iv.Step, decision, domain.ActorName(ctx), now.Format(time.RFC3339))
		if decision == domain.DecisionTimedOut {
			line = fmt.Sprintf("Manual intervention %q timed out: nobody decided by %s", iv.Step, now.Format(time.RFC3339))
		}
		if note != "" {
			line += ": " + note
		}
		level := "info"
		if decision != domain.DecisionApproved {
			level = "error"
		}
		if err := s.tasks.AppendLog(ctx, t.ID, []domain.LogLine{{At: now, Level: level, Text: line}}); err != nil {
			return err
		}
		return record(ctx)
	})
	if err == nil {
		s.runner.Wake()
	}
	return err
}

// ExpireWaiting aborts the waits whose step's timeoutMinutes passed
// without a decision, as the system, and returns how many. The scheduler
// loop calls it (internal/trigger).
func (s *Service) ExpireWaiting(ctx context.Context) (int, error) {
	list, err := s.interventions.Expired(ctx, s.now())
	if err != nil {
		return 0, err
	}
	ctx = domain.WithActor(ctx, domain.System)
	n := 0
	for _, iv := range list {
		t, err := s.tasks.Get(ctx, iv.TaskID)
		if err != nil {
			return n, err
		}
		err = s.close(ctx, t, iv, domain.DecisionTimedOut, "", func(ctx context.Context) error {
			return s.audit.Record(ctx, t.SpaceID, "task.timeout", t.Description, map[string]string{
				"task": fmt.Sprint(t.ID), "project": t.Project, "step": iv.Step,
			})
		})
		if domain.KindOf(err) == domain.KindConflict {
			continue // decided by a person meanwhile
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// deciders says who may decide a manual intervention of a deployment of
// project to env (mayDecide): a member of the step's responsible teams or
// a space admin; when it names none, anyone who may deploy the project
// there or a space admin.
func deciders(teams []string, project, env string) string {
	if len(teams) == 0 {
		return fmt.Sprintf("anyone who may deploy project %q to %s, or a space admin", project, env)
	}
	return "a member of " + teamList(teams) + " or a space admin"
}

// teamList names teams, which are not none: `team "A" or "B"`.
func teamList(teams []string) string {
	q := make([]string, len(teams))
	for i, t := range teams {
		q[i] = fmt.Sprintf("%q", t)
	}
	return "team " + strings.Join(q, " or ")
}

// outputRef finds a reference to an output variable of a step, in any
// form a template may take (#{Ferry.Action[S].Output.N},
// #{Octopus.Action[S].Output[M].N | Filter}, #{if …}); group 1 is S.
var outputRef = regexp.MustCompile(`(?i)\b(?:Ferry|Octopus)\.Action\[([^\]]+)\]\.Output\b`)

// checkOutputsAcrossWait refuses a process in which a step that runs after
// a manual intervention in env, for tenant (nil: untenanted), reads an output variable of a step that
// runs before it. Output variables live in the memory of the run, and a
// wait ends that run (the task is resumed from the store, perhaps on
// another node, after a restart): the later step would find nothing.
func checkOutputsAcrossWait(process []domain.Step, env string, tenant *domain.Tenant) error {
	type earlier struct{ step, wait string }
	ranBefore := map[string]earlier{} // by lower-cased step name
	var since []string                // steps since the last wait
	for _, st := range process {
		if !st.AppliesTo(env) || !st.TenantScope().Matches(tenant) {
			continue
		}
		if st.Type == domain.StepManualIntervention {
			for _, name := range since {
				ranBefore[strings.ToLower(name)] = earlier{name, st.Name}
			}
			since = since[:0]
			continue
		}
		for _, text := range []string{st.Script, st.PreDeploy, st.PostDeploy, st.Destination} {
			for _, m := range outputRef.FindAllStringSubmatch(text, -1) {
				if e, ok := ranBefore[strings.ToLower(strings.TrimSpace(m[1]))]; ok {
					return domain.Invalidf("step %q reads an output variable of step %q (%s), which runs before manual intervention %q; output variables are not kept while a deployment waits. Move step %q after the intervention, or set the value again after it",
						st.Name, e.step, m[0], e.wait, e.step)
				}
			}
		}
		since = append(since, st.Name)
	}
	return nil
}
