package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// TestOperationsEndpoints: what a load balancer and Prometheus use — the
// liveness and readiness endpoints answer without a key; /metrics needs one
// and reports tasks and deployments by state with their run times, the
// queue, deliveries and HTTP requests.
func TestOperationsEndpoints(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := fetch(t, srv.URL+path, ""); code != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, code, body)
		}
	}
	if code, body := fetch(t, srv.URL+"/metrics", ""); code != http.StatusUnauthorized || !strings.Contains(body, "API key") {
		t.Errorf("GET /metrics without a key: %d %s", code, body)
	}
	if code, _ := fetch(t, srv.URL+"/metrics", "ferry_nope"); code != http.StatusUnauthorized {
		t.Errorf("GET /metrics with a bad key: %d", code)
	}

	srv.Must("env", "create", "Development")
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "shop.yaml", `
lifecycles:
  - name: Main
    phases: [{name: Dev, environments: [Development]}]
projects:
  - name: Shop
    lifecycle: Main
    process:
      - {name: Hello, type: script, script: echo hello}
`))
	srv.Must("release", "create", "Shop", "--version", "1.0.0")
	srv.Must("deploy", "Shop", "1.0.0", "--to", "Development", "--wait")

	// A user with no role at all may read the figures: they name nothing.
	srv.Must("user", "create", "prometheus")
	key := strings.TrimSpace(srv.Must("user", "apikey", "prometheus").Stdout)
	code, body := fetch(t, srv.URL+"/metrics", key)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	for _, want := range []string{
		`ferry_tasks{kind="deploy",state="Success"} 1`,
		`ferry_deployments{state="Success"} 1`,
		`ferry_deployment_duration_seconds_count{state="Success"} 1`,
		`ferry_task_duration_seconds_bucket{kind="deploy",state="Success",le="+Inf"} 1`,
		`ferry_task_queue_depth 0`,
		`ferry_store_up 1`,
		`ferry_http_requests_total{area="api",code="200",method="get"}`,
		`ferry_http_request_duration_seconds_bucket{area="operations",method="get"`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "Shop") || strings.Contains(body, "Development") {
		t.Error("/metrics names a project or an environment")
	}
}

// TestRestartSignsNoOneOut: web sessions are kept in the database.
func TestRestartSignsNoOneOut(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t, "FERRY_ADMIN_PASSWORD="+webPassword)
	c := webClient("127.0.0.1")
	if code, _ := webSignIn(t, c, srv.URL, "admin", webPassword, "/"); code != http.StatusSeeOther {
		t.Fatalf("sign in: %d", code)
	}
	srv.Stop()
	srv.Restart()
	resp, err := c.Get(srv.URL + "/spaces/Default")
	if err != nil {
		t.Fatal(err)
	}
	if page := readAll(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(page, "Sign out") {
		t.Errorf("after a restart: %d (want the page, still signed in)", resp.StatusCode)
	}
	// A password change still ends the session.
	if r := srv.RunInput("a brand new passphrase\n", "user", "passwd", "admin"); r.Code != 0 {
		t.Fatalf("passwd: %s", r.Out())
	}
	resp, err = c.Get(srv.URL + "/spaces/Default")
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after a password change: %d, want a redirect to sign in", resp.StatusCode)
	}
}

func fetch(t *testing.T, url, key string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
