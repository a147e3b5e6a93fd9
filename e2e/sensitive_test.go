package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

const webYAML = `environments: [{name: Development}, {name: Test}]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Development]}, {name: Test, environments: [Test]}]}]
projects:
  - name: Web
    lifecycle: Main
    templates:
      - {name: ConnectionString, type: sensitive, required: true}
      - {name: ApiKey, type: sensitive}
    variables:
      - {name: Token, value: first-T0ken-value, sensitive: true}
    process:
      - name: Use
        type: script
        script: |
          echo "conn=#{ConnectionString} token=#{Token}"
          printf '%s' "#{ConnectionString}" | sha256sum | sed 's/ .*//; s/^/conn-sha=/'
`

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// apiGet fetches a path of srv with the admin's key.
func apiGet(t *testing.T, srv *ferrytest.Server, path string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+srv.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, b)
	}
	return string(b)
}

// noSecretAnywhere checks every place a value could show: CLI text and
// JSON, API JSON, the pages, and the data folder's files.
func noSecretAnywhere(t *testing.T, srv *ferrytest.Server, project, version string, secrets ...string) {
	t.Helper()
	var outs []string
	for _, args := range [][]string{
		{"var", "list", project}, {"var", "list", project, "-o", "json"},
		{"release", "show", project, version}, {"release", "show", project, version, "-o", "json"},
		{"release", "diff", project, version, "current"}, {"release", "diff", project, version, "current", "-o", "json"},
		{"release", "list", project, "-o", "json"}, {"project", "list", "-o", "json"}, {"export"},
		{"task", "list", "-o", "json"}, {"audit", "list", "-o", "json"},
	} {
		outs = append(outs, strings.Join(args, " ")+": "+srv.Must(args...).Out())
	}
	p := "/spaces/Default/projects/" + project
	for _, path := range []string{
		"/api" + p, "/api" + p + "/variables", "/api" + p + "/releases", "/api" + p + "/releases/" + version,
		"/api" + p + "/releases/" + version + "/detail", "/api" + p + "/diff?from=" + version + "&to=current",
		p, p + "/releases/" + version, p + "/compare?from=" + version + "&to=current", "/spaces/Default", "/spaces/Default/audit",
	} {
		outs = append(outs, path+": "+apiGet(t, srv, path))
	}
	for _, out := range outs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("a sensitive value shows in %s", out)
			}
		}
	}
	for _, s := range secrets {
		assertNotInFiles(t, srv.Data, s)
	}
}

// TestSensitiveTemplateValues: a value of a `type: sensitive` template is
// sensitive however it is set — var set without --sensitive (whatever the
// name's case), apply — and an existing secret stays one when set again
// without --sensitive. No value shows on any page, API answer, CLI output
// or in the database; deployments get it and mask it; the refusal for a
// missing value suggests the safe command.
func TestSensitiveTemplateValues(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "web.yaml", webYAML))
	const dev, test, key, token = "Server=dev;Password=S3cret-dev-91", "Server=test;Password=S3cret-test-92", "api-K3y-93", "second-T0ken-94"

	out := srv.Must("var", "set", "Web", "ConnectionString", dev, "--env", "Development").Stdout
	contains(t, out, "as a sensitive value", "ConnectionString is a template of type sensitive")
	srv.Must("var", "set", "Web", "apikey", key, "--env", "Development") // names are case-insensitive
	contains(t, srv.Must("var", "set", "Web", "Token", token).Stdout, "Token already has sensitive values")
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "more.yaml", `projects:
  - name: Web
    lifecycle: Main
    variables:
      - {name: ConnectionString, value: "`+test+`", environments: [Test]}
`))
	var vars struct {
		Variables []struct {
			Name      string `json:"name"`
			Sensitive bool   `json:"sensitive"`
			IsSet     bool   `json:"isSet"`
		} `json:"variables"`
	}
	decodeJSON(t, srv.Must("var", "list", "Web", "-o", "json").Stdout, &vars)
	if len(vars.Variables) != 4 {
		t.Errorf("var list: %+v", vars.Variables)
	}
	for _, v := range vars.Variables {
		if !v.Sensitive || !v.IsSet {
			t.Errorf("%s is not a set sensitive value: %+v", v.Name, v)
		}
	}
	contains(t, srv.Must("var", "list", "Web").Stdout, "<sensitive, set>")

	srv.Must("release", "create", "Web", "--version", "1.0.0")
	r := srv.Must("deploy", "Web", "1.0.0", "--to", "Development", "--wait")
	contains(t, r.Stdout, "conn=*** token=***", "conn-sha="+sha(dev))
	r = srv.Must("deploy", "Web", "1.0.0", "--to", "Test", "--wait")
	contains(t, r.Stdout, "conn-sha="+sha(test))
	noSecretAnywhere(t, srv, "Web", "1.0.0", dev, test, key, token, "first-T0ken-value")

	// A missing value: the refusal suggests setting it as a secret.
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "staging.yaml", `environments: [{name: Staging}]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Development, Staging]}, {name: Test, environments: [Test]}]}]
`))
	r = srv.Fail("deploy", "Web", "1.0.0", "--to", "Staging")
	contains(t, r.Stderr, "ConnectionString", `"Staging"`, "ferry var set Web ConnectionString - --env Staging --sensitive")
	srv.RunInput("Server=staging;Password=S3cret-stg-95\n", "var", "set", "Web", "ConnectionString", "-", "--env", "Staging", "--sensitive")
	contains(t, srv.Must("deploy", "Web", "1.0.0", "--to", "Staging", "--wait").Stdout, "conn-sha="+sha("Server=staging;Password=S3cret-stg-95"))
	r = srv.Fail("var", "set", "Web", "Token", "")
	contains(t, r.Stderr, "empty")
}

// beforeSealedTemplates is a commit from before sensitive templates' values
// were sealed (what previousRelease was until receipts' schema 3).
const beforeSealedTemplates = "4a93486"

// TestUpgradeSealsTemplateValues upgrades a real data folder written by the
// version before this change (built from its commit), in which `var set`
// without --sensitive stored a sensitive template's value in plain text,
// froze it into a release and let a script print it: after the upgrade the
// database holds it nowhere, the log shows it masked, and deployments still
// get it.
func TestUpgradeSealsTemplateValues(t *testing.T) {
	old := ferrytest.BuildAt(t, beforeSealedTemplates)
	bin := ferrytest.Build(t)
	srv := old.StartServer(t)
	const dev = "Server=dev;Password=0ld-plain-S3cret"
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "web.yaml", webYAML))
	srv.Must("var", "set", "Web", "ConnectionString", dev, "--env", "Development")
	srv.Must("release", "create", "Web", "--version", "1.0.0")
	contains(t, srv.Must("deploy", "Web", "1.0.0", "--to", "Development", "--wait").Stdout, "conn="+dev)
	for i := range 3 { // rewrites leave old row versions in the file's free space
		srv.Must("var", "set", "Web", "Banner", strings.Repeat("b", 3000*(i+1)))
	}
	db, err := os.ReadFile(filepath.Join(srv.Data, "ferry.db"))
	wal, _ := os.ReadFile(filepath.Join(srv.Data, "ferry.db-wal"))
	if err != nil || !strings.Contains(string(db)+string(wal), dev) {
		t.Fatalf("the old version did not store the value in plain text (%v): the test proves nothing", err)
	}

	srv.Upgrade(bin)
	assertNotInFiles(t, srv.Data, dev)
	assertNotInFiles(t, srv.Data, "0ld-plain-S3cret")
	contains(t, srv.Must("task", "log", "1").Stdout, "conn=*** token=***")
	notContains(t, srv.Must("task", "log", "1").Stdout, "0ld-plain")
	noSecretAnywhere(t, srv, "Web", "1.0.0", dev)
	contains(t, srv.Must("deploy", "Web", "1.0.0", "--to", "Development", "--wait").Stdout, "conn=***", "conn-sha="+sha(dev))
	srv.Stop()
	srv.Restart() // the data migration ran once; a restart changes nothing
	contains(t, srv.Must("deploy", "Web", "1.0.0", "--to", "Development", "--wait").Stdout, "conn-sha="+sha(dev))
}
