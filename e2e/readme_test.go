package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// TestReadme runs the README's walkthroughs as a reader would: every
// fenced shell block marked `<!-- readme-test: NAME -->`, in order, in one
// shell per walkthrough, in a folder standing for a fresh clone. `go build
// -o X ./cmd/ferry` and `go run ./cmd/ferry ...` are served by the binary
// under test; the ports 8080-8082 the README shows become free ones. A
// command whose comment says "refused" must fail, every other must
// succeed. So the README cannot drift from what ferry does.
func TestReadme(t *testing.T) {
	bin := ferrytest.Build(t)
	readme, err := os.ReadFile(filepath.Join(moduleRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeBlocks(string(readme))
	if len(blocks["tour"]) < 4 || len(blocks["promote"]) < 5 {
		t.Fatalf("the README lacks its marked walkthroughs: %d tour blocks, %d promote blocks", len(blocks["tour"]), len(blocks["promote"]))
	}
	r := newReader(t, bin)

	start := time.Now()
	r.startServer(blocks["tour server"][0])
	tour := r.run("tour", blocks["tour"])
	t.Logf("the tour's commands took %v", time.Since(start).Round(time.Second))
	for _, want := range []string{"hello from test: release 1.0.0 on Test", "token is ***", "Test", "Shop"} {
		if !strings.Contains(tour, want) {
			t.Errorf("the tour's output lacks %q", want)
		}
	}

	// The same terminal as the tour's: its export is still there.
	key, err := os.ReadFile(filepath.Join(r.dir, "ferry-data", "admin.key"))
	must(t, err)
	r.env = append(r.env, "FERRY_API_KEY="+strings.TrimSpace(string(key)))
	start = time.Now()
	promote := r.run("promote", blocks["promote"])
	t.Logf("the promotion walkthrough's commands took %v", time.Since(start).Round(time.Second))
	dash := promote[strings.LastIndex(promote, "$ ferry --profile a dashboard"):]
	for _, want := range []string{"Prod Space: Production", "1.0.0", "Success"} {
		if !strings.Contains(dash, want) {
			t.Errorf("DevTest's dashboard at the end lacks %q:\n%s", want, dash)
		}
	}
	for _, out := range []string{tour, promote} {
		out = regexp.MustCompile(`(?m)^\$ .*$`).ReplaceAllString(out, "") // the commands themselves hold some
		for _, secret := range []string{"s3cret", "dev-S3cret", "test-S3cret", "prod-S3cret"} {
			if strings.Contains(out, secret) {
				t.Errorf("a walkthrough printed the secret %q", secret)
			}
		}
	}
}

var readmeBlockRE = regexp.MustCompile("(?s)<!-- readme-test: ([a-z]+(?: server)?) -->\\s*```sh\\n(.*?)\\n```")

// readmeBlocks returns the marked blocks of each walkthrough, in order.
func readmeBlocks(readme string) map[string][]string {
	out := map[string][]string{}
	for _, m := range readmeBlockRE.FindAllStringSubmatch(readme, -1) {
		out[m[1]] = append(out[m[1]], m[2])
	}
	return out
}

// reader is a person following the README in a fresh clone.
type reader struct {
	t     *testing.T
	dir   string
	env   []string
	ports map[string]string // what the README shows → what the test uses
	tour  string            // the tour server's address
}

func newReader(t *testing.T, bin ferrytest.Binary) *reader {
	dir := t.TempDir()
	shims := filepath.Join(dir, ".shims")
	must(t, os.MkdirAll(shims, 0o755))
	// go build and go run of ./cmd/ferry, served by the binary under test.
	goShim := `#!/bin/sh
case "$1 $2 $3 $4" in
  "build -o "*" ./cmd/ferry") cp "$FERRY_TEST_BIN" "$3" ;;
  "run ./cmd/ferry "*) shift 2; exec "$FERRY_TEST_BIN" "$@" ;;
  *) echo "the README test serves only 'go build -o FILE ./cmd/ferry' and 'go run ./cmd/ferry ...', not: go $*" >&2; exit 1 ;;
esac
`
	must(t, os.WriteFile(filepath.Join(shims, "go"), []byte(goShim), 0o755))
	r := &reader{t: t, dir: dir, ports: map[string]string{}}
	for _, p := range []string{"8080", "8081", "8082"} {
		r.ports["127.0.0.1:"+p] = ferrytest.FreePort(t)
	}
	r.tour = r.ports["127.0.0.1:8080"]
	r.env = append(os.Environ(),
		"PATH="+shims+string(os.PathListSeparator)+os.Getenv("PATH"),
		"FERRY_TEST_BIN="+bin.Path,
		"HOME="+filepath.Join(dir, ".home"),
		"XDG_CONFIG_HOME="+filepath.Join(dir, ".config"),
		"FERRY_API_KEY=", "FERRY_SPACE=", "FERRY_DATA=", "FERRY_PROFILE=", "FERRY_SERVER_FINGERPRINT=", "FERRY_DATABASE_URL=",
		// The tour uses the defaults (port 8080), which are the test's port here.
		"FERRY_LISTEN="+r.tour, "FERRY_SERVER=http://"+r.tour,
	)
	return r
}

// localize gives the README's text the test's ports.
func (r *reader) localize(text string) string {
	for from, to := range r.ports {
		text = strings.ReplaceAll(text, from, to)
	}
	return text
}

// startServer runs the block's first command (the server) in the
// background, as in its own terminal, until the test ends.
func (r *reader) startServer(block string) {
	t := r.t
	first, _, _ := strings.Cut(block, "\n")
	cmd := exec.Command("bash", "-c", r.localize(first))
	cmd.Dir, cmd.Env = r.dir, r.env
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	must(t, cmd.Start())
	go cmd.Wait() // reaps it when it stops
	t.Cleanup(func() {
		stopGroup(t, cmd.Process.Pid)
		if t.Failed() {
			t.Logf("the README's server printed:\n%s", log.String())
		}
	})
	ferrytest.WaitFor(t, time.Minute, "the README's server answers", func() bool {
		resp, err := http.Get("http://" + r.tour + "/readyz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
}

// run runs a walkthrough's blocks in one shell and returns what it
// printed; it fails the test at the first command that does not do what
// the README says.
func (r *reader) run(name string, blocks []string) string {
	t := r.t
	var script strings.Builder
	script.WriteString("__check() { if [ \"$2\" = refused ]; then [ \"$1\" -ne 0 ] || { echo \"README-TEST: succeeded, but the README says it is refused: $3\" >&2; exit 1; }; " +
		"else [ \"$1\" -eq 0 ] || { echo \"README-TEST: exit $1: $3\" >&2; exit 1; }; fi; }\n")
	for _, b := range blocks {
		for _, c := range shellCommands(r.localize(b)) {
			first, _, _ := strings.Cut(c, "\n")
			expect := "ok"
			if strings.Contains(first, "# refused") {
				expect = "refused"
			}
			fmt.Fprintf(&script, "echo %s\n%s\n__check $? %s %s\n", shellQuote("$ "+first), c, expect, shellQuote(first))
		}
	}
	path := filepath.Join(r.dir, ".readme-"+name+".sh")
	must(t, os.WriteFile(path, []byte(script.String()), 0o644))
	cmd := exec.Command("bash", path)
	cmd.Dir, cmd.Env = r.dir, r.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	must(t, cmd.Start())
	t.Cleanup(func() { stopGroup(t, cmd.Process.Pid) }) // the servers it started in the background
	if err := cmd.Wait(); err != nil {
		t.Fatalf("README walkthrough %q: %v\n%s", name, err, out.String())
	}
	return out.String()
}

// shellCommands splits a block into commands: a line, with the lines of
// its here-document or its continuation lines; comments and blank lines
// alone are dropped.
func shellCommands(block string) []string {
	heredoc := regexp.MustCompile(`<<-?'?"?(\w+)'?"?`)
	var out []string
	lines := strings.Split(block, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		cmd := []string{line}
		if m := heredoc.FindStringSubmatch(line); m != nil {
			for i+1 < len(lines) {
				i++
				cmd = append(cmd, lines[i])
				if strings.TrimSpace(lines[i]) == m[1] {
					break
				}
			}
		}
		for strings.HasSuffix(cmd[len(cmd)-1], "\\") && i+1 < len(lines) {
			i++
			cmd = append(cmd, lines[i])
		}
		out = append(out, strings.Join(cmd, "\n"))
	}
	return out
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// stopGroup ends a process group with SIGTERM (servers stop cleanly) and
// waits until it is gone.
func stopGroup(t *testing.T, pgid int) {
	if syscall.Kill(-pgid, syscall.SIGTERM) != nil {
		return
	}
	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(-pgid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(-pgid, syscall.SIGKILL)
			t.Errorf("process group %d did not stop within 30s of SIGTERM", pgid)
			return
		}
		runtime.Gosched()
		time.Sleep(20 * time.Millisecond)
	}
}

func moduleRoot(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
