// Package api serves ferry's HTTP JSON API under /api. Handlers are small:
// parse the request, call a service, render the result. Business rules and
// permission checks live in the services; errors become HTTP responses in
// exactly one place (writeError).
package api

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/services"
	"github.com/ferrydeploy/ferry/internal/transport"
)

// Services are what the API calls: the same set the web pages call.
type Services = services.Set

// maxBody bounds JSON and YAML request bodies.
const maxBody = 16 << 20

// Handler returns the API's HTTP handler.
func Handler(s Services, log *slog.Logger) http.Handler {
	h := &handler{s: s, log: log}
	mux, _ := h.routes()
	return h.logged(mux)
}

// routes registers every route and returns the mux and the patterns of the
// authenticated routes (the permission test walks them all).
func (h *handler) routes() (*http.ServeMux, []string) {
	mux := http.NewServeMux()
	var patterns []string
	var route routeFunc = func(pattern string, fn func(w http.ResponseWriter, r *http.Request) (any, error)) {
		patterns = append(patterns, pattern)
		mux.Handle(pattern, h.authenticated(fn))
	}
	mux.HandleFunc("GET /api/health", h.health)
	h.transferRoutes(mux) // authorised by signatures, not API keys

	route("GET /api/spaces", h.listSpaces)
	route("POST /api/spaces", h.createSpace)
	route("GET /api/spaces/{space}", h.getSpace)
	route("GET /api/audit", h.listAllAudit)

	route("GET /api/spaces/{space}/environments", h.listEnvironments)
	route("POST /api/spaces/{space}/environments", h.createEnvironment)
	route("GET /api/spaces/{space}/lifecycles", h.listLifecycles)
	route("POST /api/spaces/{space}/apply", h.apply)
	route("GET /api/spaces/{space}/export", h.export)

	route("GET /api/spaces/{space}/projects", h.listProjects)
	route("GET /api/spaces/{space}/projects/{project}", h.getProject)
	route("GET /api/spaces/{space}/projects/{project}/variables", h.listVariables)
	route("POST /api/spaces/{space}/projects/{project}/variables", h.setVariable)
	route("GET /api/spaces/{space}/projects/{project}/releases", h.listReleases)
	route("POST /api/spaces/{space}/projects/{project}/releases", h.createRelease)
	route("GET /api/spaces/{space}/projects/{project}/releases/{version}", h.getRelease)
	h.releaseRoutes(route)

	route("POST /api/spaces/{space}/deployments", h.deploy)
	route("GET /api/spaces/{space}/deployments", h.listDeployments)
	route("GET /api/spaces/{space}/tasks", h.listTasks)
	route("GET /api/spaces/{space}/tasks/{id}", h.getTask)
	route("GET /api/spaces/{space}/tasks/{id}/log", h.taskLog)
	route("POST /api/spaces/{space}/tasks/{id}/cancel", h.cancelTask)
	route("GET /api/spaces/{space}/audit", h.listAudit)
	h.trustRoutes(route)
	h.bundleRoutes(route)
	h.deliveryRoutes(route)
	h.receiptRoutes(route)
	h.dashboardRoutes(route)
	h.packageRoutes(route)
	h.userRoutes(route)

	mux.Handle("/api/", h.authenticated(func(w http.ResponseWriter, r *http.Request) (any, error) {
		return nil, domain.NotFoundf("no API route %s %s", r.Method, r.URL.Path)
	}))
	return mux, patterns
}

type handler struct {
	s   Services
	log *slog.Logger
}

// created marks a response to a request that created something (201).
type created struct{ v any }

// raw is a response that is not JSON.
type raw struct {
	contentType string
	body        []byte
}

// authenticated resolves the bearer key to an actor, runs fn and renders
// its result or error.
func (h *handler) authenticated(fn func(w http.ResponseWriter, r *http.Request) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			h.writeError(w, r, domain.Errorf(domain.KindUnauthorized, "missing API key: send `Authorization: Bearer <key>` (the CLI takes --api-key or FERRY_API_KEY)"))
			return
		}
		actor, err := h.s.Auth.Authenticate(r.Context(), strings.TrimSpace(key))
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if rec, ok := w.(*recorder); ok {
			rec.actor = actor.Name
		}
		transport.Authenticated(w, r, transport.DefaultLimits.Idle)
		r = r.WithContext(domain.WithActor(r.Context(), actor))
		out, err := fn(w, r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		status := http.StatusOK
		if c, ok := out.(created); ok {
			status, out = http.StatusCreated, c.v
		}
		if st, ok := out.(stream); ok {
			h.writeStream(w, r, status, st)
			return
		}
		if rw, ok := out.(raw); ok {
			w.Header().Set("Content-Type", rw.contentType)
			w.WriteHeader(status)
			w.Write(rw.body)
			return
		}
		writeJSON(w, status, out)
	})
}

var statusOf = map[domain.Kind]int{
	domain.KindInvalid:         http.StatusBadRequest,
	domain.KindNotFound:        http.StatusNotFound,
	domain.KindConflict:        http.StatusConflict,
	domain.KindForbidden:       http.StatusForbidden,
	domain.KindUnauthorized:    http.StatusUnauthorized,
	domain.KindUntrusted:       http.StatusForbidden,
	domain.KindTooManyRequests: http.StatusTooManyRequests,
	domain.KindUnavailable:     http.StatusServiceUnavailable,
}

// writeError is the one place errors become responses. Clients get the
// kind and a safe message; the log gets the cause of internal errors.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	kind := domain.KindOf(err)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		kind, err = domain.KindInvalid, domain.Invalidf("the request body is larger than %d bytes", mbe.Limit)
	}
	status, ok := statusOf[kind]
	if kind == domain.KindUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	if !ok {
		status = http.StatusInternalServerError
		h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, map[string]string{"error": domain.Message(err), "kind": string(kind)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// decode reads a JSON body into v, refusing unknown fields and huge bodies.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return domain.Invalidf("malformed JSON request body: %v", err)
	}
	return nil
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
}

func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, domain.Invalidf("%s %q is not a number", name, r.PathValue(name))
	}
	return id, nil
}

func queryBool(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, domain.Invalidf("query parameter %s=%q is not true or false", name, v)
	}
	return b, nil
}

func queryInt(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, domain.Invalidf("query parameter %s=%q is not a number", name, v)
	}
	return n, nil
}

// recorder remembers the status and actor of a response for the access log.
type recorder struct {
	http.ResponseWriter
	status int
	actor  string
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection: read deadlines
// (transport.Paced) are set through it.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (h *handler) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		h.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"actor", rec.actor, "ms", time.Since(start).Milliseconds())
	})
}

func (h *handler) health(w http.ResponseWriter, r *http.Request) {
	var out any = map[string]string{"status": "ok"}
	if h.s.Health != nil {
		out = h.s.Health(r.Context())
	}
	writeJSON(w, http.StatusOK, out)
}
