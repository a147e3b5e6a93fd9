// Package outbox delivers what a space sends to connected remote spaces —
// promoted release bundles and deployment receipts (package-chunk batches
// are meant to join them as another item kind). Every item is stored in the
// outbox by the transaction that produces it; a background loop, run by one
// server node at a time, sends each in one request, retries with
// exponential backoff and jitter while the remote space cannot be reached,
// and marks it delivered exactly once when the remote space acknowledges it.
// The Service answers what is queued, in flight, delivered or failed, and
// why.
package outbox

import (
	"context"
	"errors"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/compat"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Service queues promotions for delivery and reports on deliveries.
type Service struct {
	tx        store.Transactor
	spaces    store.Spaces
	remotes   store.RemoteSpaces
	outbox    store.Outbox
	records   store.Bundles
	access    access.Guard
	bundles   Bundles
	trust     Trust
	handshake Handshaker
	now       func() time.Time
	delivery  *Signal
}

// Bundles is what the outbox needs of the bundle capability
// (bundle.Service): a promotion, every check included, and the list of
// bundles for delivery states.
type Bundles interface {
	Promote(ctx context.Context, space string, req bundle.PromoteRequest) (bundle.Promoted, error)
	List(ctx context.Context, space string) ([]domain.BundleRecord, error)
}

// Trust is what the outbox needs of the trust capability (trust.Service).
type Trust interface {
	Get(ctx context.Context, spaceID int64, name string) (domain.RemoteSpace, error)
	List(ctx context.Context, space string) ([]domain.RemoteSpace, error)
}

// Handshaker asks a remote space's server which schema version it reads
// (transport.Client).
type Handshaker interface {
	Handshake(ctx context.Context, remote domain.RemoteSpace) (int, error)
}

// New returns an outbox service. It queues items (outbox) and reads bundle
// records, spaces and remote spaces to report on them; bundles promotes,
// hs asks a connected space what it reads before the first bundle is
// written for it, and delivery wakes the delivery loop after an item was
// queued.
func New(tx store.Transactor, spaces store.Spaces, remotes store.RemoteSpaces, outbox store.Outbox, records store.Bundles,
	guard access.Guard, bundles Bundles, tr Trust, hs Handshaker, now func() time.Time, delivery *Signal) *Service {
	return &Service{tx: tx, spaces: spaces, remotes: remotes, outbox: outbox, records: records,
		access: guard, bundles: bundles, trust: tr, handshake: hs, now: now, delivery: delivery}
}

// schemaFor returns the schema version to ask for when promoting to a
// connected space: 0 (let compat choose) once what it reads is known;
// otherwise its server is asked (the handshake), and when it cannot be
// reached, the previous version, which every server of the last two
// releases reads.
func (s *Service) schemaFor(ctx context.Context, space, to string) int {
	sp, err := s.spaces.Get(ctx, space)
	if err != nil {
		return 0
	}
	r, err := s.trust.Get(ctx, sp.ID, to)
	if err != nil || r.URL == "" || r.Revoked() || r.SchemaVersion != 0 {
		return 0
	}
	v, err := s.handshake.Handshake(ctx, r)
	if err != nil {
		return compat.Previous
	}
	if err := compat.Told(ctx, s.remotes, r, v); err != nil {
		return compat.Previous
	}
	return 0
}

// Promotion is a release promoted to a connected space: the bundle record
// and its delivery.
type Promotion struct {
	Bundle   domain.BundleRecord `json:"bundle"`
	Delivery domain.OutboxItem   `json:"delivery"`
	// Packages is the delivery that carries the release's packages, when
	// it has any: a sweep, which may carry other releases' packages too.
	Packages *domain.OutboxItem `json:"packages,omitempty"`
	URL      string             `json:"url"`
	// SchemaVersion is the bundle's; Notes say what people should know
	// about it (see bundle.Promoted).
	SchemaVersion int      `json:"schemaVersion"`
	Notes         []string `json:"notes,omitempty"`
}

// Promote promotes a release to a connected remote space: the signed bundle
// is stored in the outbox in the same transaction that records the
// promotion, and delivered by the loop. It returns at once; the delivery
// starts queued. Every check of bundle.Service.Promote applies.
func (s *Service) Promote(ctx context.Context, space string, req bundle.PromoteRequest) (Promotion, error) {
	req.Deliver = true
	if _, err := s.access.Space(ctx, space, domain.PermPromote, req.Project, ""); err != nil {
		return Promotion{}, err
	}
	if req.SchemaVersion == 0 {
		req.SchemaVersion = s.schemaFor(ctx, space, req.To)
	}
	var out Promotion
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.Space(ctx, space, domain.PermPromote, req.Project, "")
		if err != nil {
			return err
		}
		target, err := s.trust.Get(ctx, sp.ID, req.To)
		if err != nil {
			return err
		}
		if target.URL == "" && !target.Revoked() {
			return domain.Invalidf("remote space %q is not connected (it has no URL): write the bundle to a file with --out FILE and carry it, or connect it with `ferry remote-space update %q --url https://HOST:PORT`", target.Name, target.Name)
		}
		pr, err := s.bundles.Promote(ctx, space, req)
		if err != nil {
			return err
		}
		data, rec := pr.Data, pr.Record
		it := domain.OutboxItem{
			SpaceID: sp.ID, RemoteSpaceID: target.ID, RemoteSpace: target.Name, Kind: domain.OutboxBundle, Ref: rec.Digest,
			Summary: rec.Project + " " + rec.Version, Body: data, CreatedAt: s.now(), CreatedBy: domain.ActorName(ctx),
		}
		if _, err := s.outbox.Enqueue(ctx, &it); err != nil {
			return err
		}
		out = Promotion{Bundle: rec, Delivery: it, URL: target.URL, SchemaVersion: pr.SchemaVersion, Notes: pr.Notes}
		if p, err := bundle.Parse(data); err != nil || len(p.Payload.Packages) == 0 {
			return err
		}
		// The packages follow the bundle, as a sweep: what the target lacks
		// is worked out when they are sent. A sweep already queued will
		// carry them.
		if _, err := s.outbox.Enqueue(ctx, &domain.OutboxItem{
			SpaceID: sp.ID, RemoteSpaceID: target.ID, Kind: domain.OutboxPackages, Summary: "packages of promoted releases",
			CreatedAt: s.now(), CreatedBy: domain.ActorName(ctx),
		}); err != nil {
			return err
		}
		sweeps, err := s.outbox.List(ctx, sp.ID, store.OutboxFilter{RemoteSpaceID: target.ID, Kind: domain.OutboxPackages, Limit: 1})
		if err == nil && len(sweeps) == 1 {
			out.Packages = &sweeps[0]
		}
		return err
	})
	if err != nil {
		return Promotion{}, err
	}
	s.delivery.Wake()
	return out, nil
}

// Delivery returns one outbox item of a space.
func (s *Service) Delivery(ctx context.Context, space string, id int64) (domain.OutboxItem, error) {
	sp, err := s.access.Space(ctx, space, domain.PermView, "", "")
	if err != nil {
		return domain.OutboxItem{}, err
	}
	it, err := s.outbox.Get(ctx, id)
	if err != nil || it.SpaceID != sp.ID {
		return domain.OutboxItem{}, domain.NotFoundf("delivery %d not found in space %q", id, space)
	}
	it.Body = nil
	if project, err := s.projectOf(ctx, sp, it); err != nil {
		return domain.OutboxItem{}, err
	} else if project != "" {
		if err := s.access.Require(ctx, sp, domain.PermView, project, ""); err != nil {
			return domain.OutboxItem{}, err
		}
	}
	return it, nil
}

// projectOf names the project whose release a bundle delivery carries, ""
// for other deliveries.
func (s *Service) projectOf(ctx context.Context, sp domain.Space, it domain.OutboxItem) (string, error) {
	if it.Kind != domain.OutboxBundle {
		return "", nil
	}
	b, err := s.records.Get(ctx, sp.ID, domain.BundleOut, it.Ref)
	if errors.Is(err, domain.ErrNotFound) {
		return "", nil
	}
	return b.Project, err
}

// Deliveries lists a space's outbox items, newest first, optionally for one
// remote space.
func (s *Service) Deliveries(ctx context.Context, space, remote string, limit int) ([]domain.OutboxItem, error) {
	sp, err := s.access.Space(ctx, space, domain.PermView, "", "")
	if err != nil {
		return nil, err
	}
	f := store.OutboxFilter{Limit: limit}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	if remote != "" {
		r, err := s.trust.Get(ctx, sp.ID, remote)
		if err != nil {
			return nil, err
		}
		f.RemoteSpaceID = r.ID
	}
	v, err := s.access.Viewable(ctx, sp)
	if err != nil {
		return nil, err
	}
	list, err := s.outbox.List(ctx, sp.ID, f)
	if err != nil || v.Names() == nil {
		return list, err
	}
	out := list[:0]
	for _, it := range list {
		project, err := s.projectOf(ctx, sp, it)
		if err != nil {
			return nil, err
		}
		if v.Has(project) {
			out = append(out, it)
		}
	}
	return out, nil
}

// RetryResult says what Retry queued again.
type RetryResult struct {
	RemoteSpace string `json:"remoteSpace"`
	Requeued    int    `json:"requeued"`
	// Receipts and Packages are true when sweeps of unsent receipts and
	// of packages it lacks were queued too.
	Receipts bool `json:"receipts"`
	Packages bool `json:"packages"`
}

// Retry queues again, to be sent now, the deliveries a remote space refused
// (after whatever made it refuse them has been fixed: trust, certificate,
// URL), and queues sweeps of any receipts not yet sent to it and of any
// packages of releases promoted to it that it lacks — things recorded while
// it had no URL, for instance.
func (s *Service) Retry(ctx context.Context, space, remote string) (RetryResult, error) {
	var res RetryResult
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.Space(ctx, space, domain.PermPromote, "", "")
		if err != nil {
			return err
		}
		r, err := s.trust.Get(ctx, sp.ID, remote)
		if err != nil {
			return err
		}
		if r.Revoked() {
			return domain.Conflictf("remote space %q was revoked; nothing is delivered to it", r.Name)
		}
		if r.URL == "" {
			return domain.Invalidf("remote space %q has no URL; connect it first with `ferry remote-space update %q --url https://HOST:PORT`", r.Name, r.Name)
		}
		res.RemoteSpace = r.Name
		if res.Requeued, err = s.outbox.Requeue(ctx, r.ID, s.now()); err != nil {
			return err
		}
		res.Receipts, err = s.outbox.Enqueue(ctx, &domain.OutboxItem{
			SpaceID: sp.ID, RemoteSpaceID: r.ID, Kind: domain.OutboxReceipts, Summary: "deployment receipts",
			CreatedAt: s.now(), CreatedBy: domain.ActorName(ctx),
		})
		if err != nil || !r.Trust.Has(domain.TrustPromote) {
			return err
		}
		res.Packages, err = s.outbox.Enqueue(ctx, &domain.OutboxItem{
			SpaceID: sp.ID, RemoteSpaceID: r.ID, Kind: domain.OutboxPackages, Summary: "packages of promoted releases",
			CreatedAt: s.now(), CreatedBy: domain.ActorName(ctx),
		})
		return err
	})
	if err == nil {
		s.delivery.Wake()
	}
	return res, err
}

// BundleStatus is a bundle record with the delivery of an outgoing bundle
// sent to a connected space.
type BundleStatus struct {
	domain.BundleRecord
	Delivery *domain.OutboxItem `json:"delivery,omitempty"`
}

// Bundles lists a space's bundles, newest first, each sent one with its
// delivery state.
func (s *Service) Bundles(ctx context.Context, space string) ([]BundleStatus, error) {
	list, err := s.bundles.List(ctx, space)
	if err != nil {
		return nil, err
	}
	sp, err := s.spaces.Get(ctx, space)
	if err != nil {
		return nil, err
	}
	items, err := s.outbox.List(ctx, sp.ID, store.OutboxFilter{Kind: domain.OutboxBundle, Limit: 2 * len(list)})
	if err != nil {
		return nil, err
	}
	byDigest := map[string]*domain.OutboxItem{}
	for i := range items {
		if _, ok := byDigest[items[i].Ref]; !ok {
			byDigest[items[i].Ref] = &items[i]
		}
	}
	out := make([]BundleStatus, len(list))
	for i, b := range list {
		out[i] = BundleStatus{BundleRecord: b}
		if b.Direction == domain.BundleOut {
			out[i].Delivery = byDigest[b.Digest]
		}
	}
	return out, nil
}

// RemoteSpaceStatus is a remote space with counts of its deliveries.
type RemoteSpaceStatus struct {
	domain.RemoteSpace
	Delivery domain.DeliverySummary `json:"delivery"`
}

// RemoteSpaces lists a space's remote spaces with what is queued, in
// flight, delivered and failed for each, and the newest error.
func (s *Service) RemoteSpaces(ctx context.Context, space string) ([]RemoteSpaceStatus, error) {
	list, err := s.trust.List(ctx, space)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return []RemoteSpaceStatus{}, nil
	}
	sums, err := s.outbox.Summaries(ctx, list[0].SpaceID)
	if err != nil {
		return nil, err
	}
	out := make([]RemoteSpaceStatus, len(list))
	for i, r := range list {
		out[i] = RemoteSpaceStatus{RemoteSpace: r, Delivery: sums[r.ID]}
	}
	return out, nil
}
