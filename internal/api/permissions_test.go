package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	wire "github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Who may call each route is part of its declaration (wire.Op.Permission):
// a permission in the Default space, "admin" (system administrators),
// "user" (anyone signed in, such as for their own spaces list), or "self"
// (the user named in the path, or an administrator — the test names
// another user, so only admins pass). TestEveryRouteChecksPermissions
// calls every authenticated route as every role and fails when a service
// forgets the check the declaration promises.

// callers are one user per role in the Default space, plus an outsider
// with no role and a system administrator.
var callers = []string{"outsider", "viewer", "deployer", "project-contributor", "space-admin", "sysadmin"}

func allowed(caller string, req wire.Permission) bool {
	switch {
	case caller == "sysadmin":
		return true
	case req == wire.PermUser:
		return true
	case req == wire.PermAdmin || req == wire.PermSelf:
		return false
	case caller == "outsider":
		return false
	}
	return slices.Contains(domain.Roles[caller], domain.Permission(req))
}

func TestEveryRouteChecksPermissions(t *testing.T) {
	srv, keys := newTestAPI(t)
	// Deletes run last, and deleting the space last of all: what they
	// remove the other routes need.
	bound := (&handler{}).routes().bound
	last := func(b binding) int {
		switch {
		case b.op.Pattern() == "DELETE /api/spaces/{space}":
			return 2
		case b.op.Method == http.MethodDelete:
			return 1
		}
		return 0
	}
	slices.SortStableFunc(bound, func(a, b binding) int { return last(a) - last(b) })
	for _, b := range bound {
		req := b.op.Permission
		if !req.Authenticated() {
			continue
		}
		p := b.op.Pattern()
		method, path, _ := strings.Cut(p, " ")
		path = strings.NewReplacer("{space}", "Default", "{project}", "Shop", "{version}", "1.0.0",
			"{id}", "1", "{package}", "web", "{name}", "nobody-else").Replace(path)
		if strings.Contains(p, "/users/{name}") {
			path = strings.Replace(path, "nobody-else", "admin", 1)
		}
		for _, caller := range callers {
			status := call(t, srv.URL, method, path, keys[caller])
			want := allowed(caller, req)
			// A caller with no role in the space is told it does not
			// exist (TestNonMembersCannotTellWhetherASpaceExists).
			refused := http.StatusForbidden
			if caller == "outsider" && inSpace(b.op.Op, req) {
				refused = http.StatusNotFound
			}
			switch {
			case status == http.StatusUnauthorized:
				t.Errorf("%s as %s: 401", p, caller)
			case want && status == refused:
				t.Errorf("%s as %s: refused (%d), but role table allows %q", p, caller, status, req)
			case !want && status != refused:
				t.Errorf("%s as %s: answered %d, but role table requires %q (want %d)", p, caller, status, req, refused)
			}
			// Refused before its body is read: a malformed one changes
			// nothing (it would be a 400 if it were read first).
			if method != http.MethodGet && !want {
				if status := callWith(t, srv.URL, method, path, keys[caller], "{malformed"); status != refused {
					t.Errorf("%s as %s with a malformed body: %d, want %d before the body is read", p, caller, status, refused)
				}
			}
		}
	}
}

// inSpace reports whether op acts in the space its path names and is
// allowed by a role there (not only to administrators or the user named).
func inSpace(op wire.Op, req wire.Permission) bool {
	return strings.Contains(op.Path, "{space}") && req != wire.PermAdmin && req != wire.PermSelf && req != wire.PermUser
}

func call(t *testing.T, base, method, path, key string) int {
	t.Helper()
	return callWith(t, base, method, path, key, "{}")
}

// callWith calls a route with body (none for GET) and returns its status.
func callWith(t *testing.T, base, method, path, key, text string) int {
	t.Helper()
	var body io.Reader
	if method != http.MethodGet {
		body = strings.NewReader(text)
	}
	req, _ := http.NewRequest(method, base+path, body)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// newTestAPI serves the API over a real SQLite store with a small space and
// one user per role.
func newTestAPI(t *testing.T) (*httptest.Server, map[string]string) {
	t.Helper()
	s, _, keys := newTestServices(t)
	return serveAPI(t, s), keys
}

// serveAPI serves the API of s over HTTP on loopback until t ends.
func serveAPI(t *testing.T, s Services) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(Handler(s, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	return srv
}

// newTestServices is the service set newTestAPI serves (the production set
// of servicetest, with opts), its store, and API keys of its users by role.
func newTestServices(t *testing.T, opts ...servicetest.Option) (Services, store.Store, map[string]string) {
	t.Helper()
	env := servicetest.New(t, opts...)
	s, ctx := env.Set, env.Ctx
	if _, err := s.Auth.Bootstrap(ctx, filepath.Join(env.Dir, "admin.key"), ""); err != nil {
		t.Fatal(err)
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	env.CreateSpace("Default")
	env.Apply("Default", `environments: [{name: Dev}]
lifecycles: [{name: L, phases: [{name: Dev, environments: [Dev]}]}]
projects: [{name: Shop, lifecycle: L, process: [{name: S, type: script, script: "true"}]}]
`)
	env.Release("Default", "Shop", "1.0.0")
	keys := map[string]string{}
	for _, c := range callers {
		must(s.Auth.CreateUser(ctx, c, c == "sysadmin"))
		if c != "outsider" && c != "sysadmin" {
			role := c
			must(s.Teams.Put(ctx, "Default", access.TeamRequest{Name: c + "s", Role: &role, Members: &[]string{c}}, true))
		}
		keys[c] = env.APIKey(c)
	}
	return s, env.Store, keys
}

// TestNonMembersCannotTellWhetherASpaceExists: every route of a space,
// asked by a caller with no role in it, answers exactly as it does for a
// space that does not exist — the same status and the same body but for
// the name — so nobody learns which spaces exist by asking. Before, an
// existing space answered 403 ("has no role in space") and a missing one
// 404. Routes for administrators only refuse both alike (403).
func TestNonMembersCannotTellWhetherASpaceExists(t *testing.T) {
	srv, keys := newTestAPI(t)
	if status, body := callBody(t, srv.URL, http.MethodPost, "/api/spaces", keys["sysadmin"], `{"name": "Other"}`); status != http.StatusCreated {
		t.Fatalf("create space Other: %d %s", status, body)
	}
	norm := func(body, space string) string { return strings.ReplaceAll(body, space, "SPACE") }
	for _, b := range (&handler{}).routes().bound {
		req := b.op.Permission
		if !req.Authenticated() || !strings.Contains(b.op.Path, "{space}") {
			continue
		}
		p := b.op.Pattern()
		method, path, _ := strings.Cut(p, " ")
		path = strings.NewReplacer("{project}", "Shop", "{version}", "1.0.0",
			"{id}", "1", "{package}", "web", "{name}", "Dev").Replace(path)
		// An outsider (no role anywhere) asks for Default; a viewer of
		// Default asks for Other. Each also asks for a space that is not.
		for caller, space := range map[string]string{"outsider": "Default", "viewer": "Other"} {
			status, body := callBody(t, srv.URL, method, strings.Replace(path, "{space}", space, 1), keys[caller], "{}")
			status2, body2 := callBody(t, srv.URL, method, strings.Replace(path, "{space}", "Nowhere", 1), keys[caller], "{}")
			if status != status2 || norm(body, space) != norm(body2, "Nowhere") {
				t.Errorf("%s as %s: space %s answers %d %s, a space that does not exist %d %s", p, caller, space, status, body, status2, body2)
			}
			if inSpace(b.op.Op, req) && (status != http.StatusNotFound || !strings.Contains(body, "(or you are not a member of it)")) {
				t.Errorf("%s as %s: %d %s, want 404 no space", p, caller, status, body)
			}
		}
	}
}

func callBody(t *testing.T, base, method, path, key, body string) (int, string) {
	t.Helper()
	var in io.Reader
	if method != http.MethodGet {
		in = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, base+path, in)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}
