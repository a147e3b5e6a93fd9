package deploy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/sandbox"
	"github.com/ferrydeploy/ferry/internal/servicetest"
)

// TestCancelAsTheLastStepFinishes: a cancel requested while the last step
// runs, which the runner sees only once the step has ended (its cancel
// poll is longer than the test), is accepted; the task ends Success, as
// its steps did, and says — in its note (task show, the API) and its log —
// that the cancel came too late, and when it was requested. Cancelling it
// again is refused: it already ended. (The step waits on a file the test
// creates after the cancel: no timing.)
func TestCancelAsTheLastStepFinishes(t *testing.T) {
	dir := t.TempDir()
	started, gate := filepath.Join(dir, "started"), filepath.Join(dir, "go")
	env := newShop(t, servicetest.RunTasks(sandbox.Off), servicetest.CancelPoll(time.Hour))
	env.Apply("Dev", fmt.Sprintf(`projects:
  - name: Slow
    lifecycle: Main
    process:
      - {name: First, type: script, script: "echo first"}
      - {name: Last, type: script, script: "touch '%s'; while [ ! -e '%s' ]; do sleep 0.05; done; echo last done"}
`, started, gate))
	env.Release("Dev", "Slow", "1.0.0")
	d, err := env.Set.Deploy.Deploy(env.Ctx, "Dev", deploy.Request{Project: "Slow", Version: "1.0.0", Environment: "Dev"})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the last step never started")
		}
	}
	task, err := env.Set.Deploy.Cancel(env.Ctx, "Dev", d.TaskID)
	if err != nil || task.State != domain.TaskExecuting || !task.CancelRequested || task.CancelRequestedAt == nil || task.Note != "" {
		t.Fatalf("cancel while the last step runs: %+v, %v", task, err)
	}
	requested := task.CancelRequestedAt.UTC().Format(time.RFC3339)
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var lines []domain.LogLine
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		task, lines, err = env.Set.Deploy.Log(env.Ctx, "Dev", d.TaskID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if task.State.Done() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task still %s", task.State)
		}
	}
	want := "Cancellation was requested at " + requested + " but the task had already finished its last step; it ended Success"
	if task.State != domain.TaskSuccess || task.Note != want {
		t.Errorf("task ended %s with note %q, want Success with %q", task.State, task.Note, want)
	}
	var log strings.Builder
	for _, l := range lines {
		log.WriteString(l.Text + "\n")
	}
	if !strings.Contains(log.String(), "last done\n") || !strings.Contains(log.String(), want+".\n") {
		t.Errorf("the log does not say the cancel came too late:\n%s", log.String())
	}
	list, err := env.Set.Deploy.Tasks(env.Ctx, "Dev", 10)
	if err != nil || len(list) == 0 || list[0].ID != d.TaskID || list[0].Note != want {
		t.Errorf("the task list does not carry the note: %+v, %v", list, err)
	}
	_, err = env.Set.Deploy.Cancel(env.Ctx, "Dev", d.TaskID)
	wantRefused(t, err, domain.KindConflict, fmt.Sprintf("task %d already ended Success at %s; nothing to cancel", d.TaskID, task.FinishedAt.UTC().Format(time.RFC3339)))
}

// TestCancelOfAnEndedTaskIsRefused: whatever the task ended as, a cancel
// is refused with when and how it ended, and sets nothing.
func TestCancelOfAnEndedTaskIsRefused(t *testing.T) {
	env := newShop(t)
	for _, state := range []domain.TaskState{domain.TaskSuccess, domain.TaskFailed} {
		d, err := deployTo(env, env.Ctx, "Api", "Dev")
		if err != nil {
			t.Fatal(err)
		}
		claimed, err := env.Store.Tasks().Claim(env.Ctx, "test", time.Now())
		if err != nil || claimed.ID != d.TaskID {
			t.Fatalf("claim: %+v %v", claimed, err)
		}
		if err := env.Store.Tasks().Finish(env.Ctx, d.TaskID, state, "", time.Now()); err != nil {
			t.Fatal(err)
		}
		_, err = env.Set.Deploy.Cancel(env.Ctx, "Dev", d.TaskID)
		wantRefused(t, err, domain.KindConflict, fmt.Sprintf("task %d already ended %s at ", d.TaskID, state), "; nothing to cancel")
		got, err := env.Set.Deploy.Task(env.Ctx, "Dev", d.TaskID)
		if err != nil || got.CancelRequested || got.Note != "" {
			t.Errorf("a refused cancel left a mark: %+v, %v", got, err)
		}
	}
}
