package targets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/ferrydeploy/ferry/internal/agentproto"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/packages"
	"github.com/ferrydeploy/ferry/internal/variables"
)

// PackageChunks is what the hub needs of the feed to send a package to an
// agent (packages.Service): the manifest the release pinned, and chunks.
type PackageChunks interface {
	Manifest(ctx context.Context, spaceID int64, ref domain.PackageRef) (*packages.Manifest, error)
	Chunk(h packages.Hash, size int64, buf []byte) ([]byte, error)
}

// Timing of the dispatch loop.
const (
	claimEvery = 250 * time.Millisecond // looks for jobs when nothing woke it
	beatEvery  = agentproto.BeatInterval
	maxRunning = 256 // jobs one node runs at once
)

// Wake tells the hub a job may be waiting for it.
func (h *Hub) Wake() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Recover fails the jobs this node queued or ran when it last stopped:
// their streams are gone, and their tasks are failed as it starts. The
// server calls it before it runs tasks.
func (h *Hub) Recover(ctx context.Context) error {
	n, err := h.jobs.FailNode(ctx, h.node, "the server node running it stopped", h.now())
	if err != nil {
		return fmt.Errorf("recover interrupted jobs for targets: %w", err)
	}
	if n > 0 {
		h.log.Warn("failed jobs for targets interrupted when this node stopped", "count", n)
	}
	return nil
}

// Run claims and runs the jobs this node can deliver until ctx ends: of
// listening targets, those its own runner queued; of polling agents, those
// connected here. Every beatEvery it beats its running jobs in the store
// and stops those whose cancel was requested or whose task ended.
func (h *Hub) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	claim := time.NewTicker(claimEvery)
	defer claim.Stop()
	beat := time.NewTicker(beatEvery)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-beat.C:
			h.beat(ctx)
			continue
		case <-h.wake:
		case <-claim.C:
		}
		h.claim(ctx, &wg)
	}
}

// claim starts the jobs this node may run now.
func (h *Hub) claim(ctx context.Context, wg *sync.WaitGroup) {
	h.mu.Lock()
	room := maxRunning - len(h.running)
	h.mu.Unlock()
	if room <= 0 {
		return
	}
	jobs, err := h.jobs.Claim(ctx, h.node, h.connected(), h.now(), room)
	if err != nil {
		if ctx.Err() == nil {
			h.log.Error("claim jobs for targets", "err", err)
		}
		return
	}
	for _, j := range jobs {
		jctx, cancel := context.WithCancel(ctx)
		h.mu.Lock()
		h.running[j.ID] = cancel
		h.mu.Unlock()
		wg.Go(func() {
			defer cancel()
			h.runJob(jctx, j)
		})
	}
}

// beat records this node's jobs as alive and stops those to stop.
func (h *Hub) beat(ctx context.Context) {
	stop, err := h.jobs.Beat(ctx, h.node, h.now())
	if err != nil {
		if ctx.Err() == nil {
			h.log.Warn("beat jobs for targets", "err", err)
		}
		return
	}
	for _, id := range stop {
		h.stop(id)
	}
}

// stop cancels a job this node runs.
func (h *Hub) stop(id int64) {
	h.mu.Lock()
	cancel := h.running[id]
	h.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// runJob runs one job on its agent and records how it ended.
func (h *Hub) runJob(ctx context.Context, j domain.AgentJob) {
	t := domain.Target{ID: j.TargetID, SpaceID: j.SpaceID, Name: j.Target, Mode: j.Mode, URL: j.URL, Thumbprint: j.Thumbprint}
	var job agentproto.Job
	res, err := agentproto.Result{}, json.Unmarshal(j.Payload, &job)
	lines := newLines(h.tasks, j.TaskID, t.Name, maskerOf(job), h.log)
	if err == nil {
		res, err = h.execute(ctx, t, j.SpaceID, job, lines)
	}
	lines.close()
	state, msg := domain.JobDone, ""
	if err != nil {
		state, msg = domain.JobFailed, lines.mask(h.explain(ctx, t, err))
	}
	body, _ := json.Marshal(res)
	fin, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := h.jobs.Finish(fin, j.ID, state, body, msg, h.now()); err != nil {
		h.log.Error("record the end of a job", "job", j.ID, "err", err)
	}
	h.mu.Lock()
	delete(h.running, j.ID)
	done := h.waiters[j.ID]
	h.mu.Unlock()
	if done != nil {
		close(done)
	}
}

// explain turns a failed job's error into words naming the target.
func (h *Hub) explain(ctx context.Context, t domain.Target, err error) string {
	var broken *brokenError
	switch {
	case errors.Is(err, errNotHere):
		return fmt.Sprintf("target %s is offline: its polling agent is not connected to this server", t.Name)
	case errors.As(err, &broken):
		return fmt.Sprintf("lost target %s mid-step: %v", t.Name, broken.err)
	case ctx.Err() != nil:
		return fmt.Sprintf("stopped on target %s: the task was cancelled or ended", t.Name)
	}
	return fmt.Sprintf("target %s: %v", t.Name, err)
}

// brokenError is a step's stream that ended before the step did.
type brokenError struct{ err error }

func (e *brokenError) Error() string { return e.err.Error() }

// execute sends the package's missing chunks, runs the step and reads its
// stream. A stream silent for the heartbeat timeout is given up.
func (h *Hub) execute(ctx context.Context, t domain.Target, spaceID int64, job agentproto.Job, lines *lines) (agentproto.Result, error) {
	if job.Package != nil {
		if err := h.sendPackage(ctx, t, spaceID, job.Package, lines); err != nil {
			return agentproto.Result{}, err
		}
	}
	rt, base, err := h.client(t)
	if err != nil {
		return agentproto.Result{}, err
	}
	body, err := json.Marshal(job)
	if err != nil {
		return agentproto.Result{}, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+agentproto.PathSteps, bytes.NewReader(body))
	if err != nil {
		return agentproto.Result{}, err
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return agentproto.Result{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return agentproto.Result{}, answerError(resp)
	}
	watch := newWatchdog(agentproto.HeartbeatTimeout, func() {
		cancel(fmt.Errorf("no word from the agent for %s (the heartbeat timeout): the machine or its network is gone", agentproto.HeartbeatTimeout))
	})
	defer watch.stop()
	res := agentproto.Result{Ran: true}
	err = agentproto.ReadEvents(resp.Body, func(ev agentproto.Event) error {
		watch.reset()
		switch ev.Type {
		case agentproto.EventLine:
			lines.add(ev.Level, ev.Text)
		case agentproto.EventEnd:
			res.Error, res.Outputs = ev.Error[:cut(ev.Error, maxLine)], ev.Outputs
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		return res, &brokenError{err}
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return res, &brokenError{cause}
	}
	return res, ctx.Err()
}

// sendPackage sends the agent the chunks of the package its cache lacks,
// and puts the manifest into the job.
func (h *Hub) sendPackage(ctx context.Context, t domain.Target, spaceID int64, p *agentproto.Package, lines *lines) error {
	m, err := h.chunks.Manifest(ctx, spaceID, p.Ref)
	if err != nil {
		return err
	}
	if p.Manifest, err = json.Marshal(m); err != nil {
		return err
	}
	sizes := map[string]int64{}
	var all agentproto.ChunkList
	for _, c := range m.Chunks {
		if _, ok := sizes[c.Hash.String()]; !ok {
			sizes[c.Hash.String()] = c.Size
			all.Chunks = append(all.Chunks, c.Hash.String())
		}
	}
	var missing agentproto.ChunkList
	if err := h.call(ctx, t, http.MethodPost, agentproto.PathChunksMissing, all, &missing); err != nil {
		return fmt.Errorf("ask which chunks of package %s it lacks: %w", p.Ref, err)
	}
	var sent int64
	if len(missing.Chunks) > 0 {
		if sent, err = h.putChunks(ctx, t, missing.Chunks, sizes); err != nil {
			return fmt.Errorf("send package %s: %w", p.Ref, err)
		}
	}
	lines.add("info", fmt.Sprintf("Package %s: sent %d of %d chunks (%d bytes); the agent had the rest", p.Ref, len(missing.Chunks), len(all.Chunks), sent))
	return nil
}

// putChunks streams chunk frames to the agent as they are read.
func (h *Hub) putChunks(ctx context.Context, t domain.Target, hashes []string, sizes map[string]int64) (int64, error) {
	rt, base, err := h.client(t)
	if err != nil {
		return 0, err
	}
	pr, pw := io.Pipe()
	var sent int64
	go func() {
		var buf []byte
		for _, s := range hashes {
			size, ok := sizes[s]
			sum, perr := packages.ParseHash(s)
			if !ok || perr != nil {
				pw.CloseWithError(fmt.Errorf("the agent asked for chunk %q, which the package has not", s))
				return
			}
			data, err := h.chunks.Chunk(sum, size, buf[:0])
			if err == nil {
				err = agentproto.WriteChunk(pw, data)
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			sent += int64(len(data))
			buf = data
		}
		pw.Close()
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+agentproto.PathChunks, pr)
	if err != nil {
		return 0, err
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		pr.CloseWithError(err)
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, answerError(resp)
	}
	var stored agentproto.ChunksStored
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&stored); err != nil {
		return 0, err
	}
	return sent, nil
}

// maskerOf masks a job's sensitive values (the agent masked its lines
// already: this is a second guard).
func maskerOf(job agentproto.Job) *variables.Masker {
	vars := variables.NewSet()
	for _, v := range job.Variables {
		vars.Set(v.Name, v.Value, v.Sensitive)
	}
	return vars.Masker()
}

// watchdog calls fire when reset was not called for d.
type watchdog struct {
	t *time.Timer
	d time.Duration
}

func newWatchdog(d time.Duration, fire func()) *watchdog {
	return &watchdog{t: time.AfterFunc(d, fire), d: d}
}

func (w *watchdog) reset() { w.t.Reset(w.d) }
func (w *watchdog) stop()  { w.t.Stop() }
