package targets_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/targets"
)

// TestDeleteTargetWithJobRefused: a target with a job queued or running
// is not deleted (exit 6, rule in-use, naming the task and what to do);
// once the job ends it is, and the delete is audited. Before, the target
// went from under its job.
func TestDeleteTargetWithJobRefused(t *testing.T) {
	env := servicetest.New(t)
	sp := env.CreateSpace("Default")
	env.Apply("Default", "environments: [{name: Production}]")
	tp := strings.Repeat("ab", 32)
	added, err := env.Set.Targets.Add(env.Ctx, "Default", targets.AddRequest{Name: "web-1", Environments: []string{"Production"},
		Roles: []string{"web"}, Polling: true, Thumbprint: tp})
	if err != nil {
		t.Fatal(err)
	}
	ctx := env.Ctx
	task := domain.Task{SpaceID: sp.ID, Kind: domain.TaskDeploy, State: domain.TaskExecuting, QueuedAt: time.Now()}
	if err := env.Store.Tasks().Create(ctx, &task); err != nil {
		t.Fatal(err)
	}
	job := domain.AgentJob{TaskID: task.ID, SpaceID: sp.ID, TargetID: added.Target.ID, Target: "web-1", Thumbprint: tp,
		Mode: "polling", Origin: "node-a", Payload: []byte(`{}`)}
	if err := env.Store.AgentJobs().Create(ctx, &job); err != nil {
		t.Fatal(err)
	}
	_, err = env.Set.Targets.Delete(ctx, "Default", "web-1")
	if domain.KindOf(err) != domain.KindConflict || !strings.Contains(err.Error(), fmt.Sprintf("task %q", fmt.Sprint(task.ID))) || !strings.Contains(err.Error(), "cancel") {
		t.Fatalf("delete with a job queued: %v", err)
	}
	if _, err := env.Store.Targets().Get(ctx, sp.ID, "web-1"); err != nil {
		t.Fatalf("the refused delete removed the target: %v", err)
	}
	if _, err := env.Store.AgentJobs().Finish(ctx, job.ID, domain.JobDone, nil, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Set.Targets.Delete(ctx, "Default", "web-1"); err != nil {
		t.Fatalf("delete once the job ended: %v", err)
	}
	events, err := env.Store.Audit().List(ctx, store.AuditFilter{SpaceID: sp.ID})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range events {
		found = found || (e.Action == "target.delete" && e.Subject == "web-1")
	}
	if !found {
		t.Error("the target's delete is not audited")
	}
}
