package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/ferrydeploy/ferry/internal/agentproto"
	"github.com/ferrydeploy/ferry/internal/packages"
	"github.com/ferrydeploy/ferry/internal/step"
	"github.com/ferrydeploy/ferry/internal/trust"
	"github.com/ferrydeploy/ferry/internal/variables"
)

// Limits on what the server sends an agent.
const (
	maxJob       = 64 << 20 // a job: a step and its variables
	maxChunkList = 64 << 20 // a list of chunk hashes (65 bytes each)
)

// handler serves the protocol (agentproto) to the trusted server.
type handler struct {
	id      agentproto.Identity
	trust   *trustList
	steps   *step.Runner
	chunks  *packages.Chunks
	work    string
	sandbox string // what Info says of it
	log     *slog.Logger
	host    string
}

func (h *handler) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+agentproto.PathInfo, h.info)
	mux.HandleFunc("POST "+agentproto.PathTrust, h.learnTrust)
	mux.HandleFunc("POST "+agentproto.PathChunksMissing, h.missing)
	mux.HandleFunc("PUT "+agentproto.PathChunks, h.storeChunks)
	mux.HandleFunc("POST "+agentproto.PathSteps, h.runStep)
	return mux
}

// checkPeer serves only a peer whose certificate the agent trusts (a
// listening agent: anyone may connect); any other gets a refusal naming
// both fingerprints, and nothing else.
func (h *handler) checkPeer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fp := agentproto.PeerFingerprint(r.TLS)
		if h.trust.has(fp) {
			next.ServeHTTP(w, r)
			return
		}
		trusted := h.trust.list()
		h.log.Warn(fmt.Sprintf("refused a server at %s: it presented a certificate with SHA-256 fingerprint %s, but this agent trusts %v (--trust)", r.RemoteAddr, fp, trusted),
			"presented", fp, "trusted", trusted)
		// Refused peers hold no connection open (over HTTP/2 this sends
		// GOAWAY and closes it).
		w.Header().Set("Connection", "close")
		writeJSON(w, http.StatusForbidden, agentproto.Refusal{
			Error: fmt.Sprintf("the agent (certificate %s) refused this server's certificate %s: it trusts only %v. If this server should deploy to it, run the agent with --trust %s",
				h.id.Fingerprint, fp, trusted, fp),
			Presented: fp, Expected: trusted,
		})
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (h *handler) fail(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func (h *handler) info(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, agentproto.Info{
		Version: agentproto.Version(), Protocol: agentproto.Protocol, Fingerprint: h.id.Fingerprint,
		Hostname: h.host, Sandbox: h.sandbox, Trusted: h.trust.list(),
	})
}

// learnTrust adds a server fingerprint the trusted server vouches for
// (its next identity), so that its rotation needs no visit to the agent.
func (h *handler) learnTrust(w http.ResponseWriter, r *http.Request) {
	var req agentproto.TrustRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
		h.fail(w, http.StatusBadRequest, err)
		return
	}
	fp, err := trust.ParseFingerprint(req.Fingerprint)
	if err == nil && fp == "" {
		err = errors.New("no fingerprint")
	}
	if err != nil {
		h.fail(w, http.StatusBadRequest, err)
		return
	}
	if !h.trust.has(fp) {
		if err := h.trust.learn(fp); err != nil {
			h.fail(w, http.StatusInternalServerError, err)
			return
		}
		h.log.Info("now trusting the server's next identity as well, as the trusted server asked", "fingerprint", fp)
	}
	h.info(w, r)
}

// missing answers which of the listed chunks the cache lacks.
func (h *handler) missing(w http.ResponseWriter, r *http.Request) {
	var req agentproto.ChunkList
	if err := json.NewDecoder(io.LimitReader(r.Body, maxChunkList)).Decode(&req); err != nil {
		h.fail(w, http.StatusBadRequest, err)
		return
	}
	out := agentproto.ChunkList{Chunks: []string{}}
	for _, s := range req.Chunks {
		sum, err := packages.ParseHash(s)
		if err != nil {
			h.fail(w, http.StatusBadRequest, err)
			return
		}
		if !h.chunks.Has(sum) {
			out.Chunks = append(out.Chunks, s)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// storeChunks keeps each chunk of the body, each checked against its
// SHA-256 before it is written.
func (h *handler) storeChunks(w http.ResponseWriter, r *http.Request) {
	var res agentproto.ChunksStored
	var buf []byte
	for {
		sum, data, err := agentproto.ReadChunk(r.Body, buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			h.fail(w, http.StatusBadRequest, err)
			return
		}
		buf = data[:0]
		isNew, err := h.chunks.Put(packages.Hash(sum), data)
		if err != nil {
			h.fail(w, http.StatusInternalServerError, err)
			return
		}
		if isNew {
			res.Stored++
			res.Bytes += int64(len(data))
		}
	}
	writeJSON(w, http.StatusOK, res)
}

// runStep runs a job and streams its events: lines (masked here, before
// they leave the machine), a beat at least every BeatInterval, and the
// end with the step's outputs. The step ends with the request: when the
// server cancels it or the connection is lost, its processes are killed.
func (h *handler) runStep(w http.ResponseWriter, r *http.Request) {
	var job agentproto.Job
	if err := json.NewDecoder(io.LimitReader(r.Body, maxJob)).Decode(&job); err != nil {
		h.fail(w, http.StatusBadRequest, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	events := agentproto.NewEventWriter(w)
	vars := variables.NewSet()
	for _, v := range job.Variables {
		vars.Set(v.Name, v.Value, v.Sensitive)
	}
	log := &streamLog{events: events, masker: vars.Masker()}
	h.log.Info("running a step", "task", job.Task, "step", job.Step.Name, "machine", job.Machine)
	stop := beat(events)
	res, err := h.run(r.Context(), job, vars, log)
	stop()
	end := agentproto.Event{Type: agentproto.EventEnd}
	if err != nil {
		end.Error = log.mask(err.Error())
	}
	for _, o := range res.Outputs {
		end.Outputs = append(end.Outputs, agentproto.Output{Name: o.Name, Value: o.Value, Sensitive: o.Sensitive})
	}
	events.Write(end)
	h.log.Info("step ended", "task", job.Task, "step", job.Step.Name, "failed", err != nil)
}

// run runs a job's step in a fresh working folder (0700), removed after:
// it holds the step's substituted secrets.
func (h *handler) run(ctx context.Context, job agentproto.Job, vars *variables.Set, log *streamLog) (step.Result, error) {
	if err := os.MkdirAll(h.work, 0o700); err != nil {
		return step.Result{}, err
	}
	work, err := os.MkdirTemp(h.work, fmt.Sprintf("task-%d-", job.Task))
	if err != nil {
		return step.Result{}, fmt.Errorf("create a working folder: %w", err)
	}
	defer os.RemoveAll(work)
	st := job.Step
	if st.TimeoutSeconds <= 0 {
		st.TimeoutSeconds = job.TimeoutSeconds
	}
	spec := step.Spec{Step: st, Vars: vars, Work: work}
	if job.Package != nil {
		spec.Package = &step.Package{Ref: job.Package.Ref, Fetch: h.rebuild(job.Package, log)}
	}
	return h.steps.Run(ctx, spec, log)
}

// rebuild writes a package from the chunk cache and checks it against the
// SHA-256 the release pinned before anything is extracted.
func (h *handler) rebuild(p *agentproto.Package, log step.Log) func(ctx context.Context, dst string) error {
	return func(ctx context.Context, dst string) error {
		var m packages.Manifest
		if err := json.Unmarshal(p.Manifest, &m); err != nil {
			return fmt.Errorf("the server sent an unreadable manifest of package %s: %w", p.Ref, err)
		}
		if m.SHA256.String() != p.Ref.SHA256 {
			return fmt.Errorf("the manifest of package %s is of SHA-256 %s, but the release pins %s", p.Ref, m.SHA256, p.Ref.SHA256)
		}
		f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		err = packages.Rebuild(&m, h.chunks, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("rebuild package %s on this machine: %w", p.Ref, err)
		}
		log.Info(fmt.Sprintf("Rebuilt package %s from the agent's chunk cache", p.Ref))
		return nil
	}
}

// beat writes a beat event every BeatInterval until stopped.
func beat(events *agentproto.EventWriter) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(agentproto.BeatInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				events.Write(agentproto.Event{Type: agentproto.EventBeat})
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// streamLog is a step's log on an agent: lines masked, then sent.
type streamLog struct {
	events *agentproto.EventWriter
	mu     sync.Mutex
	masker *variables.Masker
}

func (l *streamLog) mask(s string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.masker.Mask(s)
}

func (l *streamLog) Info(text string) {
	l.events.Write(agentproto.Event{Type: agentproto.EventLine, Level: "info", Text: l.mask(text)})
}

func (l *streamLog) Error(text string) {
	l.events.Write(agentproto.Event{Type: agentproto.EventLine, Level: "error", Text: l.mask(text)})
}

func (l *streamLog) Secrets(values ...string) {
	l.mu.Lock()
	l.masker = l.masker.With(values...)
	l.mu.Unlock()
}
