package storetest

import (
	"slices"
	"testing"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// testUnrecorded: Receipts.Unrecorded lists the finished deployment tasks
// of remote projects without a receipt their space signed — not those of
// local projects, not unfinished ones, not those with a receipt (by
// Receipt.DeploymentID), whatever receipts signed elsewhere say.
func testUnrecorded(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp := domain.Space{Name: "Unrecorded", Fingerprint: "sha256:unrecorded"}
	must(t, s.Spaces().Create(ctx, &sp))
	remote := domain.Project{SpaceID: sp.ID, Name: "Dev: Shop", Origin: &domain.ProjectOrigin{Space: "Dev", Fingerprint: "sha256:dev", Project: "Shop"}}
	local := domain.Project{SpaceID: sp.ID, Name: "Own"}
	var tasks []int64
	env := "Production"
	deploy := func(p *domain.Project, state domain.TaskState) int64 {
		t.Helper()
		if p.ID == 0 {
			must(t, s.Projects().Put(ctx, p))
		}
		rel := domain.Release{ProjectID: p.ID, Version: "1.0." + string(rune('0'+len(tasks)))}
		must(t, s.Releases().Create(ctx, &rel))
		task := domain.Task{SpaceID: sp.ID, Kind: domain.TaskDeploy, Description: "Deploy"}
		must(t, s.Tasks().Create(ctx, &task))
		d := domain.Deployment{SpaceID: sp.ID, ProjectID: p.ID, ReleaseID: rel.ID, Environment: env, TaskID: task.ID, CreatedAt: at(1)}
		must(t, s.Deployments().Create(ctx, &d))
		must(t, s.Tasks().SetDeployment(ctx, task.ID, d.ID))
		if state != domain.TaskQueued {
			must(t, s.Tasks().Finish(ctx, task.ID, state, "", at(2)))
		}
		tasks = append(tasks, task.ID)
		return d.ID
	}
	receipt := func(deployment int64, from string) {
		t.Helper()
		r := domain.Receipt{SpaceID: sp.ID, Digest: "sha256:" + string(rune('a'+len(tasks))) + from, OriginFingerprint: "sha256:dev", OriginProject: "Shop",
			State: domain.TaskFailed, ReceivedFrom: from, ReceivedAt: at(3), Payload: []byte("p"), Signature: []byte("s"), DeploymentID: deployment}
		_, err := s.Receipts().Create(ctx, &r)
		must(t, err)
	}
	deploy(&remote, domain.TaskFailed) // 0: superseded by 2, which has a receipt
	env = "Staging"
	deploy(&remote, domain.TaskCancelled) // 1: missing
	env = "Production"
	receipt(deploy(&remote, domain.TaskSuccess), "")
	deploy(&remote, domain.TaskQueued) // 3: not finished
	deploy(&local, domain.TaskFailed)  // 4: local project
	d := deploy(&remote, domain.TaskFailed)
	receipt(d, "QA")                   // 5: a receipt from elsewhere with the same id does not count
	deploy(&remote, domain.TaskFailed) // 6: missing, after 5: both
	got, err := s.Receipts().Unrecorded(ctx)
	must(t, err)
	want := []int64{tasks[1], tasks[5], tasks[6]}
	if !slices.Equal(got, want) {
		t.Errorf("Unrecorded = %v, want %v (tasks %v)", got, want, tasks)
	}
}
