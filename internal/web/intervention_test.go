package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/domain"
)

const gateYAML = `projects:
  - name: Gate
    lifecycle: Main
    process:
      - {name: Sign-off, type: manual-intervention, instructions: "Check <b>the</b> ticket.", responsibleTeams: [Approvers], preventSelfApproval: true}
`

// TestInterventionButtons: a waiting deployment's page shows what it
// waits for and the buttons; the deployer's approval is refused (four
// eyes), the buttons are CSRF-protected like every form, and a member of
// the responsible team approves with a note.
func TestInterventionButtons(t *testing.T) {
	f := newFixture(t)
	f.env.Apply(domain.DefaultSpace, gateYAML)
	f.env.Release(domain.DefaultSpace, "Gate", "1.0.0")
	ctx := f.env.Ctx
	must(t, f.auth.SetPassword(ctx, "vera", password+" vera"))
	_, err := f.s.Teams.Put(ctx, domain.DefaultSpace, access.TeamRequest{Name: "Approvers", Role: ptr("viewer"), Members: &[]string{"vera"}}, true)
	must(t, err)
	admin, adminToken := f.signIn(t)
	code, _, hdr := post(t, admin, f.srv.URL+"/spaces/Default/projects/Gate/deploy", url.Values{"version": {"1.0.0"}, "environment": {"Development"}, "csrf": {adminToken}})
	if code != http.StatusSeeOther {
		t.Fatalf("deploy: %d", code)
	}
	task := f.srv.URL + hdr.Get("Location")
	// What the runner does on reaching the step, without running anything.
	st := f.env.Store
	claimed, err := st.Tasks().Claim(ctx, "test", time.Now())
	must(t, err)
	must(t, st.Interventions().Open(ctx, &domain.Intervention{TaskID: claimed.ID, StepIndex: 0, Step: "Sign-off",
		Instructions: "Check <b>the</b> ticket.", ResponsibleTeams: []string{"Approvers"}, PreventSelfApproval: true, Deployer: "admin", Since: time.Now()}))

	_, page, _ := get(t, admin, task)
	for _, want := range []string{"Waiting for a decision", "Check &lt;b&gt;the&lt;/b&gt; ticket.", "Approvers", "/abort", "four eyes", "may abort it but not approve it"} {
		if !strings.Contains(page, want) {
			t.Errorf("task page lacks %q", want)
		}
	}
	if strings.Contains(page, "/approve") {
		t.Error("the deployer, who may not approve (four eyes), is offered Approve")
	}
	_, tasks, _ := get(t, admin, f.srv.URL+"/spaces/Default/tasks")
	if !strings.Contains(tasks, "Waiting for a decision") || !strings.Contains(tasks, "Sign-off") {
		t.Errorf("tasks page does not show what waits:\n%s", tasks)
	}
	code, body, _ := post(t, admin, task+"/approve", url.Values{"csrf": {adminToken}, "note": {"mine"}})
	if code != http.StatusForbidden || !strings.Contains(body, "started this deployment") {
		t.Errorf("the deployer approving: %d", code)
	}
	vera := f.browser(t)
	f.signInAs(t, vera, "vera", password+" vera")
	_, home, _ := get(t, vera, f.srv.URL+"/")
	veraToken := csrfOf(t, home)
	for _, action := range []string{"/approve", "/abort"} {
		for _, token := range []string{"x" + veraToken, "", adminToken} {
			if code, _, _ := post(t, vera, task+action, url.Values{"csrf": {token}, "note": {"forged"}}); code != http.StatusForbidden {
				t.Errorf("%s with CSRF token %q: %d", action, token, code)
			}
		}
	}
	if got, err := f.s.Deploy.Task(ctx, domain.DefaultSpace, claimed.ID); err != nil || got.State != domain.TaskWaiting {
		t.Fatalf("after forged decisions the task is %s (%v), want it still waiting", got.State, err)
	}
	// A note is plain text on one line: terminal escapes and invisible
	// overrides are refused, line breaks cannot forge log lines.
	for _, bad := range []string{"ok\x1b[2J", "ok\u202edevorppa"} {
		if code, _, _ := post(t, vera, task+"/approve", url.Values{"csrf": {veraToken}, "note": {bad}}); code != http.StatusBadRequest {
			t.Errorf("approve with note %q: %d, want 400", bad, code)
		}
	}
	code, _, hdr = post(t, vera, task+"/approve", url.Values{"csrf": {veraToken}, "note": {"ticket checked\n12:00:00  Deployment succeeded."}})
	if code != http.StatusSeeOther {
		t.Fatalf("vera approving: %d", code)
	}
	got, err := f.s.Deploy.Task(ctx, domain.DefaultSpace, claimed.ID)
	must(t, err)
	if got.State != domain.TaskQueued || got.Intervention != nil {
		t.Errorf("after approval: %s %+v", got.State, got.Intervention)
	}
	_, page, _ = get(t, vera, task)
	if !strings.Contains(page, "approved by vera") || !strings.Contains(page, "ticket checked 12:00:00  Deployment succeeded.") || strings.Contains(page, "/approve") {
		t.Errorf("task page after approval does not say so, on one line")
	}
}
