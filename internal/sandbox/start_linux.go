package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// spec is what the server tells the init, on a pipe (not in its arguments
// or environment, which the program could read).
type spec struct {
	Hide   []string `json:"hide"`
	Expose []string `json:"expose"`
	Probe  bool     `json:"probe,omitempty"` // set up, then exit 0 without running anything
	Run    runSpec  `json:"run"`
}

// runSpec is the program the init runs.
type runSpec struct {
	Path string   `json:"path"`
	Args []string `json:"args"`
	Dir  string   `json:"dir"`
	Env  []string `json:"env"`
}

// Descriptors of the init (after 0, 1, 2).
const (
	fdSpec     = 3 // read: the spec, JSON, until EOF
	fdLifeline = 4 // read: EOF when the server is gone
	fdReport   = 5 // write: reportOK once the program started, else why not
)

const probeProgram = "ferry-sandbox-probe"

func (s *Sandbox) start(ctx context.Context, c Cmd, probe bool) (*Process, error) {
	if s.mode == Off {
		return startPlain(ctx, c)
	}
	sp := spec{Hide: s.hide, Probe: probe, Run: runSpec{Path: c.Path, Args: c.Args, Dir: c.Dir, Env: c.Env}}
	for _, e := range c.Expose {
		real := resolveExisting(e)
		for _, h := range s.hide {
			if within(h, real) {
				return nil, fmt.Errorf("sandbox: cannot expose %s: it holds hidden %s", e, h)
			}
		}
		sp.Expose = append(sp.Expose, real)
	}
	dir := resolveExisting(c.Dir)
	for _, h := range s.hide {
		if within(dir, h) && !exposed(dir, sp.Expose) {
			return nil, fmt.Errorf("sandbox: working folder %s is inside hidden %s; expose it", c.Dir, h)
		}
	}
	payload, err := json.Marshal(sp)
	if err != nil {
		return nil, err
	}

	var pipes [6]*os.File // spec r/w, lifeline r/w, report r/w
	for i := 0; i < 6; i += 2 {
		if pipes[i], pipes[i+1], err = os.Pipe(); err != nil {
			closeAll(pipes[:]...)
			return nil, err
		}
	}
	specR, specW, lifeR, lifeW, repR, repW := pipes[0], pipes[1], pipes[2], pipes[3], pipes[4], pipes[5]

	cmd := exec.CommandContext(ctx, "/proc/self/exe")
	cmd.Args = []string{initName, stageSetup, noTests}
	cmd.Dir = "/" // never the server's working folder, which may be hidden
	cmd.Env = c.Env
	cmd.Stdout, cmd.Stderr = c.Stdout, c.Stderr
	cmd.ExtraFiles = []*os.File{specR, lifeR, repW}
	cmd.SysProcAttr = namespaces()
	cmd.Cancel = func() error { return cmd.Process.Kill() } // the init: the kernel kills the rest
	cmd.WaitDelay = waitDelay

	var startErr error
	if err := s.onStarterThread(func() { startErr = cmd.Start() }); err != nil {
		startErr = err
	}
	closeAll(specR, lifeR, repW)
	if startErr != nil {
		closeAll(specW, lifeW, repR)
		return nil, &SetupError{Msg: fmt.Sprintf("cannot start the sandbox: %v. %s", startErr, diagnose())}
	}
	_, werr := specW.Write(payload)
	specW.Close()
	report, _ := io.ReadAll(io.LimitReader(repR, 64<<10))
	repR.Close()
	if string(report) != reportOK {
		cmd.Wait()
		lifeW.Close()
		msg := strings.TrimSpace(string(report))
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case msg == "":
			if werr != nil {
				msg = ": " + werr.Error()
			}
			return nil, &SetupError{Msg: "the sandbox's init stopped before it was set up (does this program call sandbox.Main first?)" + msg}
		case strings.HasPrefix(msg, "exec:"), strings.HasPrefix(msg, "start "):
			return nil, &SetupError{Msg: msg} // the program, not the sandbox
		}
		return nil, &SetupError{Msg: "cannot set up the sandbox: " + msg + ". " + diagnose()}
	}
	p := &Process{wait: cmd.Wait, lifeline: lifeW}
	p.record, _ = recordOf(cmd.Process.Pid, false)
	return p, nil
}

// namespaces is how the init is started: new user, mount and PID
// namespaces; the server's user mapped to itself (as root, every user:
// files keep their owners and steps may chown); the capability to mount
// kept across exec for an unprivileged server, whose init needs it; and
// SIGKILL when the server's starter thread dies.
func namespaces() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID,
		Pdeathsig:  syscall.SIGKILL,
		Setpgid:    true, // a Ctrl-C at the server's terminal is the server's to handle
	}
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		all := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1<<32 - 1}}
		attr.UidMappings, attr.GidMappings = all, all
		attr.GidMappingsEnableSetgroups = true
	} else {
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
		attr.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN}
	}
	return attr
}

func exposed(dir string, expose []string) bool {
	for _, e := range expose {
		if within(dir, e) {
			return true
		}
	}
	return false
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// diagnose names the likely reason this host refuses namespaces, and what
// to do about it.
func diagnose() string {
	read := func(p string) string {
		b, _ := os.ReadFile(p)
		return strings.TrimSpace(string(b))
	}
	const off = " To run steps without isolation anyway — they can then read the data folder and keys — start the server with --sandbox off."
	root := os.Getuid() == 0
	switch {
	case read("/proc/sys/user/max_user_namespaces") == "0":
		return "User namespaces are disabled on this host (sysctl user.max_user_namespaces=0): set it to a positive number, e.g. 10000." + off
	case !root && read("/proc/sys/kernel/unprivileged_userns_clone") == "0":
		return "Unprivileged user namespaces are disabled (sysctl kernel.unprivileged_userns_clone=0): set it to 1, or run the server as root." + off
	case !root && read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
		return "AppArmor restricts unprivileged user namespaces (sysctl kernel.apparmor_restrict_unprivileged_userns=1): give the ferry binary an AppArmor profile that allows them (docs/operations.md shows one), or run the server as root." + off
	}
	return "The kernel or the container's security profile (seccomp, AppArmor, SELinux) refuses new user, mount or PID namespaces; in a container, allow them (for Docker: --security-opt seccomp=unconfined --security-opt apparmor=unconfined, or run ferry on the host)." + off
}
