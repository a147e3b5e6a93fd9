package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/provenance"
	"github.com/ferrydeploy/ferry/internal/sandbox"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/variables"
)

// Runner claims queued tasks and executes them. Several runners (one per
// server node) may share one store: Claim hands each task to one of them.
type Runner struct {
	Store   store.Store
	Log     *slog.Logger
	Node    string // this node's name, recorded on the tasks it runs
	WorkDir string // parent of each task's fresh working folder (absolute)
	// Sandbox runs the scripts: it hides the server's data folder and key
	// files from them (sandbox.Off: only refuses package destinations
	// there).
	Sandbox *sandbox.Sandbox
	Timeout time.Duration // default step timeout
	Workers int           // tasks run at once
	Now     func() time.Time
	// Finished, if set, runs after a task reaches its final state (to sign
	// a deployment receipt, for example). Its error is logged.
	Finished func(ctx context.Context, taskID int64) error
	// Packages fetches packages for deploy-package steps.
	Packages PackageSource

	wake chan struct{}
}

// NewRunner returns a runner with sensible defaults for unset fields.
func NewRunner(r Runner) *Runner {
	if r.Timeout == 0 {
		r.Timeout = time.Hour
	}
	if r.Workers == 0 {
		r.Workers = 4
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	r.wake = make(chan struct{}, 1)
	return &r
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
	n, err := r.Store.Tasks().FailExecuting(ctx, r.Node, "the server stopped while this task was running; deploy again", r.Now())
	if err != nil {
		return fmt.Errorf("recover interrupted tasks: %w", err)
	}
	if n > 0 {
		r.Log.Warn("marked interrupted tasks failed", "count", n)
	}
	slots := make(chan struct{}, r.Workers)
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
			t, err := r.Store.Tasks().Claim(ctx, r.Node, r.Now())
			if err != nil {
				<-slots
				if !errors.Is(err, domain.ErrNotFound) && ctx.Err() == nil {
					r.Log.Error("claim task", "err", err)
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
	log := r.Log.With("task", t.ID)
	tl := newTaskLog(r.Store, t.ID, r.Now, log)
	defer tl.close()

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go r.watchCancel(runCtx, t.ID, cancel)

	err := r.run(runCtx, t, tl)
	state, msg := domain.TaskSuccess, ""
	switch {
	case err == nil:
		tl.info("Deployment succeeded.")
	case errors.Is(context.Cause(runCtx), errCancelled):
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
	if err := r.Store.Tasks().Finish(fin, t.ID, state, msg, r.Now()); err != nil {
		log.Error("finish task", "err", err)
	}
	log.Info("task finished", "state", state)
	if r.Finished != nil {
		if err := r.Finished(fin, t.ID); err != nil {
			log.Error("after task", "err", err)
		}
	}
}

var errCancelled = errors.New("task cancelled")

// watchCancel polls the store for a cancel request, since it may arrive
// through any node.
func (r *Runner) watchCancel(ctx context.Context, id int64, cancel context.CancelCauseFunc) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t, err := r.Store.Tasks().Get(ctx, id)
			if err == nil && t.CancelRequested {
				cancel(errCancelled)
				return
			}
		}
	}
}

func (r *Runner) run(ctx context.Context, t domain.Task, tl *taskLog) error {
	if t.Kind != domain.TaskDeploy {
		return fmt.Errorf("unknown task kind %q", t.Kind)
	}
	d, err := r.Store.Deployments().Get(ctx, t.DeploymentID)
	if err != nil {
		return err
	}
	if d.Tenant != "" { // queued before names were checked (an upgrade): data, never code
		if err := domain.ValidateSafeName("tenant", d.Tenant); err != nil {
			return err
		}
	}
	rel, err := r.Store.Releases().GetByID(ctx, d.ReleaseID)
	if err != nil {
		return err
	}
	p, err := r.Store.Projects().GetByID(ctx, d.ProjectID)
	if err != nil {
		return err
	}
	sp, err := r.Store.Spaces().GetByID(ctx, t.SpaceID)
	if err != nil {
		return err
	}
	// Checked when it was queued, and again now: a space revoked while the
	// deployment waited for a worker delivers nothing that runs.
	if err := provenance.Deliverable(ctx, r.Store, sp, p, rel); err != nil {
		return err
	}
	vars := deploymentVariables(sp, p, rel, d, t)
	tl.setMasker(vars.Masker())
	tl.info(fmt.Sprintf("Deploying %s %s to %s (space %q, by %s)", p.Name, rel.Version, d.Environment, sp.Name, d.CreatedBy))
	if r.Sandbox.Mode() == sandbox.Off {
		tl.error("Warning: this server runs scripts without isolation (--sandbox off): they can read its data folder and keys.")
	}

	work := filepath.Join(r.WorkDir, "task-"+strconv.FormatInt(t.ID, 10))
	if err := os.RemoveAll(work); err != nil {
		return fmt.Errorf("clean working folder: %w", err)
	}
	if err := os.MkdirAll(work, 0o700); err != nil {
		return fmt.Errorf("create working folder: %w", err)
	}
	// Scripts hold substituted secrets: never leave them on disk.
	defer os.RemoveAll(work)

	ran := 0
	for i, step := range rel.Snapshot.Process {
		if !step.AppliesTo(d.Environment) {
			tl.info(fmt.Sprintf("Step %d/%d %q skipped: it runs only in %v", i+1, len(rel.Snapshot.Process), step.Name, step.Environments))
			continue
		}
		tl.info(fmt.Sprintf("Step %d/%d %q", i+1, len(rel.Snapshot.Process), step.Name))
		vars.Set("Ferry.Step.Name", step.Name, false)
		if err := r.execStep(ctx, sp, rel, step, vars, work, tl); err != nil {
			return fmt.Errorf("step %q: %w", step.Name, err)
		}
		ran++
	}
	if ran == 0 {
		tl.info("No steps apply to " + d.Environment + ".")
	}
	return nil
}

// deploymentVariables resolves the variable set of one deployment: the most
// specific value of each variable for its environment, plus system variables.
func deploymentVariables(sp domain.Space, p domain.Project, rel domain.Release, d domain.Deployment, t domain.Task) *variables.Set {
	dc := variables.Context{Environment: d.Environment, Tenant: d.Tenant}
	set := variables.Resolve(Candidates(rel, p), dc)
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
