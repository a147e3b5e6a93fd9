package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/api"
)

// TestWaitingWording: `task list --waiting` says a timeout that is still
// ahead in the future tense, with how long is left ("aborts at … (in
// 3h12m) unless decided"), says "timed out" only once it passed, and says
// who decides a step that names no team instead of "(none)".
func TestWaitingWording(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{now.Add(3*time.Hour + 12*time.Minute), "aborts at " + now.Add(3*time.Hour+12*time.Minute).Local().Format("2006-01-02 15:04:05") + " (in 3h12m) unless decided"},
		{now.Add(50 * time.Hour), "(in 2d2h) unless decided"},
		{now.Add(20 * time.Second), "(in under a minute) unless decided"},
		{now.Add(-time.Minute), "timed out at "},
	} {
		if got := timeoutText(tc.at, now); !strings.Contains(got, tc.want) {
			t.Errorf("timeoutText(%v): %q, want %q", tc.at.Sub(now), got, tc.want)
		}
	}
	future := now.Add(time.Hour)
	var b bytes.Buffer
	printWaiting(&b, []api.Task{{ID: 7, Project: "Shop", Description: "Deploy Shop 1.0 to Production", State: api.TaskWaiting,
		Intervention: &api.Intervention{Step: "Sign-off", Since: now, Deployer: "alice", TimeoutAt: &future}}})
	out := b.String()
	for _, want := range []string{`Who decides:  anyone who may deploy project "Shop" to this environment, or a space admin`, "Timeout:      aborts at ", "unless decided"} {
		if !strings.Contains(out, want) {
			t.Errorf("task list --waiting lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"(none", "Aborted at", "aborted at"} {
		if strings.Contains(out, bad) {
			t.Errorf("task list --waiting says %q:\n%s", bad, out)
		}
	}
}
