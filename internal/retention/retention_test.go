package retention_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/retention"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/store"
)

func use(id int64, envs ...string) store.ReleaseUse {
	return store.ReleaseUse{ID: id, Version: string(rune('a' + id)), Environments: envs}
}

func ids(list []store.ReleaseUse) []int64 {
	var out []int64
	for _, u := range list {
		out = append(out, u.ID)
	}
	return out
}

// TestExpired: a release goes only when every phase it was deployed to
// keeps newer ones; one deployed nowhere, or to a phase without a policy,
// stays.
func TestExpired(t *testing.T) {
	l := domain.Lifecycle{Name: "Main", Phases: []domain.Phase{
		{Name: "Dev", Environments: []string{"Dev"}, Retention: &domain.Retention{KeepReleases: 2}},
		{Name: "Test", Environments: []string{"Test", "QA"}, Retention: &domain.Retention{KeepReleases: 1}},
		{Name: "Prod", Environments: []string{"Prod"}},
	}}
	uses := []store.ReleaseUse{ // newest first
		use(9, "Dev"),
		use(8, "Dev", "Test"),
		use(7, "Dev"),
		use(6, "Dev", "QA"),    // Dev: third, Test: second → goes
		use(5),                 // never deployed → stays
		use(4, "Dev", "Prod"),  // Prod keeps everything → stays
		use(3, "Dev", "Other"), // an environment in no phase does not count
		use(2, "Test"),         // Test: third → goes
		use(1, "Dev", "Test"),  // goes
	}
	got := ids(retention.Expired(l, uses))
	if want := []int64{7, 6, 3, 2, 1}; !slices.Equal(got, want) {
		t.Fatalf("expired %v, want %v", got, want)
	}
	none := domain.Lifecycle{Phases: []domain.Phase{{Name: "Dev", Environments: []string{"Dev"}}}}
	if got := retention.Expired(none, uses); len(got) != 0 {
		t.Fatalf("a lifecycle without a policy expired %v", ids(got))
	}
}

// TestRetentionSparesTasksInFlight: releases whose deployments are still
// queued are never removed however old, and the environment they deploy
// to cannot be deleted; once nothing runs, retention removes them.
func TestRetentionSparesTasksInFlight(t *testing.T) {
	env := servicetest.New(t, servicetest.Retain(retention.Settings{Grace: -1}))
	s, ctx := env.Set, env.Ctx
	env.CreateSpace("Default")
	env.Apply("Default", `environments: [{name: Dev}]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Dev], retention: {keepReleases: 1}}]}]
projects: [{name: Shop, lifecycle: Main, process: [{name: S, type: script, script: "true"}]}]
`)
	for _, v := range []string{"1.0.0", "1.0.1", "1.0.2"} {
		env.Release("Default", "Shop", v)
		if _, err := s.Deploy.Deploy(ctx, "Default", deploy.Request{Project: "Shop", Version: v, Environment: "Dev"}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := s.Retention.Run(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Releases) != 0 || rep.Kept != 2 {
		t.Fatalf("with every task queued, retention removed %v and kept %d (want none and 2)", rep.Releases, rep.Kept)
	}
	_, err = s.Retention.DeleteEnvironment(ctx, "Default", "Dev")
	if !errors.Is(err, domain.ErrConflict) || !strings.Contains(err.Error(), `task "1"`) || !strings.Contains(err.Error(), `lifecycle "Main"`) {
		t.Fatalf("delete Dev while tasks are queued: %v", err)
	}
	// Not a retention user: only administrators run it.
	env.User("vera", false)
	if _, err := s.Retention.Run(env.As("vera"), true); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("a user who is not an administrator ran retention: %v", err)
	}

	// The tasks end; the two older releases go.
	tasks, err := env.Store.Tasks().List(ctx, store.TaskFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		if err := env.Store.Tasks().Finish(ctx, task.ID, domain.TaskSuccess, "", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	rep, err = s.Retention.Run(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Releases) != 2 || rep.Removed.Tasks != 2 {
		t.Fatalf("retention removed %+v", rep)
	}
	left, err := s.Releases.List(ctx, "Default", "Shop")
	if err != nil || len(left) != 1 || left[0].Version != "1.0.2" {
		t.Fatalf("releases left: %v %v", left, err)
	}
}

// TestRetentionKeepsWhatRunsInOtherSpaces: a release that receipts say is
// the latest in another space's environment of the lifecycle ("Prod
// Space: Production") is what runs in production; retention keeps it,
// and deleting it by hand is refused as for a local environment (SPEC §7:
// "a release that is the latest in any environment is always kept").
// Before, both removed it: DevTest could no longer promote, diff or roll
// back to what production runs, and Prod's later receipts about it were
// dropped.
func TestRetentionKeepsWhatRunsInOtherSpaces(t *testing.T) {
	env := servicetest.New(t, servicetest.Retain(retention.Settings{Grace: -1}))
	s, ctx := env.Set, env.Ctx
	dev := env.CreateSpace("Default")
	env.Apply("Default", `environments: [{name: Dev}]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Dev], retention: {keepReleases: 1}}]}]
projects: [{name: Shop, lifecycle: Main, process: [{name: S, type: script, script: "true"}]}]
`)
	versions := []string{"1.0.0", "1.0.1", "1.0.2", "1.0.3"}
	for _, v := range versions {
		env.Release("Default", "Shop", v)
		d, err := s.Deploy.Deploy(ctx, "Default", deploy.Request{Project: "Shop", Version: v, Environment: "Dev"})
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Store.Tasks().Finish(ctx, d.TaskID, domain.TaskSuccess, "", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	receipt := func(n int, version, environment, tenant string, state domain.TaskState) {
		r := &domain.Receipt{SpaceID: dev.ID, Digest: fmt.Sprintf("sha256:%064d", n), DeployingSpace: "Prod Space", SignerFingerprint: "AA",
			OriginSpace: "Default", OriginFingerprint: dev.Fingerprint, OriginProject: "Shop", Version: version,
			Environment: environment, Tenant: tenant, State: state, DeployedBy: "pat", Payload: []byte("{}"), Signature: []byte("x"), SignerPEM: "x"}
		if _, err := env.Store.Receipts().Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	receipt(1, "1.0.0", "Prod Space: Production", "", domain.TaskSuccess) // runs in production
	receipt(2, "1.0.1", "Prod Space: Production", "", domain.TaskFailed)  // tried, failed: 1.0.0 still runs
	receipt(3, "1.0.0", "Prod Space: Production", "acme", domain.TaskFailed)
	receipt(4, "1.0.1", "Prod Space: Staging", "", domain.TaskSuccess)
	receipt(5, "1.0.2", "Prod Space: Staging", "", domain.TaskSuccess) // 1.0.1 is no longer latest there

	if _, err := s.Retention.DeleteRelease(ctx, "Default", "Shop", "1.0.0"); !errors.Is(err, domain.ErrConflict) || !strings.Contains(err.Error(), `environment "Prod Space: Production"`) {
		t.Fatalf("deleting the release production runs: %v", err)
	}
	rep, err := s.Retention.Run(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	var removed []string
	for _, r := range rep.Releases {
		removed = append(removed, r.Version)
	}
	slices.Sort(removed)
	// 1.0.3 is current in Dev; 1.0.0 runs in production, 1.0.1 was the
	// last to be tried there; 1.0.2 is the latest in Staging.
	if len(removed) != 0 {
		t.Fatalf("retention removed %v; every release is the latest somewhere", removed)
	}
	receipt(6, "1.0.3", "Prod Space: Production", "", domain.TaskSuccess)
	receipt(7, "1.0.3", "Prod Space: Production", "acme", domain.TaskSuccess)
	receipt(8, "1.0.3", "Prod Space: Staging", "", domain.TaskSuccess)
	rep, err = s.Retention.Run(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	removed = nil
	for _, r := range rep.Releases {
		removed = append(removed, r.Version)
	}
	slices.Sort(removed)
	if !slices.Equal(removed, versions[:3]) {
		t.Fatalf("once production runs 1.0.3, retention removed %v, want %v", removed, versions[:3])
	}
	// The receipts of what went go with it: none is left to show a
	// release that is not here, or to count for a new one of its version.
	receipts := func() int {
		t.Helper()
		list, err := env.Store.Receipts().List(ctx, dev.ID, store.ReceiptFilter{OriginFingerprint: dev.Fingerprint, OriginProject: "Shop"})
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	if n := receipts(); n != 3 || rep.Removed.Receipts != 5 {
		t.Fatalf("after retention %d receipts are left (want the 3 of 1.0.3), %d counted removed (want 5)", n, rep.Removed.Receipts)
	}
	receipt(9, "1.0.3", "Prod Space: Staging", "", domain.TaskFailed)
	receipt(10, "1.0.3", "Prod Space: Production", "", domain.TaskSuccess)
	env.Release("Default", "Shop", "1.0.4")
	d, err := s.Deploy.Deploy(ctx, "Default", deploy.Request{Project: "Shop", Version: "1.0.4", Environment: "Dev"})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.Tasks().Finish(ctx, d.TaskID, domain.TaskSuccess, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	del, err := s.Retention.DeleteProject(ctx, "Default", "Shop")
	if err != nil || receipts() != 0 || del.Removed.Receipts != 5 {
		t.Fatalf("deleting the project: %+v, %v; %d receipts left", del, err, receipts())
	}
}
