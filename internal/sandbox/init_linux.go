package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The init is this binary started again under initName, PID 1 of the
// sandbox. It covers what is hidden while it may still mount, then starts
// the program from one thread that has given up the capabilities to mount
// and to trace (so the program cannot undo the covers, nor take over one of
// the init's other threads), and stays to reap and pass signals on. It is
// not dumpable: the program cannot read its memory or descriptors.
const (
	initName   = "ferry-sandbox-init"
	stageSetup = "setup"
	// noTests ends the init's arguments: should a test binary whose
	// TestMain forgot to call Main be started as an init, it runs no test
	// (rather than all of them, recursively) and the start fails cleanly.
	noTests = "-test.run=^$"
	// reportOK is what the init reports once the program started.
	reportOK = "ok"
)

// Main runs the sandbox's init when this process was started as one, and
// exits; otherwise it returns at once. Call it first thing in main, and in
// TestMain of every package whose tests start sandboxes (the init is the
// running binary itself, the test binary in tests).
func Main() {
	if len(os.Args) < 2 || os.Args[0] != initName {
		return
	}
	if os.Args[1] != stageSetup {
		fmt.Fprintln(os.Stderr, "ferry sandbox: unknown init stage")
		os.Exit(125)
	}
	os.Exit(runInit())
}

// runInit reads the spec, covers what is hidden, starts the program and
// supervises it. Whatever goes wrong before the program runs is written to
// the report descriptor, which the server reads.
func runInit() int {
	closeInherited()
	unix.CloseOnExec(fdReport)
	unix.CloseOnExec(fdLifeline)
	report := func(format string, args ...any) {
		writeAll(fdReport, []byte(fmt.Sprintf(format, args...)))
		unix.Close(fdReport)
	}
	// Also set by the starter; set again here in case the server died
	// between clone and exec. The lifeline catches a death before this.
	unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
	go watchLifeline(fdLifeline)
	raw, err := readAll(fdSpec)
	unix.Close(fdSpec)
	var sp spec
	if err == nil {
		err = json.Unmarshal(raw, &sp)
	}
	if err != nil {
		report("read the sandbox's spec: %v", err)
		return 125
	}
	if err := isolate(sp); err != nil {
		report("%v", err)
		return 125
	}
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	if sp.Probe {
		report(reportOK)
		return 0
	}
	rs := sp.Run
	path, err := lookPath(rs.Path, rs.Env)
	if err != nil {
		report("%v", err)
		return 127
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2)
	pid, err := startProgram(path, rs)
	if err != nil {
		report("%v", err)
		return 126
	}
	report(reportOK)
	go func() {
		for s := range sigs {
			unix.Kill(pid, s.(syscall.Signal))
		}
	}()
	return reap(pid)
}

// startProgram starts the program from a thread of its own that first
// gives up, for good, the capabilities to mount and to trace; the thread
// ends with the call (it stays locked), so no goroutine runs on it again.
func startProgram(path string, rs runSpec) (int, error) {
	type result struct {
		pid int
		err error
	}
	done := make(chan result)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		if err := dropCapabilities(); err != nil {
			done <- result{err: fmt.Errorf("give up the capabilities to mount and trace: %w", err)}
			return
		}
		pid, err := syscall.ForkExec(path, rs.Args, &syscall.ProcAttr{Env: rs.Env, Files: []uintptr{0, 1, 2},
			Sys: &syscall.SysProcAttr{Setsid: true}}) // no controlling terminal: see ownTerminals
		if err != nil {
			err = fmt.Errorf("start %s: %w", rs.Path, err)
		}
		done <- result{pid, err}
	}()
	r := <-done
	return r.pid, r.err
}

// reap waits for every process that ends in the sandbox (orphans are
// reparented to the init) until the program ends, and returns its status:
// its exit code, or 128+N when signal N killed it.
func reap(pid int) int {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, 0, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			fmt.Fprintf(os.Stderr, "ferry sandbox: wait: %v\n", err)
			return 125
		case got != pid:
			continue
		case ws.Signaled():
			return 128 + int(ws.Signal())
		default:
			return ws.ExitStatus()
		}
	}
}

// lookPath finds a program in the PATH of env, as exec.LookPath does in
// the program's environment rather than the init's.
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			for _, dir := range filepath.SplitList(v) {
				p := filepath.Join(dir, file)
				if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
					return p, nil
				}
			}
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", file)
}

// isolate covers each hidden path, at every path the mount table shows it
// under, binds the exposed folders back, mounts a fresh /proc for the new
// PID namespace, and enters the working folder.
func isolate(sp spec) error {
	targets, err := hiddenTargets(sp.Hide)
	if err != nil {
		return err
	}
	// Open the exposed folders before they are covered; bind them back
	// through their descriptors afterwards.
	exps, err := openExposed(sp.Expose, targets)
	if err != nil {
		return err
	}
	folders, files, err := splitTargets(targets, sp.Hide)
	if err != nil {
		return err
	}
	if err := coverFiles(files, folders); err != nil {
		return err
	}
	for _, t := range folders {
		if err := unix.Mount("ferry-hidden", t, "tmpfs", hiddenFlags, "mode=0755,size=64k,nr_inodes=1024"); err != nil {
			return fmt.Errorf("hide %s: %w", t, err)
		}
	}
	for _, e := range exps {
		if err := os.MkdirAll(e.path, 0o755); err != nil {
			return fmt.Errorf("expose %s: %w", e.path, err)
		}
		if err := unix.Mount(fmt.Sprintf("/proc/self/fd/%d", e.fd), e.path, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("expose %s: %w", e.path, err)
		}
		unix.Close(e.fd)
	}
	for _, t := range folders {
		if err := unix.Mount("", t, "", unix.MS_REMOUNT|unix.MS_RDONLY|hiddenFlags, ""); err != nil {
			return fmt.Errorf("make %s read-only: %w", t, err)
		}
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount a /proc of the sandbox's own: %w", err)
	}
	if err := ownTerminals(); err != nil {
		return fmt.Errorf("give the sandbox terminals of its own: %w", err)
	}
	if err := unix.Chdir(sp.Run.Dir); err != nil {
		return fmt.Errorf("enter the working folder %s: %w", sp.Run.Dir, err)
	}
	return nil
}

// hiddenTargets makes the sandbox's mounts its own and returns every path
// a hidden path shows under: itself and, by the mount table, its aliases
// (bind mounts), outermost only.
func hiddenTargets(hide []string) ([]string, error) {
	// Nothing mounted here may show outside (events from outside still
	// arrive, and land under the covers).
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return nil, fmt.Errorf("make the sandbox's mounts its own: %w", err)
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	mounts, err := parseMountInfo(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	var targets []string
	for _, h := range hide {
		targets = append(targets, h)
		targets = append(targets, aliases(h, mounts)...)
	}
	return outermost(targets), nil
}

// exposure is an exposed folder under a hidden one, opened before it was
// covered.
type exposure struct {
	path string
	fd   int
}

// openExposed opens the exposed folders that a target covers.
func openExposed(expose, targets []string) ([]exposure, error) {
	var exps []exposure
	for _, e := range expose {
		if !slices.ContainsFunc(targets, func(t string) bool { return within(e, t) }) {
			continue // not covered: nothing to do
		}
		fd, err := unix.Open(e, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", e, err)
		}
		exps = append(exps, exposure{e, fd})
	}
	return exps, nil
}

// splitTargets sorts the targets into folders and files. An alias that is
// gone is skipped; a hidden path itself must exist.
func splitTargets(targets, hide []string) (folders, files []string, err error) {
	for _, t := range targets {
		var st unix.Stat_t
		if err := unix.Stat(t, &st); err != nil {
			if errors.Is(err, unix.ENOENT) && !slices.Contains(hide, t) {
				continue // an alias the mount table still lists but that is covered or gone
			}
			return nil, nil, fmt.Errorf("hide %s: %w", t, err)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			folders = append(folders, t)
		} else {
			files = append(files, t)
		}
	}
	return folders, files, nil
}

// coverFiles covers each hidden file with an empty read-only file. It
// lives on a small tmpfs mounted on the first hidden folder and then
// covered by that folder's own cover, so no path leads to it.
func coverFiles(files, folders []string) error {
	if len(files) == 0 {
		return nil
	}
	empty := "/dev/null" // only when no folder is hidden: reads as empty, writes go nowhere
	if len(folders) > 0 {
		if err := unix.Mount("ferry-hidden", folders[0], "tmpfs", hiddenFlags, "mode=0700,size=4k,nr_inodes=16"); err != nil {
			return fmt.Errorf("hide %s: %w", folders[0], err)
		}
		empty = filepath.Join(folders[0], "empty")
		if err := os.WriteFile(empty, nil, 0o444); err != nil {
			return fmt.Errorf("hide files: %w", err)
		}
	}
	for _, t := range files {
		if err := unix.Mount(empty, t, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("hide %s: %w", t, err)
		}
		if err := remountReadOnly(t); err != nil {
			return fmt.Errorf("hide %s: %w", t, err)
		}
	}
	return nil
}

const hiddenFlags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC

// ownTerminals puts a pseudo-terminal instance of the sandbox's own on
// /dev/pts (and /dev/ptmx), so the program cannot open the terminal the
// server runs in — the operator's — by its /dev/pts path, to print control
// sequences past the task log, read what is typed or push keystrokes into
// the shell that started the server. (The program also starts in a session
// of its own, without a controlling terminal: /dev/tty leads nowhere.)
// Where devpts cannot be mounted, /dev/pts is covered instead.
func ownTerminals() error {
	if _, err := os.Stat("/dev/pts"); err != nil {
		return nil // no terminals to hide
	}
	err := unix.Mount("devpts", "/dev/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620")
	if err != nil {
		return unix.Mount("ferry-hidden", "/dev/pts", "tmpfs", hiddenFlags|unix.MS_RDONLY, "mode=0755,size=4k,nr_inodes=16")
	}
	if _, err := os.Stat("/dev/ptmx"); err == nil {
		// Where this fails, opening /dev/ptmx makes a terminal the program
		// cannot open the other end of: nothing of the server's shows.
		unix.Mount("/dev/pts/ptmx", "/dev/ptmx", "", unix.MS_BIND, "")
	}
	return nil
}

// remountReadOnly makes a bind mount read-only, keeping the flags of the
// mount it came from (a user namespace may not clear them).
func remountReadOnly(path string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return err
	}
	flags := uintptr(unix.MS_REMOUNT | unix.MS_BIND | unix.MS_RDONLY)
	for _, f := range []struct {
		st int64
		ms uintptr
	}{
		{unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME}, {unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if int64(st.Flags)&f.st != 0 {
			flags |= f.ms
		}
	}
	return unix.Mount("", path, "", flags, "")
}

// dropCapabilities removes CAP_SYS_ADMIN (mount, unmount) and
// CAP_SYS_PTRACE (reach into the init's other threads, which keep theirs)
// from this thread for good: from the ambient set (an unprivileged
// server's init got CAP_SYS_ADMIN that way), the inheritable, permitted and
// effective sets, and the bounding set, so that no program started from
// here gains them back, not even as root of the namespace.
func dropCapabilities() error {
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	caps := []int{unix.CAP_SYS_ADMIN, unix.CAP_SYS_PTRACE}
	for _, c := range caps {
		// Changing the bounding set takes CAP_SETPCAP, which only a
		// root-mapped init has; an unprivileged program gains no
		// capability by exec anyway.
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && os.Getuid() == 0 {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	for _, c := range caps {
		i, bit := c/32, uint32(1)<<(c%32)
		data[i].Effective &^= bit
		data[i].Permitted &^= bit
		data[i].Inheritable &^= bit
	}
	return unix.Capset(&hdr, &data[0])
}

// closeInherited keeps every descriptor but standard input, output and
// error from the program: the server may have inherited some from whatever
// started it (a supervisor's lock file, a shell's `exec 7<folder`), and a
// descriptor reaches the file or folder it names through /proc/self/fd
// whatever covers its path. (The init's own — spec, lifeline, report — are
// close-on-exec as well.)
func closeInherited() {
	if unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC) == nil {
		return
	}
	// Before Linux 5.11: one by one.
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		var fd int
		if _, err := fmt.Sscan(e.Name(), &fd); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
}

// watchLifeline kills everything in the sandbox once the lifeline's other
// end closes: the server stopped without cancelling (it was killed).
func watchLifeline(fd int) {
	var b [1]byte
	for {
		n, err := unix.Read(fd, b[:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if n <= 0 {
			break
		}
	}
	unix.Kill(-1, unix.SIGKILL)
	os.Exit(128 + int(unix.SIGKILL))
}

func readAll(fd int) ([]byte, error) {
	var out []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return out, nil
		}
		out = append(out, buf[:n]...)
	}
}

func writeAll(fd int, b []byte) {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return
		}
		b = b[n:]
	}
}
