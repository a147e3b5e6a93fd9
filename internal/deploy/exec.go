package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/sandbox"
	"github.com/ferrydeploy/ferry/internal/variables"
)

// runStep substitutes the step's script and runs it with bash in the task's
// working folder, in the runner's sandbox: the server's data folder and key
// files are invisible to it, and it and everything it starts end when it
// ends, when it is cancelled or times out, and when the server dies.
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

	timeout := r.timeout
	if step.TimeoutSeconds > 0 {
		timeout = time.Duration(step.TimeoutSeconds) * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	stdout, stderr := &lineWriter{emit: tl.info}, &lineWriter{emit: tl.error}
	p, err := r.sandbox.Start(ctx, sandbox.Cmd{
		Path: "bash", Args: []string{"bash", "--noprofile", "--norc", "-eo", "pipefail", path},
		Dir: work, Env: scriptEnv(work), Stdout: stdout, Stderr: stderr, Expose: []string{work},
	})
	if err != nil {
		return fmt.Errorf("start the script: %w", err)
	}
	// Beside the working folder, out of the script's reach: the next start
	// stops the script from this record if it outlived a crash.
	record := work + recordSuffix
	if b, err := json.Marshal(p.Record()); err == nil {
		os.WriteFile(record, b, 0o600)
	}
	defer os.Remove(record)
	err = p.Wait()
	stdout.flush()
	stderr.flush()
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

// recordSuffix names the file beside a task's working folder that records
// its running script (sandbox.Record, JSON).
const recordSuffix = ".proc"

// StopLeftovers stops the scripts recorded in workDir, the working folders
// of a server process that is gone: if a crash let one outlive its server
// (which the sandbox prevents, but a record costs nothing), it must not go
// on unsupervised while its task is marked failed.
func StopLeftovers(workDir string, log *slog.Logger) {
	records, _ := filepath.Glob(filepath.Join(workDir, "*"+recordSuffix))
	for _, f := range records {
		b, err := os.ReadFile(f)
		var rec sandbox.Record
		if err != nil || json.Unmarshal(b, &rec) != nil {
			continue
		}
		killed, err := sandbox.StopRecorded(rec)
		switch {
		case err != nil:
			log.Warn("stop a script left running by a stopped server process", "record", f, "err", err)
		case killed:
			log.Warn("stopped a script left running by a stopped server process", "record", f, "pid", rec.Pid)
		}
	}
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

// maxLine bounds a log line: longer ones are split, not lost.
const maxLine = 64 << 10

// lineWriter turns a script's output into log lines.
type lineWriter struct {
	emit func(string)
	buf  []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(strings.TrimRight(string(w.buf[:i]), "\r"))
		w.buf = w.buf[i+1:]
	}
	for len(w.buf) >= maxLine {
		n := maxLine
		for n > maxLine-utf8.UTFMax && !utf8.RuneStart(w.buf[n]) {
			n--
		}
		w.emit(string(w.buf[:n]))
		w.buf = w.buf[n:]
	}
	w.buf = append([]byte(nil), w.buf...) // let the consumed part go
	return len(p), nil
}

// flush emits a last line that did not end in a newline.
func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.emit(strings.TrimRight(string(w.buf), "\r"))
		w.buf = nil
	}
}
