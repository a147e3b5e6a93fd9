// Package step runs one deployment step on this machine: a script, or a
// package install (safe extraction, substitution, preDeploy, activation,
// postDeploy), in a sandbox that hides what steps must not reach. The
// server's built-in worker and every agent run steps through it, so a step
// behaves the same wherever it runs.
//
// Scripts run with bash and ferry's functions (set_ferryvariable,
// set_octopusvariable, fail_step: see output.go), whose service messages
// become the step's output variables and never reach the log.
package step

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/sandbox"
	"github.com/ferrydeploy/ferry/internal/variables"
)

// Log receives a step's lines. Implementations mask every line with the
// secrets they know, and with those Secrets adds.
type Log interface {
	Info(text string)
	Error(text string)
	// Secrets masks values from now on: values derived from sensitive
	// ones, sensitive output variables.
	Secrets(values ...string)
}

// Runner runs steps in one sandbox.
type Runner struct {
	sandbox *sandbox.Sandbox
	timeout time.Duration
	host    string
}

// NewRunner runs steps in sb, for host ("server", "agent": what messages
// call the process whose data the sandbox hides); a step without its own
// timeout may run for timeout (0: one hour).
func NewRunner(sb *sandbox.Sandbox, host string, timeout time.Duration) *Runner {
	if timeout <= 0 {
		timeout = time.Hour
	}
	return &Runner{sandbox: sb, timeout: timeout, host: host}
}

// Sandbox is the sandbox steps run in.
func (r *Runner) Sandbox() *sandbox.Sandbox { return r.sandbox }

// Spec is a step to run.
type Spec struct {
	Step domain.Step
	// Vars are the step's variables; Run adds Ferry.Package.* to them.
	Vars *variables.Set
	// Work is the step's working folder (0700, existing): scripts and the
	// package are written there. It holds secrets: the caller removes it.
	Work string
	// Package is what a deploy-package step installs.
	Package *Package
}

// Package is the package of a deploy-package step: the version the
// release pinned, and how to get its file.
type Package struct {
	Ref domain.PackageRef
	// Fetch writes the package to dst, verified against Ref.SHA256.
	Fetch func(ctx context.Context, dst string) error
}

// Result is what a step left for later steps.
type Result struct {
	Outputs []Output
}

// Output is an output variable set by set_ferryvariable.
type Output struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Sensitive bool   `json:"sensitive,omitempty"`
}

// Run runs the step: its script, or its package install. A script that
// called fail_step fails with its message.
func (r *Runner) Run(ctx context.Context, spec Spec, log Log) (Result, error) {
	out := &outputs{log: log}
	var err error
	if spec.Step.Type == domain.StepDeployPackage {
		err = r.deployPackage(ctx, spec, out, log)
	} else {
		err = r.script(ctx, spec.Step, spec.Vars, spec.Work, out, log)
	}
	return Result{Outputs: out.list}, err
}

// script substitutes a script step's script and runs it with bash in the
// working folder, in the runner's sandbox: it and everything it starts end
// when it ends, when it is cancelled or times out, and when this process
// dies.
func (r *Runner) script(ctx context.Context, st domain.Step, vars *variables.Set, work string, out *outputs, log Log) error {
	script, err := substitute(st.Script, vars, variables.Strict, "script", log)
	if err != nil {
		return fmt.Errorf("substitute variables in script: %w", err)
	}
	path := filepath.Join(work, "script.sh")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		return fmt.Errorf("write script: %w", err)
	}
	defer os.Remove(path)
	functions := filepath.Join(work, functionsFile)
	if err := os.WriteFile(functions, []byte(bashFunctions), 0o600); err != nil {
		return fmt.Errorf("write ferry's bash functions: %w", err)
	}
	defer os.Remove(functions)

	timeout := r.timeout
	if st.TimeoutSeconds > 0 {
		timeout = time.Duration(st.TimeoutSeconds) * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	stdout, stderr := &lineWriter{emit: out.stdout}, &lineWriter{emit: out.stderr}
	p, err := r.sandbox.Start(ctx, sandbox.Cmd{
		Path: "bash", Args: []string{"bash", "--noprofile", "--norc", "-eo", "pipefail", path},
		Dir: work, Env: append(scriptEnv(work), "BASH_ENV="+functions), Stdout: stdout, Stderr: stderr, Expose: []string{work},
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
	case out.failed != "":
		return errors.New(out.failed)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("script exited with code %d", exit.ExitCode())
	}
	return fmt.Errorf("run script: %w", err)
}

// recordSuffix names the file beside a step's working folder that records
// its running script (sandbox.Record, JSON).
const recordSuffix = ".proc"

// StopLeftovers stops the scripts recorded in workDir, the working folders
// of a process that is gone: if a crash let one outlive its server or
// agent (which the sandbox prevents, but a record costs nothing), it must
// not go on unsupervised while its step is marked failed.
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
			log.Warn("stop a script left running by a stopped process", "record", f, "err", err)
		case killed:
			log.Warn("stopped a script left running by a stopped process", "record", f, "pid", rec.Pid)
		}
	}
}

// scriptEnv is the environment a script sees: a known PATH and the working
// folder as HOME, not the server's or agent's own environment (which may
// hold secrets such as a database URL).
func scriptEnv(work string) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	return []string{"PATH=" + path, "HOME=" + work, "LANG=C.UTF-8", "TMPDIR=" + work}
}

// substitute renders text (what names it in messages: "script", a file)
// and, before anything can print it, adds every value it derived from a
// sensitive one to the log's secrets. Scripts are rendered strictly;
// package files leniently, each place left as is logged as a warning.
func substitute(text string, vars *variables.Set, mode variables.Mode, what string, log Log) (string, error) {
	res, err := variables.Render(text, vars, mode)
	if err != nil {
		return "", err
	}
	if len(res.Derived) > 0 {
		log.Secrets(res.Derived...)
	}
	for _, w := range res.Warnings {
		log.Info(fmt.Sprintf("Warning: %s %v", what, w))
	}
	if res.Null {
		log.Info(fmt.Sprintf("Warning: %s uses the null filter, which makes the whole text empty", what))
	}
	return res.Text, nil
}
