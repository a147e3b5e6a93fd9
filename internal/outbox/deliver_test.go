package outbox_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/outbox"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/transport"
)

// fixture is a store with a space that delivers to one remote space served
// by handler.
func fixture(t *testing.T, handler http.HandlerFunc) (*servicetest.Env, store.Store, domain.RemoteSpace) {
	t.Helper()
	env := servicetest.New(t, servicetest.Delivery(outbox.Settings{Poll: 20 * time.Millisecond, RetryMin: 10 * time.Millisecond, RetryMax: 40 * time.Millisecond, Timeout: 5 * time.Second}))
	st := env.Store
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	sp := domain.Space{Name: "Dev", Fingerprint: "DE:V0"}
	if err := st.Spaces().Create(t.Context(), &sp); err != nil {
		t.Fatal(err)
	}
	r := domain.RemoteSpace{SpaceID: sp.ID, Name: "Prod", CertPEM: "PEM", Fingerprint: "PR:0D", URL: srv.URL, Trust: domain.Trust{domain.TrustPromote}}
	if err := st.RemoteSpaces().Create(t.Context(), &r); err != nil {
		t.Fatal(err)
	}
	return env, st, r
}

func queue(t *testing.T, st store.Store, r domain.RemoteSpace, ref string) domain.OutboxItem {
	t.Helper()
	it := domain.OutboxItem{SpaceID: r.SpaceID, RemoteSpaceID: r.ID, Kind: domain.OutboxBundle, Ref: ref, Summary: "Api " + ref,
		Body: []byte(`{"bundle":"` + ref + `"}`), CreatedBy: "admin"}
	if _, err := st.Outbox().Enqueue(t.Context(), &it); err != nil {
		t.Fatal(err)
	}
	return it
}

// run runs the delivery loop until the returned stop is called.
func run(t *testing.T, env *servicetest.Env) (*outbox.Deliverer, func()) {
	t.Helper()
	return env.Set.Deliverer, env.Start(env.Set.Deliverer.Run)
}

func waitState(t *testing.T, st store.Store, id int64, state string) domain.OutboxItem {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		it, err := st.Outbox().Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if it.State == state {
			return it
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %d is %s (attempts %d, error %q), want %s", id, it.State, it.Attempts, it.LastError, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDeliverRetriesUntilAcknowledged(t *testing.T) {
	var calls atomic.Int32
	var mu sync.Mutex
	var bodies []string
	env, st, r := fixture(t, func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != transport.PathBundles || req.Header.Get(transport.HeaderSender) != "DE:V0" || req.Header.Get(transport.HeaderTarget) != "PR:0D" {
			t.Errorf("request %s with headers %v", req.URL.Path, req.Header)
		}
		b, _ := io.ReadAll(req.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		if calls.Add(1) <= 2 {
			http.Error(w, `{"error":"starting up","kind":"internal"}`, http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, `{"state":"imported","project":"Dev: Api","version":"1.0.0","lifecycle":"Live"}`)
	})
	it := queue(t, st, r, "sha256:a1")
	_, stop := run(t, env)
	defer stop()
	got := waitState(t, st, it.ID, domain.DeliveryDelivered)
	if got.Attempts != 3 || got.Result != "imported as Dev: Api 1.0.0 (lifecycle Live)" || got.LastError != "" || got.DeliveredAt == nil {
		t.Errorf("delivered item: %+v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, b := range bodies {
		if b != `{"bundle":"sha256:a1"}` {
			t.Errorf("sent %q", b)
		}
	}
}

func TestDeliverStopsAtARefusal(t *testing.T) {
	var calls atomic.Int32
	env, st, r := fixture(t, func(w http.ResponseWriter, req *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"error":"refused: space \"Prod\" does not trust remote space \"Dev\" for releases","kind":"untrusted"}`)
	})
	it := queue(t, st, r, "sha256:b2")
	_, stop := run(t, env)
	got := waitState(t, st, it.ID, domain.DeliveryFailed)
	time.Sleep(100 * time.Millisecond) // several polls: a failed item is not sent again
	stop()
	if calls.Load() != 1 || got.Attempts != 1 || !strings.Contains(got.LastError, "does not trust") {
		t.Errorf("refused item after %d calls: %+v", calls.Load(), got)
	}
	n, err := st.Outbox().Requeue(context.Background(), r.ID, time.Now())
	if err != nil || n != 1 {
		t.Fatalf("requeue: %d %v", n, err)
	}
}

// While the remote server is away, one attempt at a time is made for it,
// not one per queued item, and everything goes once it is back.
func TestDeliverHoldsBackARemoteThatIsAway(t *testing.T) {
	var up atomic.Bool
	var calls atomic.Int32
	env, st, r := fixture(t, func(w http.ResponseWriter, req *http.Request) {
		calls.Add(1)
		if !up.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		io.WriteString(w, `{"state":"imported"}`)
	})
	var items []domain.OutboxItem
	for _, ref := range []string{"sha256:c1", "sha256:c2", "sha256:c3"} {
		items = append(items, queue(t, st, r, ref))
	}
	_, stop := run(t, env)
	defer stop()
	waitAttempts := func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			it, _ := st.Outbox().Get(context.Background(), items[0].ID)
			if it.Attempts >= 3 || time.Now().After(deadline) {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitAttempts()
	for _, it := range items[1:] {
		got, _ := st.Outbox().Get(context.Background(), it.ID)
		if got.Attempts != 0 {
			t.Errorf("item %s was tried %d times while the first could not get through", it.Ref, got.Attempts)
		}
	}
	up.Store(true)
	for _, it := range items {
		waitState(t, st, it.ID, domain.DeliveryDelivered)
	}
}

// A promotion onward of a release imported from a space that was revoked
// while the bundle waited in the outbox is not sent: it fails, naming the
// rule, and the remote server never hears of it.
func TestDeliverRefusesWhatARevokedSpaceDelivered(t *testing.T) {
	var calls atomic.Int32
	env, st, r := fixture(t, func(w http.ResponseWriter, req *http.Request) {
		calls.Add(1)
		io.WriteString(w, `{"state":"imported"}`)
	})
	ctx := t.Context()
	now := time.Now()
	origin := domain.RemoteSpace{SpaceID: r.SpaceID, Name: "Origin", CertPEM: "PEM2", Fingerprint: "0R:16", Trust: domain.Trust{domain.TrustReleases}}
	if err := st.RemoteSpaces().Create(ctx, &origin); err != nil {
		t.Fatal(err)
	}
	p := domain.Project{SpaceID: r.SpaceID, Name: "Origin: Api", Lifecycle: "Live", CreatedAt: now, UpdatedAt: now,
		Origin: &domain.ProjectOrigin{Space: "Origin", Project: "Api", Fingerprint: origin.Fingerprint}}
	if err := st.Projects().Put(ctx, &p); err != nil {
		t.Fatal(err)
	}
	rel := domain.Release{ProjectID: p.ID, Project: p.Name, Version: "1.0.0", CreatedAt: now,
		Provenance: &domain.Provenance{SourceSpace: "Origin", SourceFingerprint: origin.Fingerprint, ImportedAt: now}}
	if err := st.Releases().Create(ctx, &rel); err != nil {
		t.Fatal(err)
	}
	rec := domain.BundleRecord{SpaceID: r.SpaceID, Direction: domain.BundleOut, Digest: "sha256:d4", SourceSpace: "Dev", TargetSpace: r.Name,
		Project: p.Name, Version: rel.Version, State: "written", CreatedAt: now, CreatedBy: "admin"}
	if err := st.Bundles().Create(ctx, &rec); err != nil {
		t.Fatal(err)
	}
	revoked := now
	origin.RevokedAt, origin.RevokedBy = &revoked, "admin"
	if err := st.RemoteSpaces().Update(ctx, &origin); err != nil {
		t.Fatal(err)
	}
	it := queue(t, st, r, "sha256:d4")
	_, stop := run(t, env)
	got := waitState(t, st, it.ID, domain.DeliveryFailed)
	stop()
	if calls.Load() != 0 || !strings.Contains(got.LastError, "release-revoked") {
		t.Errorf("after %d calls: %+v", calls.Load(), got)
	}
}
