package storetest

import (
	"bytes"
	"slices"
	"sync"
	"testing"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// targetTests are the conformance tests of targets, the server's agent
// identities and jobs for targets; Run runs them with the others.
var targetTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"Targets", testTargets},
	{"AgentIdentities", testAgentIdentities},
	{"AgentJobs", testAgentJobs},
	{"AgentJobClaimConcurrent", testAgentJobClaimConcurrent},
	{"DeploymentTargets", testDeploymentTargets},
}

func testTargets(t *testing.T, s store.Store) {
	ctx := t.Context()
	f := newFixture(t, s, "Default")
	web := domain.Target{SpaceID: f.space.ID, Name: "web-1", Environments: []string{"Test"}, Roles: []string{"web"},
		Mode: domain.ModeListening, URL: "https://10.0.0.1:10933", Thumbprint: "AA:01"}
	must(t, s.Targets().Create(ctx, &web))
	poll := domain.Target{SpaceID: f.space.ID, Name: "db-1", Environments: []string{"Test", "Development"}, Roles: []string{"db"},
		Mode: domain.ModePolling, Thumbprint: "BB:02"}
	must(t, s.Targets().Create(ctx, &poll))
	dup := web
	dup.ID, dup.Name = 0, "web-2"
	wantKind(t, s.Targets().Create(ctx, &dup), domain.KindConflict, "AA:01")
	dup = web
	dup.ID, dup.Thumbprint = 0, "CC:03"
	wantKind(t, s.Targets().Create(ctx, &dup), domain.KindConflict, "web-1")

	got, err := s.Targets().Get(ctx, f.space.ID, "web-1")
	must(t, err)
	wantEqual(t, "health of a new target", got.Health, domain.HealthUnknown)
	wantEqual(t, "roles", got.Roles, []string{"web"})
	_, err = s.Targets().Get(ctx, f.space.ID, "nope")
	wantKind(t, err, domain.KindNotFound, "nope")

	must(t, s.Targets().SetHealth(ctx, web.ID, store.TargetHealth{Health: domain.HealthHealthy, CheckedAt: at(1), Answered: true, Version: "v1"}))
	must(t, s.Targets().SetHealth(ctx, web.ID, store.TargetHealth{Health: domain.HealthOffline, Reason: "refused", CheckedAt: at(2)}))
	got, _ = s.Targets().GetByID(ctx, web.ID)
	if got.Health != domain.HealthOffline || got.HealthReason != "refused" || got.LastSeen == nil || !got.LastSeen.Equal(at(1).Truncate(1000)) || got.AgentVersion != "v1" {
		t.Errorf("after an answered check and an offline one: %+v", got)
	}

	must(t, s.Targets().Seen(ctx, "BB:02", "node-a", at(3), "v2"))
	got, _ = s.Targets().GetByID(ctx, poll.ID)
	if got.Node != "node-a" || got.AgentVersion != "v2" || got.LastSeen == nil {
		t.Errorf("a polling agent seen: %+v", got)
	}
	must(t, s.Targets().Left(ctx, "BB:02", "node-b")) // not there: nothing changes
	got, _ = s.Targets().GetByID(ctx, poll.ID)
	wantEqual(t, "node after another node's leave", got.Node, "node-a")
	must(t, s.Targets().Left(ctx, "BB:02", "node-a"))
	got, _ = s.Targets().GetByID(ctx, poll.ID)
	wantEqual(t, "node after it left", got.Node, "")

	other := newFixture(t, s, "Other")
	twin := poll
	twin.ID, twin.SpaceID = 0, other.space.ID
	must(t, s.Targets().Create(ctx, &twin)) // one agent, two spaces
	list, err := s.Targets().ByThumbprint(ctx, "BB:02")
	must(t, err)
	wantEqual(t, "targets of one agent", len(list), 2)
	all, err := s.Targets().List(ctx, 0)
	must(t, err)
	wantEqual(t, "targets of every space", len(all), 3)

	got.Disabled, got.Roles = true, []string{"db", "cache"}
	must(t, s.Targets().Update(ctx, &got))
	got, _ = s.Targets().GetByID(ctx, poll.ID)
	if !got.Disabled || !slices.Equal(got.Roles, []string{"db", "cache"}) {
		t.Errorf("after an update: %+v", got)
	}
	must(t, s.Targets().Delete(ctx, poll.ID))
	_, err = s.Targets().GetByID(ctx, poll.ID)
	wantKind(t, err, domain.KindNotFound)
}

func testAgentIdentities(t *testing.T, s store.Store) {
	ctx := t.Context()
	ids := s.AgentIdentities()
	list, err := ids.List(ctx)
	must(t, err)
	wantEqual(t, "identities of a new store", len(list), 0)
	cur := domain.AgentIdentity{Fingerprint: "AA", CertPEM: []byte("cert-a"), KeyPEM: []byte("key-a"), State: domain.IdentityCurrent}
	must(t, ids.Create(ctx, &cur))
	again := domain.AgentIdentity{Fingerprint: "AB", CertPEM: []byte("c"), KeyPEM: []byte("k"), State: domain.IdentityCurrent}
	wantKind(t, ids.Create(ctx, &again), domain.KindConflict)
	wantKind(t, ids.Activate(ctx, at(1)), domain.KindNotFound, "rotate-identity")
	next := domain.AgentIdentity{Fingerprint: "BB", CertPEM: []byte("cert-b"), KeyPEM: []byte("key-b"), State: domain.IdentityNext}
	must(t, ids.Create(ctx, &next))
	list, _ = ids.List(ctx)
	if len(list) != 2 || !bytes.Equal(list[1].KeyPEM, []byte("key-a")) {
		t.Errorf("two identities: %+v", list)
	}
	must(t, ids.Activate(ctx, at(2)))
	list, _ = ids.List(ctx)
	if len(list) != 1 || list[0].Fingerprint != "BB" || list[0].State != domain.IdentityCurrent {
		t.Errorf("after activation: %+v", list)
	}
}

// jobFixture is a running deployment task with a target.
func jobFixture(t *testing.T, s store.Store) (fixture, domain.Deployment, domain.Target) {
	f := newFixture(t, s, "Default")
	d := f.deploy(t, s, "Test")
	tg := domain.Target{SpaceID: f.space.ID, Name: "web-1", Environments: []string{"Test"}, Roles: []string{"web"}, Mode: domain.ModePolling, Thumbprint: "AA"}
	must(t, s.Targets().Create(t.Context(), &tg))
	return f, d, tg
}

func newJob(d domain.Deployment, tg domain.Target, origin string, payload string) domain.AgentJob {
	return domain.AgentJob{TaskID: d.TaskID, SpaceID: tg.SpaceID, TargetID: tg.ID, Target: tg.Name, Thumbprint: tg.Thumbprint,
		Mode: tg.Mode, URL: tg.URL, Origin: origin, Payload: []byte(payload)}
}

func testAgentJobs(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, d, tg := jobFixture(t, s)
	jobs := s.AgentJobs()
	j := newJob(d, tg, "node-a", `{"secret":"x"}`)
	must(t, jobs.Create(ctx, &j))
	// Listening jobs go to their origin; polling jobs to the node of their agent.
	got, err := jobs.Claim(ctx, "node-a", nil, at(1), 10)
	must(t, err)
	wantEqual(t, "jobs of another node's polling agent", len(got), 0)
	got, err = jobs.Claim(ctx, "node-b", []string{"AA"}, at(1), 10)
	must(t, err)
	if len(got) != 1 || string(got[0].Payload) != `{"secret":"x"}` || got[0].Node != "node-b" || got[0].State != domain.JobRunning {
		t.Fatalf("claimed: %+v", got)
	}
	stop, err := jobs.Beat(ctx, "node-b", at(2))
	must(t, err)
	wantEqual(t, "jobs to stop", len(stop), 0)
	must(t, jobs.RequestCancel(ctx, j.ID))
	stop, _ = jobs.Beat(ctx, "node-b", at(3))
	wantEqual(t, "jobs to stop after a cancel", stop, []int64{j.ID})
	ok, err := jobs.Finish(ctx, j.ID, domain.JobDone, []byte(`{"outputs":"sealed"}`), "", at(4))
	must(t, err)
	if !ok {
		t.Error("Finish of a running job reported it already ended")
	}
	if ok, _ = jobs.Finish(ctx, j.ID, domain.JobFailed, nil, "late", at(5)); ok {
		t.Error("a job finished twice")
	}
	done, _ := jobs.Get(ctx, j.ID)
	if done.State != domain.JobDone || string(done.Result) != `{"outputs":"sealed"}` || done.Error != "" {
		t.Errorf("finished job: %+v", done)
	}

	// A task that ended stops its jobs; a node that restarts fails its own.
	j2 := newJob(d, tg, "node-a", "{}")
	must(t, jobs.Create(ctx, &j2))
	tg2 := tg
	tg2.Mode = domain.ModeListening
	j3 := newJob(d, tg2, "node-a", "{}")
	must(t, jobs.Create(ctx, &j3))
	got, _ = jobs.Claim(ctx, "node-a", nil, at(6), 10)
	wantEqual(t, "a listening job claimed by its origin", len(got), 1)
	must(t, s.Tasks().Finish(ctx, d.TaskID, domain.TaskFailed, "gone", at(7)))
	stop, _ = jobs.Beat(ctx, "node-a", at(8))
	wantEqual(t, "jobs of an ended task", stop, []int64{j3.ID})
	n, err := jobs.FailNode(ctx, "node-a", "restarted", at(9))
	must(t, err)
	wantEqual(t, "jobs failed with their node", n, 2)
	failed, _ := jobs.Get(ctx, j2.ID)
	if failed.State != domain.JobFailed || failed.Error != "restarted" {
		t.Errorf("a queued job of a restarted node: %+v", failed)
	}
	must(t, jobs.Delete(ctx, j2.ID))
	_, err = jobs.Get(ctx, j2.ID)
	wantKind(t, err, domain.KindNotFound)
}

func testAgentJobClaimConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, d, tg := jobFixture(t, s)
	for range 20 {
		j := newJob(d, tg, "origin", "{}")
		must(t, s.AgentJobs().Create(ctx, &j))
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for n := range 4 {
		wg.Go(func() {
			for {
				got, err := s.AgentJobs().Claim(ctx, "node-"+string(rune('a'+n)), []string{"AA"}, at(1), 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, j := range got {
					seen[j.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 20 {
		t.Errorf("claimed %d of 20 jobs", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("job %d claimed %d times", id, n)
		}
	}
}

func testDeploymentTargets(t *testing.T, s store.Store) {
	ctx := t.Context()
	f := newFixture(t, s, "Default")
	task := domain.Task{SpaceID: f.space.ID, Kind: domain.TaskDeploy, Description: "Deploy"}
	must(t, s.Tasks().Create(ctx, &task))
	d := domain.Deployment{SpaceID: f.space.ID, ProjectID: f.project.ID, ReleaseID: f.release.ID, Environment: "Test", TaskID: task.ID,
		CreatedBy: "admin", Targets: []string{"web-1", "db-1"}, ExcludeTargets: []string{"web-2"}}
	must(t, s.Deployments().Create(ctx, &d))
	must(t, s.Deployments().SetMachines(ctx, d.ID, 2))
	got, err := s.Deployments().Get(ctx, d.ID)
	must(t, err)
	if !slices.Equal(got.Targets, d.Targets) || !slices.Equal(got.ExcludeTargets, d.ExcludeTargets) || got.Machines != 2 {
		t.Errorf("a deployment limited to targets: %+v", got)
	}
	plain := f.deploy(t, s, "Test")
	got, _ = s.Deployments().Get(ctx, plain.ID)
	if got.Targets != nil || got.ExcludeTargets != nil || got.Machines != 0 {
		t.Errorf("a deployment to every target: %+v", got)
	}
}
