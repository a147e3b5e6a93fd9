// Package web serves ferry's pages for people: server-rendered HTML
// (html/template, assets embedded with go:embed, no build step) that calls
// the same services as the JSON API, so every business rule and permission
// check is the services' (internal/access), not the pages'. It signs people
// in with a password and a session cookie, or takes the API's bearer key,
// and protects every form against cross-site request forgery.
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	wire "github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/services"
	"github.com/ferrydeploy/ferry/internal/transport"
)

// Services are what the pages call: the same set the API calls.
type Services = services.Set

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Handler serves the pages. Mount it at "/" beside the API.
type Handler struct {
	s        Services
	log      *slog.Logger
	now      func() time.Time
	sessions *sessions
	stash    *stash
	pages    map[string]*template.Template
	mux      *http.ServeMux
}

// New returns the pages' handler.
func New(s Services, log *slog.Logger) *Handler {
	now := func() time.Time { return time.Now().UTC() }
	h := &Handler{
		s:        s,
		log:      log,
		now:      now,
		sessions: newSessions(),
		stash:    newStash(now),
	}
	h.pages = parsePages(h.funcs())
	h.mux = h.routes()
	return h
}

func (h *Handler) routes() *http.ServeMux {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	mux.HandleFunc("GET /signin", h.signInPage)
	mux.HandleFunc("POST /signin", h.signIn)

	page := func(pattern string, fn pageFunc) { mux.Handle(pattern, h.authenticated(fn)) }
	page("POST /signout", h.signOut)
	page("GET /{$}", h.home)
	page("POST /spaces", h.createSpace)
	page("GET /audit", h.serverAudit)
	page("GET /spaces/{space}", h.dashboard)
	page("GET /spaces/{space}/apply", h.applyPage)
	page("POST /spaces/{space}/apply", h.apply)
	page("GET /spaces/{space}/projects/{project}", h.project)
	page("POST /spaces/{space}/projects/{project}/releases", h.createRelease)
	page("POST /spaces/{space}/projects/{project}/deploy", h.deploy)
	page("POST /spaces/{space}/projects/{project}/promote", h.promote)
	page("POST /spaces/{space}/projects/{project}/values", h.setValues)
	page("GET /spaces/{space}/projects/{project}/releases/{version}", h.release)
	page("GET /spaces/{space}/projects/{project}/compare", h.compare)
	page("POST /spaces/{space}/projects/{project}/delete", h.deleteProject)
	page("POST /spaces/{space}/projects/{project}/releases/{version}/delete", h.deleteRelease)
	page("POST /spaces/{space}/delete", h.deleteThing)
	page("GET /spaces/{space}/tasks", h.tasks)
	page("GET /spaces/{space}/tasks/{id}", h.task)
	page("GET /spaces/{space}/tasks/{id}/log", h.taskLog)
	page("POST /spaces/{space}/tasks/{id}/cancel", h.cancelTask)
	page("POST /spaces/{space}/tasks/{id}/approve", h.decideTask(true))
	page("POST /spaces/{space}/tasks/{id}/abort", h.decideTask(false))
	page("GET /spaces/{space}/bundles", h.bundles)
	page("POST /spaces/{space}/bundles/preview", h.previewBundle)
	page("POST /spaces/{space}/bundles/import", h.importBundle)
	page("POST /spaces/{space}/bundles/pending", h.importPending)
	page("GET /spaces/{space}/remote-spaces", h.remoteSpaces)
	page("POST /spaces/{space}/remote-spaces", h.addRemoteSpace)
	page("POST /spaces/{space}/remote-spaces/{name}/update", h.updateRemoteSpace)
	page("POST /spaces/{space}/remote-spaces/{name}/retry", h.retryRemoteSpace)
	page("POST /spaces/{space}/remote-spaces/{name}/revoke", h.revokeRemoteSpace)
	page("POST /spaces/{space}/receipts/export", h.exportReceipts)
	page("POST /spaces/{space}/receipts/import", h.importReceipts)
	page("GET /spaces/{space}/certificate", h.certificate)
	page("GET /spaces/{space}/audit", h.spaceAudit)
	page("GET /spaces/{space}/infrastructure", h.infrastructure)
	page("GET /spaces/{space}/tenants", h.tenants)
	page("GET /spaces/{space}/tenants/{tenant}", h.tenant)
	page("GET /spaces/{space}/projects/{project}/tenants", h.tenantDashboard)
	page("POST /spaces/{space}/targets", h.addTarget)
	page("POST /spaces/{space}/targets/{target}/{action}", h.targetAction)
	page("/", func(w http.ResponseWriter, r *http.Request) error {
		return domain.NotFoundf("there is no page at %s", r.URL.Path)
	})
	return mux
}

// ServeHTTP adds the headers every answer carries and routes the request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	h.mux.ServeHTTP(w, r)
}

func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// pageFunc renders a page or returns an error for renderError.
type pageFunc func(w http.ResponseWriter, r *http.Request) error

// authenticated finds the actor — from a bearer API key or the session
// cookie — and puts it in the context as the API does; anonymous visitors
// are sent to the sign-in page. Every POST must carry the CSRF token and
// come from this site.
func (h *Handler) authenticated(fn pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := h.visitor(r)
		if err != nil {
			h.renderError(w, r, err)
			return
		}
		if v == nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		transport.Authenticated(w, r, transport.DefaultLimits.Idle)
		ctx := domain.WithActor(r.Context(), v.actor)
		ctx = context.WithValue(ctx, visitorKey{}, v)
		r = r.WithContext(ctx)
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
			if err := checkCSRF(r, v); err != nil {
				h.renderError(w, r, err)
				return
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		if err := fn(w, r); err != nil {
			h.renderError(w, r, err)
		}
	})
}

type visitorKey struct{}

// visitor is who is looking at a page, and how they signed in.
type visitor struct {
	actor   domain.Actor
	csrf    string
	bearer  bool
	session string // the session's id; "" for bearer keys
}

func visitorFrom(ctx context.Context) *visitor {
	v, _ := ctx.Value(visitorKey{}).(*visitor)
	return v
}

// titleOf heads the error page of each kind; its status comes from the
// one table (wire.Kind.Status), as the API's does.
var titleOf = map[domain.Kind]string{
	domain.KindInvalid:         "That did not work",
	domain.KindNotFound:        "Not found",
	domain.KindConflict:        "That clashes with what is there",
	domain.KindForbidden:       "You may not do that",
	domain.KindUnauthorized:    "Sign in again",
	domain.KindUntrusted:       "Not trusted",
	domain.KindTooManyRequests: "Too many attempts",
	domain.KindUnavailable:     "Busy: try again in a moment",
}

// renderError is the one place errors become pages. People get the kind's
// title and the service's safe message (a refusal names the missing
// permission); the log gets the cause of internal errors.
func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, err error) {
	kind := domain.KindOf(err)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		kind, err = domain.KindInvalid, domain.Invalidf("the upload is larger than %d bytes", mbe.Limit)
	}
	status, title := wire.Kind(kind).Status(), titleOf[kind]
	if kind == domain.KindUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	if title == "" {
		title = "Something went wrong"
		h.log.Error("page failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	h.render(w, r, status, "error", errorPage{Title: title, Status: status, Kind: string(kind), Message: domain.Message(err)})
}

type errorPage struct {
	Title   string
	Status  int
	Kind    string
	Message string
}

// layout is what every page template gets: the page's own data and what
// the frame around it needs.
type layout struct {
	Title   string
	User    string
	CSRF    string
	Space   string
	Nav     string
	Flash   string
	Page    any
	Session bool
	// MayAudit and MayConfigure: the space's tabs that lead to what the
	// visitor may not do are not shown (the services refuse them anyway).
	MayAudit, MayConfigure bool
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := h.pages[name]
	if !ok {
		panic("web: no page template " + name)
	}
	l := layout{Page: data, Space: r.PathValue("space"), Nav: name}
	if titled, ok := data.(interface{ title() string }); ok {
		l.Title = titled.title()
	}
	if v := visitorFrom(r.Context()); v != nil {
		l.User, l.CSRF, l.Session = v.actor.Name, v.csrf, !v.bearer
		if l.Space != "" {
			l.MayAudit, l.MayConfigure = h.mayAudit(r.Context(), l.Space), h.mayApply(r.Context(), l.Space)
		}
		if v.session != "" {
			flash, err := h.s.Auth.PopFlash(r.Context(), v.session)
			if err != nil {
				h.log.Error("read the session's message", "err", err)
			}
			l.Flash = flash
		}
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", l); err != nil {
		h.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error; see the server log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprint(w, b.String())
}

func (e errorPage) title() string { return e.Title }

// redirect answers a form with a redirect (303) to path; done, if set, is
// shown once on the next page of a signed-in session. (It is kept in the
// session rather than the URL, so nobody can put words on a page by link.)
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, path, done string) error {
	if v := visitorFrom(r.Context()); v != nil && v.session != "" && done != "" {
		if err := h.s.Auth.SetFlash(r.Context(), v.session, done); err != nil {
			return err
		}
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
	return nil
}

// mayAudit: the space's audit log is its administrators' (catalog.Audit).
func (h *Handler) mayAudit(ctx context.Context, space string) bool {
	return h.s.Teams.Allowed(ctx, space, domain.PermAdminSpace, "", "")
}

// mayApply: an apply changes projects (edit-project) or, for a space admin
// (whose role has edit-project too), the whole space; catalog.mayApply
// checks each part of the document.
func (h *Handler) mayApply(ctx context.Context, space string) bool {
	return h.s.Teams.Allowed(ctx, space, domain.PermEditProject, "", "")
}

// Paths of pages, built with every name escaped.
func spacePath(space string) string { return "/spaces/" + url.PathEscape(space) }
func projectPath(space, project string) string {
	return spacePath(space) + "/projects/" + url.PathEscape(project)
}
func releasePath(space, project, version string) string {
	return projectPath(space, project) + "/releases/" + url.PathEscape(version)
}
func taskPath(space string, id int64) string { return fmt.Sprintf("%s/tasks/%d", spacePath(space), id) }
