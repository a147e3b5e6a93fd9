package e2e

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

const viewsYAML = `environments: [{name: Dev}]
remoteEnvironments: ["Ops Space: Live"]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Dev]}, {name: Ops, environments: ["Ops Space: Live"]}]}]
projects:
  - name: Shop
    lifecycle: Main
    process: [{name: Say, type: script, script: "echo shop-output"}]
  - name: Secret
    lifecycle: Main
    variables: [{name: Note, value: hush}]
    process: [{name: Say, type: script, script: "echo ` + secretOutput + `"}]
`

// secretOutput is what project Secret's deployment prints: nobody limited
// to project Shop may read it anywhere.
const secretOutput = "classified-output-7731"

// TestViewsFollowPermissions: a deployer limited to project Shop is refused
// project Secret, and so cannot read Secret's tasks, logs, deployments,
// bundles, deliveries or dashboard row either — through the CLI, the API or
// the pages; a space admin limited to Shop does not see Secret's audit
// events. Lists leave Secret's things out; reads of them are refused.
func TestViewsFollowPermissions(t *testing.T) {
	bin := ferrytest.Build(t)
	s := bin.StartServer(t, fastDelivery...)
	s.Must("space", "create", "Ops Space")
	dir := t.TempDir()
	defPEM, opsPEM := filepath.Join(dir, "default.pem"), filepath.Join(dir, "ops.pem")
	s.Must("space", "cert", "Default", "--out", defPEM)
	s.Must("space", "cert", "Ops Space", "--out", opsPEM)
	s.Must("remote-space", "add", "Ops Space", "--cert", opsPEM, "--trust", "promote,receipts", "--url", s.URL)
	s.Must("--space", "Ops Space", "remote-space", "add", "Default", "--cert", defPEM, "--trust", "releases", "--url", s.URL)
	s.Must("apply", "-f", ferrytest.WriteFile(t, "views.yaml", viewsYAML))
	for _, p := range []string{"Shop", "Secret"} {
		s.Must("release", "create", p, "--version", "1.0.0")
		s.Must("deploy", p, "1.0.0", "--to", "Dev", "--wait")
	}
	s.Must("promote", "Secret", "1.0.0", "--to", "Ops Space", "--wait", "--timeout", "30s")
	s.Must("promote", "Secret", "1.0.0", "--to", "Ops Space", "--out", filepath.Join(dir, "secret.bundle"))
	secretTask, shopTask := taskOf(t, s, "Secret"), taskOf(t, s, "Shop")
	var deliveries []struct {
		ID      int64  `json:"id"`
		Kind    string `json:"kind"`
		Summary string `json:"summary"`
	}
	decodeJSON(t, s.Must("remote-space", "deliveries", "-o", "json").Stdout, &deliveries)
	var secretDelivery int64
	for _, d := range deliveries {
		if d.Kind == "bundle" && strings.Contains(d.Summary, "Secret") {
			secretDelivery = d.ID
		}
	}
	if secretDelivery == 0 {
		t.Fatalf("no delivery of Secret's bundle: %+v", deliveries)
	}

	s.Must("user", "create", "bob")
	s.Must("team", "create", "Shop deployers", "--role", "deployer", "--user", "bob", "--project", "Shop")
	s.Must("user", "create", "sue")
	s.Must("team", "create", "Secret keepers", "--role", "viewer", "--user", "sue", "--project", "Secret")
	s.Must("user", "create", "sam")
	s.Must("team", "create", "Shop admins", "--role", "space-admin", "--user", "sam", "--project", "Shop")
	bobKey := strings.TrimSpace(s.Must("user", "apikey", "bob").Stdout)
	samKey := strings.TrimSpace(s.Must("user", "apikey", "sam").Stdout)
	as := func(key string, args ...string) ferrytest.Result {
		return bin.Run(t, "", append([]string{"--server", s.URL, "--api-key", key}, args...)...)
	}
	hidden := func(what, out string) {
		t.Helper()
		for _, bad := range []string{"Secret", secretOutput} {
			if strings.Contains(out, bad) {
				t.Errorf("%s shows %q to a user limited to Shop:\n%s", what, bad, out)
			}
		}
	}
	refused := func(what string, r ferrytest.Result) {
		t.Helper()
		if r.Code == 0 {
			t.Errorf("%s is allowed to a user limited to Shop:\n%s", what, r.Out())
			return
		}
		contains(t, r.Stderr, `permission "view"`, `project "Secret"`)
		notContains(t, r.Out(), secretOutput)
	}

	// CLI.
	for _, key := range []string{bobKey, samKey} {
		refused("project Secret's variables", as(key, "var", "list", "Secret"))
		refused("task log of Secret's deployment", as(key, "task", "log", fmt.Sprint(secretTask)))
		refused("following Secret's task", as(key, "task", "log", fmt.Sprint(secretTask), "--follow"))
		refused("cancelling Secret's task", as(key, "task", "cancel", fmt.Sprint(secretTask)))
		for _, args := range [][]string{
			{"task", "list"}, {"task", "list", "-o", "json"}, {"dashboard"}, {"dashboard", "-o", "json"},
			{"bundle", "list"}, {"bundle", "list", "-o", "json"}, {"remote-space", "deliveries"}, {"remote-space", "deliveries", "-o", "json"},
			{"project", "list"}, {"team", "list"}, {"team", "list", "-o", "json"},
		} {
			r := as(key, args...)
			if r.Code != 0 {
				t.Fatalf("%s: %s", strings.Join(args, " "), r.Out())
			}
			hidden(strings.Join(args, " "), r.Out())
		}
		contains(t, as(key, "task", "log", fmt.Sprint(shopTask)).Stdout, "shop-output")
		contains(t, as(key, "task", "list").Stdout, "Deploy Shop 1.0.0")
	}
	audit := as(samKey, "audit", "list")
	if audit.Code != 0 {
		t.Fatal(audit.Out())
	}
	hidden("sam's audit list", audit.Stdout)
	// sam administers Shop only: he may not grant himself (or anyone)
	// more, nor change a team of Secret.
	for _, args := range [][]string{
		{"team", "create", "Everything", "--role", "space-admin", "--user", "sam"},
		{"team", "create", "Peek", "--role", "viewer", "--user", "sam", "--project", "Secret"},
		{"team", "create", "Both", "--role", "viewer", "--user", "sam", "--project", "Shop", "--project", "Secret"},
		{"team", "update", "Secret keepers", "--user", "sam"},
		{"team", "update", "Shop deployers", "--project", "Secret"},
	} {
		r := as(samKey, args...)
		if r.Code == 0 {
			t.Errorf("sam may %s", strings.Join(args, " "))
		}
		contains(t, r.Stderr, "may not manage team")
	}
	if r := as(samKey, "team", "create", "Shop viewers", "--role", "viewer", "--user", "bob", "--project", "Shop"); r.Code != 0 {
		t.Errorf("sam may not manage a team of Shop: %s", r.Out())
	}
	refused("task log as sam after his refused grants", as(samKey, "task", "log", fmt.Sprint(secretTask)))
	export := as(samKey, "export")
	if export.Code != 0 {
		t.Fatal(export.Out())
	}
	hidden("sam's export", export.Stdout)
	contains(t, export.Stdout, "name: Shop")
	contains(t, audit.Stdout, "Deploy Shop 1.0.0 to Dev", "team.create")
	contains(t, s.Must("audit", "list").Stdout, "Deploy Secret 1.0.0 to Dev", "release.promote")

	// API and pages, with bob's and sam's keys as bearer.
	get := func(key, path string) (int, string) {
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, key := range []string{bobKey, samKey} {
		for _, path := range []string{
			fmt.Sprintf("/api/spaces/Default/tasks/%d", secretTask),
			fmt.Sprintf("/api/spaces/Default/tasks/%d/log", secretTask),
			fmt.Sprintf("/api/spaces/Default/deliveries/%d", secretDelivery),
			"/api/spaces/Default/deployments?project=Secret",
			"/api/spaces/Default/projects/Secret/releases",
			"/api/spaces/Default/dashboard?project=Secret",
			fmt.Sprintf("/spaces/Default/tasks/%d", secretTask),
			fmt.Sprintf("/spaces/Default/tasks/%d/log?after=0", secretTask),
			"/spaces/Default/projects/Secret",
			"/spaces/Default/projects/Secret/releases/1.0.0",
		} {
			code, body := get(key, path)
			if code != http.StatusForbidden && code != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 403 or 404\n%s", path, code, body)
			}
			if strings.Contains(body, secretOutput) {
				t.Errorf("GET %s shows Secret's log", path)
			}
		}
		for _, path := range []string{
			"/api/spaces/Default/tasks", "/api/spaces/Default/deployments", "/api/spaces/Default/deployments?environment=Dev",
			"/api/spaces/Default/bundles", "/api/spaces/Default/deliveries", "/api/spaces/Default/dashboard", "/api/spaces/Default/projects",
			"/spaces/Default", "/spaces/Default/tasks", "/spaces/Default/bundles", "/spaces/Default/remote-spaces", "/",
		} {
			code, body := get(key, path)
			if code != http.StatusOK {
				t.Errorf("GET %s: %d\n%s", path, code, body)
			}
			hidden("GET "+path, body)
		}
	}
	code, body := get(samKey, "/api/spaces/Default/audit")
	if code != 200 {
		t.Fatalf("sam's audit: %d %s", code, body)
	}
	hidden("sam's audit (API)", body)
	code, body = get(samKey, "/spaces/Default/audit")
	if code != 200 {
		t.Fatalf("sam's audit page: %d", code)
	}
	hidden("sam's audit page", body)

	// The administrator still sees everything.
	contains(t, s.Must("task", "list").Stdout, "Deploy Secret 1.0.0")
	contains(t, s.Must("task", "log", fmt.Sprint(secretTask)).Stdout, secretOutput)
}

// taskOf returns the id of the newest task deploying project.
func taskOf(t *testing.T, s *ferrytest.Server, project string) int64 {
	t.Helper()
	var tasks []struct {
		ID          int64  `json:"id"`
		Description string `json:"description"`
	}
	decodeJSON(t, s.Must("task", "list", "-o", "json").Stdout, &tasks)
	for _, tk := range tasks {
		if strings.HasPrefix(tk.Description, "Deploy "+project+" ") {
			return tk.ID
		}
	}
	t.Fatalf("no task of %s: %+v", project, tasks)
	return 0
}
