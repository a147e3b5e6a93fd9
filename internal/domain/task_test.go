package domain

import (
	"testing"
	"time"
)

// TestLateCancel: only a person's cancel request (with its time) on a task
// that ended otherwise gets a note; a task its dead node failed (flagged
// without a time), a cancelled one and an unfinished one do not.
func TestLateCancel(t *testing.T) {
	at := time.Date(2026, 11, 30, 4, 40, 0, 0, time.UTC)
	for _, tc := range []struct {
		task Task
		want string
	}{
		{Task{State: TaskSuccess, CancelRequested: true, CancelRequestedAt: &at}, "Cancellation was requested at 2026-11-30T04:40:00Z but the task had already finished its last step; it ended Success"},
		{Task{State: TaskFailed, CancelRequested: true, CancelRequestedAt: &at}, "Cancellation was requested at 2026-11-30T04:40:00Z but the task failed before the cancel took effect; it ended Failed"},
		{Task{State: TaskFailed, CancelRequested: true}, ""},
		{Task{State: TaskCancelled, CancelRequested: true, CancelRequestedAt: &at}, ""},
		{Task{State: TaskExecuting, CancelRequested: true, CancelRequestedAt: &at}, ""},
		{Task{State: TaskSuccess}, ""},
	} {
		if got := tc.task.LateCancel(); got != tc.want {
			t.Errorf("%s (at %v): %q, want %q", tc.task.State, tc.task.CancelRequestedAt, got, tc.want)
		}
	}
}
