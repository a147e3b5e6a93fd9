package e2e

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// derivedSecret is the sensitive value the derived-secret test transforms.
const derivedSecret = "Hunter2-Derived-Secret-4821"

const derivedYAML = `environments: [{name: Dev}]
lifecycles: [{name: L, phases: [{name: Dev, environments: [Dev]}]}]
projects:
  - name: Derive
    lifecycle: L
    variables:
      - name: S
        value: ` + derivedSecret + `
        sensitive: true
      - name: Conn
        value: "Server=db;Password=#{S}"
      - name: SList
        value: "alpha-secret-item,bravo-secret-item"
        sensitive: true
      - name: SJson
        value: '{"user": "app", "password": "json-secret-pw-31337"}'
        sensitive: true
      - name: SNum
        value: "271828"
        sensitive: true
      - name: Plain
        value: plain-value
    process:
      - name: Echo derived
        type: script
        script: |
          echo "upper=#{S | ToUpper}"
          echo "lower=#{S | ToLower}"
          echo "b64=#{S | ToBase64}"
          echo "b64e=#{S | Base64Encode}"
          echo "sub=#{S | Substring 11}"
          echo "sub2=#{S | Substring 8 7}"
          echo "rep=#{S | Replace "e" "3"}"
          echo "trunc=#{S | Truncate 14}"
          echo "html=#{S | HtmlEscape | ToLower}"
          echo "conn=#{Conn | ToUpper}"
          echo "app=#{Plain | Append #{S}}"
          #{each item in SList}echo "item=#{item | ToUpper}"
          #{/each}
          echo "json=#{SJson.password | ToUpper}"
          echo "calc=#{calc SNum * 3}"
          #{if S | StartsWith "Hunter"}echo "cond=#{S | Substring 6}"#{/if}
          echo "plain=#{Plain}"
`

// TestDerivedSecretsAreMasked is issue 14 item 10: a value computed from a
// sensitive value (through any filter, nesting, #{each}, #{if}, JSON access,
// concatenation or calc) is masked in the task log and in deploy --wait.
func TestDerivedSecretsAreMasked(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "derive.yaml", derivedYAML))
	srv.Must("release", "create", "Derive", "--version", "1")
	wait := srv.Must("deploy", "Derive", "1", "--to", "Dev", "--wait").Out()
	log := srv.Must("task", "log", "1").Out()
	logJSON := srv.Must("task", "log", "1", "-o", "json").Out()

	s := derivedSecret
	forbidden := []string{
		s, strings.ToUpper(s), strings.ToLower(s),
		base64.StdEncoding.EncodeToString([]byte(s)),
		s[:11], s[8:15], strings.ReplaceAll(s, "e", "3"), s[:14],
		"PASSWORD=" + strings.ToUpper(s),
		"plain-value" + s,
		"ALPHA-SECRET-ITEM", "BRAVO-SECRET-ITEM", "alpha-secret-item",
		"JSON-SECRET-PW-31337", "json-secret-pw-31337",
		"815484", // 271828 * 3
		s[:6],
	}
	for name, out := range map[string]string{"deploy --wait": wait, "task log": log, "task log -o json": logJSON} {
		for _, bad := range forbidden {
			if strings.Contains(out, bad) {
				t.Errorf("%s shows %q (derived from a sensitive value):\n%s", name, bad, out)
			}
		}
		// Ordinary output is untouched.
		contains(t, out, "plain=plain-value", "upper=***", "item=***", "calc=***")
	}
}

// TestVarsRender drives `ferry vars render` offline: no server, the rendered
// text exactly on stdout, problems on stderr, strict by default.
func TestVarsRender(t *testing.T) {
	bin := ferrytest.Build(t)
	tpl := ferrytest.WriteFile(t, "app.conf", "url=#{Url}\n#{each a in Octopus.Action}[#{a}] #{a.Name}\n#{/each}")
	vars := ferrytest.WriteFile(t, "vars.json", `{"Server": "Web01", "Url": "http://#{Server | ToLower}:#{Port}", "Octopus.Action[Step A].Name": "first", "Octopus.Action[Step B].Name": "second"}`)

	r := bin.Run(t, "", "vars", "render", tpl, "--vars-file", vars, "--var", "Port=8080")
	if r.Code != 0 || r.Stdout != "url=http://web01:8080\n[Step A] first\n[Step B] second\n" {
		t.Fatalf("render: code %d\nstdout %q\nstderr %s", r.Code, r.Stdout, r.Stderr)
	}

	// Strict by default: an undefined variable fails, naming it.
	r = bin.Run(t, "", "vars", "render", tpl, "--vars-file", vars)
	if r.Code == 0 || r.Stdout != "" || !strings.Contains(r.Stderr, "Port") {
		t.Fatalf("strict render of an undefined variable: code %d\nstdout %q\nstderr %s", r.Code, r.Stdout, r.Stderr)
	}
	// Lenient leaves it as is and warns on stderr.
	r = bin.Run(t, "", "vars", "render", tpl, "--vars-file", vars, "--lenient")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "url=http://web01:#{Port}\n") || !strings.Contains(r.Stderr, "Port") {
		t.Fatalf("lenient render: code %d\nstdout %q\nstderr %s", r.Code, r.Stdout, r.Stderr)
	}

	// Standard input, and nothing added to the output.
	r = bin.Run(t, "##{kept} #{X | Replace \"a+\" b}", "vars", "render", "-", "--var", "X=caaat")
	if r.Code != 0 || r.Stdout != "#{kept} cbt" {
		t.Fatalf("render from stdin: code %d stdout %q stderr %s", r.Code, r.Stdout, r.Stderr)
	}

	// Malformed templates fail in strict mode with a position.
	r = bin.Run(t, "a\n#{if X}b#{/unless}", "vars", "render", "-", "--var", "X=1")
	if r.Code == 0 || !strings.Contains(r.Stderr, "line 2") {
		t.Fatalf("malformed: code %d stdout %q stderr %s", r.Code, r.Stdout, r.Stderr)
	}
	contains(t, bin.Run(t, "", "vars", "render", "--help").Stdout, "--lenient", "--vars-file", "Example")
}

// TestPackageFilesAreSubstitutedLeniently deploys a package whose config
// file names an undefined variable and holds a malformed expression: the
// deployment succeeds, both stay as written (as Octopus leaves them), each
// is a warning in the task log, and a value derived from a secret that the
// file received is masked when a script prints the file.
func TestPackageFilesAreSubstitutedLeniently(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "srv")
	config := "{\"greeting\": \"#{Greeting}\", \"missing\": \"#{Undefined.Thing}\",\n" +
		" \"js\": \"return\\\"#{\\\"===s\", \"pw\": \"#{Pw | ToUpper}\", \"steps\": \"#{each s in Octopus.Action}#{s}#{/each}\"}\n"
	writeZip(t, filepath.Join(dir, "app-1.zip"), map[string][]byte{"config/app.json": []byte(config)})
	srv.Must("package", "push", filepath.Join(dir, "app-1.zip"), "--id", "app", "--version", "1")
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "lenient.yaml", `environments: [{name: Dev}]
lifecycles: [{name: L, phases: [{name: Dev, environments: [Dev]}]}]
projects:
  - name: App
    lifecycle: L
    variables:
      - {name: Greeting, value: hi}
      - {name: Pw, value: lenient-secret-pw, sensitive: true}
      - {name: "Octopus.Action[Step One].Name", value: one}
      - {name: "Octopus.Action[Step Two].Name", value: two}
    process:
      - name: Install
        type: deploy-package
        package: app
        destination: "`+root+`/#{Ferry.Environment.Name}"
        substitute: [config/app.json]
        postDeploy: cat config/app.json
`))
	srv.Must("release", "create", "App", "--version", "1", "--package", "app:1")
	out := srv.Must("deploy", "App", "1", "--to", "Dev", "--wait").Out()
	got, err := os.ReadFile(filepath.Join(root, "Dev", "config", "app.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := "{\"greeting\": \"hi\", \"missing\": \"#{Undefined.Thing}\",\n" +
		" \"js\": \"return\\\"#{\\\"===s\", \"pw\": \"LENIENT-SECRET-PW\", \"steps\": \"Step OneStep Two\"}\n"
	if string(got) != want {
		t.Errorf("substituted file:\n got %q\nwant %q", got, want)
	}
	contains(t, out, "Warning: config/app.json line 1", `undefined variable "Undefined.Thing"`,
		"Warning: config/app.json line 2", "not a valid expression", `"pw": "***"`, "Success")
	notContains(t, out, "LENIENT-SECRET-PW", "lenient-secret-pw")
}

// TestMissingJSONFieldFailsTheStep: a script that reads a property a JSON
// variable does not have fails the deployment before it runs, naming the
// variable and the missing path, as an undefined variable does; before, it
// rendered empty and the step succeeded. For a sensitive JSON value the
// message shows nothing of the value. A test of presence still just tests.
func TestMissingJSONFieldFailsTheStep(t *testing.T) {
	srv := ferrytest.Build(t).StartServer(t)
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "space.yaml", `environments: [{name: Dev}]
lifecycles: [{name: L, phases: [{name: Dev, environments: [Dev]}]}]
projects:
  - name: Api
    lifecycle: L
    variables:
      - {name: Db, value: '{"host": "db.internal", "ports": [5432]}'}
      - {name: Sec, value: '{"user": "app", "password": "json-secret-pw-4242"}', sensitive: true}
      - {name: Check, value: ok}
    process:
      - name: Connect
        type: script
        script: |
          echo "host=#{Db.host} port=#{Db.ports[0]}#{if Db.replica} replica=#{Db.replica}#{/if}"
          #{if Check == "missing"}echo "user=#{Sec.login}" "#{Db.ports[1]}"#{/if}
          echo "#{if Check == "missing-host"}#{Db.hostname}#{/if}"
`))
	srv.Must("release", "create", "Api", "--version", "1.0.0")
	out := srv.Must("deploy", "Api", "1.0.0", "--to", "Dev", "--wait").Stdout
	contains(t, out, "host=db.internal port=5432")
	notContains(t, out, "replica=")

	for check, want := range map[string][]string{
		"missing":      {`undefined variable "Sec.login"`, `the sensitive value of "Sec" has no JSON property or element "login"`, `undefined variable "Db.ports[1]"`, "past its end"},
		"missing-host": {`undefined variable "Db.hostname"`, `the value of "Db" is a JSON object without property "hostname"`},
	} {
		srv.Must("var", "set", "Api", "Check", check)
		version := "1.0." + map[string]string{"missing": "1", "missing-host": "2"}[check]
		srv.Must("release", "create", "Api", "--version", version)
		r := srv.Run("deploy", "Api", version, "--to", "Dev", "--wait")
		if r.Code == 0 {
			t.Fatalf("a script reading a missing JSON property deployed:\n%s", r.Out())
		}
		contains(t, r.Out(), want...)
		notContains(t, r.Out(), "json-secret-pw-4242", `"user"`)
	}
}
