package api

import (
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	wire "github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/domain"
)

// router binds handlers to the declared routes.
type router struct {
	h     *handler
	mux   *http.ServeMux
	bound []binding
}

// binding is a declared route and the types its handler really reads and
// answers, which TestContract holds to the declaration's.
type binding struct {
	op      wire.Operation
	in, out reflect.Type
}

// handlerFunc handles a request whose query or JSON body was read into in
// (see wire.Route); a handler of an upload reads r.Body itself.
type handlerFunc[In, Out any] func(w http.ResponseWriter, r *http.Request, in In) (Out, error)

// handle binds fn to route: it authenticates (unless the route needs no
// key), reads In, calls fn and writes its answer or error.
func handle[In, Out any](rt *router, route wire.Endpoint, fn handlerFunc[In, Out]) {
	op := route.Operation()
	rt.bound = append(rt.bound, binding{op: op, in: reflect.TypeFor[In](), out: reflect.TypeFor[Out]()})
	h := rt.h
	serve := func(w http.ResponseWriter, r *http.Request) {
		var in In
		err := h.mayCall(r, op)
		if err == nil {
			err = h.read(w, r, op, &in)
		}
		var out Out
		if err == nil {
			out, err = fn(w, r, in)
		}
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		h.answer(w, r, op, out)
	}
	if op.Permission.Authenticated() {
		rt.mux.HandleFunc(op.Pattern(), h.authenticated(serve))
		return
	}
	rt.mux.HandleFunc(op.Pattern(), serve)
}

// mayCall refuses, before a request's body is read, a caller who holds
// the route's permission nowhere: a system administrator's route, another
// user's (wire.PermSelf), or a space permission the caller has in no
// environment of the project the path names (of any project when it
// names none; access.Service.Check; a non-member is told the space does
// not exist). Such a caller learns that first, not that the body is
// malformed, and the server reads nothing more it sends. The service
// checks again, for the project and environment the request names.
// Routes without a body are left to the service alone.
func (h *handler) mayCall(r *http.Request, op wire.Operation) error {
	if !op.JSONBody() && op.Upload == "" {
		return nil
	}
	switch op.Permission {
	case wire.PermAdmin:
		return access.Admin(r.Context(), doing(op))
	case wire.PermSelf:
		if a, _ := domain.ActorFrom(r.Context()); a.Name != r.PathValue("name") {
			return access.Admin(r.Context(), doing(op)+" for another user")
		}
	case wire.PermView, wire.PermEditProject, wire.PermCreateRelease, wire.PermDeploy, wire.PermPromote, wire.PermAdministerSpace:
		if space := r.PathValue("space"); space != "" {
			return h.s.Teams.Check(r.Context(), space, domain.Permission(op.Permission), r.PathValue("project"), "")
		}
	}
	return nil
}

// doing is what a route does, for a refusal: its summary up to its first
// aside, starting in lower case ("Create a user" → "create a user").
func doing(op wire.Operation) string {
	what := op.Summary
	for _, sep := range []string{" (", ";", ":"} {
		what, _, _ = strings.Cut(what, sep)
	}
	if what == "" {
		return "call " + op.Pattern()
	}
	return strings.ToLower(what[:1]) + what[1:]
}

// read reads what a request sends into in: its JSON body, or its query
// parameters when it has none.
func (h *handler) read(w http.ResponseWriter, r *http.Request, op wire.Operation, in any) error {
	if op.JSONBody() {
		return decode(w, r, in)
	}
	return readQuery(r, in)
}

// answer writes a handler's result with the route's status.
func (h *handler) answer(w http.ResponseWriter, r *http.Request, op wire.Operation, out any) {
	status := op.Succeeded()
	if rp, ok := out.(replier); ok {
		var s int
		var f *file
		out, s, f = rp.unwrap()
		if s != 0 {
			status = s
		}
		if f != nil {
			out = *f
		}
	}
	if f, ok := out.(file); ok {
		if f.contentType == "" {
			f.contentType = op.Download
		}
		h.writeFile(w, r, status, f)
		return
	}
	writeJSON(w, status, out)
}

// file is the answer of a route whose answer is a file (wire.File): bytes,
// or, for bodies too large to hold in memory, a function that writes them.
type file struct {
	contentType string // "" for the route's Download type
	body        []byte
	write       func(w io.Writer) error
}

// writeFile writes a file. Headers set before are sent; an error after the
// first byte of a streamed file can only be logged (the client sees a
// truncated body, which every ferry file format detects, and the
// connection is broken off).
func (h *handler) writeFile(w http.ResponseWriter, r *http.Request, status int, f file) {
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if f.write == nil {
		w.Write(f.body)
		return
	}
	if err := f.write(w); err != nil {
		h.log.Error("streamed response failed", "method", r.Method, "path", r.URL.Path, "err", err)
		// Break the connection so the client sees an error, not a
		// complete-looking response that ends early.
		panic(http.ErrAbortHandler)
	}
}

// reply is an answer that is not simply Out with the route's status: a
// route with another documented answer (wire.Op.Also) returns one.
type reply[T any] struct {
	v      T
	status int   // 0: the route's
	file   *file // answered instead of v
}

type replier interface {
	unwrap() (v any, status int, f *file)
}

func (r reply[T]) unwrap() (any, int, *file) { return r.v, r.status, r.file }

// replyOf is the type a reply answers as JSON, for TestContract.
func (r reply[T]) replyOf() reflect.Type { return reflect.TypeFor[T]() }

// readQuery sets the fields of *in tagged `query:"name"` from the query
// string; a struct without such fields (wire.None) reads nothing.
func readQuery(r *http.Request, in any) error {
	v := reflect.ValueOf(in).Elem()
	if v.Kind() != reflect.Struct {
		return nil
	}
	q := r.URL.Query()
	for i := range v.NumField() {
		name := v.Type().Field(i).Tag.Get("query")
		s := q.Get(name)
		if name == "" || s == "" {
			continue
		}
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(s)
		case reflect.Bool:
			b, err := strconv.ParseBool(s)
			if err != nil {
				return domain.Invalidf("query parameter %s=%q is not true or false", name, s)
			}
			f.SetBool(b)
		case reflect.Int, reflect.Int64:
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return domain.Invalidf("query parameter %s=%q is not a number", name, s)
			}
			f.SetInt(n)
		}
	}
	return nil
}
