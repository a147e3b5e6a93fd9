package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// testProjectSettings: a project's channels and triggers are stored with it.
func testProjectSettings(t *testing.T, s store.Store) {
	f := newFixture(t, s, "One")
	f.project.Channels = []domain.Channel{
		{Name: "Stable", Default: true, Rules: []domain.ChannelRule{{Package: "web", VersionRange: "[1.0,2.0)", Tag: "^$"}}},
		{Name: "Hotfix", Lifecycle: "Fast"},
	}
	f.project.Triggers = []domain.Trigger{
		{Name: "Nightly", Type: domain.TriggerSchedule, Cron: "0 2 * * *", Timezone: "Europe/Berlin", SourceEnvironment: "Development", Environment: "Test"},
		{Name: "Arrival", Type: domain.TriggerOnArrival, Environment: "Test"},
	}
	must(t, s.Projects().Put(t.Context(), &f.project))
	got, err := s.Projects().Get(t.Context(), f.space.ID, "Shop")
	must(t, err)
	wantEqual(t, "channels", got.Channels, f.project.Channels)
	wantEqual(t, "triggers", got.Triggers, f.project.Triggers)
	triggered, err := s.Projects().Triggered(t.Context())
	must(t, err)
	if len(triggered) != 1 || triggered[0].ID != f.project.ID || len(triggered[0].Triggers) != 2 {
		t.Errorf("Triggered = %+v", triggered)
	}
	if got.LifecycleOf("Hotfix") != "Fast" || got.LifecycleOf("Stable") != "Main" || got.LifecycleOf("") != "Main" {
		t.Errorf("LifecycleOf: %q %q %q", got.LifecycleOf("Hotfix"), got.LifecycleOf("Stable"), got.LifecycleOf(""))
	}
}

// testInterventions: opening one moves the task to Waiting; deciding it
// once queues the task again; a second decision changes nothing.
func testInterventions(t *testing.T, s store.Store) {
	f := newFixture(t, s, "One")
	d := f.deploy(t, s, "Development")
	iv := &domain.Intervention{TaskID: d.TaskID, StepIndex: 1, Step: "Sign-off", Instructions: "Check it", Deployer: "alice", Since: at(1)}
	wantKind(t, s.Interventions().Open(t.Context(), iv), domain.KindConflict, "not running")
	claimed, err := s.Tasks().Claim(t.Context(), "node-a", at(0))
	must(t, err)
	timeout := at(30)
	iv.ResponsibleTeams, iv.PreventSelfApproval, iv.TimeoutAt = []string{"Approvers"}, true, &timeout
	must(t, s.Interventions().Open(t.Context(), iv))
	task, err := s.Tasks().Get(t.Context(), claimed.ID)
	must(t, err)
	if task.State != domain.TaskWaiting || task.Node != "" {
		t.Fatalf("after Open: state %s node %q, want Waiting on no node", task.State, task.Node)
	}
	waiting, err := s.Tasks().List(t.Context(), store.TaskFilter{State: domain.TaskWaiting})
	must(t, err)
	if len(waiting) != 1 || waiting[0].ID != task.ID {
		t.Errorf("List Waiting = %+v", waiting)
	}
	pending, err := s.Interventions().Pending(t.Context(), task.ID)
	must(t, err)
	wantEqual(t, "pending", pending.ResponsibleTeams, []string{"Approvers"})
	if !pending.PreventSelfApproval || pending.Deployer != "alice" || !pending.TimeoutAt.Equal(at(30).Truncate(time.Microsecond)) {
		t.Errorf("pending = %+v", pending)
	}
	expired, err := s.Interventions().Expired(t.Context(), at(29))
	must(t, err)
	wantEqual(t, "expired before the timeout", len(expired), 0)
	expired, err = s.Interventions().Expired(t.Context(), at(30))
	must(t, err)
	wantEqual(t, "expired at the timeout", len(expired), 1)
	undecided, err := s.Interventions().Undecided(t.Context(), f.space.ID)
	must(t, err)
	if len(undecided) != 1 || undecided[0].ID != iv.ID || undecided[0].Step != "Sign-off" {
		t.Errorf("Undecided = %+v, want the one opened", undecided)
	}
	other := newFixture(t, s, "Two")
	undecided, err = s.Interventions().Undecided(t.Context(), other.space.ID)
	must(t, err)
	wantEqual(t, "undecided in another space", len(undecided), 0)

	ok, err := s.Interventions().Decide(t.Context(), iv.ID, domain.DecisionApproved, "bob", "fine", at(5))
	must(t, err)
	if !ok {
		t.Fatal("the first decision was not taken")
	}
	ok, err = s.Interventions().Decide(t.Context(), iv.ID, domain.DecisionAborted, "carol", "", at(6))
	must(t, err)
	if ok {
		t.Fatal("a second decision was taken")
	}
	list, err := s.Interventions().List(t.Context(), task.ID)
	must(t, err)
	if len(list) != 1 || list[0].Decision != domain.DecisionApproved || list[0].DecidedBy != "bob" || list[0].Note != "fine" {
		t.Errorf("List = %+v", list)
	}
	_, err = s.Interventions().Pending(t.Context(), task.ID)
	wantKind(t, err, domain.KindNotFound)
	undecided, err = s.Interventions().Undecided(t.Context(), f.space.ID)
	must(t, err)
	wantEqual(t, "undecided after the decision", len(undecided), 0)
	again, err := s.Tasks().Claim(t.Context(), "node-b", at(7))
	must(t, err)
	if again.ID != task.ID || again.StartedAt == nil || !again.StartedAt.Equal(at(0).Truncate(time.Microsecond)) {
		t.Errorf("claimed again: %+v, want task %d keeping its first start", again, task.ID)
	}
	// A waiting task may be cancelled and finished.
	must(t, s.Tasks().RequestCancel(t.Context(), again.ID, time.Now()))
}

func testTriggerStates(t *testing.T, s store.Store) {
	f := newFixture(t, s, "One")
	ok, err := s.TriggerStates().Claim(t.Context(), f.project.ID, "Nightly", at(10))
	must(t, err)
	if !ok {
		t.Fatal("the first claim failed")
	}
	for _, due := range []time.Time{at(10), at(9)} {
		if ok, err := s.TriggerStates().Claim(t.Context(), f.project.ID, "Nightly", due); err != nil || ok {
			t.Errorf("claim of %s after %s: %v %v, want refused", due, at(10), ok, err)
		}
	}
	must(t, s.TriggerStates().Record(t.Context(), f.project.ID, "Nightly", domain.TriggerFiring{At: at(10), OK: true, Version: "1.0.0", TaskID: 7, Result: "queued"}))
	must(t, s.TriggerStates().Record(t.Context(), f.project.ID, "Arrival", domain.TriggerFiring{At: at(11), Result: "refused"}))
	list, err := s.TriggerStates().List(t.Context(), f.project.ID)
	must(t, err)
	if len(list) != 2 || list[0].Name != "Arrival" || !list[0].LastDue.IsZero() || list[0].Last == nil || list[0].Last.OK || list[0].Last.Due != nil {
		t.Fatalf("List = %+v", list)
	}
	n := list[1]
	if !n.LastDue.Equal(at(10).Truncate(time.Microsecond)) || n.Last.Version != "1.0.0" || n.Last.TaskID != 7 || !n.Last.OK || n.Last.Due == nil {
		t.Errorf("Nightly = %+v %+v", n, n.Last)
	}
}

// testTriggerClaimConcurrent: of many nodes claiming one due time, one wins.
func testTriggerClaimConcurrent(t *testing.T, s store.Store) {
	f := newFixture(t, s, "One")
	for round := range 5 {
		var won atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				ok, err := s.TriggerStates().Claim(t.Context(), f.project.ID, "Nightly", at(round))
				if err != nil {
					t.Error(err)
				}
				if ok {
					won.Add(1)
				}
			})
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Errorf("due time %d claimed %d times, want once", round, won.Load())
		}
	}
}

// testInterventionAfterCancel: a task whose cancellation was asked for
// while it ran does not start waiting.
func testInterventionAfterCancel(t *testing.T, s store.Store) {
	f := newFixture(t, s, "One")
	f.deploy(t, s, "Development")
	task, err := s.Tasks().Claim(t.Context(), "node-a", at(0))
	must(t, err)
	must(t, s.Tasks().RequestCancel(t.Context(), task.ID, time.Now()))
	iv := &domain.Intervention{TaskID: task.ID, Step: "Sign-off", Instructions: "Check it", Deployer: "alice", Since: at(1)}
	wantKind(t, s.Interventions().Open(t.Context(), iv), domain.KindConflict, "cancellation")
}
