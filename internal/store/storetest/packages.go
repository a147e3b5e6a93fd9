package storetest

import (
	"testing"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

func testPackages(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := domain.Space{Name: "Pkg A"}, domain.Space{Name: "Pkg B"}
	must(t, s.Spaces().Create(ctx, &a))
	must(t, s.Spaces().Create(ctx, &b))
	mk := func(sp int64, id, v, sha string) domain.Package {
		return domain.Package{SpaceID: sp, ID: id, Version: v, SHA256: sha, Size: 10, Format: "zip", Chunks: 1,
			Manifest: []byte(`{"chunks":[]}`), Source: "push", CreatedBy: "admin"}
	}
	for _, p := range []domain.Package{mk(a.ID, "web", "1.0.0", "aa"), mk(a.ID, "web", "1.1.0", "bb"), mk(a.ID, "api", "1.0.0", "aa"), mk(b.ID, "web", "1.0.0", "aa")} {
		must(t, s.Packages().Create(ctx, &p))
		if p.RowID == 0 || p.CreatedAt.IsZero() {
			t.Fatalf("Create did not set RowID and CreatedAt: %+v", p)
		}
	}
	dup := mk(a.ID, "web", "1.0.0", "cc")
	wantKind(t, s.Packages().Create(ctx, &dup), domain.KindConflict)

	got, err := s.Packages().Get(ctx, a.ID, "web", "1.1.0")
	must(t, err)
	wantEqual(t, "sha", got.SHA256, "bb")
	wantEqual(t, "manifest", string(got.Manifest), `{"chunks":[]}`)
	_, err = s.Packages().Get(ctx, a.ID, "web", "9.9")
	wantKind(t, err, domain.KindNotFound)

	all, err := s.Packages().List(ctx, a.ID, "")
	must(t, err)
	if len(all) != 3 || all[0].ID != "api" || all[1].Version != "1.1.0" || all[2].Version != "1.0.0" || all[0].Manifest != nil {
		t.Fatalf("List: %+v", all)
	}
	web, err := s.Packages().List(ctx, b.ID, "web")
	must(t, err)
	wantEqual(t, "space B packages", len(web), 1)

	same, err := s.Packages().BySHA256(ctx, a.ID, "aa")
	must(t, err)
	if len(same) != 2 || same[0].Manifest == nil {
		t.Fatalf("BySHA256: %+v", same)
	}
}
