package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	Main()
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperParent())
	}
	os.Exit(m.Run())
}

// tree is a data folder with secrets, a work folder inside it, a key file
// outside it, a symlink to the data folder and a place to write.
type tree struct {
	root, data, work, link, keyFile, srv string
	secrets                              []string
}

func newTree(t *testing.T) tree {
	t.Helper()
	root := t.TempDir()
	// The tree must be reachable by the user the test runs as, also when
	// that user is not the owner of the temporary folder (TestUnprivileged).
	os.Chmod(root, 0o755)
	tr := tree{
		root:    root,
		data:    filepath.Join(root, "data"),
		link:    filepath.Join(root, "link"),
		keyFile: filepath.Join(root, "etc", "tls.key"),
		srv:     filepath.Join(root, "srv"),
	}
	tr.work = filepath.Join(tr.data, "tmp", "node.1234", "work", "task-7")
	for _, d := range []string{tr.work, filepath.Join(tr.data, "chunks"), filepath.Dir(tr.keyFile), tr.srv} {
		must(t, os.MkdirAll(d, 0o755))
	}
	for i, f := range []string{filepath.Join(tr.data, "admin.key"), filepath.Join(tr.data, "master.key"), filepath.Join(tr.data, "chunks", "ab"), tr.keyFile} {
		s := fmt.Sprintf("SECRET-%d-%d", i, time.Now().UnixNano())
		must(t, os.WriteFile(f, []byte(s+"\n"), 0o600))
		tr.secrets = append(tr.secrets, s)
	}
	must(t, os.Symlink(tr.data, tr.link))
	return tr
}

func (tr tree) sandbox(t *testing.T) *Sandbox {
	t.Helper()
	sb, err := New(Policy{Hide: []string{tr.link, tr.keyFile}}, Isolate)
	must(t, err)
	t.Cleanup(sb.Close)
	if err := sb.Check(context.Background()); err != nil {
		t.Fatalf("this host cannot isolate: %v", err)
	}
	return sb
}

// run runs a bash script in the sandbox, in the tree's work folder.
func (tr tree) run(t *testing.T, sb *Sandbox, script string) (string, error) {
	t.Helper()
	return runIn(t, sb, tr.work, []string{tr.work}, script)
}

func runIn(t *testing.T, sb *Sandbox, dir string, expose []string, script string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	p, err := sb.Start(ctx, Cmd{
		Path: "bash", Args: []string{"bash", "--noprofile", "--norc", "-c", script},
		Dir: dir, Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + dir},
		Stdout: &out, Stderr: &out, Expose: expose,
	})
	if err != nil {
		return "", err
	}
	err = p.Wait()
	return out.String(), err
}

func (tr tree) checkNoSecret(t *testing.T, out string) {
	t.Helper()
	for _, s := range tr.secrets {
		if strings.Contains(out, s) {
			t.Errorf("the sandboxed program read a secret:\n%s", out)
		}
	}
}

// TestHidesByEveryPath reads the hidden files by absolute, relative,
// symlinked, /proc and search paths.
func TestHidesByEveryPath(t *testing.T) {
	tr := newTree(t)
	sb := tr.sandbox(t)
	out, err := tr.run(t, sb, fmt.Sprintf(`
set +e
for d in %[1]q %[2]q; do cat "$d/admin.key" "$d/master.key" "$d/chunks/ab"; ls -la "$d"; done
cat ../../../../admin.key ../../../../../data/master.key %[3]q
for p in /proc/[0-9]*; do cat "$p/root%[1]s/admin.key" "$p/cwd/../../../../admin.key" "$p/root%[3]s"; ls -l "$p/fd/"; tr '\0' '\n' < "$p/environ"; done
find %[4]q -name '*.key' -exec cat {} +
grep -r SECRET %[4]q -s | head
echo ok`, tr.data, tr.link, tr.keyFile, tr.root))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	tr.checkNoSecret(t, out)
	if !strings.HasSuffix(strings.TrimSpace(out), "ok") {
		t.Errorf("the script did not finish:\n%s", out)
	}
}

// TestHiddenFolderLooksEmpty lists the data folder: only the path to the
// exposed work folder shows, read-only.
func TestHiddenFolderLooksEmpty(t *testing.T) {
	tr := newTree(t)
	sb := tr.sandbox(t)
	out, err := tr.run(t, sb, fmt.Sprintf(`ls -A %[1]q; echo ---; ls -A %[1]q/tmp/node.1234/work; echo ---; touch %[1]q/new 2>&1 || echo refused; ls -l %[2]q; cat %[2]q; echo x > %[2]q || echo refused`, tr.data, tr.keyFile))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	parts := strings.Split(out, "---\n")
	if strings.TrimSpace(parts[0]) != "tmp" || strings.TrimSpace(strings.SplitN(parts[1], "\n", 2)[0]) != "task-7" {
		t.Errorf("the data folder shows more than the way to the work folder:\n%s", out)
	}
	if strings.Count(out, "refused") != 2 {
		t.Errorf("the covers are writable:\n%s", out)
	}
	if b, _ := os.ReadFile(tr.keyFile); !strings.Contains(string(b), tr.secrets[3]) {
		t.Errorf("the key file changed: %q", b)
	}
	tr.checkNoSecret(t, out)
}

// TestWritesWhereItsUserMay writes in the work folder and elsewhere; both
// reach the host.
func TestWritesWhereItsUserMay(t *testing.T) {
	tr := newTree(t)
	sb := tr.sandbox(t)
	out, err := tr.run(t, sb, fmt.Sprintf(`pwd; echo a > ./made-here; mkdir -p %[1]q/app && echo b > %[1]q/app/file`, tr.srv))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.TrimSpace(out) != tr.work {
		t.Errorf("working folder %q, want %q", out, tr.work)
	}
	for f, want := range map[string]string{filepath.Join(tr.work, "made-here"): "a\n", filepath.Join(tr.srv, "app", "file"): "b\n"} {
		if b, err := os.ReadFile(f); err != nil || string(b) != want {
			t.Errorf("%s: %q, %v", f, b, err)
		}
	}
}

// TestCannotUncover tries to remove the covers: unmount, detach, remount,
// from a nested namespace, through the init's /proc entries.
func TestCannotUncover(t *testing.T) {
	tr := newTree(t)
	sb := tr.sandbox(t)
	out, err := tr.run(t, sb, fmt.Sprintf(`
set +e
d=%[1]q
umount "$d" && echo UNCOVERED-umount
umount -l "$d" && echo UNCOVERED-detach
mount -o remount,rw "$d" && echo UNCOVERED-remount
mount --bind / /mnt 2>/dev/null && echo UNCOVERED-bind
if command -v unshare >/dev/null; then
  unshare -Urm sh -c "umount -l '$d' && echo UNCOVERED-nested; cat '$d/admin.key'" 2>/dev/null
  unshare -Urmpf --mount-proc sh -c "cat /proc/*/root'$d'/admin.key" 2>/dev/null
fi
cat /proc/1/root"$d"/admin.key /proc/1/cwd/../../../../admin.key 2>/dev/null
head -c 1 /proc/1/maps 2>/dev/null | grep -q . && echo UNCOVERED-init-memory-map
head -c 1 /proc/1/environ 2>/dev/null | grep -q . && echo UNCOVERED-init-environment
for f in /proc/1/fd/*; do readlink "$f"; head -c 1 "$f"; done 2>/dev/null | grep -q . && echo UNCOVERED-init-descriptors
grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/self/status
echo ok`, tr.data))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(out, "UNCOVERED") {
		t.Errorf("a cover came off:\n%s", out)
	}
	tr.checkNoSecret(t, out)
	// No capability to mount or to trace, now or (as root of the
	// namespace) after any exec. An unprivileged program cannot change
	// its bounding set, and gains nothing from it by exec.
	for _, line := range strings.Split(out, "\n") {
		name, hex, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(name, "Cap") || (name == "CapBnd" && os.Getuid() != 0) {
			continue
		}
		set, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		const sysAdmin, sysPtrace = 1 << 21, 1 << 19
		if set&(sysAdmin|sysPtrace) != 0 {
			t.Errorf("the program's %s holds CAP_SYS_ADMIN or CAP_SYS_PTRACE: %s", name, strings.TrimSpace(hex))
		}
	}
}

// TestSeesOnlyItsOwnProcesses: /proc holds the sandbox's processes only.
func TestSeesOnlyItsOwnProcesses(t *testing.T) {
	tr := newTree(t)
	sb := tr.sandbox(t)
	os.Setenv("FERRY_SANDBOX_TEST_SECRET", tr.secrets[0])
	defer os.Unsetenv("FERRY_SANDBOX_TEST_SECRET")
	out, err := tr.run(t, sb, `ls -d /proc/[0-9]* | wc -l; tr '\0' ' ' < /proc/1/cmdline; echo; cat /proc/*/environ | tr '\0' '\n'`)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	lines := strings.Split(out, "\n")
	if n, _ := strconv.Atoi(strings.TrimSpace(lines[0])); n < 2 || n > 4 {
		t.Errorf("%d processes visible, want the init, bash and its children only:\n%s", n, out)
	}
	if !strings.HasPrefix(lines[1], initName) {
		t.Errorf("PID 1 is %q, want the sandbox's init", lines[1])
	}
	tr.checkNoSecret(t, out)
}

// TestCannotReadTheDisk: the block device under the data folder does not
// open (user namespaces do not open devices of the host).
func TestCannotReadTheDisk(t *testing.T) {
	tr := newTree(t)
	sb := tr.sandbox(t)
	dev := blockDeviceOf(t, tr.data)
	out, err := tr.run(t, sb, fmt.Sprintf(`head -c 4096 %q 2>/dev/null | wc -c`, dev))
	if err == nil && strings.TrimSpace(out) != "0" {
		t.Fatalf("read %s from inside the sandbox: %s", dev, out)
	}
}

func blockDeviceOf(t *testing.T, path string) string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	must(t, err)
	best, dev := "", ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		i := strings.Index(line, " - ")
		if len(f) < 5 || i < 0 {
			continue
		}
		tail := strings.Fields(line[i+3:])
		if within(path, f[4]) && len(f[4]) >= len(best) && len(tail) > 1 && strings.HasPrefix(tail[1], "/dev/") {
			best, dev = f[4], tail[1]
		}
	}
	if dev == "" {
		t.Skip("the data folder is not on a block device")
	}
	return dev
}

// TestExitStatus passes the program's exit code on.
func TestExitStatus(t *testing.T) {
	tr := newTree(t)
	sb := tr.sandbox(t)
	out, err := tr.run(t, sb, `echo out; echo err >&2; exit 3`)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("want exit code 3, got %v", err)
	}
	if !strings.Contains(out, "out") || !strings.Contains(out, "err") {
		t.Errorf("output %q", out)
	}
	if _, err := tr.run(t, sb, `kill -TERM $$`); !errors.As(err, &ee) || ee.ExitCode() != 128+15 {
		t.Errorf("a program killed by SIGTERM: %v, want exit code 143", err)
	}
}

// TestCancelKillsEverything: a detached (setsid) child dies with the
// cancelled program.
func TestCancelKillsEverything(t *testing.T) {
	tr := newTree(t)
	sb := tr.sandbox(t)
	marker := fmt.Sprintf("ferry-sandbox-test-%d", time.Now().UnixNano())
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	p, err := sb.Start(ctx, Cmd{Path: "bash", Args: []string{"bash", "-c", daemonScript(marker)}, Dir: tr.work,
		Env: []string{"PATH=/usr/bin:/bin"}, Stdout: &out, Stderr: &out, Expose: []string{tr.work}})
	must(t, err)
	waitFor(t, "the daemon to start", func() bool { return countProcesses(marker) == 2 })
	cancel()
	p.Wait()
	waitFor(t, "every process of the sandbox to end", func() bool { return countProcesses(marker) == 0 })
}

// TestParentDeathKillsEverything kills (SIGKILL) a process that started a
// sandbox: the sandbox, detached children included, dies with it.
func TestParentDeathKillsEverything(t *testing.T) {
	tr := newTree(t)
	marker := fmt.Sprintf("ferry-sandbox-test-%d", time.Now().UnixNano())
	parent := exec.Command(os.Args[0])
	parent.Env = append(os.Environ(), helperEnv+"="+marker, "FERRY_SANDBOX_TEST_WORK="+tr.work, "FERRY_SANDBOX_TEST_HIDE="+tr.data)
	var out bytes.Buffer
	parent.Stdout, parent.Stderr = &out, &out
	must(t, parent.Start())
	waitFor(t, "the sandbox to start", func() bool { return countProcesses(marker) == 2 })
	parent.Process.Kill()
	parent.Wait()
	waitFor(t, "every process of the sandbox to end", func() bool { return countProcesses(marker) == 0 })
}

const helperEnv = "FERRY_SANDBOX_TEST_PARENT"

// helperParent is the process TestParentDeathKillsEverything kills: it
// starts a sandbox whose program daemonizes, and waits.
func helperParent() int {
	sb, err := New(Policy{Hide: []string{os.Getenv("FERRY_SANDBOX_TEST_HIDE")}}, Isolate)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	work := os.Getenv("FERRY_SANDBOX_TEST_WORK")
	// Start from a goroutine that exits and a thread that is busy: the
	// sandbox must not depend on the thread that asked for it.
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		p, err := sb.Start(context.Background(), Cmd{Path: "bash", Args: []string{"bash", "-c", daemonScript(os.Getenv(helperEnv))},
			Dir: work, Env: []string{"PATH=/usr/bin:/bin"}, Stdout: os.Stdout, Stderr: os.Stderr, Expose: []string{work}})
		if err == nil {
			go p.Wait()
		}
		done <- err
	}()
	if err := <-done; err != nil {
		fmt.Println(err)
		return 1
	}
	time.Sleep(time.Hour)
	return 0
}

// daemonScript starts a detached child in a new session and waits; both
// carry marker in their command line.
func daemonScript(marker string) string {
	return fmt.Sprintf(`setsid bash -c 'exec -a %[1]s-daemon sleep 600' </dev/null >/dev/null 2>&1 & exec -a %[1]s-main sleep 600`, marker)
}

// countProcesses counts the host's processes whose command line holds
// marker.
func countProcesses(marker string) int {
	n := 0
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(marker)) && !bytes.Contains(b, []byte("bash")) {
			n++
		}
	}
	return n
}

// TestStopRecorded stops a sandbox from its record, as a restarted server
// stops one its crashed predecessor left; a record whose start time does
// not match stops nothing.
func TestStopRecorded(t *testing.T) {
	tr := newTree(t)
	sb := tr.sandbox(t)
	marker := fmt.Sprintf("ferry-sandbox-test-%d", time.Now().UnixNano())
	p, err := sb.Start(context.Background(), Cmd{Path: "bash", Args: []string{"bash", "-c", daemonScript(marker)}, Dir: tr.work,
		Env: []string{"PATH=/usr/bin:/bin"}, Expose: []string{tr.work}})
	must(t, err)
	waitFor(t, "the daemon to start", func() bool { return countProcesses(marker) == 2 })
	rec := p.Record()
	wrong := rec
	wrong.Start++
	if killed, err := StopRecorded(wrong); killed || err != nil {
		t.Fatalf("a record with another start time stopped something: %v %v", killed, err)
	}
	if killed, err := StopRecorded(rec); !killed || err != nil {
		t.Fatalf("StopRecorded: %v %v", killed, err)
	}
	p.Wait()
	waitFor(t, "every process of the sandbox to end", func() bool { return countProcesses(marker) == 0 })
	if killed, _ := StopRecorded(rec); killed {
		t.Error("stopped a record twice")
	}
}

// TestOff runs without isolation: nothing is hidden, and cancelling kills
// the process group.
func TestOff(t *testing.T) {
	tr := newTree(t)
	sb, err := New(Policy{Hide: []string{tr.data}}, Off)
	must(t, err)
	defer sb.Close()
	must(t, sb.Check(context.Background()))
	out, err := runIn(t, sb, tr.work, nil, fmt.Sprintf("cat %q/admin.key", tr.data))
	if err != nil || !strings.Contains(out, tr.secrets[0]) {
		t.Errorf("mode off: %q, %v", out, err)
	}
}

// TestRefusals: bad policies and commands are refused before anything
// runs.
func TestRefusals(t *testing.T) {
	tr := newTree(t)
	for name, p := range map[string]Policy{
		"relative": {Hide: []string{"data"}},
		"missing":  {Hide: []string{filepath.Join(tr.root, "nope")}},
		"root":     {Hide: []string{"/"}},
	} {
		if _, err := New(p, Isolate); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	sb := tr.sandbox(t)
	if _, err := runIn(t, sb, tr.work, nil, "true"); err == nil || !strings.Contains(err.Error(), "expose") {
		t.Errorf("a working folder inside a hidden one, not exposed: %v", err)
	}
	if _, err := runIn(t, sb, tr.root, []string{tr.root}, "true"); err == nil || !strings.Contains(err.Error(), "holds hidden") {
		t.Errorf("exposing a folder that holds a hidden one: %v", err)
	}
	if _, err := runIn(t, sb, "relative", nil, "true"); err == nil {
		t.Error("a relative working folder was accepted")
	}
	ctx := context.Background()
	if _, err := sb.Start(ctx, Cmd{Path: "no-such-program", Dir: tr.srv, Env: []string{"PATH=/usr/bin:/bin"}}); err == nil || !strings.Contains(err.Error(), "no-such-program") {
		t.Errorf("a missing program: %v", err)
	}
}

func TestOverlaps(t *testing.T) {
	tr := newTree(t)
	sb := tr.sandbox(t)
	for path, want := range map[string]bool{
		tr.data:                          true,
		tr.link:                          true,
		filepath.Join(tr.link, "x", "y"): true,
		filepath.Join(tr.link, "..", "data", "z"): true,
		tr.root:                         true, // holds the data folder
		tr.keyFile:                      true,
		tr.srv:                          false,
		filepath.Join(tr.srv, "app"):    false,
		filepath.Join(tr.root, "data2"): false,
		"/":                             true,
	} {
		if _, got := sb.Overlaps(path); got != want {
			t.Errorf("Overlaps(%s) = %v, want %v", path, got, want)
		}
	}
	must(t, os.Symlink(tr.data, filepath.Join(tr.srv, "sneaky")))
	if _, got := sb.Overlaps(filepath.Join(tr.srv, "sneaky", "app")); !got {
		t.Error("a path through a symlink into the data folder does not overlap it")
	}
}

// TestUnprivileged runs the isolation tests again as an unprivileged user
// (nobody), the way most servers run.
func TestUnprivileged(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("already unprivileged")
	}
	if os.Getenv("FERRY_SANDBOX_TEST_NOBODY") != "" {
		t.Skip("nested")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv is not installed: cannot switch to an unprivileged user")
	}
	// A copy of the test binary and a temporary folder the user can reach.
	dir, err := os.MkdirTemp("", "ferry-sandbox-nobody-")
	must(t, err)
	defer os.RemoveAll(dir)
	must(t, os.Chmod(dir, 0o755))
	tmp := filepath.Join(dir, "tmp")
	must(t, os.Mkdir(tmp, 0o777))
	must(t, os.Chmod(tmp, 0o1777))
	bin := filepath.Join(dir, "sandbox.test")
	b, err := os.ReadFile(os.Args[0])
	must(t, err)
	must(t, os.WriteFile(bin, b, 0o755))
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bin, "-test.run",
		"^(TestHidesByEveryPath|TestHiddenFolderLooksEmpty|TestWritesWhereItsUserMay|TestCannotUncover|TestSeesOnlyItsOwnProcesses|TestExitStatus|TestCancelKillsEverything|TestParentDeathKillsEverything|TestStopRecorded|TestRefusals)$", "-test.v")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "FERRY_SANDBOX_TEST_NOBODY=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	if bytes.Contains(out, []byte("--- SKIP")) || !bytes.Contains(out, []byte("--- PASS: TestHidesByEveryPath")) {
		t.Fatalf("as nobody, tests were skipped:\n%s", out)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
