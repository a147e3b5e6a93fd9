package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/client"
	"github.com/ferrydeploy/ferry/internal/sandbox"
	"github.com/ferrydeploy/ferry/internal/server"
)

// serverURL and apiKey are those of a real ferry server this package's
// tests and examples run against (TestMain), as an administrator.
var serverURL, apiKey string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ferry-client-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, stop := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Config{DataDir: dir, Listen: "127.0.0.1:0", Sandbox: sandbox.Off,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func(addr string) { ready <- addr }})
	}()
	defer func() { stop(); <-done }()
	select {
	case addr := <-ready:
		serverURL = "http://" + addr
	case err := <-done:
		fmt.Fprintln(os.Stderr, "start a server:", err)
		return 1
	}
	key, err := os.ReadFile(filepath.Join(dir, "admin.key"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	apiKey = strings.TrimSpace(string(key))
	return m.Run()
}

// TestEveryRouteHasAMethod: the client calls every route of the
// declaration but the servers' own transfer routes, by the route's name.
func TestEveryRouteHasAMethod(t *testing.T) {
	c := reflect.TypeFor[*client.Client]()
	for _, op := range api.Endpoints(api.Routes()) {
		if op.Permission == api.PermSignature || strings.HasPrefix(op.Name, "Transfer") {
			continue
		}
		if _, ok := c.MethodByName(op.Name); !ok {
			t.Errorf("route %s (%s) has no client method %s", op.Name, op.Pattern(), op.Name)
		}
	}
}

// TestErrorsKeepTheirKind: what the server answers comes back as an error
// of the same kind, for errors.Is and KindOf alike.
func TestErrorsKeepTheirKind(t *testing.T) {
	ctx := context.Background()
	admin := client.New(serverURL, apiKey)
	if _, err := admin.CreateUser(ctx, api.CreateUserRequest{Name: "nobody"}); err != nil {
		t.Fatal(err)
	}
	key, err := admin.CreateKey(ctx, "nobody", "test")
	if err != nil {
		t.Fatal(err)
	}
	nobody := client.New(serverURL, key.Key)
	if _, err := admin.CreateSpace(ctx, "Errors"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateEnvironment(ctx, "Errors", "Twice"); err != nil {
		t.Fatal(err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		name     string
		call     func() error
		sentinel error
		kind     api.Kind
		status   int
	}{
		{"not found", func() error { _, err := admin.GetProject(ctx, "Errors", "Nope"); return err }, client.ErrNotFound, api.KindNotFound, 404},
		{"not found, another", func() error { _, err := admin.GetTask(ctx, "Errors", 999); return err }, client.ErrNotFound, api.KindNotFound, 404},
		{"conflict", func() error { _, err := admin.CreateEnvironment(ctx, "Errors", "Twice"); return err }, client.ErrConflict, api.KindConflict, 409},
		{"invalid", func() error {
			_, err := admin.Apply(ctx, "Errors", []byte("environments: [{name: }"), api.ApplyOptions{})
			return err
		}, client.ErrInvalid, api.KindInvalid, 400},
		{"invalid, another", func() error {
			_, err := admin.ImportBundle(ctx, "Errors", []byte("{}"), api.BundleImportQuery{})
			return err
		}, client.ErrInvalid, api.KindInvalid, 400},
		{"not found, a space of others", func() error { _, err := nobody.CreateEnvironment(ctx, "Errors", "X"); return err }, client.ErrNotFound, api.KindNotFound, 404},
		{"forbidden", func() error { _, err := nobody.CreateSpace(ctx, "Mine"); return err }, client.ErrForbidden, api.KindForbidden, 403},
		{"forbidden, another", func() error { _, err := nobody.ListUsers(ctx); return err }, client.ErrForbidden, api.KindForbidden, 403},
		{"unauthorized", func() error { _, err := client.New(serverURL, "not-a-key").ListSpaces(ctx); return err }, client.ErrUnauthorized, api.KindUnauthorized, 401},
		{"unauthorized, no key", func() error { _, err := client.New(serverURL, "").ListSpaces(ctx); return err }, client.ErrUnauthorized, api.KindUnauthorized, 401},
		{"unreachable", func() error { _, err := client.New(closed.URL, apiKey).ListSpaces(ctx); return err }, client.ErrUnreachable, api.KindUnreachable, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, tc.sentinel) || client.KindOf(err) != tc.kind {
				t.Fatalf("got %v (kind %q), want kind %s", err, client.KindOf(err), tc.kind)
			}
			var e *client.Error
			if !errors.As(err, &e) || e.Status != tc.status || e.Message == "" {
				t.Fatalf("got %#v", e)
			}
			for _, other := range []error{client.ErrNotFound, client.ErrConflict, client.ErrInvalid, client.ErrForbidden, client.ErrUnreachable} {
				if other != tc.sentinel && errors.Is(err, other) {
					t.Errorf("%v is also %v", err, other)
				}
			}
		})
	}
}

// TestErrorsFromElsewhere: answers a ferry server gives under load, and
// answers that are not ferry's (a proxy), keep or get a kind by status.
func TestErrorsFromElsewhere(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   error
	}{
		{503, `{"error":"busy","kind":"unavailable"}`, client.ErrUnavailable},
		{429, `{"error":"slow down","kind":"too_many_requests"}`, client.ErrTooManyRequests},
		{500, `{"error":"internal error; see the server log","kind":"internal"}`, client.ErrInternal},
		{502, `<html>Bad Gateway</html>`, client.ErrUnavailable},
		{404, `not here`, client.ErrNotFound},
		{403, `{"error":"refused","kind":"untrusted"}`, client.ErrUntrusted},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.body)
		}))
		_, err := client.New(srv.URL, "k").ListSpaces(context.Background())
		srv.Close()
		var e *client.Error
		if !errors.Is(err, tc.want) || !errors.As(err, &e) || e.Status != tc.status || e.RetryAfter.Seconds() != 7 {
			t.Errorf("%d %s: got %#v", tc.status, tc.body, err)
		}
	}
}

// TestStreams: a package goes up and comes down as a stream, and a
// download cut off midway is an error, not a short file.
func TestStreams(t *testing.T) {
	ctx := context.Background()
	c := client.New(serverURL, apiKey)
	content := strings.Repeat("ferry package bytes\n", 50000)
	res, err := c.PushPackage(ctx, "Default", api.PushQuery{ID: "stream", Version: "1.0.0"}, strings.NewReader(content), int64(len(content)))
	if err != nil || res.Size != int64(len(content)) {
		t.Fatalf("push: %v %+v", err, res)
	}
	var got strings.Builder
	if err := c.DownloadPackage(ctx, "Default", "stream", "1.0.0", &got); err != nil || got.String() != content {
		t.Fatalf("download: %v (%d bytes)", err, got.Len())
	}
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte("only some"))
		conn, _, _ := http.NewResponseController(w).Hijack()
		conn.Close()
	}))
	defer cut.Close()
	err = client.New(cut.URL, "k").DownloadPackage(ctx, "Default", "x", "1", io.Discard)
	if !errors.Is(err, client.ErrUnreachable) {
		t.Errorf("a download cut off: %v", err)
	}
}

// TestRefusalsKeepRuleAndReferrers: a refusal's rule, and a refused
// delete's referrers, come back as fields of their own beside the
// unchanged message; other errors have neither.
func TestRefusalsKeepRuleAndReferrers(t *testing.T) {
	ctx := context.Background()
	admin := client.New(serverURL, apiKey)
	if _, err := admin.CreateSpace(ctx, "Refusals"); err != nil {
		t.Fatal(err)
	}
	doc := `environments: [{name: QA}]
lifecycles: [{name: Main, phases: [{name: QA, environments: [QA]}]}, {name: Spare, phases: [{name: Only, environments: [QA]}]}]
projects: [{name: Shop, lifecycle: Main, process: [{name: Run, type: script, script: "true"}]}]
`
	if _, err := admin.Apply(ctx, "Refusals", []byte(doc), api.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	refusal := func(err error) *client.Error {
		t.Helper()
		var e *client.Error
		if !errors.As(err, &e) {
			t.Fatalf("got %v, want an answer", err)
		}
		return e
	}
	_, err := admin.DeleteEnvironment(ctx, "Refusals", "QA")
	e := refusal(err)
	if e.Rule != "in-use" || !strings.HasPrefix(e.Message, "refused [in-use]: cannot delete") || len(e.Referrers) != 2 {
		t.Fatalf("delete QA: %#v", e)
	}
	for i, want := range []string{"Main", "Spare"} {
		if r := e.Referrers[i]; r.Kind != "lifecycle" || r.Name != want || !strings.Contains(e.Message, r.Name) {
			t.Errorf("referrer %d: %+v, want lifecycle %s", i, r, want)
		}
	}
	_, err = admin.DeleteLifecycle(ctx, "Refusals", "Main")
	if e := refusal(err); e.Rule != "in-use" || len(e.Referrers) != 1 || e.Referrers[0].Kind != "project" || e.Referrers[0].Name != "Shop" {
		t.Errorf("delete Main: %#v", e)
	}
	_, err = admin.ImportBundle(ctx, "Refusals", []byte("{}"), api.BundleImportQuery{})
	if e := refusal(err); e.Rule != "file-format" || len(e.Referrers) != 0 || !strings.Contains(e.Message, "[file-format]") {
		t.Errorf("import a non-bundle: %#v", e)
	}
	_, err = admin.GetProject(ctx, "Refusals", "Nope")
	if e := refusal(err); e.Rule != "" || e.Referrers != nil {
		t.Errorf("not found: %#v", e)
	}
}
