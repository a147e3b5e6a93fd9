package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// TestVersionAndLogin: `ferry version` names the client and the server;
// `ferry login` saves a profile (0600) that later commands use with no
// flags, flags still win, and profiles can be listed, switched and
// removed.
func TestVersionAndLogin(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	r := srv.Must("version", "-o", "json")
	var v struct{ Client, Server, ServerError string }
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil || v.Client == "" || v.Server == "" || v.ServerError != "" {
		t.Errorf("version: %v %+v\n%s", err, v, r.Out())
	}
	if r := bin.Run(t, "", "--version", "--server", "http://127.0.0.1:1"); r.Code != 0 || !strings.Contains(r.Stdout, "client: ferry ") || !strings.Contains(r.Stdout, "not reachable") {
		t.Errorf("--version with no server: exit %d\n%s", r.Code, r.Out())
	}

	cfg := t.TempDir()
	env := []string{"XDG_CONFIG_HOME=" + cfg}
	srv.Must("space", "create", "Ops")
	run := func(args ...string) ferrytest.Result { return bin.RunEnv(t, env, "", args...) }
	// Without a scheme, a loopback address is http://.
	if r := run("login", "--server", strings.TrimPrefix(srv.URL, "http://"), "--api-key", srv.Key, "--space", "Ops"); r.Code != 0 {
		t.Fatalf("login: %s", r.Out())
	}
	if r := run("env", "create", "Live"); r.Code != 0 || !strings.Contains(r.Stdout, `"Ops"`) {
		t.Errorf("a command after login, with no flags: %s", r.Out())
	}
	if r := run("env", "list", "--space", "Default"); r.Code != 0 || strings.Contains(r.Stdout, "Live") {
		t.Errorf("--space does not win over the profile: %s", r.Out())
	}
	if r := run("login", "--profile", "broken", "--server", srv.URL, "--api-key", "ferry_nope"); r.Code != 5 {
		t.Errorf("login with a bad key: exit %d, want 5 (and nothing saved)\n%s", r.Code, r.Out())
	}
	r = run("profile", "list", "-o", "json")
	if strings.Contains(r.Stdout, srv.Key) || !strings.Contains(r.Stdout, `"current": true`) || strings.Contains(r.Stdout, "broken") {
		t.Errorf("profile list: %s", r.Out())
	}
	assertMode(t, filepath.Join(cfg, "ferry", "profiles.json"), 0o600)
	if r := run("profile", "use", "prdo"); r.Code != 4 || !strings.Contains(r.Stderr, "default") {
		t.Errorf("profile use of an unknown one: exit %d %s", r.Code, r.Out())
	}
	if r := run("logout"); r.Code != 0 {
		t.Fatalf("logout: %s", r.Out())
	}
	if r := run("env", "list"); r.Code != 5 {
		t.Errorf("after logout: exit %d, want 5 (no API key)\n%s", r.Code, r.Out())
	}
}

// TestConnectionMistakesExplained: http spoken to an HTTPS server, https
// to an HTTP one, a self-signed certificate, a URL that is not one — each
// says what happened and the command to run next.
func TestConnectionMistakesExplained(t *testing.T) {
	bin := ferrytest.Build(t)
	plain := bin.StartServer(t)
	secure := bin.StartServer(t, "FERRY_TLS_GENERATE=true")
	host := strings.TrimPrefix(secure.URL, "https://")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--server", "http://" + host}, []string{"speaks HTTPS", "--server https://" + host}},
		{[]string{"--server", host}, []string{"speaks HTTPS", "--server https://" + host}}, // no scheme: loopback is http://
		{[]string{"--server", strings.Replace(plain.URL, "http://", "https://", 1)}, []string{"speaks plain HTTP", "--server " + plain.URL}},
		{[]string{"--server", secure.URL}, []string{"self-signed", secure.TLSFingerprint, "ferry login --server " + secure.URL + " --server-fingerprint " + secure.TLSFingerprint}},
		{[]string{"--server", "https://localhost:" + strings.Split(host, ":")[1]}, []string{"self-signed", secure.TLSFingerprint}},
	} {
		r := bin.Run(t, "", append(tc.args, "--api-key", secure.Key, "env", "list")...)
		for _, w := range tc.want {
			if r.Code != 8 || !strings.Contains(r.Stderr, w) {
				t.Errorf("ferry %v env list: exit %d, want 8 and %q\n%s", tc.args, r.Code, w, r.Stderr)
			}
		}
	}
	for _, bad := range []string{"ftp://example.com", "http://", "https://user:pw@example.com"} {
		if r := bin.Run(t, "", "--server", bad, "env", "list"); r.Code != 2 || !strings.Contains(r.Stderr, "not a server URL") {
			t.Errorf("--server %s: exit %d\n%s", bad, r.Code, r.Stderr)
		}
	}
	// Pinned, it works.
	if r := bin.Run(t, "", "--server", secure.URL, "--server-fingerprint", secure.TLSFingerprint, "--api-key", secure.Key, "env", "list"); r.Code != 0 {
		t.Errorf("pinned: %s", r.Out())
	}
}

// TestNotFoundSuggests: a name that does not exist is answered with the
// names that do, and the closest asked about.
func TestNotFoundSuggests(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "s.yaml", `
environments: [{name: Development}, {name: Test}]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Development]}]}]
projects:
  - {name: Shop, lifecycle: Main, process: [{name: A, type: script, script: echo}]}
  - {name: Api, lifecycle: Main, process: [{name: A, type: script, script: echo}]}
`))
	srv.Must("release", "create", "Shop", "--version", "1.0.0")
	srv.Must("tenant", "create", "Acme")
	srv.Must("target", "add", "web-1", "--env", "Development", "--role", "web", "--polling", "--thumbprint", "AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"release", "list", "Shpo"}, `did you mean "Shop"? Known projects: Api, Shop`},
		{[]string{"release", "list", "shop"}, `did you mean "Shop"?`},
		{[]string{"release", "show", "Shop", "1.0"}, `did you mean "1.0.0"? Known releases: 1.0.0`},
		{[]string{"env", "list", "--space", "Defualt"}, `did you mean "Default"? Known spaces: Default`},
		{[]string{"remote-space", "retry", "Prod"}, `there are no remote spaces yet`},
		{[]string{"tenant", "show", "Acmee"}, `did you mean "Acme"? Known tenants: Acme`},
		{[]string{"target", "show", "web1"}, `did you mean "web-1"? Known targets: web-1`},
	} {
		r := srv.Run(tc.args...)
		if r.Code != 4 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("ferry %v: exit %d, want 4 and %s\n%s", tc.args, r.Code, tc.want, r.Stderr)
		}
	}
}

// TestCompletionOfNames: the shell completes the names that exist.
func TestCompletionOfNames(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "s.yaml", `
environments: [{name: Development}, {name: Test}]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Development]}]}]
projects:
  - {name: Shop, lifecycle: Main, process: [{name: A, type: script, script: echo}]}
  - {name: Api, lifecycle: Main, process: [{name: A, type: script, script: echo}]}
`))
	srv.Must("release", "create", "Shop", "--version", "1.0.0")
	srv.Must("release", "create", "Shop", "--version", "1.1.0")
	srv.Must("space", "create", "Ops")
	srv.Must("tenant", "create", "Acme")
	srv.Must("tenant", "create", "Globex")
	srv.Must("target", "add", "web-1", "--env", "Development", "--role", "web", "--polling", "--thumbprint", "AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB")
	for _, tc := range []struct {
		args []string
		want []string
		not  []string
	}{
		{[]string{"deploy", ""}, []string{"Shop", "Api"}, nil},
		{[]string{"deploy", "S"}, []string{"Shop"}, []string{"Api"}},
		{[]string{"deploy", "Shop", "1."}, []string{"1.0.0", "1.1.0"}, nil},
		{[]string{"deploy", "Shop", "1.0.0", "--to", ""}, []string{"Development", "Test"}, nil},
		{[]string{"env", "list", "--space", ""}, []string{"Default", "Ops"}, nil},
		{[]string{"space", "cert", ""}, []string{"Default", "Ops"}, nil},
		{[]string{"var", "list", ""}, []string{"Shop", "Api"}, nil},
		{[]string{"tenant", "show", ""}, []string{"Acme", "Globex"}, nil},
		{[]string{"tenant", "connect", "A"}, []string{"Acme"}, []string{"Globex"}},
		{[]string{"tenant", "connect", "Acme", ""}, []string{"Shop", "Api"}, nil},
		{[]string{"tenant", "var", "set", "Acme", "Shop", ""}, nil, []string{"Acme", "Globex"}},
		{[]string{"deploy", "Shop", "1.0.0", "--tenant", ""}, []string{"Acme", "Globex"}, nil},
		{[]string{"deploy", "Shop", "1.0.0", "--target", ""}, []string{"web-1"}, nil},
		{[]string{"target", "check", ""}, []string{"web-1"}, nil},
	} {
		r := srv.Run(append([]string{"__complete"}, tc.args...)...)
		for _, w := range tc.want {
			if !strings.Contains(r.Stdout, w+"\n") {
				t.Errorf("complete %q: lacks %s\n%s", tc.args, w, r.Out())
			}
		}
		for _, w := range tc.not {
			if strings.Contains(r.Stdout, w+"\n") {
				t.Errorf("complete %q: offers %s\n%s", tc.args, w, r.Out())
			}
		}
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != want {
		t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), want)
	}
}

// TestPackagePushChecksTheFile: the id and version come from an Octopus
// style name; a file whose content is not the format its name claims is
// refused before anything is uploaded.
func TestPackagePushChecksTheFile(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "shop-web.1.2.3.zip")
	writeZip(t, good, map[string][]byte{"index.html": []byte("hello")})
	r := srv.Must("package", "push", good, "-o", "json")
	if !strings.Contains(r.Stdout, `"id": "shop-web"`) || !strings.Contains(r.Stdout, `"version": "1.2.3"`) {
		t.Errorf("push by name: %s", r.Stdout)
	}
	other := filepath.Join(dir, "build.zip")
	writeZip(t, other, map[string][]byte{"index.html": []byte("hello 2")})
	srv.Must("package", "push", other, "--id", "shop-web", "--version", "1.2.4")
	if r := srv.Run("package", "push", other); r.Code != 2 || !strings.Contains(r.Stderr, "ID.VERSION.EXT") {
		t.Errorf("push of a name without a version: exit %d %s", r.Code, r.Stderr)
	}
	zipped, _ := os.ReadFile(good)
	for name, content := range map[string][]byte{
		"page.2.0.0.zip":     []byte("<!DOCTYPE html><html>404 Not Found</html>"),
		"cut.2.0.0.zip":      zipped[:len(zipped)/2],
		"notgz.2.0.0.tar.gz": zipped,
		"plain.2.0.0.tar":    []byte("just text, not a tar archive at all"),
		"empty.2.0.0.nupkg":  nil,
		"gzonly.2.0.0.tgz":   {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 0, 0},
		"textfile.2.0.0.jar": []byte("PK but not really"),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if r := srv.Run("package", "push", path); r.Code != 3 || !strings.Contains(r.Stderr, name) {
			t.Errorf("push %s: exit %d, want 3 (invalid)\n%s", name, r.Code, r.Out())
		}
	}
	if r := srv.Must("package", "list", "-o", "json"); strings.Contains(r.Stdout, "2.0.0") {
		t.Errorf("a refused file reached the feed: %s", r.Stdout)
	}
}

// TestApplySpeaksYAML: apply lists every problem of a file at once, with
// its line and in YAML's words, and warns of a value a " #" cut short.
func TestApplySpeaksYAML(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	bad := ferrytest.WriteFile(t, "bad.yaml", `environments:
  - name: Dev
    colour: blue
projects:
  - name: Shop
    lifecycle: [Main]
    process:
      - {name: A, type: script, script: echo, retries: 3}
`)
	r := srv.Run("apply", "-f", bad)
	for _, want := range []string{"3 problems", "line 3: unknown field \"colour\" in an environment", "line 6: a list where text belongs", "line 8: unknown field \"retries\" in a step"} {
		if r.Code != 3 || !strings.Contains(r.Stderr, want) {
			t.Errorf("apply of a bad file: exit %d, want 3 and %q\n%s", r.Code, want, r.Stderr)
		}
	}
	if strings.Contains(r.Stderr, "config.") || strings.Contains(r.Stderr, "domain.") {
		t.Errorf("apply speaks Go: %s", r.Stderr)
	}
	cut := ferrytest.WriteFile(t, "cut.yaml", `environments: [{name: Dev}]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Dev]}]}]
projects:
  - name: Shop
    lifecycle: Main
    process:
      - name: A
        type: script
        script: echo #{Color}
`)
	r = srv.Must("apply", "-f", cut)
	if !strings.Contains(r.Stderr, `warning: line 9: script was cut to "echo"`) {
		t.Errorf("apply of a cut value: %s", r.Out())
	}
}

// TestNotFoundSuggestsOnlyWhatTheUserSees: a user limited to one project
// (or one space) is never told the names of the others by a did-you-mean.
func TestNotFoundSuggestsOnlyWhatTheUserSees(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "s.yaml", `
environments: [{name: Development}, {name: Test}]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Development]}]}]
projects:
  - {name: Shop, lifecycle: Main, process: [{name: A, type: script, script: echo}]}
  - {name: Secret Merger, lifecycle: Main, process: [{name: A, type: script, script: echo}]}
`))
	srv.Must("release", "create", "Secret Merger", "--version", "9.9.9-hidden")
	srv.Must("space", "create", "Hidden Ops")
	srv.Must("user", "create", "bob")
	srv.Must("team", "create", "Shop viewers", "--role", "viewer", "--user", "bob", "--project", "Shop")
	key := strings.TrimSpace(srv.Must("user", "apikey", "bob", "--name", "laptop").Stdout)
	bob := func(args ...string) ferrytest.Result {
		return bin.Run(t, "", append([]string{"--server", srv.URL, "--api-key", key}, args...)...)
	}
	for _, args := range [][]string{
		{"release", "list", "Secret Mergr"},
		{"release", "list", "Secret"},
		{"release", "show", "Secret Merger", "9.9.9"},
		{"release", "show", "Shop", "9.9.9-hidde"},
		{"env", "list", "--space", "Hidden Op"},
		{"deploy", "Secret Mergr", "1", "--to", "Development"},
		{"__complete", "deploy", ""},
		{"__complete", "deploy", "Secret Merger", ""},
		{"__complete", "env", "list", "--space", ""},
	} {
		r := bob(args...)
		for _, hidden := range []string{"Merger", "9.9.9-hidden", "Hidden Ops"} {
			if strings.Contains(r.Out(), hidden) && !strings.Contains(strings.Join(args, " "), hidden) {
				t.Errorf("ferry %q tells bob of %q:\n%s", args, hidden, r.Out())
			}
		}
		if strings.Contains(r.Out(), key) {
			t.Errorf("ferry %q prints bob's key:\n%s", args, r.Out())
		}
	}
}
