package storetest

import (
	"testing"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

func testSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := domain.User{Name: "vera"}
	must(t, s.Users().Create(ctx, &u))
	se := store.WebSession{IDHash: "h1", UserID: u.ID, UserName: "vera", Stamp: "st", CSRF: "tok", CreatedAt: at(1), SeenAt: at(1)}
	must(t, s.Sessions().Create(ctx, se))
	old := store.WebSession{IDHash: "h2", UserID: u.ID, UserName: "vera", Stamp: "st", CSRF: "tok2", CreatedAt: at(0), SeenAt: at(0)}
	must(t, s.Sessions().Create(ctx, old))

	got, err := s.Sessions().Get(ctx, "h1")
	must(t, err)
	se.CreatedAt, se.SeenAt = stamp(se.CreatedAt), stamp(se.SeenAt)
	wantEqual(t, "Get", got, se)
	_, err = s.Sessions().Get(ctx, "nope")
	wantKind(t, err, domain.KindNotFound)

	must(t, s.Sessions().Touch(ctx, "h1", at(5)))
	must(t, s.Sessions().SetFlash(ctx, "h1", "Created space Ops."))
	flash, err := s.Sessions().PopFlash(ctx, "h1")
	must(t, err)
	wantEqual(t, "PopFlash", flash, "Created space Ops.")
	flash, err = s.Sessions().PopFlash(ctx, "h1")
	must(t, err)
	wantEqual(t, "PopFlash again", flash, "")

	must(t, s.Sessions().DeleteExpired(ctx, at(2), at(0)))
	_, err = s.Sessions().Get(ctx, "h2")
	wantKind(t, err, domain.KindNotFound)
	got, err = s.Sessions().Get(ctx, "h1")
	must(t, err)
	wantEqual(t, "SeenAt after Touch", got.SeenAt, stamp(at(5)))
	must(t, s.Sessions().Delete(ctx, "h1"))
	_, err = s.Sessions().Get(ctx, "h1")
	wantKind(t, err, domain.KindNotFound)
}

func testFigures(t *testing.T, s store.Store) {
	ctx := t.Context()
	one := domain.Space{Name: "One"}
	must(t, s.Spaces().Create(ctx, &one))
	for range 3 {
		must(t, s.Tasks().Create(ctx, &domain.Task{SpaceID: one.ID, Kind: domain.TaskDeploy, Description: "d"}))
	}
	claimed, err := s.Tasks().Claim(ctx, "n1", at(1))
	must(t, err)
	must(t, s.Tasks().Finish(ctx, claimed.ID, domain.TaskSuccess, "", at(1).Add(30e9)))
	list, err := s.Figures().Tasks(ctx, []float64{1, 60})
	must(t, err)
	want := []store.TaskFigure{
		{Kind: string(domain.TaskDeploy), State: string(domain.TaskQueued), Count: 2, Buckets: []uint64{0, 0}},
		{Kind: string(domain.TaskDeploy), State: string(domain.TaskSuccess), Count: 1, Finished: 1, Seconds: 30, Buckets: []uint64{0, 1}},
	}
	wantEqual(t, "Figures().Tasks", list, want)
	d, err := s.Figures().Deliveries(ctx)
	must(t, err)
	if len(d) != 0 {
		t.Errorf("Figures().Deliveries of an empty outbox = %+v", d)
	}
}
