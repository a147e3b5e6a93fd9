package retention_test

import (
	"errors"
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
