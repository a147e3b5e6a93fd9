package targets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ferrydeploy/ferry/internal/agentproto"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Machines runs deployment steps on targets for the task runner
// (deploy.Machines), through durable jobs that whichever node reaches the
// agent runs.
type Machines struct {
	hub     *Hub
	targets store.Targets
	jobs    store.AgentJobs
	now     func() time.Time
}

// NewMachines queues jobs in jobs for hub's node and waits for them.
func NewMachines(hub *Hub, targets store.Targets, jobs store.AgentJobs, now func() time.Time) *Machines {
	return &Machines{hub: hub, targets: targets, jobs: jobs, now: now}
}

// Select returns the enabled targets of d's environment with one of roles,
// narrowed by d's --target and --exclude-target.
func (m *Machines) Select(ctx context.Context, d domain.Deployment, roles []string) ([]domain.Target, int, error) {
	list, err := m.targets.List(ctx, d.SpaceID)
	if err != nil {
		return nil, 0, err
	}
	var selected []domain.Target
	excluded := 0
	for _, t := range list {
		if t.Disabled || !t.InEnvironment(d.Environment) || !t.HasRole(roles) {
			continue
		}
		if (len(d.Targets) > 0 && !slices.Contains(d.Targets, t.Name)) || slices.Contains(d.ExcludeTargets, t.Name) {
			excluded++
			continue
		}
		selected = append(selected, t)
	}
	return selected, excluded, nil
}

// Available asks a listening agent whether it can run steps now; a
// polling agent is available while it is connected to some node.
func (m *Machines) Available(ctx context.Context, t domain.Target) error {
	if t.Mode == domain.ModePolling {
		if m.hub.tunnelAlive(t.Thumbprint) {
			return nil
		}
		fresh, err := m.targets.GetByID(ctx, t.ID)
		if err != nil {
			return err
		}
		if connectedElsewhere(fresh, m.now()) {
			return nil
		}
		return fmt.Errorf("target %s is offline (%s): its polling agent is not connected", t.Name, fresh.SeenText())
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	info, err := m.hub.Info(ctx, t)
	if err != nil {
		h, reason := classify(t, err)
		if h == domain.HealthOffline {
			fresh, _ := m.targets.GetByID(ctx, t.ID)
			return fmt.Errorf("target %s is offline (%s): %s", t.Name, fresh.SeenText(), reason)
		}
		return fmt.Errorf("target %s is unhealthy: %s", t.Name, reason)
	}
	if reason := infoProblem(info); reason != "" {
		return fmt.Errorf("target %s is unhealthy: %s", t.Name, reason)
	}
	return nil
}

// connectedElsewhere reports whether a polling target's agent is connected
// to some node that beat for it within the heartbeat timeout.
func connectedElsewhere(t domain.Target, now time.Time) bool {
	return t.Node != "" && t.LastSeen != nil && now.Sub(*t.LastSeen) < agentproto.HeartbeatTimeout
}

// Run queues job for t, lets the node that reaches t's agent run it, and
// waits for the end. When ctx ends first (cancel, timeout, shutdown) the
// job is cancelled: the agent kills the step.
func (m *Machines) Run(ctx context.Context, task int64, t domain.Target, job agentproto.Job) (agentproto.Result, error) {
	payload, err := json.Marshal(job)
	if err != nil {
		return agentproto.Result{}, err
	}
	j := domain.AgentJob{TaskID: task, SpaceID: t.SpaceID, TargetID: t.ID, Target: t.Name, Thumbprint: t.Thumbprint,
		Mode: t.Mode, URL: t.URL, Origin: m.hub.node, Payload: payload}
	if err := m.jobs.Create(ctx, &j); err != nil {
		return agentproto.Result{}, err
	}
	done := m.hub.waiter(j.ID)
	defer m.hub.forget(j.ID)
	// The job holds the step's secrets: gone once its result is read.
	defer func() {
		del, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		m.jobs.Delete(del, j.ID)
	}()
	m.hub.Wake()
	tick := time.NewTicker(claimEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return m.cancel(ctx, j)
		case <-done:
			done = nil
		case <-tick.C:
		}
		cur, err := m.jobs.Get(ctx, j.ID)
		if err != nil {
			if ctx.Err() != nil {
				return m.cancel(ctx, j)
			}
			return agentproto.Result{}, err
		}
		if cur.State.Done() {
			return ended(cur)
		}
		if why := m.lost(ctx, t, cur); why != "" {
			m.jobs.Finish(ctx, j.ID, domain.JobFailed, nil, why, m.now())
			return agentproto.Result{Ran: cur.State == domain.JobRunning}, errors.New(why)
		}
	}
}

// ended reads a finished job's result.
func ended(j domain.AgentJob) (agentproto.Result, error) {
	var res agentproto.Result
	if len(j.Result) > 0 {
		if err := json.Unmarshal(j.Result, &res); err != nil {
			return res, fmt.Errorf("read the result of the step on %s: %w", j.Target, err)
		}
	}
	if j.State == domain.JobFailed {
		return res, errors.New(j.Error)
	}
	return res, nil
}

// lost says why a job that has not ended never will, or "": a job queued
// for a polling agent seen by no node for the heartbeat timeout, one
// queued that no node took for as long, or one whose node stopped beating.
func (m *Machines) lost(ctx context.Context, t domain.Target, j domain.AgentJob) string {
	now := m.now()
	switch j.State {
	case domain.JobRunning:
		if j.BeatAt != nil && now.Sub(*j.BeatAt) > agentproto.HeartbeatTimeout {
			return fmt.Sprintf("lost target %s mid-step: server node %s, which ran the step on it, stopped (no heartbeat for %s)", t.Name, j.Node, agentproto.HeartbeatTimeout)
		}
	case domain.JobQueued:
		if now.Sub(j.CreatedAt) < agentproto.HeartbeatTimeout {
			return ""
		}
		fresh, err := m.targets.GetByID(ctx, t.ID)
		if err != nil {
			return ""
		}
		if t.Mode == domain.ModePolling && !connectedElsewhere(fresh, now) {
			return fmt.Sprintf("target %s is offline (%s): its polling agent did not connect to take the step", t.Name, fresh.SeenText())
		}
		if t.Mode == domain.ModeListening {
			return fmt.Sprintf("target %s: no server node took the step for %s", t.Name, agentproto.HeartbeatTimeout)
		}
	}
	return ""
}

// cancel stops a job whose task was cancelled, timed out or ended: the
// node running it resets the step's stream, and the agent kills the step.
// It waits for the job to end, at most the heartbeat timeout.
func (m *Machines) cancel(ctx context.Context, j domain.AgentJob) (agentproto.Result, error) {
	bg, stop := context.WithTimeout(context.WithoutCancel(ctx), agentproto.HeartbeatTimeout+5*time.Second)
	defer stop()
	m.jobs.RequestCancel(bg, j.ID)
	m.hub.stop(j.ID)
	for bg.Err() == nil {
		cur, err := m.jobs.Get(bg, j.ID)
		if err == nil && cur.State.Done() {
			res, _ := ended(cur)
			return res, ctx.Err()
		}
		select {
		case <-bg.Done():
		case <-time.After(claimEvery):
		}
	}
	m.jobs.Finish(context.WithoutCancel(ctx), j.ID, domain.JobFailed, nil, "cancelled", m.now())
	return agentproto.Result{}, ctx.Err()
}

// waiter returns a channel closed when this node's hub ends the job.
func (h *Hub) waiter(id int64) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan struct{})
	h.waiters[id] = ch
	return ch
}

func (h *Hub) forget(id int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.waiters, id)
}

// classify sorts the error of a call to a target's agent into a health
// and a reason for people, naming both fingerprints when the certificates
// do not match.
func classify(t domain.Target, err error) (domain.Health, string) {
	var refused *refusedError
	if m, ok := agentproto.AsMismatch(err); ok {
		return domain.HealthUnhealthy, fmt.Sprintf("the agent at %s presented a certificate with SHA-256 fingerprint %s, but target %s is registered with thumbprint %s; %s",
			t.URL, m.Presented, t.Name, t.Thumbprint, agentHint)
	}
	if errors.As(err, &refused) {
		return domain.HealthUnhealthy, refused.Error()
	}
	if errors.Is(err, errNotHere) {
		return domain.HealthOffline, "its polling agent is not connected" + pollingHint
	}
	msg := err.Error()
	if strings.Contains(msg, "tls:") || strings.Contains(msg, "http2:") && strings.Contains(msg, "protocol") {
		return domain.HealthUnhealthy, "cannot talk with the agent at " + t.URL + ": " + msg
	}
	return domain.HealthOffline, "cannot reach the agent at " + t.URL + ": " + msg +
		"; check that `ferry agent run --listen` runs on that machine, on that address, and that this server may reach its port (firewall)"
}

// pollingHint is what to check when a polling agent is not connected.
const pollingHint = "; check that `ferry agent run --poll https://SERVER:PORT --trust FINGERPRINT` runs on the machine, with this server's --agent-listen address and agent fingerprint (`ferry target trust-info`), and read its log: it says why it is refused"

// infoProblem says what is wrong with an agent that answered, or "".
func infoProblem(info agentproto.Info) string {
	switch {
	case info.Protocol != agentproto.Protocol:
		return fmt.Sprintf("the agent (%s) speaks protocol %d, this server %d: run the same version of ferry on both", info.Version, info.Protocol, agentproto.Protocol)
	case strings.HasPrefix(info.Sandbox, "unavailable"):
		return "the agent cannot isolate steps on its machine (" + info.Sandbox + "); see its log"
	}
	return ""
}
