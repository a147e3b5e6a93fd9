package step

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/sandbox"
	"github.com/ferrydeploy/ferry/internal/variables"
)

func TestMain(m *testing.M) {
	sandbox.Main()
	os.Exit(m.Run())
}

// testLog keeps a step's lines, masked as a task's log masks them.
type testLog struct {
	mu     sync.Mutex
	lines  []string
	masker *variables.Masker
}

func (l *testLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, l.masker.Mask(s))
}
func (l *testLog) Info(s string)  { l.add(s) }
func (l *testLog) Error(s string) { l.add(s) }
func (l *testLog) Secrets(v ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.masker = l.masker.With(v...)
}
func (l *testLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// run runs a script step in a fresh sandbox that hides nothing but a
// folder of its own.
func run(t *testing.T, script string, vars *variables.Set) (Result, *testLog, error) {
	t.Helper()
	hidden := t.TempDir()
	sb, err := sandbox.New(sandbox.Policy{Hide: []string{hidden}}, sandbox.Off)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	if vars == nil {
		vars = variables.NewSet()
	}
	log := &testLog{masker: vars.Masker()}
	work := t.TempDir()
	res, err := NewRunner(sb, "test", 0).Run(context.Background(), Spec{Step: domain.Step{Name: "S", Type: domain.StepScript, Script: script}, Vars: vars, Work: work}, log)
	return res, log, err
}

func TestOutputVariables(t *testing.T) {
	res, log, err := run(t, `set_ferryvariable Color blue
set_octopusvariable Size "very large"
set_ferryvariable Token 'hunter2 and more' --sensitive
echo "the token is hunter2 and more"
set_ferryvariable Multi "$(printf 'line one\nline two')"
bash -c 'set_ferryvariable Nested yes'
echo done`, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.text())
	}
	want := []Output{{"Color", "blue", false}, {"Size", "very large", false}, {"Token", "hunter2 and more", true}, {"Multi", "line one\nline two", false}, {"Nested", "yes", false}}
	if len(res.Outputs) != len(want) {
		t.Fatalf("outputs %+v, want %+v", res.Outputs, want)
	}
	for i := range want {
		if res.Outputs[i] != want[i] {
			t.Errorf("output %d = %+v, want %+v", i, res.Outputs[i], want[i])
		}
	}
	text := log.text()
	if strings.Contains(text, "hunter2") || strings.Contains(text, "##ferry") {
		t.Errorf("the log shows a sensitive output or a service message:\n%s", text)
	}
	if !strings.Contains(text, "the token is ***") || !strings.Contains(text, "Set sensitive output variable Token") {
		t.Errorf("log:\n%s", text)
	}
}

func TestFailStep(t *testing.T) {
	_, log, err := run(t, `echo before
fail_step "the database is not reachable"
echo after`, nil)
	if err == nil || err.Error() != "the database is not reachable" {
		t.Errorf("fail_step: %v", err)
	}
	if strings.Contains(log.text(), "after") {
		t.Errorf("the script went on after fail_step:\n%s", log.text())
	}
	_, _, err = run(t, `fail_step`, nil)
	if err == nil || !strings.Contains(err.Error(), "exited with code 1") {
		t.Errorf("fail_step without a message: %v", err)
	}
}

// A service message is one on either stream, and a sensitive value in one
// never reaches the log in any form — split, base64 or not.
func TestServiceMessagesNeverReachTheLog(t *testing.T) {
	big := strings.Repeat("s3cr3tXYZ", 20000) // 180 KB: longer than a log line
	res, log, err := run(t, `set_ferryvariable ToStderr "err-secret" --sensitive >&2
set_ferryvariable Big "$(printf 's3cr3tXYZ%.0s' $(seq 20000))" --sensitive
head -c 3000000 /dev/zero | tr '\0' 'A' | sed 's/^/##ferry[setVariable name=/'
echo
echo "##ferry[setVariable name='not base64!' value='x']"
set_ferryvariable 'bad name' x
echo end`, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.text())
	}
	text := log.text()
	for _, leak := range []string{"err-secret", "s3cr3tXYZ", "AAAAAAAAAAAAAAAAAAAA"} {
		if strings.Contains(text, leak) {
			t.Errorf("the log shows %q", leak)
		}
	}
	if len(res.Outputs) != 2 || res.Outputs[1].Value != big {
		t.Errorf("outputs: %d, the big one %d bytes", len(res.Outputs), len(res.Outputs[len(res.Outputs)-1].Value))
	}
	for _, want := range []string{"longer than 2 MiB was ignored", "output variable name \"bad name\" was ignored", "end"} {
		if !strings.Contains(text, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestOutputLimits(t *testing.T) {
	log := &testLog{}
	out := &outputs{log: log}
	for i := range maxOutputs + 100 {
		out.set(fmt.Sprintf("V%d", i), "x", false)
	}
	out.set("Huge", strings.Repeat("x", maxOutputBytes), false)
	if len(out.list) != maxOutputs || !strings.Contains(log.text(), "at most 1000 output variables") {
		t.Errorf("%d outputs kept", len(out.list))
	}
}

// The functions file and the script are written into the working folder
// and gone after.
func TestScriptFilesRemoved(t *testing.T) {
	hidden := t.TempDir()
	sb, _ := sandbox.New(sandbox.Policy{Hide: []string{hidden}}, sandbox.Off)
	defer sb.Close()
	work := t.TempDir()
	vars := variables.NewSet()
	vars.Set("Secret", "swordfish", true)
	log := &testLog{masker: vars.Masker()}
	_, err := NewRunner(sb, "test", 0).Run(context.Background(), Spec{Step: domain.Step{Type: domain.StepScript, Script: "echo #{Secret}"}, Vars: vars, Work: work}, log)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(work)
	for _, e := range entries {
		t.Errorf("left in the working folder: %s", filepath.Join(work, e.Name()))
	}
	if !strings.Contains(log.text(), "***") || strings.Contains(log.text(), "swordfish") {
		t.Errorf("log: %s", log.text())
	}
}

// Outputs an agent reports obey the rules of the server's own: a hostile
// agent's names that could look like another machine's, and floods, are
// dropped with a warning.
func TestKeepOutputsFromAnotherMachine(t *testing.T) {
	in := []Output{{"Color", "blue", false}, {"x].Output[web-2].Color", "spoof", false}, {"", "empty", false},
		{"#{Secret}", "v", false}, {"a b", "v", false}, {"Big", strings.Repeat("x", maxOutputBytes), false}}
	for i := range maxOutputs + 5 {
		in = append(in, Output{fmt.Sprintf("V%d", i), "1", false})
	}
	kept, warnings := Keep(in)
	if len(kept) != maxOutputs || kept[0].Name != "Color" {
		t.Errorf("kept %d, first %+v", len(kept), kept[0])
	}
	for _, o := range kept {
		if strings.ContainsAny(o.Name, "[]# ") || o.Name == "" || o.Name == "Big" {
			t.Errorf("kept %q", o.Name)
		}
	}
	if len(warnings) != len(in)-maxOutputs {
		t.Errorf("%d warnings for %d dropped", len(warnings), len(in)-maxOutputs)
	}
}
