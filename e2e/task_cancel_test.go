package e2e

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// TestTaskCancelTooLate: `ferry task cancel` of a task that has ended is
// refused (exit 6, conflict) saying how and when it ended, and leaves no
// mark on it (task show, text and JSON); a cancel of a running task stops
// its step, and task show says when it was requested. (A cancel that
// arrives as the last step finishes — the task ends Success with a note —
// is provoked deterministically in internal/deploy,
// TestCancelAsTheLastStepFinishes.)
func TestTaskCancelTooLate(t *testing.T) {
	srv := ferrytest.Build(t).StartServer(t)
	gate := filepath.Join(t.TempDir(), "never")
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "cancel.yaml", `environments: [{name: Dev}]
lifecycles: [{name: L, phases: [{name: Dev, environments: [Dev]}]}]
projects:
  - name: Quick
    lifecycle: L
    process: [{name: Hello, type: script, script: "echo hello"}]
  - name: Stuck
    lifecycle: L
    process: [{name: Wait, type: script, script: "while [ ! -e '`+gate+`' ]; do sleep 0.1; done"}]
`))
	srv.Must("release", "create", "Quick", "--version", "1")
	srv.Must("release", "create", "Stuck", "--version", "1")
	var followed struct {
		Task struct {
			ID int64 `json:"id"`
		} `json:"task"`
	}
	if err := json.Unmarshal([]byte(srv.Must("-o", "json", "deploy", "Quick", "1", "--to", "Dev", "--wait").Stdout), &followed); err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(followed.Task.ID, 10)
	for range 2 {
		r := srv.Run("task", "cancel", id)
		if r.Code != 6 || !strings.Contains(r.Stderr, "task "+id+" already ended Success at ") || !strings.Contains(r.Stderr, "; nothing to cancel") {
			t.Errorf("cancel of an ended task: exit %d, want 6 saying it already ended Success\n%s", r.Code, r.Out())
		}
	}
	var shown map[string]any
	if err := json.Unmarshal([]byte(srv.Must("-o", "json", "task", "show", id).Stdout), &shown); err != nil {
		t.Fatal(err)
	}
	if shown["state"] != "Success" || shown["cancelRequested"] != nil || shown["cancelRequestedAt"] != nil || shown["note"] != nil {
		t.Errorf("a refused cancel left a mark: %v", shown)
	}

	var deployed struct {
		TaskID int64 `json:"taskId"`
	}
	if err := json.Unmarshal([]byte(srv.Must("-o", "json", "deploy", "Stuck", "1", "--to", "Dev").Stdout), &deployed); err != nil {
		t.Fatal(err)
	}
	stuck := strconv.FormatInt(deployed.TaskID, 10)
	ferrytest.WaitFor(t, 30*time.Second, "the stuck task to run", func() bool {
		return strings.Contains(srv.Must("task", "show", stuck).Stdout, "State    Executing")
	})
	srv.Must("task", "cancel", stuck)
	ferrytest.WaitFor(t, 30*time.Second, "the stuck task to be cancelled", func() bool {
		return strings.Contains(srv.Must("task", "show", stuck).Stdout, "State    Cancelled")
	})
	if err := json.Unmarshal([]byte(srv.Must("-o", "json", "task", "show", stuck).Stdout), &shown); err != nil {
		t.Fatal(err)
	}
	if shown["cancelRequestedAt"] == nil || shown["note"] != nil {
		t.Errorf("a cancel that took effect: %v", shown)
	}
	r := srv.Run("task", "cancel", stuck)
	if r.Code != 6 || !strings.Contains(r.Stderr, "already ended Cancelled at ") {
		t.Errorf("cancel of a cancelled task: exit %d\n%s", r.Code, r.Out())
	}
}
