package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/audit"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/store"
)

func TestRecordTakesTheActorFromTheContext(t *testing.T) {
	env := servicetest.New(t)
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	log := audit.New(env.Store.Audit(), func() time.Time { return at })
	alice := domain.WithActor(context.Background(), domain.Actor{Name: "alice"})
	if err := log.Record(alice, 0, "thing.do", "Shop 1.0.0", map[string]string{"project": "Shop", "why": "test"}); err != nil {
		t.Fatal(err)
	}
	if err := log.Record(context.Background(), 0, "thing.undo", "x", nil); err != nil {
		t.Fatal(err)
	}
	events, err := log.List(env.Ctx, store.AuditFilter{})
	if err != nil || len(events) != 2 {
		t.Fatalf("events: %+v %v", events, err)
	}
	undo, do := events[0], events[1] // newest first
	if do.Actor != "alice" || do.Project != "Shop" || do.Details["why"] != "test" || !do.At.Equal(at) || do.Action != "thing.do" {
		t.Errorf("event: %+v", do)
	}
	if undo.Actor != domain.ActorName(context.Background()) {
		t.Errorf("an event without an actor names %q", undo.Actor)
	}
}

func TestOnlyAdministratorsReadTheWholeLog(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	log := env.Set.Audit
	if _, err := log.List(env.AsRole("Dev", "space-admin"), store.AuditFilter{}); domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("a space admin reads the server-wide log: %v", err)
	}
	before, err := env.Store.Audit().List(env.Ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := log.Record(env.Ctx, 0, "x", "y", nil); err != nil {
			t.Fatal(err)
		}
	}
	all := len(before) + 3
	for limit, want := range map[int]int{0: all, -1: all, 2: 2, 100000: all} {
		events, err := log.List(env.Ctx, store.AuditFilter{Limit: limit})
		if err != nil || len(events) != want {
			t.Errorf("limit %d: %d events (%v), want %d", limit, len(events), err, want)
		}
	}
	// A space's log is its admins', through the catalog.
	if _, err := env.Set.Catalog.Audit(env.AsRole("Dev", "deployer"), "Dev", 0); domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("a deployer reads the space's log: %v", err)
	}
	if events, err := env.Set.Catalog.Audit(env.AsRole("Dev", "space-admin"), "Dev", 0); err != nil || len(events) == 0 {
		t.Errorf("a space admin reads the space's log: %d %v", len(events), err)
	}
}
