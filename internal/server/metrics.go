package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Operations endpoints, beside the API and the pages:
//
//   - GET /healthz — liveness: 200 while the process serves HTTP.
//   - GET /readyz — readiness: 200 when the store answers within
//     readyTimeout, 503 otherwise. A load balancer sends traffic to nodes
//     that are ready.
//   - GET /metrics — Prometheus text format. It needs an API key
//     (Authorization: Bearer), any user's: the figures carry no names of
//     spaces, projects or environments, but they do say how busy the
//     server is, which strangers need not know. Give Prometheus a key of
//     a user with no role (`ferry user create prometheus`, `ferry user
//     apikey prometheus`) in its scrape config's `authorization`.
//
// Figures of the whole server (tasks, deployments, deliveries) are read from
// the store at scrape time, so every node reports the same ones; figures of
// this process (HTTP requests, bytes received from connected spaces, Go
// runtime) are the node's own.
const readyTimeout = 2 * time.Second

// durationBounds are the buckets of task and deployment run times, in seconds.
var durationBounds = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200}

// observability holds the process's metrics and serves the operations
// endpoints.
type observability struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	received *prometheus.CounterVec
	store    store.Store
	auth     authenticator
	log      *slog.Logger
}

// authenticator resolves an API key (auth.Service).
type authenticator interface {
	Authenticate(ctx context.Context, key string) (domain.Actor, error)
}

func newObservability(st store.Store, auth authenticator, log *slog.Logger) *observability {
	o := &observability{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_http_requests_total", Help: "HTTP requests this node answered, by area (api, transfer, pages, static, operations), method and status code.",
		}, []string{"area", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ferry_http_request_duration_seconds", Help: "Time to answer HTTP requests on this node, by area and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"area", "method"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_transfer_received_bytes_total", Help: "Bytes of request bodies this node received from connected spaces, by what they carried (bundles, packages, receipts, chunks).",
		}, []string{"kind"}),
		store: st, auth: auth, log: log,
	}
	o.reg.MustRegister(o.requests, o.duration, o.received,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&storeCollector{figures: st.Figures(), tasks: st.Tasks(), log: log})
	return o
}

// wrap counts and times every request of next, and the bytes received on
// the connected-space endpoints.
func (o *observability) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := area(r.URL.Path)
		if a == "transfer" && r.Body != nil {
			r.Body = &countingBody{ReadCloser: r.Body, add: o.received.WithLabelValues(transferKind(r.URL.Path)).Add}
		}
		h := promhttp.InstrumentHandlerDuration(o.duration.MustCurryWith(prometheus.Labels{"area": a}),
			promhttp.InstrumentHandlerCounter(o.requests.MustCurryWith(prometheus.Labels{"area": a}), next))
		h.ServeHTTP(w, r)
	})
}

// routes adds the operations endpoints to mux.
func (o *observability) routes(mux *http.ServeMux) {
	metrics := promhttp.HandlerFor(o.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(o.log.Handler(), slog.LevelWarn)})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if _, _, err := o.store.Tasks().Pending(ctx); err != nil {
			o.log.Warn("not ready: the store does not answer", "err", err)
			http.Error(w, "not ready: the store does not answer", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ferry"`)
			http.Error(w, "/metrics needs an API key: send `Authorization: Bearer <key>` (any user's; see docs/operations.md#metrics)", http.StatusUnauthorized)
			return
		}
		if _, err := o.auth.Authenticate(r.Context(), strings.TrimSpace(key)); err != nil {
			http.Error(w, domain.Message(err), http.StatusUnauthorized)
			return
		}
		metrics.ServeHTTP(w, r)
	})
}

// area names the part of the server a path belongs to; a bounded label.
func area(path string) string {
	switch {
	case strings.HasPrefix(path, "/api/v1/transfer/"):
		return "transfer"
	case strings.HasPrefix(path, "/api/"):
		return "api"
	case strings.HasPrefix(path, "/static/"):
		return "static"
	case path == "/metrics" || path == "/healthz" || path == "/readyz":
		return "operations"
	}
	return "pages"
}

// transferKind is what a connected-space request carries.
func transferKind(path string) string {
	rest := strings.TrimPrefix(path, "/api/v1/transfer/")
	kind, _, _ := strings.Cut(rest, "/")
	switch kind {
	case "bundles", "packages", "receipts", "chunks", "schema":
		return kind
	}
	return "other"
}

type countingBody struct {
	io.ReadCloser
	add func(float64)
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if n > 0 {
		c.add(float64(n))
	}
	return n, err
}

// storeCollector reads the whole server's figures from the store at each
// scrape.
type storeCollector struct {
	figures store.Figures
	tasks   interface {
		Pending(ctx context.Context) (queued, executing int, err error)
	}
	log *slog.Logger
}

var (
	descTasks              = prometheus.NewDesc("ferry_tasks", "Tasks in the store by kind and state (all nodes).", []string{"kind", "state"}, nil)
	descTaskDuration       = prometheus.NewDesc("ferry_task_duration_seconds", "Run time of finished tasks (started to finished) by kind and state (all nodes).", []string{"kind", "state"}, nil)
	descDeployments        = prometheus.NewDesc("ferry_deployments", "Deployments by the state of their task (all nodes).", []string{"state"}, nil)
	descDeploymentDuration = prometheus.NewDesc("ferry_deployment_duration_seconds", "Run time of finished deployments by state (all nodes).", []string{"state"}, nil)
	descQueue              = prometheus.NewDesc("ferry_task_queue_depth", "Tasks waiting for a node to run them (all nodes).", nil, nil)
	descExecuting          = prometheus.NewDesc("ferry_tasks_executing", "Tasks running now (all nodes).", nil, nil)
	descDeliveries         = prometheus.NewDesc("ferry_deliveries", "Deliveries to connected spaces in the outbox by kind (bundle, packages, receipts) and state (queued, sending, delivered, failed).", []string{"kind", "state"}, nil)
	descDeliveryBytes      = prometheus.NewDesc("ferry_delivery_pending_bytes", "Bytes of deliveries not yet sent, by kind and state.", []string{"kind", "state"}, nil)
	descUp                 = prometheus.NewDesc("ferry_store_up", "1 when the store answered this scrape, 0 otherwise.", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTasks, descTaskDuration, descDeployments, descDeploymentDuration, descQueue, descExecuting, descDeliveries, descDeliveryBytes, descUp} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	up := 1.0
	if err := c.collect(ctx, ch); err != nil {
		c.log.Warn("metrics: read the store", "err", err)
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up)
}

func (c *storeCollector) collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	queued, executing, err := c.tasks.Pending(ctx)
	if err != nil {
		return err
	}
	ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(queued))
	ch <- prometheus.MustNewConstMetric(descExecuting, prometheus.GaugeValue, float64(executing))
	tasks, err := c.figures.Tasks(ctx, durationBounds)
	if err != nil {
		return err
	}
	byKind, deployments := map[[2]string]store.TaskFigure{}, map[string]store.TaskFigure{}
	for _, f := range tasks {
		k := [2]string{f.Kind, f.State}
		byKind[k] = merge(byKind[k], f)
		if f.Deployment {
			deployments[f.State] = merge(deployments[f.State], f)
		}
	}
	for k, f := range byKind {
		ch <- prometheus.MustNewConstMetric(descTasks, prometheus.GaugeValue, float64(f.Count), k[0], k[1])
		if f.Finished > 0 {
			ch <- prometheus.MustNewConstHistogram(descTaskDuration, f.Finished, f.Seconds, buckets(f), k[0], k[1])
		}
	}
	for state, f := range deployments {
		ch <- prometheus.MustNewConstMetric(descDeployments, prometheus.GaugeValue, float64(f.Count), state)
		if f.Finished > 0 {
			ch <- prometheus.MustNewConstHistogram(descDeploymentDuration, f.Finished, f.Seconds, buckets(f), state)
		}
	}
	deliveries, err := c.figures.Deliveries(ctx)
	if err != nil {
		return err
	}
	for _, d := range deliveries {
		ch <- prometheus.MustNewConstMetric(descDeliveries, prometheus.GaugeValue, float64(d.Count), d.Kind, d.State)
		ch <- prometheus.MustNewConstMetric(descDeliveryBytes, prometheus.GaugeValue, float64(d.Bytes), d.Kind, d.State)
	}
	return nil
}

// merge adds b's counts to a's.
func merge(a, b store.TaskFigure) store.TaskFigure {
	if a.Buckets == nil {
		a.Buckets = make([]uint64, len(b.Buckets))
	}
	a.Kind, a.State = b.Kind, b.State
	a.Count += b.Count
	a.Finished += b.Finished
	a.Seconds += b.Seconds
	for i, n := range b.Buckets {
		a.Buckets[i] += n
	}
	return a
}

func buckets(f store.TaskFigure) map[float64]uint64 {
	m := make(map[float64]uint64, len(durationBounds))
	for i, b := range durationBounds {
		m[b] = f.Buckets[i]
	}
	return m
}
