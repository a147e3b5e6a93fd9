package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	wire "github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/config"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/outbox"
	"github.com/ferrydeploy/ferry/internal/packages"
	"github.com/ferrydeploy/ferry/internal/release"
	"github.com/ferrydeploy/ferry/internal/secrets"
	"github.com/ferrydeploy/ferry/internal/services"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/store/sqlstore"
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
	for _, b := range (&handler{}).routes().bound {
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
	s, _, keys := newTestServices(t)
	srv := httptest.NewServer(Handler(s, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	return srv, keys
}

// newTestServices is the service set newTestAPI serves, its store, and API
// keys of its users by role.
func newTestServices(t *testing.T) (Services, store.Store, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	box, err := secrets.LoadOrCreateKey(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := domain.WithActor(context.Background(), domain.System)
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "ferry.db"), box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := func() time.Time { return time.Now().UTC() }
	s, err := services.New(st, packages.FoldersIn(dir), now, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Outbox = outbox.New(st, s.Bundles, s.Trust, nil, now, nil)
	cat := s.Catalog
	if _, err := s.Auth.Bootstrap(ctx, filepath.Join(dir, "admin.key"), ""); err != nil {
		t.Fatal(err)
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(cat.CreateSpace(ctx, "Default"))
	doc, err := config.Parse([]byte(`environments: [{name: Dev}]
lifecycles: [{name: L, phases: [{name: Dev, environments: [Dev]}]}]
projects: [{name: Shop, lifecycle: L, process: [{name: S, type: script, script: "true"}]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	must(cat.Apply(ctx, "Default", doc))
	must(s.Releases.Create(ctx, "Default", "Shop", release.CreateRequest{Version: "1.0.0"}))
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
	return s, st, keys
}
