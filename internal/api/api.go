// Package api serves ferry's HTTP JSON API under /api. Every route is
// declared once, in the public package github.com/ferrydeploy/ferry/api
// (method, path, permission, request and response types); this package
// binds a handler to each declaration, and serves the same declaration as
// an OpenAPI 3 document at /api/openapi.json.
//
// Handlers are small: parse the request, call a service, render the
// result. Business rules and permission checks live in the services;
// errors become HTTP responses in exactly one place (writeError), with
// the status of their kind from wire.Kind.Status.
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

	wire "github.com/ferrydeploy/ferry/api"
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
	rt := h.routes()
	doc, err := openAPI(rt.bound)
	if err != nil {
		// The document is built from declarations fixed at compile time;
		// the tests build it too, so this cannot happen in a release.
		panic("build the OpenAPI document: " + err.Error())
	}
	h.doc = doc
	return h.logged(rt.mux)
}

type handler struct {
	s   Services
	log *slog.Logger
	doc []byte // the OpenAPI document, JSON
}

// authenticated resolves the bearer key to an actor and runs next as it.
func (h *handler) authenticated(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
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
		next(w, r.WithContext(domain.WithActor(r.Context(), actor)))
	}
}

// writeError is the one place errors become responses. Clients get the
// kind and a safe message as wire.ErrorBody; the log gets the cause of
// internal errors.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	kind := wire.Kind(domain.KindOf(err))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		kind, err = wire.KindInvalid, domain.Invalidf("the request body is larger than %d bytes", mbe.Limit)
	}
	if kind == wire.KindUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	if kind == wire.KindInternal {
		h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	body := wire.ErrorBody{Error: domain.Message(err), Kind: kind}
	var refs []domain.Referrer
	body.Rule, refs = domain.RefusalOf(err)
	for _, r := range refs {
		body.Referrers = append(body.Referrers, wire.Referrer(r))
	}
	writeJSON(w, kind.Status(), body)
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
		return 0, domain.Invalidf("%s %q is not a positive whole number", name, r.PathValue(name))
	}
	return id, nil
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
