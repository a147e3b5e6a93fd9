package retention_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/servicetest"
)

// TestDeleteNeedsEveryEnvironment: a space admin whose team is limited to
// Dev cannot delete a release (or the project): the delete removes its
// deployments in Prod too and task logs. Before, the grant
// for the project was enough. A project-limited admin without an
// environment limit may.
func TestDeleteNeedsEveryEnvironment(t *testing.T) {
	env := servicetest.New(t)
	s := env.Set
	env.CreateSpace("Default")
	env.Apply("Default", `environments: [{name: Dev}, {name: Prod}]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Dev]}, {name: Prod, environments: [Prod]}]}]
projects: [{name: Shop, lifecycle: Main, process: [{name: S, type: script, script: "true"}]}]
`)
	env.Release("Default", "Shop", "1.0.0")
	env.Release("Default", "Shop", "1.0.1")
	env.User("dana", false)
	env.Grant("Default", "dana", "space-admin", []string{"Shop"}, []string{"Dev"})
	if _, err := s.Retention.DeleteRelease(env.As("dana"), "Default", "Shop", "1.0.1"); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("a Dev-only admin deleted a release: %v", err)
	}
	if _, err := s.Retention.DeleteProject(env.As("dana"), "Default", "Shop"); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("a Dev-only admin deleted the project: %v", err)
	}
	env.User("pat", false)
	env.Grant("Default", "pat", "space-admin", []string{"Shop"}, nil)
	if _, err := s.Retention.DeleteRelease(env.As("pat"), "Default", "Shop", "1.0.1"); err != nil {
		t.Errorf("a Shop admin could not delete a release: %v", err)
	}
}

// TestDeleteOwnTeamRefused: a space admin cannot delete the team that
// makes them one (they would lock themselves out); another team, or the
// same one by a system administrator, goes.
func TestDeleteOwnTeamRefused(t *testing.T) {
	env := servicetest.New(t)
	s := env.Set
	env.CreateSpace("Default")
	env.User("sam", false)
	env.User("vic", false)
	env.Grant("Default", "sam", "space-admin", nil, nil)
	env.Grant("Default", "vic", "viewer", nil, nil)
	if _, err := s.Retention.DeleteTeam(env.As("sam"), "Default", "sam-space-admin"); !errors.Is(err, domain.ErrConflict) {
		t.Errorf("a space admin deleted their own access: %v", err)
	}
	if _, err := s.Retention.DeleteTeam(env.As("sam"), "Default", "vic-viewer"); err != nil {
		t.Errorf("delete another team: %v", err)
	}
	if _, err := s.Retention.DeleteTeam(env.Ctx, "Default", "sam-space-admin"); err != nil {
		t.Errorf("a system administrator deletes it: %v", err)
	}
}

// TestRefusalAdviceFitsReferrers: a refusal says what to do about the
// referrers it names, and nothing about kinds it does not (it spoke of
// tasks when none ran, and of tasks and deliveries for a release that is
// only current somewhere).
func TestRefusalAdviceFitsReferrers(t *testing.T) {
	env := servicetest.New(t)
	s, ctx := env.Set, env.Ctx
	env.CreateSpace("Default")
	env.Apply("Default", `environments: [{name: Dev}]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Dev]}]}]
projects: [{name: Shop, lifecycle: Main}]
`)
	_, err := s.Retention.DeleteEnvironment(ctx, "Default", "Dev")
	if err == nil || !strings.Contains(err.Error(), "ferry apply") || strings.Contains(err.Error(), "task") {
		t.Errorf("environment used by a lifecycle only: %v", err)
	}
	_, err = s.Retention.DeleteLifecycle(ctx, "Default", "Main")
	if err == nil || !strings.Contains(err.Error(), "another lifecycle") {
		t.Errorf("lifecycle: %v", err)
	}
}
