package api

import (
	"net/http"
	"testing"

	"github.com/ferrydeploy/ferry/internal/servicetest"
)

// TestLimitedCallersBeforeTheBody: a caller whose teams are limited to
// some projects or environments is refused before the body is read when
// the route's path names a project outside them, and is never refused
// there for a project or environment inside them (mayCall). A project
// contributor limited to Shop once had a malformed body to Blog's
// variables read (400) before the service refused the project (403).
func TestLimitedCallersBeforeTheBody(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Default")
	env.Apply("Default", `environments: [{name: Dev}, {name: Test}]
lifecycles: [{name: L, phases: [{name: Dev, environments: [Dev, Test]}]}]
projects:
  - {name: Shop, lifecycle: L, process: [{name: S, type: script, script: "true"}]}
  - {name: Blog, lifecycle: L, process: [{name: S, type: script, script: "true"}]}
`)
	env.Release("Default", "Shop", "1.0.0")
	keys := map[string]string{}
	for _, u := range []struct {
		user, role   string
		environments []string
	}{{"contrib", "project-contributor", nil}, {"dep", "deployer", nil}, {"admin-of-shop", "space-admin", nil}, {"dep-dev", "deployer", []string{"Dev"}}} {
		env.User(u.user, false)
		env.Grant("Default", u.user, u.role, []string{"Shop"}, u.environments)
		keys[u.user] = env.APIKey(u.user)
	}
	srv := serveAPI(t, env.Set)

	const sp = "/api/spaces/Default"
	for _, c := range []struct {
		caller, method, path, body string
		want                       int
	}{
		// Inside their grant: the body is read (a malformed one is a 400).
		{"contrib", http.MethodPost, sp + "/projects/Shop/variables", "{malformed", http.StatusBadRequest},
		{"contrib", http.MethodPost, sp + "/projects/Shop/releases", "{malformed", http.StatusBadRequest},
		{"contrib", http.MethodDelete, sp + "/projects/Shop/variables/X", "{malformed", http.StatusBadRequest},
		{"admin-of-shop", http.MethodPost, sp + "/projects/Shop/variables", "{malformed", http.StatusBadRequest},
		{"dep", http.MethodPost, sp + "/deployments", "{malformed", http.StatusBadRequest},
		{"dep-dev", http.MethodPost, sp + "/deployments", "{malformed", http.StatusBadRequest},
		{"dep-dev", http.MethodPost, sp + "/deployments", `{"project": "Shop", "version": "1.0.0", "environment": "Dev"}`, http.StatusCreated},
		{"contrib", http.MethodPost, sp + "/projects/Shop/variables", `{"name": "Greeting", "value": "hi"}`, http.StatusOK},
		// A project outside it: refused before the body is read.
		{"contrib", http.MethodPost, sp + "/projects/Blog/variables", "{malformed", http.StatusForbidden},
		{"contrib", http.MethodPost, sp + "/projects/Blog/releases", "{malformed", http.StatusForbidden},
		{"contrib", http.MethodDelete, sp + "/projects/Blog/variables/X", "{malformed", http.StatusForbidden},
		{"contrib", http.MethodPost, sp + "/projects/Nothing/variables", "{malformed", http.StatusForbidden},
		{"admin-of-shop", http.MethodPost, sp + "/projects/Blog/deliverers", "{malformed", http.StatusForbidden},
		// Outside the environment: the service refuses (the body names it).
		{"dep-dev", http.MethodPost, sp + "/deployments", `{"project": "Shop", "version": "1.0.0", "environment": "Test"}`, http.StatusForbidden},
	} {
		if got := callWith(t, srv.URL, c.method, c.path, keys[c.caller], c.body); got != c.want {
			t.Errorf("%s %s as %s with %s: %d, want %d", c.method, c.path, c.caller, c.body, got, c.want)
		}
	}
}
