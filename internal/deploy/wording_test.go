package deploy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
)

// TestFourEyesWithoutTeamsSaysWhoDecides: a step that names no responsible
// team is decided by anyone who may deploy the project there (or a space
// admin); the deployer's refused approval says so, not "a member of (no
// team)". The Prod-only deployer may abort but not approve; another
// deployer may approve.
func TestFourEyesWithoutTeamsSaysWhoDecides(t *testing.T) {
	env := newShop(t)
	env.Apply("Dev", `projects:
  - name: Gate
    lifecycle: Main
    process:
      - {name: Sign-off, type: manual-intervention, instructions: Look., preventSelfApproval: true}
`)
	env.Release("Dev", "Gate", "1.0.0")
	env.User("dan", false)
	env.Grant("Dev", "dan", "deployer", nil, nil)
	dan := env.As("dan")
	d, err := env.Set.Deploy.Deploy(dan, "Dev", deploy.Request{Project: "Gate", Version: "1.0.0", Environment: "Dev"})
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := env.Store.Tasks().Claim(env.Ctx, "test", time.Now())
	if err != nil || claimed.ID != d.TaskID {
		t.Fatalf("claim: %+v %v", claimed, err)
	}
	if err := env.Store.Interventions().Open(env.Ctx, &domain.Intervention{TaskID: d.TaskID, Step: "Sign-off", Instructions: "Look.",
		PreventSelfApproval: true, Deployer: "dan", Since: time.Now()}); err != nil {
		t.Fatal(err)
	}
	_, err = env.Set.Deploy.Decide(dan, "Dev", d.TaskID, deploy.Decision{Approve: true})
	wantRefused(t, err, domain.KindForbidden, `ask anyone who may deploy project "Gate" to Dev, or a space admin`)
	if strings.Contains(err.Error(), "(no team)") || strings.Contains(err.Error(), "(none") {
		t.Errorf("the refusal names no team as if it were one: %v", err)
	}
	task, err := env.Set.Deploy.Task(dan, "Dev", d.TaskID)
	if err != nil {
		t.Fatal(err)
	}
	abort, approve := env.Set.Deploy.MayDecide(dan, task)
	if abort != nil || approve == nil {
		t.Errorf("the deployer may abort (%v) but not approve (%v)", abort, approve)
	}
	abort, approve = env.Set.Deploy.MayDecide(env.AsRole("Dev", "viewer"), task)
	if abort == nil || approve == nil {
		t.Errorf("a viewer may decide: abort %v, approve %v", abort, approve)
	}
	if _, err := env.Set.Deploy.Decide(env.AsRole("Dev", "deployer"), "Dev", d.TaskID, deploy.Decision{Approve: true}); err != nil {
		t.Errorf("another deployer approving: %v", err)
	}
}
