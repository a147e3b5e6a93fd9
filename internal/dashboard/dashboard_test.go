package dashboard_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/dashboard"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/servicetest"
)

// newSpace: Dev with projects P0…P4 on Dev → Test → "Prod: Live", and a
// release 1.0.0 of P1 deployed to Dev (succeeded) and to Test (queued).
func newSpace(t *testing.T, now func() time.Time) *servicetest.Env {
	t.Helper()
	env := servicetest.New(t, servicetest.Clock(now))
	env.CreateSpace("Dev")
	env.CreateSpace("Prod")
	env.Trust("Dev", "Prod", "promote,receipts")
	var b strings.Builder
	b.WriteString(`environments: [{name: Dev}, {name: Test}]
remoteEnvironments: ["Prod: Live"]
lifecycles: [{name: L, phases: [{name: Dev, environments: [Dev]}, {name: Test, environments: [Test]}, {name: Prod, environments: ["Prod: Live"]}]}]
projects:
`)
	for p := range 5 {
		fmt.Fprintf(&b, "  - {name: P%d, lifecycle: L, process: [{name: S, type: script, script: \"true\"}]}\n", p)
	}
	env.Apply("Dev", b.String())
	env.Release("Dev", "P1", "1.0.0")
	deployTo := func(to string) {
		if _, err := env.Set.Deploy.Deploy(env.Ctx, "Dev", deploy.Request{Project: "P1", Version: "1.0.0", Environment: to}); err != nil {
			t.Fatal(err)
		}
	}
	deployTo("Dev")
	task, err := env.Store.Tasks().Claim(env.Ctx, "test", now())
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.Tasks().Finish(env.Ctx, task.ID, domain.TaskSuccess, "", now()); err != nil {
		t.Fatal(err)
	}
	deployTo("Test")
	return env
}

func TestDashboardShowsTheLatestPerEnvironment(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := start
	env := newSpace(t, func() time.Time { return clock })
	clock = start.Add(90 * time.Second)
	d, err := env.Set.Dashboard.Get(env.Ctx, "Dev", "", dashboard.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Total != 5 || len(d.Projects) != 5 || d.Limit != dashboard.DefaultLimit || !slices.Equal(d.Environments, []string{"Dev", "Test", "Prod: Live"}) {
		t.Fatalf("dashboard: %+v", d)
	}
	p1 := d.Projects[1]
	if p1.Project != "P1" || len(p1.Cells) != 3 {
		t.Fatalf("P1's row: %+v", p1)
	}
	dev, test, prod := p1.Cells[0], p1.Cells[1], p1.Cells[2]
	if dev.Version != "1.0.0" || dev.State != domain.TaskSuccess || dev.From != "deployment" || dev.AgeSeconds != 90 {
		t.Errorf("Dev cell: %+v", dev)
	}
	if test.Version != "1.0.0" || test.State != domain.TaskQueued {
		t.Errorf("Test cell: %+v", test)
	}
	if prod.Version != "" || !prod.Remote {
		t.Errorf("Prod cell before any receipt: %+v", prod)
	}
	if d.Projects[0].Cells[0].Version != "" {
		t.Errorf("P0 was never deployed: %+v", d.Projects[0])
	}
}

func TestDashboardPagesAndPermissions(t *testing.T) {
	env := newSpace(t, func() time.Time { return time.Now().UTC() })
	page, err := env.Set.Dashboard.Get(env.Ctx, "Dev", "", dashboard.Page{Offset: 3, Limit: 10})
	if err != nil || page.Total != 5 || len(page.Projects) != 2 || page.Projects[0].Project != "P3" {
		t.Errorf("page from 3: %+v %v", page, err)
	}
	big, err := env.Set.Dashboard.Get(env.Ctx, "Dev", "", dashboard.Page{Limit: 100000})
	if err != nil || big.Limit != dashboard.MaxLimit {
		t.Errorf("a huge page: limit %d, %v", big.Limit, err)
	}
	if _, err := env.Set.Dashboard.Get(env.Ctx, "Dev", "", dashboard.Page{Offset: -1}); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("a negative offset: %v", err)
	}
	past, err := env.Set.Dashboard.Get(env.Ctx, "Dev", "", dashboard.Page{Offset: 50})
	if err != nil || past.Total != 5 || len(past.Projects) != 0 {
		t.Errorf("a page past the end: %+v %v", past, err)
	}

	env.User("vic", false)
	env.Grant("Dev", "vic", "viewer", []string{"P1", "P3"}, nil)
	mine, err := env.Set.Dashboard.Get(env.As("vic"), "Dev", "", dashboard.Page{})
	if err != nil || mine.Total != 2 || mine.Projects[0].Project != "P1" || mine.Projects[1].Project != "P3" {
		t.Errorf("a viewer of P1 and P3: %+v %v", mine, err)
	}
	second, err := env.Set.Dashboard.Get(env.As("vic"), "Dev", "", dashboard.Page{Offset: 1, Limit: 1})
	if err != nil || second.Total != 2 || len(second.Projects) != 1 || second.Projects[0].Project != "P3" {
		t.Errorf("a viewer of P1 and P3, from 1: %+v %v", second, err)
	}
	// A viewer of every project gets pages read by the store alone.
	env.User("wes", false)
	env.Grant("Dev", "wes", "viewer", nil, nil)
	for _, pg := range []struct{ offset, limit int }{{0, 2}, {1, 2}, {4, 3}, {5, 1}} {
		got, err := env.Set.Dashboard.Get(env.As("wes"), "Dev", "", dashboard.Page{Offset: pg.offset, Limit: pg.limit})
		want, _ := env.Set.Dashboard.Get(env.Ctx, "Dev", "", dashboard.Page{})
		want.Projects = want.Projects[min(pg.offset, 5):min(pg.offset+pg.limit, 5)]
		if err != nil || got.Total != 5 || !slices.EqualFunc(got.Projects, want.Projects, func(a, b dashboard.Row) bool { return a.Project == b.Project && len(a.Cells) == len(b.Cells) }) {
			t.Errorf("a viewer of every project, from %d, at most %d: %+v %v", pg.offset, pg.limit, got, err)
		}
	}
	if _, err := env.Set.Dashboard.Get(env.As("vic"), "Dev", "P2", dashboard.Page{}); domain.KindOf(err) != domain.KindNotFound {
		t.Errorf("a project the viewer may not see: %v", err)
	}
	if _, err := env.Set.Dashboard.Get(env.As("vic"), "Prod", "", dashboard.Page{}); domain.KindOf(err) != domain.KindNotFound { // as if it did not exist
		t.Errorf("a space the viewer has no role in: %v", err)
	}
	one, err := env.Set.Dashboard.Get(env.Ctx, "Dev", "P1", dashboard.Page{})
	if err != nil || one.Total != 1 || one.Projects[0].Project != "P1" {
		t.Errorf("one project: %+v %v", one, err)
	}
	elsewhere, err := env.Set.Dashboard.Elsewhere(env.Ctx, "Dev", dashboard.Query{})
	if err != nil || elsewhere == nil || len(elsewhere) != 0 {
		t.Errorf("deployments elsewhere with no receipts: %v %v", elsewhere, err)
	}
}
