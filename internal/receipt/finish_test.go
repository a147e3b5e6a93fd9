package receipt_test

import (
	"context"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/release"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/store"
)

// promoted is Shop 1.0.0 of Dev imported into Prod, with a deployment of it
// to Prod's Production queued.
func promoted(t *testing.T) (*servicetest.Env, domain.Deployment) {
	t.Helper()
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	env.CreateSpace("Prod")
	env.Trust("Dev", "Prod", "promote,receipts")
	env.Trust("Prod", "Dev", "releases")
	env.Apply("Dev", `remoteEnvironments: ["Prod: Production"]
lifecycles: [{name: Main, phases: [{name: Prod, environments: ["Prod: Production"]}]}]
projects: [{name: Shop, lifecycle: Main, process: [{name: Run, type: script, script: "echo shop"}]}]
`)
	env.Apply("Prod", `environments: [{name: Production}]
lifecycles: [{name: Live, phases: [{name: Live, environments: [Production]}]}]
`)
	if _, err := env.Set.Releases.Create(env.Ctx, "Dev", "Shop", release.CreateRequest{Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	pr, err := env.Set.Bundles.Promote(env.Ctx, "Dev", bundle.PromoteRequest{Project: "Shop", Version: "1.0.0", To: "Prod"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Set.Bundles.Import(env.Ctx, "Prod", pr.Data, ""); err != nil {
		t.Fatal(err)
	}
	d, err := env.Set.Deploy.Deploy(env.Ctx, "Prod", deploy.Request{Project: "Dev: Shop", Version: "1.0.0", Environment: "Production"})
	if err != nil {
		t.Fatal(err)
	}
	return env, d
}

// ownReceipts are the receipts Prod signed.
func ownReceipts(t *testing.T, env *servicetest.Env) []domain.Receipt {
	t.Helper()
	sp, err := env.Store.Spaces().Get(env.Ctx, "Prod")
	if err != nil {
		t.Fatal(err)
	}
	list, err := env.Store.Receipts().List(env.Ctx, sp.ID, store.ReceiptFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// A deployment cancelled before it started is finished with its receipt,
// so the origin learns it did not happen.
func TestCancelQueuedDeploymentWritesReceipt(t *testing.T) {
	env, d := promoted(t)
	if _, err := env.Set.Deploy.Cancel(env.Ctx, "Prod", d.TaskID); err != nil {
		t.Fatal(err)
	}
	list := ownReceipts(t, env)
	if len(list) != 1 || list[0].State != domain.TaskCancelled || list[0].Version != "1.0.0" {
		t.Fatalf("receipts after cancel = %+v, want one Cancelled receipt of 1.0.0", list)
	}
}

// A task failed by the reaper of dead nodes gets its receipt in the same
// transaction; a task failed without one (as versions before did) gets it
// from Backfill, once.
func TestFinishTasksAndBackfill(t *testing.T) {
	env, d := promoted(t)
	ctx, st := env.Ctx, env.Store
	long := time.Now().UTC().Add(-time.Hour)
	if _, err := st.Tasks().Claim(ctx, "gone", long); err != nil {
		t.Fatal(err)
	}
	ids, err := env.Set.Receipts.FinishTasks(ctx, func(ctx context.Context) ([]int64, error) {
		failed, err := st.Nodes().FailTasksOfDeadNodes(ctx, long.Add(time.Minute), "node gone", time.Now().UTC())
		return failed["gone"], err
	})
	if err != nil || len(ids) != 1 || ids[0] != d.TaskID {
		t.Fatalf("FinishTasks = %v, %v; want task %d", ids, err, d.TaskID)
	}
	list := ownReceipts(t, env)
	if len(list) != 1 || list[0].State != domain.TaskFailed {
		t.Fatalf("receipts after the reaper = %+v, want one Failed receipt", list)
	}
	if n, err := env.Set.Receipts.Backfill(ctx); err != nil || n != 0 {
		t.Fatalf("Backfill with nothing missing = %d, %v; want 0", n, err)
	}

	// A second deployment failed the old way: no receipt.
	d2, err := env.Set.Deploy.Deploy(ctx, "Prod", deploy.Request{Project: "Dev: Shop", Version: "1.0.0", Environment: "Production"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Tasks().Claim(ctx, "gone", long); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Nodes().FailTasksOfDeadNodes(ctx, long.Add(time.Minute), "node gone", time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	if n := len(ownReceipts(t, env)); n != 1 {
		t.Fatalf("%d receipts before Backfill, want 1", n)
	}
	if n, err := env.Set.Receipts.Backfill(ctx); err != nil || n != 1 {
		t.Fatalf("Backfill = %d, %v; want 1", n, err)
	}
	if n, err := env.Set.Receipts.Backfill(ctx); err != nil || n != 0 {
		t.Fatalf("second Backfill = %d, %v; want 0", n, err)
	}
	list = ownReceipts(t, env)
	if len(list) != 2 || list[1].DeploymentID != d2.ID || list[1].State != domain.TaskFailed {
		t.Fatalf("receipts after Backfill = %+v, want a Failed receipt of deployment %d", list, d2.ID)
	}
}
