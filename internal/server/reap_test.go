package server

import (
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/release"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/store"
)

// TestReaperWritesReceipts: when the node running a deployment of a remote
// project dies, the reaper fails the task and, in the same transaction,
// writes its receipt, so the release's origin learns the deployment failed.
func TestReaperWritesReceipts(t *testing.T) {
	env := servicetest.New(t)
	ctx := env.Ctx
	env.CreateSpace("Dev")
	prod := env.CreateSpace("Prod")
	env.Trust("Dev", "Prod", "promote,receipts")
	env.Trust("Prod", "Dev", "releases")
	env.Apply("Dev", `remoteEnvironments: ["Prod: Production"]
lifecycles: [{name: Main, phases: [{name: Prod, environments: ["Prod: Production"]}]}]
projects: [{name: Shop, lifecycle: Main, process: [{name: Run, type: script, script: "echo shop"}]}]
`)
	env.Apply("Prod", `environments: [{name: Production}]
lifecycles: [{name: Live, phases: [{name: Live, environments: [Production]}]}]
`)
	if _, err := env.Set.Releases.Create(ctx, "Dev", "Shop", release.CreateRequest{Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	pr, err := env.Set.Bundles.Promote(ctx, "Dev", bundle.PromoteRequest{Project: "Shop", Version: "1.0.0", To: "Prod"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Set.Bundles.Import(ctx, "Prod", pr.Data, ""); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for range 2 {
		d, err := env.Set.Deploy.Deploy(ctx, "Prod", deploy.Request{Project: "Dev: Shop", Version: "1.0.0", Environment: "Production"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.TaskID)
	}
	// A node claims both and dies: it never heartbeat after.
	long := time.Now().UTC().Add(-time.Hour)
	for range ids {
		if _, err := env.Store.Tasks().Claim(ctx, "dead", long); err != nil {
			t.Fatal(err)
		}
	}
	n := testNode(t, "survivor", env.Store)
	n.failDead(ctx, env.Set.Receipts, time.Now().UTC())

	list, err := env.Store.Receipts().List(ctx, prod.ID, store.ReceiptFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("%d receipts after the reaper, want 2: %+v", len(list), list)
	}
	for i, r := range list {
		task, err := env.Store.Tasks().Get(ctx, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		if task.State != domain.TaskFailed || r.State != domain.TaskFailed || r.DeploymentID != task.DeploymentID {
			t.Errorf("task %d %s, receipt %+v: want both Failed, the receipt of its deployment", task.ID, task.State, r)
		}
	}
	if n, err := env.Set.Receipts.Backfill(ctx); err != nil || n != 0 {
		t.Errorf("Backfill after the reaper = %d, %v; want nothing missing", n, err)
	}
}
