package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ferrydeploy/ferry/internal/agentproto"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/step"
	"github.com/ferrydeploy/ferry/internal/variables"
)

// Machines runs steps on deployment targets (targets.Machines).
type Machines interface {
	// Select returns the enabled targets of d's space and environment
	// with one of roles, narrowed by d.Targets and d.ExcludeTargets, by
	// name; excluded counts those the narrowing left out.
	Select(ctx context.Context, d domain.Deployment, roles []string) (selected []domain.Target, excluded int, err error)
	// Available returns nil when t can take work now, else why not,
	// naming it and when it was last seen.
	Available(ctx context.Context, t domain.Target) error
	// Run runs job on t as part of task and returns how it ended; the
	// step's lines go to the task's log, prefixed with t's name. An error
	// is the job not running to its end (the agent lost, cancelled).
	Run(ctx context.Context, task int64, t domain.Target, job agentproto.Job) (agentproto.Result, error)
}

// execution is one task's run: what its steps share.
type execution struct {
	task       domain.Task
	deployment domain.Deployment
	space      domain.Space
	release    domain.Release
	tenant     *domain.Tenant // nil: untenanted
	vars       *variables.Set // the deployment's variables, before any step
	work       string
	log        *taskLog
	outputs    *taskOutputs
	mu         sync.Mutex
	ran        map[string]bool // targets that ran a step
}

// stepVars are the variables of st on machine ("" for the built-in
// worker): the deployment's, the output variables of earlier steps this
// machine may read, and Ferry.Step.* and Ferry.Machine.*.
func (x *execution) stepVars(st domain.Step, t *domain.Target) *variables.Set {
	vars := x.vars.Clone()
	vars.Set("Ferry.Step.Name", st.Name, false)
	machine := ""
	if t != nil {
		machine = t.Name
		vars.Set("Ferry.Machine.Name", t.Name, false)
		vars.Set("Ferry.Machine.Roles", strings.Join(t.Roles, ","), false)
	}
	x.outputs.apply(vars, machine)
	return vars
}

// onServer runs a step without roles on the built-in worker.
func (r *Runner) onServer(ctx context.Context, x *execution, st domain.Step) error {
	spec := step.Spec{Step: st, Vars: x.stepVars(st, nil), Work: x.work}
	if st.Type == domain.StepDeployPackage {
		ref, ok := packageRef(x.release, st.Package)
		if ok {
			spec.Package = &step.Package{Ref: ref, Fetch: func(ctx context.Context, dst string) error {
				x.log.info(fmt.Sprintf("Fetching package %s %s from the feed of space %q", ref.ID, ref.Version, x.space.Name))
				return r.packages.Fetch(ctx, x.space.ID, ref, dst)
			}}
		}
	}
	res, err := r.steps.Run(ctx, spec, x.log)
	x.outputs.add(st.Name, "", res.Outputs)
	return err
}

// onTargets runs a step with roles on every target it selects, at most
// MaxParallelism at once; after a failure no further target starts.
func (r *Runner) onTargets(ctx context.Context, x *execution, st domain.Step) error {
	targets, err := r.readyTargets(ctx, x, st)
	if err != nil || len(targets) == 0 {
		return err
	}
	x.log.flush() // the step's heading before its targets' lines
	limit := st.MaxParallelism
	if limit <= 0 || limit > len(targets) {
		limit = len(targets)
	}
	slots := make(chan struct{}, limit)
	var mu sync.Mutex
	var failures []string
	var wg sync.WaitGroup
	for _, t := range targets {
		slots <- struct{}{}
		mu.Lock()
		stop := len(failures) > 0 || ctx.Err() != nil
		mu.Unlock()
		if stop {
			<-slots
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := r.onTarget(ctx, x, st, t); err != nil {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("on %s: %v", t.Name, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(failures) > 0 {
		slices.Sort(failures)
		return errors.New(strings.Join(failures, "; "))
	}
	return ctx.Err()
}

// readyTargets selects the step's targets and keeps those available now:
// one that is not fails the step, naming it and when it was last seen,
// unless the step skips unavailable targets.
func (r *Runner) readyTargets(ctx context.Context, x *execution, st domain.Step) ([]domain.Target, error) {
	d := x.deployment
	targets, excluded, err := r.machines.Select(ctx, d, st.Roles)
	if err != nil {
		return nil, err
	}
	targets = tenantTargets(targets, x.tenant)
	if len(targets) == 0 {
		if excluded > 0 {
			x.log.info(fmt.Sprintf("Skipped: this deployment leaves out every target with role %s", domain.RolesText(st.Roles)))
			return nil, nil
		}
		return nil, domain.Invalidf("no enabled target in environment %q has role %s: register one (`ferry target add NAME --env %q --role %s ...`) or enable one that has it (see `ferry target list`)",
			d.Environment, domain.RolesText(st.Roles), d.Environment, st.Roles[0])
	}
	problems := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() { problems[i] = r.machines.Available(ctx, t) })
	}
	wg.Wait()
	var ready []domain.Target
	for i, t := range targets {
		switch {
		case problems[i] == nil:
			ready = append(ready, t)
		case st.SkipUnavailableTargets:
			x.log.error(fmt.Sprintf("Skipping target %s (skipUnavailableTargets): %v", t.Name, problems[i]))
		default:
			return nil, problems[i]
		}
	}
	if len(ready) == 0 {
		x.log.info("Skipped: no target with role " + domain.RolesText(st.Roles) + " is available")
	}
	return ready, nil
}

// onTarget runs the step on one target and keeps its output variables.
func (r *Runner) onTarget(ctx context.Context, x *execution, st domain.Step, t domain.Target) error {
	vars := x.stepVars(st, &t)
	job := agentproto.Job{Task: x.task.ID, Step: st, Machine: t.Name, TimeoutSeconds: st.TimeoutSeconds}
	if job.TimeoutSeconds <= 0 {
		job.TimeoutSeconds = int(r.timeout / time.Second)
	}
	for _, e := range vars.Entries() {
		job.Variables = append(job.Variables, agentproto.Variable{Name: e.Name, Value: e.Value, Sensitive: e.Sensitive})
	}
	if st.Type == domain.StepDeployPackage {
		if ref, ok := packageRef(x.release, st.Package); ok {
			job.Package = &agentproto.Package{Ref: ref}
		}
	}
	res, err := r.machines.Run(ctx, x.task.ID, t, job)
	if res.Ran {
		x.mu.Lock()
		x.ran[t.Name] = true
		x.mu.Unlock()
	}
	outs := make([]step.Output, len(res.Outputs))
	for i, o := range res.Outputs {
		outs[i] = step.Output{Name: o.Name, Value: o.Value, Sensitive: o.Sensitive}
		if o.Sensitive && o.Value != "" {
			x.log.Secrets(o.Value)
		}
	}
	// The agent checked them; the server does not take its word for it.
	outs, warnings := step.Keep(outs)
	for _, w := range warnings {
		x.log.info("[" + t.Name + "] " + w)
	}
	x.outputs.add(st.Name, t.Name, outs)
	if err != nil {
		return err
	}
	if res.Error != "" {
		return errors.New(res.Error)
	}
	return nil
}

// countMachines records how many targets ran the deployment so far.
func (r *Runner) countMachines(ctx context.Context, d domain.Deployment, n int) {
	if err := r.deployments.SetMachines(ctx, d.ID, n); err != nil {
		r.log.Warn("count the targets of a deployment", "deployment", d.ID, "err", err)
	}
}

// taskOutputs are the output variables a task's steps set, by step and
// machine ("" for the built-in worker).
type taskOutputs struct {
	mu     sync.Mutex
	steps  []string
	values map[string]map[string][]step.Output
}

func newTaskOutputs() *taskOutputs {
	return &taskOutputs{values: map[string]map[string][]step.Output{}}
}

func (o *taskOutputs) add(stepName, machine string, outs []step.Output) {
	if len(outs) == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.values[stepName] == nil {
		o.values[stepName] = map[string][]step.Output{}
		o.steps = append(o.steps, stepName)
	}
	o.values[stepName][machine] = append(o.values[stepName][machine], outs...)
}

// apply sets in vars the output variables a step on machine may read (SPEC
// §5): Ferry.Action[STEP].Output[MACHINE].NAME of every target, and
// Ferry.Action[STEP].Output.NAME of the same machine, or of a step on the
// built-in worker. (Octopus.Action[…] reads the same: Octopus.* names are
// aliases.)
func (o *taskOutputs) apply(vars *variables.Set, machine string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range o.steps {
		byMachine := o.values[s]
		machines := make([]string, 0, len(byMachine))
		for m := range byMachine {
			machines = append(machines, m)
		}
		slices.Sort(machines)
		for _, m := range machines {
			for _, out := range byMachine[m] {
				if m != "" {
					vars.Set(fmt.Sprintf("Ferry.Action[%s].Output[%s].%s", s, m, out.Name), out.Value, out.Sensitive)
				}
				if m == "" || m == machine {
					vars.Set(fmt.Sprintf("Ferry.Action[%s].Output.%s", s, out.Name), out.Value, out.Sensitive)
				}
			}
		}
	}
}
