package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// probeScript tries every way we know to reach the server's secrets from a
// step, and prints "LEAK: ..." for each that works. It must reach its end
// ("PROBE-DONE") and may write outside the data folder (OUT).
const probeScript = `set +e +o pipefail
DATA='%[1]s'; REAL='%[2]s'; TLSKEY='%[3]s'; ROOT='%[4]s'; OUT='%[5]s'
leak() { echo "LEAK: $*"; }
probe() { if head -c 1 "$1" 2>/dev/null | grep -q . 2>/dev/null || [ -n "$(head -c 16 "$1" 2>/dev/null)" ]; then leak "read $1"; fi; }
for f in admin.key master.key ferry.db tls-key.pem; do
  probe "$DATA/$f"; probe "$REAL/$f"
  p=$f; for i in 1 2 3 4 5 6 7 8; do p=../$p; probe "$p"; done
done
probe "$TLSKEY"
ls -a "$DATA" "$REAL" 2>/dev/null | grep -E 'admin.key|master.key|ferry.db' && leak "listed the data folder"
for p in /proc/[0-9]*; do
  probe "$p/root$DATA/admin.key"; probe "$p/root$REAL/master.key"; probe "$p/cwd/admin.key"; probe "$p/root$TLSKEY"
  tr '\0' '\n' < "$p/environ" 2>/dev/null | grep -q '^FERRY_' && leak "server environment in $p/environ"
  for fd in "$p"/fd/*; do case "$(readlink "$fd" 2>/dev/null)" in "$(pwd)"*) ;; "$REAL"*|*ferry.db*|*master.key*) leak "fd $fd";; esac; done
done
find "$ROOT" \( -name admin.key -o -name master.key -o -name 'tls*' \) -size +0 2>/dev/null | grep . && leak "found key files"
umount "$REAL" 2>/dev/null && leak "unmounted the data folder"
umount -l "$REAL" 2>/dev/null && leak "detached the data folder"
probe "$REAL/admin.key"
echo written > "$OUT/proof" || echo "cannot write $OUT"
echo "work folder: $(pwd)"
echo PROBE-DONE
`

// TestStepsCannotReachSecrets runs a step that tries to read the server's
// data folder and key files by every path — relative, absolute, through a
// symlink, through /proc — and checks it reaches none, while it can still
// write outside the data folder (SPEC §4); with the server running as root,
// and as an unprivileged user.
func TestStepsCannotReachSecrets(t *testing.T) {
	t.Run("root", func(t *testing.T) { probeSecrets(t, nil, -1) })
	t.Run("unprivileged", func(t *testing.T) { probeSecrets(t, asNobody(t), nobody) })
}

// nobody is the unprivileged user tests run servers as.
const nobody = 65534

// asNobody is the command that runs a server as nobody, or skips the test.
func asNobody(t *testing.T) []string {
	if os.Getuid() != 0 {
		t.Skip("runs as root only, to switch to an unprivileged user")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv is not installed")
	}
	return []string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"}
}

// sharedDir is a temporary folder other users may enter (t.TempDir is not).
func sharedDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "ferry-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func probeSecrets(t *testing.T, wrap []string, uid int) {
	bin := ferrytest.Build(t)
	root := sharedDir(t)
	real := filepath.Join(root, "real")
	link := filepath.Join(root, "link")
	out := filepath.Join(root, "srv")
	keys := filepath.Join(root, "keys")
	for _, d := range []string{real, out, keys} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := writeTLSFiles(t, keys)
	if uid >= 0 {
		for _, p := range []string{real, out, keys, certFile, keyFile} {
			if err := os.Chown(p, uid, uid); err != nil {
				t.Fatal(err)
			}
		}
	}
	const password = "Adm1n-Passw0rd-e2e-7c1d"
	srv := bin.StartServers(t, ferrytest.ServerConfig{
		Data: filepath.Join(link, "data"),
		Env:  []string{"FERRY_TLS_CERT=" + certFile, "FERRY_TLS_KEY=" + keyFile, "FERRY_ADMIN_PASSWORD=" + password},
		Wrap: wrap,
	})[0]
	data := filepath.Join(link, "data")
	realData := filepath.Join(real, "data")

	script := fmt.Sprintf(probeScript, data, realData, keyFile, root, out)
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "probe.yaml", `environments: [{name: Dev}]
lifecycles: [{name: L, phases: [{name: Dev, environments: [Dev]}]}]
projects:
  - name: Probe
    lifecycle: L
    process:
      - name: Probe
        type: script
        script: |
`+indent(script, "          ")))
	srv.Must("release", "create", "Probe", "--version", "1")
	r := srv.Must("deploy", "Probe", "1", "--to", "Dev", "--wait")
	log := r.Out()
	contains(t, log, "PROBE-DONE", "Success")
	notContains(t, log, "LEAK", "cannot write")

	secrets := map[string]string{"admin password": password}
	for _, f := range []string{filepath.Join(realData, "admin.key"), filepath.Join(realData, "master.key"), keyFile} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		secrets[f] = strings.TrimSpace(string(b))
	}
	for what, s := range secrets {
		if strings.Contains(log, s) {
			t.Errorf("the step's log holds %s", what)
		}
	}
	if b, err := os.ReadFile(filepath.Join(out, "proof")); err != nil || string(b) != "written\n" {
		t.Errorf("the step could not write outside the data folder: %q, %v", b, err)
	}
}

// TestStepsRefusedWithoutNamespaces runs a server on a host that allows no
// user namespaces (simulated in a user namespace of the test's own, where
// user.max_user_namespaces is 0): it starts, says so, and every step fails
// naming the cause and the fix, until the operator opts out of isolation
// (--sandbox off), which every task log then warns about.
func TestStepsRefusedWithoutNamespaces(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare is not installed")
	}
	noNamespaces := []string{unshare, "--user", "--map-root-user", "sh", "-c",
		`echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" "$@"`}
	bin := ferrytest.Build(t)
	const yaml = `environments: [{name: Dev}]
lifecycles: [{name: L, phases: [{name: Dev, environments: [Dev]}]}]
projects:
  - name: Hello
    lifecycle: L
    process: [{name: Hi, type: script, script: "echo hello from the step"}]
`
	srv := bin.StartServers(t, ferrytest.ServerConfig{Wrap: noNamespaces})[0]
	contains(t, srv.Log(), "steps cannot run isolated on this host")
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "hello.yaml", yaml))
	srv.Must("release", "create", "Hello", "--version", "1")
	r := srv.Fail("deploy", "Hello", "1", "--to", "Dev", "--wait")
	contains(t, r.Out(), "user.max_user_namespaces=0", "--sandbox off")
	notContains(t, r.Out(), "hello from the step")
	var health struct{ Sandbox string }
	resp, err := http.Get(srv.URL + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if health.Sandbox != "unavailable" {
		t.Errorf("health says sandbox %q, want unavailable", health.Sandbox)
	}

	off := bin.StartServers(t, ferrytest.ServerConfig{Wrap: noNamespaces, Env: []string{"FERRY_SANDBOX=off"}})[0]
	contains(t, off.Log(), "WITHOUT isolation")
	off.Must("apply", "-f", ferrytest.WriteFile(t, "hello.yaml", yaml))
	off.Must("release", "create", "Hello", "--version", "1")
	r = off.Must("deploy", "Hello", "1", "--to", "Dev", "--wait")
	contains(t, r.Out(), "hello from the step", "without isolation")
}

// writeTLSFiles writes a self-signed certificate and its key (0600) into dir.
func writeTLSFiles(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "e2e"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls-cert.pem"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// TestCrashKillsSteps kills the server (SIGKILL) while a step runs that
// started a detached daemon of its own (setsid): every process of the step
// dies with the server, and after the restart the task is Failed.
func TestCrashKillsSteps(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	marker := fmt.Sprintf("ferry-e2e-step-%d", time.Now().UnixNano())
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "slow.yaml", fmt.Sprintf(`environments: [{name: Dev}]
lifecycles: [{name: L, phases: [{name: Dev, environments: [Dev]}]}]
projects:
  - name: Slow
    lifecycle: L
    process:
      - name: Daemonize
        type: script
        script: |
          setsid bash -c 'exec -a %[1]s-daemon sleep 600' </dev/null >/dev/null 2>&1 &
          (exec -a %[1]s-child sleep 600) &
          echo started
          exec -a %[1]s-main sleep 600
`, marker)))
	srv.Must("release", "create", "Slow", "--version", "1")
	srv.Must("deploy", "Slow", "1", "--to", "Dev")
	ferrytest.WaitFor(t, 30*time.Second, "the step and its daemon to run", func() bool {
		return len(processesWith(marker)) == 3
	})
	srv.Kill()
	ferrytest.WaitFor(t, 30*time.Second, "every process of the step to end with the server", func() bool {
		return len(processesWith(marker)) == 0
	})
	srv.Restart()
	var tasks []struct{ State, Error string }
	decodeJSON(t, srv.Must("task", "list", "-o", "json").Stdout, &tasks)
	if len(tasks) != 1 || tasks[0].State != "Failed" {
		t.Fatalf("after a crash: %+v, want one Failed task", tasks)
	}
}

// processesWith lists the host's processes whose command line holds marker
// (as its first word: bash's own command line only names the script file).
func processesWith(marker string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.HasPrefix(string(b), marker) {
			out = append(out, e.Name()+" "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}

// TestCrashLeavesNoLitter kills the server while a package upload is half
// received; the restart removes the partial upload, and what an earlier
// version left (chunk temporary files, step work folders with scripts).
func TestCrashLeavesNoLitter(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)

	// Half an upload: 2 MB sent, the rest never comes.
	body, send := io.Pipe()
	req, err := http.NewRequest("POST", srv.URL+"/api/spaces/Default/packages?id=web&version=1.0.0", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.Key)
	go http.DefaultClient.Do(req)
	go send.Write(make([]byte, 2<<20))
	ferrytest.WaitFor(t, 30*time.Second, "the upload to reach the disk", func() bool {
		return len(filesUnder(t, filepath.Join(srv.Data, "tmp"))) > 0
	})
	srv.Kill()
	send.CloseWithError(errors.New("the server is gone"))

	// What versions before per-process temporary folders could leave.
	legacy := map[string]string{
		filepath.Join(srv.Data, "chunks", "tmp", strings.Repeat("ab", 32)+".0123456789abcdef"): "a chunk being written",
		filepath.Join(srv.Data, "work", "task-9", "script.sh"):                                 "echo " + secretToken,
		filepath.Join(srv.Data, "tmp", "packages", "upload-0123456789abcdef"):                  "half a package",
	}
	for f, content := range legacy {
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	srv.Restart()
	for _, dir := range []string{filepath.Join(srv.Data, "tmp"), filepath.Join(srv.Data, "chunks", "tmp"), filepath.Join(srv.Data, "work")} {
		if left := filesUnder(t, dir); len(left) > 0 {
			t.Errorf("after the restart, %s holds %v", dir, left)
		}
	}
	// The feed works after the clean-up.
	zipFile := filepath.Join(t.TempDir(), "web.zip")
	writeZip(t, zipFile, map[string][]byte{"index.html": []byte("hi")})
	srv.Must("package", "push", zipFile, "--id", "web", "--version", "1.0.0")
}

// filesUnder lists the regular files under dir, except the lock files that
// mark running servers' temporary folders.
func filesUnder(t *testing.T, dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.HasSuffix(p, ".lock") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestTenantIsData deploys with tenant names that a shell would run as
// commands, pasted into a script through #{Ferry.Tenant.Name}: each is
// refused before anything is queued, and nothing runs. A plain tenant name
// deploys.
func TestTenantIsData(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	pwned := filepath.Join(t.TempDir(), "pwned")
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "tenant.yaml", `environments: [{name: Dev}]
lifecycles: [{name: L, phases: [{name: Dev, environments: [Dev]}]}]
projects:
  - name: Shop
    lifecycle: L
    process:
      - name: Greet
        type: script
        script: |
          echo tenant: #{Ferry.Tenant.Name}
          echo "quoted: #{Ferry.Tenant.Name}"
          mkdir -p "$HOME/#{Ferry.Tenant.Name}"
tenants:
  - {name: Acme-EU.2, projects: {Shop: [Dev]}}
`))
	srv.Must("release", "create", "Shop", "--version", "1")
	for _, tenant := range []string{
		"$(touch " + pwned + ")",
		"`touch " + pwned + "`",
		"x; touch " + pwned,
		"x\ntouch " + pwned,
		"x && touch " + pwned,
		"x | tee " + pwned,
		"x > " + pwned,
		`"; touch ` + pwned + `; "`,
		"-rf",
		"..",
		"acme corp",
	} {
		r := srv.Fail("deploy", "Shop", "1", "--to", "Dev", "--tenant", tenant, "--wait")
		contains(t, r.Stderr, "tenant", "letters, digits")
		// Nor can such a tenant be created to deploy for.
		r = srv.Fail("tenant", "create", "--", tenant)
		contains(t, r.Stderr, "tenant", "letters, digits")
	}
	var tasks []struct{ ID int64 }
	decodeJSON(t, srv.Must("task", "list", "-o", "json").Stdout, &tasks)
	if len(tasks) != 0 {
		t.Errorf("refused deployments queued %d task(s)", len(tasks))
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("a tenant name ran as a command")
	}
	r := srv.Must("deploy", "Shop", "1", "--to", "Dev", "--tenant", "Acme-EU.2", "--wait")
	contains(t, r.Out(), "tenant: Acme-EU.2", "quoted: Acme-EU.2", "Success")
}

// TestPackageDestinationOutsideData: deploy-package writes as the server,
// outside the sandbox, so a destination in the data folder — directly,
// through a symlink a step planted, or a folder holding the data folder —
// is refused, and nothing there changes.
func TestPackageDestinationOutsideData(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	srv.Must("env", "create", "Dev")
	root := t.TempDir()
	zipFile := filepath.Join(root, "web.zip")
	writeZip(t, zipFile, map[string][]byte{"master.key": []byte("attacker's key"), "index.html": []byte("hi")})
	srv.Must("package", "push", zipFile, "--id", "web", "--version", "1.0.0")
	planted := filepath.Join(root, "planted")
	masterKey, _ := os.ReadFile(filepath.Join(srv.Data, "master.key"))

	for i, dest := range []string{
		srv.Data,
		filepath.Join(srv.Data, "tmp", "evil"),
		filepath.Join(planted, "app"),               // planted → the data folder, by the step before
		filepath.Dir(srv.Data),                      // holds the data folder
		srv.Data + "/../" + filepath.Base(srv.Data), // the same, spelled with ..
	} {
		name := fmt.Sprintf("P%d", i)
		srv.Must("apply", "-f", ferrytest.WriteFile(t, "p.yaml", fmt.Sprintf(`lifecycles: [{name: L%[1]s, phases: [{name: Dev, environments: [Dev]}]}]
projects:
  - name: %[1]s
    lifecycle: L%[1]s
    process:
      - {name: Plant, type: script, script: "ln -sfn %[3]s %[4]s"}
      - {name: Install, type: deploy-package, package: web, destination: %[2]q}
`, name, dest, srv.Data, planted)))
		srv.Must("release", "create", name, "--version", "1", "--package", "web:1.0.0")
		r := srv.Fail("deploy", name, "1", "--to", "Dev", "--wait")
		contains(t, r.Out(), "holds this server's data or keys")
		if now, _ := os.ReadFile(filepath.Join(srv.Data, "master.key")); !bytes.Equal(now, masterKey) {
			t.Fatalf("destination %s: the master key changed", dest)
		}
	}
}

// TestPackageDestinationSwappedDuringDeployment: while deploy-package
// steps write a package, another step keeps swapping a folder of their
// destination's path for a symlink to the data folder and back. Whenever
// the swap lands, the server writes either where it checked — the real
// folder — or nowhere (a refusal); never into the data folder. (A race:
// before the server wrote through a descriptor of the folder it checked,
// this failed only when the swap landed between the check and the write.)
func TestPackageDestinationSwappedDuringDeployment(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	srv.Must("env", "create", "Dev")
	root := t.TempDir()
	zipFile := filepath.Join(root, "web.zip")
	writeZip(t, zipFile, map[string][]byte{"index.html": []byte("hi")})
	srv.Must("package", "push", zipFile, "--id", "web", "--version", "1.0.0")
	masterKey, _ := os.ReadFile(filepath.Join(srv.Data, "master.key"))
	before := filesUnder(t, srv.Data)
	dataInfo, err := os.Stat(srv.Data) // its time changes when anything is created in it, even briefly
	if err != nil {
		t.Fatal(err)
	}
	site, real, stop := filepath.Join(root, "site"), filepath.Join(root, "real"), filepath.Join(root, "stop")
	if err := os.Mkdir(site, 0o755); err != nil {
		t.Fatal(err)
	}
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "p.yaml", fmt.Sprintf(`lifecycles: [{name: L, phases: [{name: Dev, environments: [Dev]}]}]
projects:
  - name: Swapper
    lifecycle: L
    process:
      - name: Swap
        type: script
        script: |
          while [ ! -e %[4]q ]; do
            mv -T %[1]q %[2]q 2>/dev/null; ln -s %[3]q %[1]q 2>/dev/null
            rm -f %[1]q; mv -T %[2]q %[1]q 2>/dev/null
          done
          true
  - name: Web
    lifecycle: L
    process:
      - {name: Install, type: deploy-package, package: web, destination: %[5]q}
`, site, real, srv.Data, stop, filepath.Join(site, "master.key"))))
	srv.Must("release", "create", "Swapper", "--version", "1")
	srv.Must("release", "create", "Web", "--version", "1", "--package", "web:1.0.0")
	srv.Must("deploy", "Swapper", "1", "--to", "Dev")
	for range 30 {
		srv.Run("deploy", "Web", "1", "--to", "Dev", "--wait")
		if now, _ := os.ReadFile(filepath.Join(srv.Data, "master.key")); !bytes.Equal(now, masterKey) {
			t.Fatal("the master key changed: the server wrote a package into its data folder")
		}
	}
	os.WriteFile(stop, nil, 0o644)
	if now, err := os.Stat(srv.Data); err != nil || !now.ModTime().Equal(dataInfo.ModTime()) {
		t.Errorf("something was created in or removed from the data folder itself (%v)", err)
	}
	for _, f := range filesUnder(t, srv.Data) {
		rel, _ := filepath.Rel(srv.Data, f)
		if !slices.Contains(before, f) && !strings.HasPrefix(rel, "ferry.db") && !strings.HasPrefix(rel, "tmp"+string(filepath.Separator)) {
			t.Errorf("the data folder gained %s", rel)
		}
	}
}

// TestInheritedDescriptorsStayOutOfSteps: the server is started by a
// wrapper that holds a descriptor of the data folder open (a supervisor's
// lock, a shell's `exec 7<folder`), which the server inherits. A step must
// not inherit it: through /proc/self/fd a descriptor reaches the folder
// whatever covers its path.
func TestInheritedDescriptorsStayOutOfSteps(t *testing.T) {
	bin := ferrytest.Build(t)
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	srv := bin.StartServers(t, ferrytest.ServerConfig{Data: data,
		Wrap: []string{"bash", "-c", `exec 7<"$1" 8<"$1"/.; shift; exec "$@"`, "wrapper", data}})[0]
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "fd.yaml", `environments: [{name: Dev}]
lifecycles: [{name: L, phases: [{name: Dev, environments: [Dev]}]}]
projects:
  - name: Fds
    lifecycle: L
    process:
      - name: Look
        type: script
        script: |
          ls -l /proc/$$/fd
          for n in $(seq 3 254); do
            if [ -e /proc/$$/fd/$n ]; then
              echo "inherited descriptor $n"
              cat /proc/$$/fd/$n/admin.key /proc/$$/fd/$n/master.key 2>/dev/null || true
            fi
          done
          echo looked
`))
	srv.Must("release", "create", "Fds", "--version", "1")
	out := srv.Must("deploy", "Fds", "1", "--to", "Dev", "--wait").Stdout
	contains(t, out, "looked")
	notContains(t, out, "inherited descriptor", srv.Key, "-> "+data+"\n")
}

// TestStepsHaveNoTerminal: the server runs in a terminal, as the README's
// first command runs it. A step may not reach that terminal through
// /dev/tty — to print control sequences past the task log's neutralising,
// to read what the operator types, or to push keystrokes into the shell
// the server was started from (TIOCSTI).
func TestStepsHaveNoTerminal(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("needs script(1) to give the server a terminal")
	}
	bin := ferrytest.Build(t)
	typescript := filepath.Join(t.TempDir(), "terminal.log")
	srv := bin.StartServers(t, ferrytest.ServerConfig{
		// The server's standard error still reaches the test (through
		// descriptor 3); its terminal is a pseudo-terminal script records.
		Wrap: []string{"bash", "-c", `exec 3>&2; exec script -q -e -f -c "$(printf '%q ' "$@") 2>&3" "$0"`, typescript},
	})[0]
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "tty.yaml", `environments: [{name: Dev}]
lifecycles: [{name: L, phases: [{name: Dev, environments: [Dev]}]}]
projects:
  - name: Tty
    lifecycle: L
    process:
      - name: Reach
        type: script
        script: |
          if printf 'TTY-REACHED \033]0;pwned\007\n' > /dev/tty; then echo "terminal reachable"; else echo "no terminal"; fi
          python3 -c 'import fcntl, termios; fd = open("/dev/tty", "wb"); fcntl.ioctl(fd, termios.TIOCSTI, b"X"); print("pushed a keystroke")' 2>/dev/null || true
          for p in /dev/pts/[0-9]*; do
            if [ -e "$p" ] && printf 'TTY-REACHED\n' > "$p"; then echo "terminal reachable at $p"; fi
          done 2>/dev/null
`))
	srv.Must("release", "create", "Tty", "--version", "1")
	out := srv.Must("deploy", "Tty", "1", "--to", "Dev", "--wait").Stdout
	contains(t, out, "no terminal")
	notContains(t, out, "terminal reachable", "pushed a keystroke")
	srv.Stop()
	if b, _ := os.ReadFile(typescript); strings.Contains(string(b), "TTY-REACHED") {
		t.Errorf("a step wrote to the server's terminal:\n%q", b)
	}
}
