package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/provenance"
	"github.com/ferrydeploy/ferry/internal/sandbox"
	"github.com/ferrydeploy/ferry/internal/step"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/variables"
)

// Runner claims queued tasks and executes them. Several runners (one per
// server node) may share one store: Claim hands each task to one of them.
type Runner struct {
	tasks       store.Tasks
	deployments store.Deployments
	releases    store.Releases
	projects    store.Projects
	spaces      store.Spaces
	tenants     store.Tenants
	waits       store.Interventions
	rules       *provenance.Rules
	steps       *step.Runner
	packages    PackageSource
	machines    Machines
	receipts    Receipts

	log     *slog.Logger
	node    string
	workDir string
	timeout time.Duration
	workers int
	poll    time.Duration // CancelPoll
	now     func() time.Time
	wake    chan struct{}
}

// RunnerConfig says where and how a runner runs tasks.
type RunnerConfig struct {
	Node    string        // this node's name, recorded on the tasks it runs
	WorkDir string        // parent of each task's fresh working folder (absolute)
	Timeout time.Duration // default step timeout; 0: one hour
	Workers int           // tasks run at once; 0: four
	// CancelPoll is how often a running task looks for a cancel request
	// (which may arrive through any node); 0: half a second.
	CancelPoll time.Duration
}

// Receipts sign what a finished task did (receipt.Service): Finish runs
// finish (the task's move to its final state) and records the task's
// receipt in one transaction; its error is logged. FinishTasks does the
// same for the tasks finish returns; when it returns ids with an error,
// those tasks were finished without their receipts, which are written
// later (receipt.Service.Backfill).
type Receipts interface {
	Finish(ctx context.Context, taskID int64, finish func(ctx context.Context) error) error
	FinishTasks(ctx context.Context, finish func(ctx context.Context) ([]int64, error)) ([]int64, error)
}

// NewRunner returns a runner that claims tasks and records their logs and
// outcomes (tasks), reads what they deploy (deployments, releases,
// projects, spaces), runs the steps of the built-in worker in sb (which
// hides the server's data folder and key files from them; sandbox.Off only
// refuses package destinations there) with packages from packages, runs
// steps with roles on deployment targets through machines, and has
// receipts sign each finished task. A manual intervention is a wait
// recorded in waits, during which no worker holds the task.
func NewRunner(cfg RunnerConfig, log *slog.Logger, now func() time.Time, tasks store.Tasks, deployments store.Deployments, releases store.Releases, projects store.Projects, spaces store.Spaces, tenants store.Tenants,
	waits store.Interventions, rules *provenance.Rules, sb *sandbox.Sandbox, packages PackageSource, machines Machines, receipts Receipts) *Runner {
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Hour
	}
	if cfg.Workers == 0 {
		cfg.Workers = 4
	}
	if cfg.CancelPoll == 0 {
		cfg.CancelPoll = 500 * time.Millisecond
	}
	return &Runner{tasks: tasks, deployments: deployments, releases: releases, projects: projects, spaces: spaces, tenants: tenants, waits: waits,
		rules: rules, steps: step.NewRunner(sb, "server", cfg.Timeout), packages: packages, machines: machines, receipts: receipts,
		log: log, node: cfg.Node, workDir: cfg.WorkDir, timeout: cfg.Timeout, workers: cfg.Workers, poll: cfg.CancelPoll, now: now,
		wake: make(chan struct{}, 1)}
}

// Wake tells the runner a task was queued, so it need not wait for its poll.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// pollInterval bounds how long a queued task waits when no wake arrives
// (for example when another node queued it).
const pollInterval = time.Second

// Run executes tasks until ctx ends, then waits for running tasks to stop.
// Tasks this node left Executing when it last stopped are marked failed
// first: their processes are gone and their outcome is unknown.
func (r *Runner) Run(ctx context.Context) error {
	failed, err := r.receipts.FinishTasks(ctx, func(ctx context.Context) ([]int64, error) {
		return r.tasks.FailExecuting(ctx, r.node, "the server stopped while this task was running; deploy again", r.now())
	})
	if err != nil && len(failed) > 0 { // failed, without a receipt for now
		r.log.Error("recover interrupted tasks", "err", err)
	} else if err != nil {
		return fmt.Errorf("recover interrupted tasks: %w", err)
	}
	if len(failed) > 0 {
		r.log.Warn("marked interrupted tasks failed", "tasks", failed)
	}
	slots := make(chan struct{}, r.workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		case <-timer.C:
		}
		for {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			t, err := r.tasks.Claim(ctx, r.node, r.now())
			if err != nil {
				<-slots
				if !errors.Is(err, domain.ErrNotFound) && ctx.Err() == nil {
					r.log.Error("claim task", "err", err)
				}
				break
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				r.execute(ctx, t)
			}()
		}
		timer.Reset(pollInterval)
	}
}

// execute runs one claimed task to a final state. When the server is
// shutting down (ctx ends) the task is cancelled, not left Executing.
func (r *Runner) execute(ctx context.Context, t domain.Task) {
	log := r.log.With("task", t.ID)
	tl := newTaskLog(r.tasks, t.ID, r.now, log)
	defer tl.close()

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go r.watchCancel(runCtx, t.ID, cancel)

	err := r.run(runCtx, t, tl)
	if errors.Is(err, errWaiting) {
		log.Info("task waits for a manual intervention")
		return // no worker holds it; a decision queues it again
	}
	state, msg := domain.TaskSuccess, ""
	switch {
	case err == nil:
		tl.info("Deployment succeeded.")
	case errors.Is(err, errCancelled) || errors.Is(context.Cause(runCtx), errCancelled):
		state, msg = domain.TaskCancelled, "cancelled"
		tl.error("Cancelled.")
	case ctx.Err() != nil:
		state, msg = domain.TaskCancelled, "the server shut down while this task was running"
		tl.error("Cancelled: the server is shutting down.")
	default:
		state, msg = domain.TaskFailed, tl.mask(err.Error())
		tl.error("Failed: " + msg)
	}
	tl.close()
	// Record the outcome even when ctx has ended, so a clean shutdown never
	// leaves a task Executing.
	fin, stop := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer stop()
	err = r.receipts.Finish(fin, t.ID, func(ctx context.Context) error {
		if err := r.tasks.Finish(ctx, t.ID, state, msg, r.now()); err != nil {
			return err
		}
		return r.noteLateCancel(ctx, t.ID)
	})
	if err != nil {
		log.Error("finish task", "err", err)
	}
	log.Info("task finished", "state", state)
}

// noteLateCancel writes in the log of task id, which has just ended (in
// the transaction that ended it), that a cancel was requested but came
// too late, when one did: it was requested as the last step finished, and
// the task ended as its steps did. (The request and the end are both
// guarded updates of the task's row, so one of them comes first: a request
// after the end is refused, deploy.Service.Cancel.)
func (r *Runner) noteLateCancel(ctx context.Context, id int64) error {
	t, err := r.tasks.Get(ctx, id)
	if err != nil || t.Note == "" {
		return err
	}
	return r.tasks.AppendLog(ctx, id, []domain.LogLine{{At: r.now(), Level: "info", Text: t.Note + "."}})
}

var errCancelled = errors.New("task cancelled")

// errWaiting: the task reached a manual intervention and waits.
var errWaiting = errors.New("waiting for a manual intervention")

// resumeAt is the index of the step a claimed task starts from: after the
// last manual intervention it passed. A wait that was aborted, timed out
// or cancelled ends the task there, and so does a cancel request made
// while it was queued.
func (r *Runner) resumeAt(ctx context.Context, t domain.Task, tl *taskLog) (int, error) {
	if t.CancelRequested {
		return 0, errCancelled
	}
	waits, err := r.waits.List(ctx, t.ID)
	if err != nil {
		return 0, err
	}
	start := 0
	for _, iv := range waits {
		switch iv.Decision {
		case domain.DecisionApproved:
			start = iv.StepIndex + 1
		case domain.DecisionCancelled:
			return 0, errCancelled
		case domain.DecisionAborted:
			return 0, fmt.Errorf("manual intervention %q aborted by %s%s", iv.Step, iv.DecidedBy, notePart(iv.Note))
		case domain.DecisionTimedOut:
			return 0, fmt.Errorf("manual intervention %q timed out: nobody decided within %s", iv.Step, iv.TimeoutAt.Sub(iv.Since))
		default:
			return 0, fmt.Errorf("manual intervention %q is still waiting for a decision", iv.Step)
		}
	}
	if start > 0 {
		tl.info(fmt.Sprintf("Resuming after step %d (%q was approved); output variables of the steps before it are not kept across the wait.", start, waits[len(waits)-1].Step))
	}
	return start, nil
}

func notePart(note string) string {
	if note == "" {
		return ""
	}
	return ": " + note
}

// wait records that the task waits at step i for a person, and says in
// the log what it waits for and who may answer.
func (r *Runner) wait(ctx context.Context, t domain.Task, d domain.Deployment, i int, step domain.Step, tl *taskLog) error {
	now := r.now()
	iv := domain.Intervention{TaskID: t.ID, StepIndex: i, Step: step.Name, Instructions: step.Instructions,
		ResponsibleTeams: step.ResponsibleTeams, PreventSelfApproval: step.PreventSelfApproval, Deployer: d.CreatedBy, Since: now}
	who := deciders(step.ResponsibleTeams, d.Project, d.Environment)
	tl.info("Instructions: " + step.Instructions)
	tl.info(fmt.Sprintf("Waiting for a decision (approve or abort) by %s: ferry task approve %d | ferry task abort %d [--note TEXT]", who, t.ID, t.ID))
	if step.PreventSelfApproval {
		tl.info(fmt.Sprintf("%s started this deployment and may not approve it.", d.CreatedBy))
		if d.OnBehalfOf != "" {
			tl.info(fmt.Sprintf("%s set that trigger and may not approve it either.", d.OnBehalfOf))
		}
	}
	if step.TimeoutMinutes > 0 {
		until := now.Add(time.Duration(step.TimeoutMinutes) * time.Minute)
		iv.TimeoutAt = &until
		tl.info(fmt.Sprintf("Without a decision by %s the deployment is aborted.", until.Format(time.RFC3339)))
	}
	// The lines above are written before the task shows as Waiting.
	tl.close()
	err := r.waits.Open(ctx, &iv)
	if domain.KindOf(err) == domain.KindConflict {
		if cur, gerr := r.tasks.Get(ctx, t.ID); gerr == nil && cur.CancelRequested {
			return errCancelled // asked for just before the wait began
		}
	}
	return err
}

// watchCancel polls the store for a cancel request, since it may arrive
// through any node.
func (r *Runner) watchCancel(ctx context.Context, id int64, cancel context.CancelCauseFunc) {
	tick := time.NewTicker(r.poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t, err := r.tasks.Get(ctx, id)
			if err == nil && t.CancelRequested {
				cancel(errCancelled)
				return
			}
		}
	}
}

func (r *Runner) run(ctx context.Context, t domain.Task, tl *taskLog) error {
	x, err := r.load(ctx, t, tl)
	if err != nil {
		return err
	}
	d, rel := x.deployment, x.release
	tl.setMasker(x.vars.Masker())
	tl.info(fmt.Sprintf("Deploying %s %s to %s (space %q, by %s)", d.Project, rel.Version, d.Environment, x.space.Name, d.CreatedBy))
	if r.steps.Sandbox().Mode() == sandbox.Off {
		tl.error("Warning: this server runs scripts without isolation (--sandbox off): they can read its data folder and keys.")
	}
	if err := os.RemoveAll(x.work); err != nil {
		return fmt.Errorf("clean working folder: %w", err)
	}
	if err := os.MkdirAll(x.work, 0o700); err != nil {
		return fmt.Errorf("create working folder: %w", err)
	}
	// Scripts hold substituted secrets: never leave them on disk.
	defer os.RemoveAll(x.work)

	return r.runSteps(ctx, x)
}

// runSteps runs the release's steps that apply to the deployment's
// environment and tenant, from where a manual intervention left off; it
// returns errWaiting when it reaches one (the task then waits in the
// store).
func (r *Runner) runSteps(ctx context.Context, x *execution) error {
	t, d, rel, tl := x.task, x.deployment, x.release, x.log
	start, err := r.resumeAt(ctx, t, tl)
	if err != nil {
		return err
	}
	if start > 0 { // queued before deployments were checked for this
		if err := checkOutputsAcrossWait(rel.Snapshot.Process, d.Environment, x.tenant); err != nil {
			return err
		}
	}
	n, ran := len(rel.Snapshot.Process), 0
	for i, st := range rel.Snapshot.Process {
		switch {
		case i < start:
			continue
		case !st.AppliesTo(d.Environment):
			tl.info(fmt.Sprintf("Step %d/%d %q skipped: it runs only in %v", i+1, n, st.Name, st.Environments))
			continue
		case !st.TenantScope().Matches(x.tenant):
			tl.info(fmt.Sprintf("Step %d/%d %q skipped: it runs only for tenants %v", i+1, n, st.Name, append(slices.Clone(st.Tenants), st.TenantTags...)))
			continue
		case st.Type == domain.StepManualIntervention:
			tl.info(fmt.Sprintf("Step %d/%d %q: manual intervention", i+1, n, st.Name))
			if err := r.wait(ctx, t, d, i, st, tl); err != nil {
				return fmt.Errorf("step %q: %w", st.Name, err)
			}
			return errWaiting
		}
		tl.info(fmt.Sprintf("Step %d/%d %q", i+1, n, st.Name))
		if err := r.runStep(ctx, x, st); err != nil {
			return fmt.Errorf("step %q: %w", st.Name, err)
		}
		ran++
	}
	if ran == 0 && start == 0 {
		tl.info("No steps apply to " + d.Environment + ".")
	}
	return nil
}

// load reads what a task deploys and checks it may still deploy.
func (r *Runner) load(ctx context.Context, t domain.Task, tl *taskLog) (*execution, error) {
	if t.Kind != domain.TaskDeploy {
		return nil, fmt.Errorf("unknown task kind %q", t.Kind)
	}
	d, err := r.deployments.Get(ctx, t.DeploymentID)
	if err != nil {
		return nil, err
	}
	if d.Tenant != "" { // queued before names were checked (an upgrade): data, never code
		if err := domain.ValidateSafeName("tenant", d.Tenant); err != nil {
			return nil, err
		}
	}
	rel, err := r.releases.GetByID(ctx, d.ReleaseID)
	if err != nil {
		return nil, err
	}
	p, err := r.projects.GetByID(ctx, d.ProjectID)
	if err != nil {
		return nil, err
	}
	sp, err := r.spaces.GetByID(ctx, t.SpaceID)
	if err != nil {
		return nil, err
	}
	// Checked when it was queued, and again now: a space revoked while the
	// deployment waited for a worker delivers nothing that runs.
	if err := r.rules.Deliverable(ctx, sp, p, rel); err != nil {
		return nil, err
	}
	var tenant *domain.Tenant
	if d.Tenant != "" {
		tn, err := r.tenants.Get(ctx, sp.ID, d.Tenant)
		if err != nil {
			return nil, fmt.Errorf("tenant %s: %w", d.Tenant, err)
		}
		tenant = &tn
	}
	d.Project = p.Name
	return &execution{task: t, deployment: d, space: sp, release: rel, tenant: tenant, vars: deploymentVariables(sp, p, rel, d, t, tenant),
		work: filepath.Join(r.workDir, "task-"+strconv.FormatInt(t.ID, 10)), log: tl, outputs: newTaskOutputs(), ran: map[string]bool{}}, nil
}

// runStep runs one step where it runs: on the targets of its roles, or on
// the built-in worker.
func (r *Runner) runStep(ctx context.Context, x *execution, st domain.Step) error {
	if len(st.Roles) == 0 {
		return r.onServer(ctx, x, st)
	}
	before := len(x.ran)
	err := r.onTargets(ctx, x, st)
	if len(x.ran) > before {
		// After a manual intervention x.ran holds only the targets since
		// the resume (which ones ran before is not kept): never count
		// fewer than were counted before the wait.
		r.countMachines(ctx, x.deployment, max(len(x.ran), x.deployment.Machines))
	}
	return err
}

// deploymentVariables resolves the variable set of one deployment: the most
// specific value of each variable for its environment, plus system variables.
func deploymentVariables(sp domain.Space, p domain.Project, rel domain.Release, d domain.Deployment, t domain.Task, tenant *domain.Tenant) *variables.Set {
	set := variables.Resolve(TenantCandidates(tenant, p.Name, d.Environment, Candidates(rel, p)), Context(d.Environment, tenant))
	for _, tpl := range rel.Snapshot.Templates {
		if _, ok := set.Get(tpl.Name); !ok && tpl.Default != "" {
			set.Set(tpl.Name, tpl.Default, tpl.Type == domain.TemplateSensitive)
		}
	}
	system := map[string]string{
		"Ferry.Release.Number":       rel.Version,
		"Ferry.Release.Notes":        rel.Notes,
		"Ferry.Release.Channel":      rel.Channel,
		"Ferry.Environment.Name":     d.Environment,
		"Ferry.Project.Name":         p.Name,
		"Ferry.Space.Name":           sp.Name,
		"Ferry.Deployment.Id":        strconv.FormatInt(d.ID, 10),
		"Ferry.Deployment.CreatedBy": d.CreatedBy,
		"Ferry.Tenant.Name":          d.Tenant,
		"Ferry.Task.Id":              strconv.FormatInt(t.ID, 10),
	}
	for k, v := range system {
		set.Set(k, v, false)
	}
	return set
}
