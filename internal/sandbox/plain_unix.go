//go:build unix

package sandbox

import (
	"context"
	"os/exec"
	"syscall"
	"time"
)

// waitDelay bounds how long Wait waits for output after the program was
// killed (a descendant may still hold the pipes in mode Off).
const waitDelay = 5 * time.Second

// startPlain starts c without isolation, in its own process group, which
// is killed when ctx ends.
func startPlain(ctx context.Context, c Cmd) (*Process, error) {
	cmd := exec.CommandContext(ctx, c.Path, c.Args[1:]...)
	cmd.Args = c.Args
	cmd.Dir, cmd.Env = c.Dir, c.Env
	cmd.Stdout, cmd.Stderr = c.Stdout, c.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{wait: cmd.Wait}
	p.record, _ = recordOf(cmd.Process.Pid, true)
	return p, nil
}
