package targets

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"

	"github.com/ferrydeploy/ferry/internal/agentproto"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Hub is one server node's connections to agents: it dials listening
// agents, holds the connections polling agents made to this node's agent
// listener, and runs the jobs it can deliver (dispatch.go).
type Hub struct {
	node    string
	keys    *Keys
	targets store.Targets
	jobs    store.AgentJobs
	tasks   store.Tasks
	chunks  PackageChunks
	log     *slog.Logger
	now     func() time.Time

	mu         sync.Mutex
	tunnels    map[string]*tunnel          // polling agents connected here, by thumbprint
	transports map[string]*http2.Transport // listening agents, by URL and thumbprint
	keysSeen   int
	running    map[int64]context.CancelFunc // jobs this node runs
	waiters    map[int64]chan struct{}      // runners of this node waiting for a job
	wake       chan struct{}
	connects   chan struct{} // a polling agent connected (Health checks it at once)
}

// tunnel is a polling agent's connection, turned around: the server is
// the HTTP/2 client.
type tunnel struct {
	cc      *http2.ClientConn
	conn    net.Conn
	version string
}

// NewHub returns node's hub. It presents keys to agents, records targets'
// connections, runs jobs (writing their lines to tasks' logs) and sends
// packages' chunks from chunks.
func NewHub(node string, keys *Keys, targets store.Targets, jobs store.AgentJobs, tasks store.Tasks, chunks PackageChunks, log *slog.Logger, now func() time.Time) *Hub {
	return &Hub{node: node, keys: keys, targets: targets, jobs: jobs, tasks: tasks, chunks: chunks, log: log, now: now,
		tunnels: map[string]*tunnel{}, transports: map[string]*http2.Transport{}, running: map[int64]context.CancelFunc{},
		waiters: map[int64]chan struct{}{}, wake: make(chan struct{}, 1), connects: make(chan struct{}, 1)}
}

// agentHint is what to do when a listening agent's certificate is not the
// registered one.
const agentHint = "if the agent's identity really changed (a new `ferry agent init`), register its new fingerprint: `ferry target delete NAME` and `ferry target add NAME ... --thumbprint NEW`"

// client returns how to reach t's agent: an HTTP/2 connection of its own
// (listening), or the one the agent holds to this node (polling), and the
// base URL of requests.
func (h *Hub) client(t domain.Target) (http.RoundTripper, string, error) {
	if t.Mode == domain.ModePolling {
		h.mu.Lock()
		tn := h.tunnels[t.Thumbprint]
		h.mu.Unlock()
		if tn == nil || tn.cc.State().Closed {
			return nil, "", errNotHere
		}
		return tn.cc, "https://agent", nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if v := h.keys.Version(); v != h.keysSeen {
		// The server's identity rotated: connections made with the old
		// one are closed, so the agents see the new one.
		for _, tr := range h.transports {
			tr.CloseIdleConnections()
		}
		h.transports, h.keysSeen = map[string]*http2.Transport{}, v
	}
	key := t.URL + "|" + t.Thumbprint
	tr := h.transports[key]
	if tr == nil {
		pin := t.Thumbprint
		conf := agentproto.DialTLS(h.keys.Current, "agent at "+t.URL, agentHint, func() []string { return []string{pin} })
		tr = &http2.Transport{
			TLSClientConfig: conf,
			ReadIdleTimeout: agentproto.HeartbeatTimeout / 3,
			PingTimeout:     agentproto.HeartbeatTimeout / 3,
			DialTLSContext: func(ctx context.Context, network, addr string, cfg *tls.Config) (net.Conn, error) {
				d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 15 * time.Second}, Config: cfg}
				return d.DialContext(ctx, network, addr)
			},
		}
		h.transports[key] = tr
	}
	return tr, strings.TrimSuffix(t.URL, "/"), nil
}

// errNotHere is a polling agent connected to another node, or to none.
var errNotHere = errors.New("the polling agent is not connected to this server node")

// call sends one request to t's agent and decodes its JSON answer into
// out; a refusal or an error answer is an error naming what went wrong.
func (h *Hub) call(ctx context.Context, t domain.Target, method, path string, body any, out any) error {
	rt, base, err := h.client(t)
	if err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return err
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return answerError(resp)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out)
}

// refusedError is an agent that refused this server's certificate.
type refusedError struct{ agentproto.Refusal }

func (e *refusedError) Error() string { return e.Refusal.Error }

// answerError reads an agent's error answer.
func answerError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusForbidden {
		var r agentproto.Refusal
		if json.Unmarshal(b, &r) == nil && r.Error != "" {
			return &refusedError{r}
		}
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return fmt.Errorf("the agent answered %s: %s", resp.Status, e.Error)
	}
	return fmt.Errorf("the agent answered %s", resp.Status)
}

// Info asks t's agent about itself.
func (h *Hub) Info(ctx context.Context, t domain.Target) (agentproto.Info, error) {
	var info agentproto.Info
	err := h.call(ctx, t, http.MethodGet, agentproto.PathInfo, nil, &info)
	return info, err
}

// connected lists the thumbprints of the polling agents connected here.
func (h *Hub) connected() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.tunnels))
	for fp := range h.tunnels {
		out = append(out, fp)
	}
	return out
}

// ServeAgents accepts polling agents on ln until ctx ends: each presents
// its certificate and asks to be taken (agentproto.PathPoll); one whose
// fingerprint is no enabled polling target's is refused with a message
// naming both fingerprints, and keeps trying by itself.
func (h *Hub) ServeAgents(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+agentproto.PathPoll, func(w http.ResponseWriter, r *http.Request) { h.acceptPoll(ctx, w, r) })
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		// A connection is idle only between refusals (a taken one is
		// hijacked): it is not kept for whoever opened it.
		IdleTimeout: 10 * time.Second,
		ErrorLog:    slog.NewLogLogger(h.log.Handler(), slog.LevelDebug),
	}
	go func() {
		<-ctx.Done()
		srv.Close()
		h.closeTunnels()
	}()
	err := srv.Serve(tls.NewListener(ln, agentproto.AcceptTLS(h.keys.Current, "http/1.1")))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// acceptPoll takes a polling agent's connection, or refuses it.
func (h *Hub) acceptPoll(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	fp := agentproto.PeerFingerprint(r.TLS)
	if msg := h.admit(r.Context(), fp); msg != "" {
		h.log.Warn("refused an agent: "+msg, "agent", r.RemoteAddr, "fingerprint", fp)
		w.Header().Set("Connection", "close") // it holds no connection here
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		json.NewEncoder(w).Encode(agentproto.Refusal{Error: msg, Presented: fp, Expected: []string{h.keys.Current().Fingerprint}})
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), agentproto.UpgradeToken) {
		http.Error(w, "ask with Upgrade: "+agentproto.UpgradeToken, http.StatusUpgradeRequired)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "this connection cannot be taken over", http.StatusInternalServerError)
		return
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return
	}
	conn.SetDeadline(time.Time{})
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + agentproto.UpgradeToken + "\r\n\r\n")
	if err := brw.Flush(); err != nil {
		conn.Close()
		return
	}
	h.takeTunnel(ctx, &readConn{Conn: conn, r: brw.Reader}, fp, r.Header.Get(agentproto.HeaderAgentVersion))
}

// admit says why an agent may not connect ("" when it may): its
// fingerprint must be an enabled polling target's.
func (h *Hub) admit(ctx context.Context, fp string) string {
	me := h.keys.Current().Fingerprint
	list, err := h.targets.ByThumbprint(ctx, fp)
	if err != nil {
		return "the server cannot read its targets now; try again"
	}
	var disabled, listening []string
	for _, t := range list {
		switch {
		case t.Mode != domain.ModePolling:
			listening = append(listening, t.Name)
		case t.Disabled:
			disabled = append(disabled, t.Name)
		default:
			return ""
		}
	}
	switch {
	case len(disabled) > 0:
		return fmt.Sprintf("the target with this agent's certificate %s (%s) is disabled on this server (agent identity %s); enable it with `ferry target enable NAME`", fp, strings.Join(disabled, ", "), me)
	case len(listening) > 0:
		return fmt.Sprintf("the agent with certificate %s is registered as a listening target (%s) on this server (agent identity %s): run it with --listen, or register it with --polling", fp, strings.Join(listening, ", "), me)
	}
	return fmt.Sprintf("this server (agent identity %s) has no target with this agent's certificate %s: it was never registered, or was deleted. Register it with `ferry agent register --polling ...` or `ferry target add NAME --polling --thumbprint %s --env ENV --role ROLE`", me, fp, fp)
}

// readConn is a connection whose first bytes were read into r.
type readConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *readConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// takeTunnel makes a polling agent's connection this node's way to it,
// instead of any connection it had before, and keeps it alive with pings
// that record the agent as seen (its heartbeat).
func (h *Hub) takeTunnel(ctx context.Context, conn net.Conn, fp, version string) {
	tr := &http2.Transport{ReadIdleTimeout: agentproto.HeartbeatTimeout / 3, PingTimeout: agentproto.HeartbeatTimeout / 3}
	cc, err := tr.NewClientConn(conn)
	if err != nil {
		conn.Close()
		return
	}
	tn := &tunnel{cc: cc, conn: conn, version: version}
	h.mu.Lock()
	old := h.tunnels[fp]
	h.tunnels[fp] = tn
	h.mu.Unlock()
	if old != nil {
		old.conn.Close()
	}
	h.log.Info("a polling agent connected", "fingerprint", fp, "version", version)
	h.seen(ctx, fp, version)
	h.Wake()
	select {
	case h.connects <- struct{}{}:
	default:
	}
	go h.keepAlive(ctx, fp, tn)
}

// pingEvery is how often a polling agent's connection is pinged, which is
// its heartbeat.
const pingEvery = 10 * time.Second

// keepAlive pings a tunnel until it fails, then forgets it.
func (h *Hub) keepAlive(ctx context.Context, fp string, tn *tunnel) {
	t := time.NewTicker(pingEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, agentproto.HeartbeatTimeout/2)
		err := tn.cc.Ping(pctx)
		cancel()
		if err != nil || tn.cc.State().Closed {
			h.dropTunnel(fp, tn, err)
			return
		}
		// A target deleted or disabled since is refused from now on.
		if msg := h.admit(ctx, fp); msg != "" {
			h.dropTunnel(fp, tn, errors.New(msg))
			return
		}
		h.seen(ctx, fp, tn.version)
	}
}

func (h *Hub) seen(ctx context.Context, fp, version string) {
	if err := h.targets.Seen(ctx, fp, h.node, h.now(), version); err != nil && ctx.Err() == nil {
		h.log.Warn("record a polling agent's heartbeat", "fingerprint", fp, "err", err)
	}
}

// dropTunnel forgets a polling agent's connection that failed.
func (h *Hub) dropTunnel(fp string, tn *tunnel, why error) {
	h.mu.Lock()
	if h.tunnels[fp] == tn {
		delete(h.tunnels, fp)
	}
	h.mu.Unlock()
	tn.conn.Close()
	h.log.Info("a polling agent's connection ended", "fingerprint", fp, "err", why)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h.targets.Left(ctx, fp, h.node)
}

func (h *Hub) closeTunnels() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for fp, tn := range h.tunnels {
		tn.conn.Close()
		delete(h.tunnels, fp)
	}
}

// tunnelAlive reports whether the polling agent fp is connected here now.
func (h *Hub) tunnelAlive(fp string) bool {
	h.mu.Lock()
	tn := h.tunnels[fp]
	h.mu.Unlock()
	return tn != nil && !tn.cc.State().Closed
}
