package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// outboxScene is a sending space with two connected remote spaces, Prod
// and QA, and a bundle queued for Prod, taken through every state.
type outboxScene struct {
	t        *testing.T
	s        store.Store
	sp       domain.Space
	prod, qa domain.RemoteSpace
	b        domain.OutboxItem
	body     []byte
}

func testOutbox(t *testing.T, s store.Store) {
	o := &outboxScene{t: t, s: s}
	o.spaces()
	o.enqueue()
	o.retryThenDeliver()
	o.sweepInFlight()
	o.refuseThenRequeue()
}

func (o *outboxScene) spaces() {
	t, s, ctx := o.t, o.s, o.t.Context()
	o.sp = domain.Space{Name: "Sender"}
	must(t, s.Spaces().Create(ctx, &o.sp))
	o.prod = domain.RemoteSpace{SpaceID: o.sp.ID, Name: "Prod Space", CertPEM: "PEM", Fingerprint: "01", URL: "https://prod", TLSFingerprint: "AB:CD"}
	must(t, s.RemoteSpaces().Create(ctx, &o.prod))
	got, err := s.RemoteSpaces().Get(ctx, o.sp.ID, "Prod Space")
	must(t, err)
	wantEqual(t, "TLS pin", got.TLSFingerprint, "AB:CD")
	o.qa = domain.RemoteSpace{SpaceID: o.sp.ID, Name: "QA Space", CertPEM: "PEM", Fingerprint: "02", URL: "https://qa"}
	must(t, s.RemoteSpaces().Create(ctx, &o.qa))
}

// sweep queues a receipts sweep to remote and reports whether it was stored.
func (o *outboxScene) sweep(remote int64) bool {
	it := domain.OutboxItem{SpaceID: o.sp.ID, RemoteSpaceID: remote, Kind: domain.OutboxReceipts, CreatedAt: at(1), CreatedBy: "system"}
	ok, err := o.s.Outbox().Enqueue(o.t.Context(), &it)
	must(o.t, err)
	return ok
}

func (o *outboxScene) enqueue() {
	t, s, ctx := o.t, o.s, o.t.Context()
	o.body = []byte("{\"bundle\": true}\x00\xff") // any bytes survive
	o.b = domain.OutboxItem{SpaceID: o.sp.ID, RemoteSpaceID: o.prod.ID, Kind: domain.OutboxBundle, Ref: "sha256:aa", Summary: "Shop 1.0.0",
		Body: o.body, CreatedAt: at(0), CreatedBy: "admin"}
	ok, err := s.Outbox().Enqueue(ctx, &o.b)
	must(t, err)
	if !ok || o.b.ID == 0 || o.b.State != domain.DeliveryQueued {
		t.Fatalf("Enqueue: ok %v, %+v", ok, o.b)
	}
	// Sweeps coalesce while queued.
	wantEqual(t, "first sweep", o.sweep(o.prod.ID), true)
	wantEqual(t, "second sweep while one is queued", o.sweep(o.prod.ID), false)
	wantEqual(t, "sweep to another space", o.sweep(o.qa.ID), true)

	due, err := s.Outbox().Due(ctx, at(0), 10)
	must(t, err)
	wantEqual(t, "due at minute 0", len(due), 1)
	wantEqual(t, "body", due[0].Body, o.body)
	wantEqual(t, "remote name", due[0].RemoteSpace, "Prod Space")
	due, err = s.Outbox().Due(ctx, at(5), 10)
	must(t, err)
	wantEqual(t, "due at minute 5", len(due), 3)
}

// retryThenDeliver: queued → in flight → queued later → in flight →
// delivered, once.
func (o *outboxScene) retryThenDeliver() {
	t, s, ctx, b, prod := o.t, o.s, o.t.Context(), o.b, o.prod
	ok, err := s.Outbox().Start(ctx, b.ID, at(2))
	must(t, err)
	wantEqual(t, "start", ok, true)
	ok, err = s.Outbox().Start(ctx, b.ID, at(2))
	must(t, err)
	wantEqual(t, "start twice", ok, false)
	must(t, s.Outbox().Retry(ctx, b.ID, "connection refused", at(10), at(2)))
	it, err := s.Outbox().Get(ctx, b.ID)
	must(t, err)
	if it.State != domain.DeliveryQueued || it.Attempts != 1 || it.LastError != "connection refused" || !it.NextAttemptAt.Equal(stamp(at(10))) {
		t.Errorf("after retry: %+v", it)
	}
	must(t, s.Outbox().Postpone(ctx, prod.ID, at(20)))
	due, err := s.Outbox().Due(ctx, at(15), 10)
	must(t, err)
	wantEqual(t, "due at 15 after postponing Prod", len(due), 1) // QA's sweep
	sums, err := s.Outbox().Summaries(ctx, o.sp.ID)
	must(t, err)
	wantEqual(t, "Prod summary", sums[prod.ID], domain.DeliverySummary{Queued: 2, LastError: "connection refused", LastErrorAt: ptr(stamp(at(2)))})

	ok, err = s.Outbox().Start(ctx, b.ID, at(21))
	must(t, err)
	wantEqual(t, "start again", ok, true)
	ok, err = s.Outbox().Delivered(ctx, b.ID, "imported", at(22))
	must(t, err)
	wantEqual(t, "delivered", ok, true)
	ok, err = s.Outbox().Delivered(ctx, b.ID, "imported", at(23))
	must(t, err)
	wantEqual(t, "delivered twice", ok, false)
	it, err = s.Outbox().Get(ctx, b.ID)
	must(t, err)
	if it.State != domain.DeliveryDelivered || it.Attempts != 2 || len(it.Body) != 0 || it.Result != "imported" || it.DeliveredAt == nil {
		t.Errorf("after delivery: %+v", it)
	}
}

// sweepInFlight: a sweep in flight lets another be queued; a reset folds
// it back.
func (o *outboxScene) sweepInFlight() {
	t, s, ctx, prod := o.t, o.s, o.t.Context(), o.prod
	sw, err := s.Outbox().List(ctx, o.sp.ID, store.OutboxFilter{RemoteSpaceID: prod.ID, Kind: domain.OutboxReceipts})
	must(t, err)
	wantEqual(t, "sweeps", len(sw), 1)
	ok, err := s.Outbox().Start(ctx, sw[0].ID, at(30))
	must(t, err)
	wantEqual(t, "start sweep", ok, true)
	wantEqual(t, "sweep while one is in flight", o.sweep(prod.ID), true)
	n, err := s.Outbox().ResetInFlight(ctx, at(31))
	must(t, err)
	wantEqual(t, "reset in flight", n, 0) // the in-flight sweep was covered by the queued one
	sw, err = s.Outbox().List(ctx, o.sp.ID, store.OutboxFilter{RemoteSpaceID: prod.ID, Kind: domain.OutboxReceipts})
	must(t, err)
	wantEqual(t, "sweeps after reset", len(sw), 1)
}

// refuseThenRequeue: refused, failed, then requeued by a person; then
// lists and lookups.
func (o *outboxScene) refuseThenRequeue() {
	t, s, ctx, prod := o.t, o.s, o.t.Context(), o.prod
	sw, err := s.Outbox().List(ctx, o.sp.ID, store.OutboxFilter{RemoteSpaceID: prod.ID, Kind: domain.OutboxReceipts})
	must(t, err)
	ok, err := s.Outbox().Start(ctx, sw[0].ID, at(32))
	must(t, err)
	wantEqual(t, "start sweep again", ok, true)
	must(t, s.Outbox().Fail(ctx, sw[0].ID, "refused: not trusted for receipts", at(32)))
	sums, err := s.Outbox().Summaries(ctx, o.sp.ID)
	must(t, err)
	wantEqual(t, "Prod summary after failure", sums[prod.ID], domain.DeliverySummary{Delivered: 1, Failed: 1,
		LastError: "refused: not trusted for receipts", LastErrorAt: ptr(stamp(at(32)))})
	n, err := s.Outbox().Requeue(ctx, prod.ID, at(33))
	must(t, err)
	wantEqual(t, "requeued", n, 1)

	list, err := s.Outbox().List(ctx, o.sp.ID, store.OutboxFilter{Ref: "sha256:aa"})
	must(t, err)
	if len(list) != 1 || list[0].ID != o.b.ID || list[0].Body != nil {
		t.Errorf("list by ref: %+v", list)
	}
	_, err = s.Outbox().Get(ctx, 9999)
	wantKind(t, err, domain.KindNotFound)
}

func testPendingBundles(t *testing.T, s store.Store) {
	ctx := t.Context()
	sp := domain.Space{Name: "Receiver"}
	must(t, s.Spaces().Create(ctx, &sp))
	b := domain.BundleRecord{SpaceID: sp.ID, Direction: domain.BundleIn, Digest: "sha256:bb", SourceSpace: "Dev", TargetSpace: "Receiver",
		Project: "Dev: Shop", Version: "1.0.0", State: domain.BundlePending, CreatedAt: at(0), CreatedBy: "remote:Dev", Data: []byte(`{"format":"x"}`)}
	must(t, s.Bundles().Create(ctx, &b))
	got, err := s.Bundles().Get(ctx, sp.ID, domain.BundleIn, "sha256:bb")
	must(t, err)
	wantEqual(t, "pending data", string(got.Data), `{"format":"x"}`)
	list, err := s.Bundles().List(ctx, sp.ID, 0)
	must(t, err)
	if len(list) != 1 || list[0].Data != nil {
		t.Errorf("list carries data: %+v", list)
	}
	must(t, s.Bundles().MarkImported(ctx, b.ID, at(1), "admin"))
	got, err = s.Bundles().Get(ctx, sp.ID, domain.BundleIn, "sha256:bb")
	must(t, err)
	if got.State != domain.BundleImported || got.Data != nil || got.ImportedAt == nil || got.CreatedBy != "admin" {
		t.Errorf("after import: %+v", got)
	}
	wantKind(t, s.Bundles().MarkImported(ctx, 9999, at(1), "admin"), domain.KindNotFound)
}

func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func ptr[T any](v T) *T { return &v }

func testReceivedChunks(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := domain.Space{Name: "A"}, domain.Space{Name: "B"}
	must(t, s.Spaces().Create(ctx, &a))
	must(t, s.Spaces().Create(ctx, &b))
	var many []string
	for i := range 1234 {
		many = append(many, fmt.Sprintf("%064x", i))
	}
	must(t, s.ReceivedChunks().Add(ctx, a.ID, many, at(0)))
	must(t, s.ReceivedChunks().Add(ctx, a.ID, many[:10], at(1))) // again: no change
	must(t, s.ReceivedChunks().Add(ctx, a.ID, nil, at(1)))
	got, err := s.ReceivedChunks().List(ctx, a.ID)
	must(t, err)
	wantEqual(t, "chunks of A", len(got), 1234)
	got, err = s.ReceivedChunks().List(ctx, b.ID)
	must(t, err)
	wantEqual(t, "chunks of B", len(got), 0)
}
