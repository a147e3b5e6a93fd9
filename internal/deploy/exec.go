package deploy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/variables"
)

// runStep substitutes the step's script and runs it with bash in the task's
// working folder. The process gets its own process group so that a timeout
// or a cancel stops everything the script started.
func (r *Runner) runStep(ctx context.Context, step domain.Step, vars *variables.Set, work string, tl *taskLog) error {
	script, err := substitute(step.Script, vars, variables.Strict, "script", tl)
	if err != nil {
		return fmt.Errorf("substitute variables in script: %w", err)
	}
	path := filepath.Join(work, "script.sh")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		return fmt.Errorf("write script: %w", err)
	}
	defer os.Remove(path)

	timeout := r.Timeout
	if step.TimeoutSeconds > 0 {
		timeout = time.Duration(step.TimeoutSeconds) * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-eo", "pipefail", path)
	cmd.Dir = work
	cmd.Env = scriptEnv(work)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start bash: %w", err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); pump(stdout, tl.info) }()
	go func() { defer wg.Done(); pump(stderr, tl.error) }()
	wg.Wait()
	err = cmd.Wait()
	switch {
	case err == nil:
		return nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("timed out after %s", timeout)
	case ctx.Err() != nil:
		return ctx.Err()
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("script exited with code %d", exit.ExitCode())
	}
	return fmt.Errorf("run script: %w", err)
}

// scriptEnv is the environment a script sees: a known PATH and the working
// folder as HOME, not the server's own environment (which may hold secrets
// such as a database URL).
func scriptEnv(work string) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	return []string{"PATH=" + path, "HOME=" + work, "LANG=C.UTF-8", "TMPDIR=" + work}
}

// pump sends each line of r to emit; very long lines are split, not lost.
func pump(r io.Reader, emit func(string)) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			emit(strings.TrimRight(line, "\r\n"))
		}
		if err != nil {
			return
		}
	}
}
