package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// The init is this binary started again under initName. Its first stage
// (setup) runs with the capability to mount in the new namespaces, covers
// what is hidden, and re-executes itself without that capability as the
// second stage (run), which stays PID 1 of the sandbox while the program
// runs. Re-executing, rather than dropping the capability thread by
// thread, leaves no thread of the sandbox able to unmount anything.
const (
	initName   = "ferry-sandbox-init"
	stageSetup = "setup"
	stageRun   = "run"
	// noTests ends the init's arguments: should a test binary whose
	// TestMain forgot to call Main be started as an init, it runs no test
	// (rather than all of them, recursively) and the start fails cleanly.
	noTests = "-test.run=^$"
	// Descriptors of the second stage.
	runLifeline = 3
	runReport   = 4
	// reportOK is what the second stage reports once the program started.
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
	switch os.Args[1] {
	case stageSetup:
		os.Exit(setup())
	case stageRun:
		os.Exit(supervise())
	}
	fmt.Fprintln(os.Stderr, "ferry sandbox: unknown init stage")
	os.Exit(125)
}

// setup is the first stage: read the spec, cover what is hidden, give up
// the capability to mount, and become the second stage. A failure is
// written to the report descriptor, which the server reads.
func setup() int {
	fail := func(format string, args ...any) int {
		writeAll(fdReport, []byte(fmt.Sprintf(format, args...)))
		return 125
	}
	// Also set by the starter; set again here in case the server died
	// between clone and exec. The lifeline catches a death before this.
	unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
	raw, err := readAll(fdSpec)
	if err != nil {
		return fail("read the sandbox's spec: %v", err)
	}
	var sp spec
	if err := json.Unmarshal(raw, &sp); err != nil {
		return fail("read the sandbox's spec: %v", err)
	}
	if err := isolate(sp); err != nil {
		return fail("%v", err)
	}
	// The second stage gets the lifeline as descriptor 3 and the report as
	// 4; the spec's descriptor goes.
	if err := unix.Dup3(fdLifeline, runLifeline, 0); err != nil {
		return fail("keep the lifeline: %v", err)
	}
	if err := unix.Dup3(fdReport, runReport, 0); err != nil {
		return fail("keep the report: %v", err)
	}
	unix.Close(fdReport)
	fail = func(format string, args ...any) int {
		writeAll(runReport, []byte(fmt.Sprintf(format, args...)))
		return 125
	}

	runtime.LockOSThread() // capabilities are per thread: exec from the one that dropped them
	if err := dropMountCapability(); err != nil {
		return fail("give up the capability to mount: %v", err)
	}
	run, err := json.Marshal(sp.Run)
	if err != nil {
		return fail("%v", err)
	}
	err = unix.Exec("/proc/self/exe", []string{initName, stageRun, string(run), noTests}, sp.Run.Env)
	return fail("start the sandbox's init: %v", err)
}

// isolate covers each hidden path, at every path the mount table shows it
// under, binds the exposed folders back, mounts a fresh /proc for the new
// PID namespace, and enters the working folder.
func isolate(sp spec) error {
	// Nothing mounted here may show outside (events from outside still
	// arrive, and land under the covers).
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("make the sandbox's mounts its own: %w", err)
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	mounts, err := parseMountInfo(f)
	f.Close()
	if err != nil {
		return err
	}
	var targets []string
	for _, h := range sp.Hide {
		targets = append(targets, h)
		targets = append(targets, aliases(h, mounts)...)
	}
	targets = outermost(targets)

	// Open the exposed folders before they are covered; bind them back
	// through their descriptors afterwards.
	type exposure struct {
		path string
		fd   int
	}
	var exps []exposure
	for _, e := range sp.Expose {
		if !slices.ContainsFunc(targets, func(t string) bool { return within(e, t) }) {
			continue // not covered: nothing to do
		}
		fd, err := unix.Open(e, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", e, err)
		}
		exps = append(exps, exposure{e, fd})
	}

	var folders, files []string
	for _, t := range targets {
		var st unix.Stat_t
		if err := unix.Stat(t, &st); err != nil {
			if errors.Is(err, unix.ENOENT) && !slices.Contains(sp.Hide, t) {
				continue // an alias the mount table still lists but that is covered or gone
			}
			return fmt.Errorf("hide %s: %w", t, err)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			folders = append(folders, t)
		} else {
			files = append(files, t)
		}
	}
	// A hidden file is covered by an empty read-only file. It lives on a
	// small tmpfs mounted on the first hidden folder and then covered by
	// that folder's own cover, so no path leads to it.
	if len(files) > 0 {
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
	if err := unix.Chdir(sp.Run.Dir); err != nil {
		return fmt.Errorf("enter the working folder %s: %w", sp.Run.Dir, err)
	}
	return nil
}

const hiddenFlags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC

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

// dropMountCapability removes CAP_SYS_ADMIN from this thread for good:
// from the ambient set (an unprivileged server's init got it that way),
// from the inheritable, permitted and effective sets, and from the
// bounding set, so that no program started later gains it back, not even
// as root of the namespace. Without it nothing can unmount the covers.
func dropMountCapability() error {
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	// Changing the bounding set takes CAP_SETPCAP, which only a
	// root-mapped init has; an unprivileged program gains no capability
	// by exec anyway.
	if err := unix.Prctl(unix.PR_CAPBSET_DROP, unix.CAP_SYS_ADMIN, 0, 0, 0); err != nil && os.Getuid() == 0 {
		return fmt.Errorf("drop CAP_SYS_ADMIN from the bounding set: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	i, bit := unix.CAP_SYS_ADMIN/32, uint32(1)<<(unix.CAP_SYS_ADMIN%32)
	data[i].Effective &^= bit
	data[i].Permitted &^= bit
	data[i].Inheritable &^= bit
	return unix.Capset(&hdr, &data[0])
}

// supervise is the second stage: PID 1 of the sandbox. It runs the program,
// reaps every process that ends in the sandbox, passes signals on to the
// program, and exits with the program's status — and then the kernel kills
// whatever else still runs in the sandbox. When the server dies (its end
// of the lifeline closes), it kills everything at once.
func supervise() int {
	unix.CloseOnExec(runLifeline)
	unix.CloseOnExec(runReport)
	report := func(format string, args ...any) {
		writeAll(runReport, []byte(fmt.Sprintf(format, args...)))
		unix.Close(runReport)
	}
	unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
	// Not dumpable: the program may not read this process's memory or
	// descriptors through /proc.
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	var rs runSpec
	if len(os.Args) < 3 || json.Unmarshal([]byte(os.Args[2]), &rs) != nil {
		report("the sandbox's init was started without a program")
		return 125
	}
	go watchLifeline(runLifeline)
	if rs.Probe {
		report(reportOK)
		return 0
	}
	path, err := exec.LookPath(rs.Path)
	if err != nil {
		report("%v", err)
		return 127
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2)
	pid, err := syscall.ForkExec(path, rs.Args, &syscall.ProcAttr{Env: rs.Env, Files: []uintptr{0, 1, 2}})
	if err != nil {
		report("start %s: %v", rs.Path, err)
		return 126
	}
	report(reportOK)
	go func() {
		for s := range sigs {
			unix.Kill(pid, s.(syscall.Signal))
		}
	}()
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
			continue // an orphan reparented to us
		case ws.Signaled():
			return 128 + int(ws.Signal())
		default:
			return ws.ExitStatus()
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
