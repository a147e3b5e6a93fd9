package storetest

import (
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// testRemoval deletes what deleting and retention delete, and asks what
// they ask, in both databases.
func testRemoval(t *testing.T, s store.Store) {
	sp, p, rels := removalScene(t, s)
	unpinned := removalQuestions(t, s, sp, p)
	removalDeletes(t, s, sp, p, rels, unpinned)
}

// removalScene is a space with a lifecycle that keeps one release, and a
// project with two releases pinning a package: one deployed, one whose
// task still runs; and a package version no release pins.
func removalScene(t *testing.T, s store.Store) (domain.Space, domain.Project, []domain.Release) {
	ctx := t.Context()
	sp := domain.Space{Name: "Gone"}
	must(t, s.Spaces().Create(ctx, &sp))
	must(t, s.Environments().Create(ctx, &domain.Environment{SpaceID: sp.ID, Name: "Dev"}))
	must(t, s.Lifecycles().Put(ctx, &domain.Lifecycle{SpaceID: sp.ID, Name: "Main", Phases: []domain.Phase{{Name: "Dev", Environments: []string{"Dev"}, Retention: &domain.Retention{KeepReleases: 1}}}}))
	lc, err := s.Lifecycles().Get(ctx, sp.ID, "Main")
	must(t, err)
	wantEqual(t, "retention kept", lc.Phases[0].Retention.KeepReleases, 1)
	p := domain.Project{SpaceID: sp.ID, Name: "Shop", Lifecycle: "Main"}
	must(t, s.Projects().Put(ctx, &p))
	pkg := domain.Package{SpaceID: sp.ID, ID: "web", Version: "1.0.0", SHA256: "aa", Size: 1, Format: "zip", Chunks: 1,
		Manifest: []byte(`{"chunks":[]}`), Source: "push", CreatedBy: "admin"}
	must(t, s.Packages().Create(ctx, &pkg))
	spare := pkg
	spare.Version, spare.RowID = "0.9.0", 0
	must(t, s.Packages().Create(ctx, &spare))
	var rels []domain.Release
	for i, v := range []string{"1.0.0", "1.0.1"} {
		r := domain.Release{ProjectID: p.ID, Project: p.Name, Version: v, CreatedAt: at(i), CreatedBy: "admin",
			Snapshot: domain.Snapshot{Packages: []domain.PackageRef{{ID: "web", Version: "1.0.0", SHA256: "aa"}}}}
		must(t, s.Releases().Create(ctx, &r))
		state := domain.TaskSuccess
		if i == 1 {
			state = domain.TaskExecuting
		}
		task := domain.Task{SpaceID: sp.ID, Kind: domain.TaskDeploy, State: state, QueuedAt: at(i)}
		must(t, s.Tasks().Create(ctx, &task))
		d := domain.Deployment{SpaceID: sp.ID, ProjectID: p.ID, ReleaseID: r.ID, Environment: "Dev", TaskID: task.ID, CreatedAt: at(i), CreatedBy: "admin"}
		must(t, s.Deployments().Create(ctx, &d))
		must(t, s.Tasks().SetDeployment(ctx, task.ID, d.ID))
		must(t, s.Tasks().AppendLog(ctx, task.ID, []domain.LogLine{{At: at(i), Level: "info", Text: "hi"}}))
		rels = append(rels, r)
	}
	return sp, p, rels
}

// removalQuestions asks what deletes ask; it returns the unpinned package.
func removalQuestions(t *testing.T, s store.Store, sp domain.Space, p domain.Project) []domain.PackageRef {
	ctx, rm := t.Context(), s.Removal()
	active, err := rm.ActiveTasks(ctx, store.ActiveFilter{Environment: "Dev", SpaceID: sp.ID})
	must(t, err)
	if len(active) != 1 || active[0].Version != "1.0.1" || active[0].Project != "Shop" {
		t.Fatalf("ActiveTasks: %+v", active)
	}
	pins, err := rm.Pins(ctx, sp.ID, "web", "")
	must(t, err)
	wantEqual(t, "pins", len(pins), 2)
	unpinned, err := rm.Unpinned(ctx, sp.ID, time.Now().Add(time.Hour))
	must(t, err)
	if len(unpinned) != 1 || unpinned[0].Version != "0.9.0" {
		t.Fatalf("Unpinned: %+v", unpinned)
	}
	uses, err := rm.Uses(ctx, p.ID)
	must(t, err)
	if len(uses) != 2 || uses[0].Version != "1.0.1" || !uses[0].Active || uses[1].Active ||
		len(uses[1].Current) != 1 || uses[1].Current[0] != "Dev" || len(uses[0].Environments) != 1 {
		t.Fatalf("Uses: %+v", uses)
	}
	return unpinned
}

// removalDeletes deletes a release, the unpinned package, the
// environment, lifecycle, project and space.
func removalDeletes(t *testing.T, s store.Store, sp domain.Space, p domain.Project, rels []domain.Release, unpinned []domain.PackageRef) {
	ctx, rm := t.Context(), s.Removal()
	removed, err := rm.DeleteReleases(ctx, []int64{rels[0].ID})
	must(t, err)
	if removed.Releases != 1 || removed.Deployments != 1 || removed.Tasks != 1 || removed.LogLines != 1 {
		t.Fatalf("DeleteReleases: %+v", removed)
	}
	gone, err := s.Releases().WasDeleted(ctx, p.ID, "1.0.0")
	must(t, err)
	kept, err := s.Releases().WasDeleted(ctx, p.ID, "1.0.1")
	must(t, err)
	if !gone || kept {
		t.Fatalf("WasDeleted: 1.0.0 %v (want true), 1.0.1 %v (want false)", gone, kept)
	}
	n, err := rm.DeletePackages(ctx, sp.ID, unpinned)
	must(t, err)
	wantEqual(t, "packages deleted", n, 1)

	var manifests, received int
	must(t, rm.ChunkUses(ctx, func([]byte) error { manifests++; return nil }, func(string) error { received++; return nil }))
	if manifests < 1 {
		t.Fatalf("ChunkUses read %d manifests", manifests)
	}
	_, err = rm.ExpireReceived(ctx, time.Now())
	must(t, err)

	removed, err = rm.DeleteEnvironment(ctx, sp.ID, "Dev")
	must(t, err)
	if removed.Environments != 1 || removed.Deployments != 1 {
		t.Fatalf("DeleteEnvironment: %+v", removed)
	}
	_, err = rm.DeleteEnvironment(ctx, sp.ID, "Dev")
	wantKind(t, err, domain.KindNotFound)
	must(t, rm.DeleteLifecycle(ctx, sp.ID, "Main"))
	removed, err = rm.DeleteProject(ctx, p.ID)
	must(t, err)
	wantEqual(t, "project releases", removed.Releases, 1)

	must(t, s.Audit().Append(ctx, &domain.AuditEvent{SpaceID: sp.ID, At: at(3), Actor: "admin", Action: "x", Subject: "thing"}))
	_, err = rm.DeleteSpace(ctx, sp.ID)
	must(t, err)
	_, err = s.Spaces().Get(ctx, "Gone")
	wantKind(t, err, domain.KindNotFound)
	events, err := s.Audit().List(ctx, store.AuditFilter{})
	must(t, err)
	found := false
	for _, e := range events {
		found = found || e.Subject == "Gone: thing"
	}
	if !found {
		t.Fatalf("the space's audit event did not stay as the server's: %+v", events)
	}
	must(t, rm.Forget(ctx))
}
