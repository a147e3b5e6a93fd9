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

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/servicetest"
)

// requirement says who may call a route: a permission in the Default
// space, "admin" (system administrators), "user" (anyone signed in, such as
// for their own spaces list), or "self" (the user named in the path, or an
// administrator — the test names another user, so only admins pass).
//
// Every authenticated route must be listed: a new route without an entry
// here fails TestEveryRouteChecksPermissions, and so does a route whose
// service forgets its check.
var requirement = map[string]string{
	"GET /api/spaces":                                                      "user",
	"POST /api/spaces":                                                     "admin",
	"GET /api/spaces/{space}":                                              "view",
	"GET /api/audit":                                                       "admin",
	"GET /api/spaces/{space}/environments":                                 "view",
	"POST /api/spaces/{space}/environments":                                "administer-space",
	"GET /api/spaces/{space}/lifecycles":                                   "view",
	"POST /api/spaces/{space}/apply":                                       "view", // more by content: see catalog.mayApply
	"GET /api/spaces/{space}/export":                                       "administer-space",
	"GET /api/spaces/{space}/projects":                                     "view",
	"GET /api/spaces/{space}/projects/{project}":                           "view",
	"GET /api/spaces/{space}/projects/{project}/variables":                 "view",
	"POST /api/spaces/{space}/projects/{project}/variables":                "edit-project",
	"GET /api/spaces/{space}/projects/{project}/releases":                  "view",
	"POST /api/spaces/{space}/projects/{project}/releases":                 "create-release",
	"GET /api/spaces/{space}/projects/{project}/releases/{version}":        "view",
	"GET /api/spaces/{space}/projects/{project}/releases/{version}/detail": "view",
	"GET /api/spaces/{space}/projects/{project}/diff":                      "view",
	"POST /api/spaces/{space}/deployments":                                 "deploy",
	"GET /api/spaces/{space}/deployments":                                  "view",
	"GET /api/spaces/{space}/tasks":                                        "view",
	"GET /api/spaces/{space}/tasks/{id}":                                   "view",
	"GET /api/spaces/{space}/tasks/{id}/log":                               "view",
	"POST /api/spaces/{space}/tasks/{id}/cancel":                           "deploy",
	"GET /api/spaces/{space}/audit":                                        "administer-space",
	"GET /api/spaces/{space}/certificate":                                  "view",
	"GET /api/spaces/{space}/remote-spaces":                                "view",
	"POST /api/spaces/{space}/remote-spaces":                               "administer-space",
	"PATCH /api/spaces/{space}/remote-spaces/{name}":                       "administer-space",
	"POST /api/spaces/{space}/remote-spaces/{name}/revoke":                 "administer-space",
	"POST /api/spaces/{space}/promotions":                                  "promote",
	"GET /api/spaces/{space}/deliveries":                                   "view",
	"GET /api/spaces/{space}/deliveries/{id}":                              "view",
	"POST /api/spaces/{space}/remote-spaces/{name}/retry":                  "promote",
	"GET /api/spaces/{space}/bundles":                                      "view",
	"POST /api/spaces/{space}/bundles/inspect":                             "view",
	"POST /api/spaces/{space}/bundles/import":                              "administer-space",
	"GET /api/spaces/{space}/age-key":                                      "admin",
	"GET /api/spaces/{space}/projects/{project}/deliverers":                "view",
	"POST /api/spaces/{space}/projects/{project}/deliverers":               "administer-space",
	"POST /api/spaces/{space}/receipts/export":                             "deploy",
	"POST /api/spaces/{space}/receipts/import":                             "administer-space",
	"GET /api/spaces/{space}/dashboard":                                    "view",
	"POST /api/spaces/{space}/packages":                                    "create-release",
	"GET /api/spaces/{space}/packages":                                     "view",
	"GET /api/spaces/{space}/packages/{id}/{version}":                      "view",
	"GET /api/spaces/{space}/packages/{id}/{version}/file":                 "view",
	"POST /api/spaces/{space}/packages/inventory":                          "deploy",
	"POST /api/spaces/{space}/packages/export":                             "promote",
	"POST /api/spaces/{space}/packages/import":                             "administer-space",
	"GET /api/users":                                                       "admin",
	"POST /api/users":                                                      "admin",
	"POST /api/users/{name}/password":                                      "self",
	"GET /api/users/{name}/keys":                                           "self",
	"POST /api/users/{name}/keys":                                          "self",
	"POST /api/users/{name}/keys/{id}/revoke":                              "self",
	"GET /api/spaces/{space}/teams":                                        "view",
	"POST /api/spaces/{space}/teams":                                       "administer-space",
	"PATCH /api/spaces/{space}/teams/{name}":                               "administer-space",
}

// callers are one user per role in the Default space, plus an outsider
// with no role and a system administrator.
var callers = []string{"outsider", "viewer", "deployer", "project-contributor", "space-admin", "sysadmin"}

func allowed(caller, req string) bool {
	switch {
	case caller == "sysadmin":
		return true
	case req == "user":
		return true
	case req == "admin" || req == "self":
		return false
	case caller == "outsider":
		return false
	}
	return slices.Contains(domain.Roles[caller], domain.Permission(req))
}

func TestEveryRouteChecksPermissions(t *testing.T) {
	srv, keys := newTestAPI(t)
	_, patterns := (&handler{}).routes()
	for _, p := range patterns {
		req, ok := requirement[p]
		if !ok {
			t.Errorf("route %q has no entry in the permission table; add one (and a check in its service)", p)
			continue
		}
		method, path, _ := strings.Cut(p, " ")
		path = strings.NewReplacer("{space}", "Default", "{project}", "Shop", "{version}", "1.0.0",
			"{id}", "1", "{name}", "nobody-else").Replace(path)
		if strings.Contains(p, "/users/{name}") {
			path = strings.Replace(path, "nobody-else", "admin", 1)
		}
		for _, caller := range callers {
			status := call(t, srv.URL, method, path, keys[caller])
			want := allowed(caller, req)
			switch {
			case status == http.StatusUnauthorized:
				t.Errorf("%s as %s: 401", p, caller)
			case want && status == http.StatusForbidden:
				t.Errorf("%s as %s: refused (403), but role table allows %q", p, caller, req)
			case !want && status != http.StatusForbidden:
				t.Errorf("%s as %s: answered %d, but role table requires %q", p, caller, status, req)
			}
		}
	}
	for p := range requirement {
		if !slices.Contains(patterns, p) {
			t.Errorf("permission table lists %q, which is not a route", p)
		}
	}
}

func call(t *testing.T, base, method, path, key string) int {
	t.Helper()
	var body io.Reader
	if method != http.MethodGet {
		body = strings.NewReader("{}")
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
	env := servicetest.New(t)
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
		key, err := s.Auth.NewAPIKey(ctx, c, "test")
		if err != nil {
			t.Fatal(err)
		}
		keys[c] = key
	}
	srv := httptest.NewServer(Handler(s, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	return srv, keys
}
