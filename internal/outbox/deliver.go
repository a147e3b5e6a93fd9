package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/compat"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/packages"
	"github.com/ferrydeploy/ferry/internal/receipt"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/transport"
)

// Settings time the delivery loop.
type Settings struct {
	// Poll is how often the loop looks for due items when nothing wakes
	// it (an item queued through another node, a retry coming due).
	Poll time.Duration
	// RetryMin and RetryMax bound the wait before retrying an item that
	// could not be delivered: RetryMin after the first failure, doubling
	// with each further one up to RetryMax, each wait drawn at random from
	// its upper half so that many senders do not retry in step.
	RetryMin, RetryMax time.Duration
	// Timeout bounds one delivery.
	Timeout time.Duration
}

// DefaultSettings are the settings of a server that sets none.
var DefaultSettings = Settings{Poll: 2 * time.Second, RetryMin: time.Second, RetryMax: 5 * time.Minute, Timeout: 5 * time.Minute}

// Deliverer is the delivery loop. Several server nodes may each have one,
// but only one may run at a time (the server runs it under a store lock).
type Deliverer struct {
	tx       store.Transactor
	spaces   store.Spaces
	remotes  store.RemoteSpaces
	outbox   store.Outbox
	sent     store.Receipts
	receipts Receipts
	bundles  Sendable
	packages Packages
	trust    Identities
	client   *transport.Client
	wake     *Signal
	log      *slog.Logger
	now      func() time.Time
	settings Settings
}

// Receipts is what a receipts sweep needs (receipt.Service): the signed
// file of the receipts not yet sent to a remote space, and their ids.
type Receipts interface {
	Outgoing(ctx context.Context, sp domain.Space, dest domain.RemoteSpace) (data []byte, ids []int64, err error)
}

// Sendable is what sending a bundle needs (bundle.Service): whether the
// promoted release may still be sent on (provenance.Rules.Deliverable).
type Sendable interface {
	Sendable(ctx context.Context, sp domain.Space, digest string) error
}

// Packages is what a packages sweep needs (packages.Service): a transfer
// of what a remote space lacks.
type Packages interface {
	PlanExport(ctx context.Context, space string, req packages.ExportRequest) (*packages.Export, error)
}

// Identities give a space's identity, to sign chunk queries (trust.Service).
type Identities interface {
	Identity(ctx context.Context, spaceID int64) (*identity.Identity, error)
}

// NewDeliverer returns a delivery loop, with defaults for unset settings.
// It moves outbox items through their states and marks delivered receipts
// sent (sent) in the same transaction; it reads spaces and remote spaces
// to address items, asks receipts and packages what a sweep carries, sends
// with client, and runs early whenever wake is woken.
func NewDeliverer(settings Settings, tx store.Transactor, spaces store.Spaces, remotes store.RemoteSpaces, outbox store.Outbox, sent store.Receipts,
	receipts Receipts, bundles Sendable, packages Packages, tr Identities, client *transport.Client, wake *Signal, log *slog.Logger, now func() time.Time) *Deliverer {
	return &Deliverer{tx: tx, spaces: spaces, remotes: remotes, outbox: outbox, sent: sent,
		receipts: receipts, bundles: bundles, packages: packages, trust: tr, client: client, wake: wake, log: log, now: now, settings: settings.WithDefaults()}
}

// WithDefaults fills the unset fields of s from DefaultSettings.
func (s Settings) WithDefaults() Settings {
	def := DefaultSettings
	if s.Poll <= 0 {
		s.Poll = def.Poll
	}
	if s.RetryMin <= 0 {
		s.RetryMin = def.RetryMin
	}
	if s.RetryMax < s.RetryMin {
		s.RetryMax = max(def.RetryMax, s.RetryMin)
	}
	if s.Timeout <= 0 {
		s.Timeout = def.Timeout
	}
	return s
}

// Signal tells the delivery loop that an item was queued, so it need not
// wait for its poll. What queues items (Service, receipt.Service) holds
// it; the Deliverer waits on it.
type Signal struct{ c chan struct{} }

// NewSignal returns a Signal no one has woken yet.
func NewSignal() *Signal { return &Signal{c: make(chan struct{}, 1)} }

// Wake wakes the loop, or does nothing when it is already to wake.
func (s *Signal) Wake() {
	select {
	case s.c <- struct{}{}:
	default:
	}
}

// dueBatch bounds the items one round reads.
const dueBatch = 500

// Run delivers due items until ctx ends. Items left in flight by a loop
// that stopped (this node's last run, or another node that died) are
// queued again first: receivers are idempotent, so sending an item twice
// is safe, and losing one is not. Each remote space is served by its own
// goroutine, so a slow or absent server delays only its own items.
func (d *Deliverer) Run(ctx context.Context) error {
	n, err := d.outbox.ResetInFlight(ctx, d.now())
	if err != nil {
		return fmt.Errorf("requeue deliveries left in flight: %w", err)
	}
	if n > 0 {
		d.log.Info("queued again deliveries left in flight by a stopped delivery loop", "count", n)
	}
	var mu sync.Mutex
	busy := map[int64]bool{}
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake.c:
		case <-timer.C:
		}
		due, err := d.outbox.Due(ctx, d.now(), dueBatch)
		if err != nil && ctx.Err() == nil {
			d.log.Warn("read due deliveries", "err", err)
		}
		var order []int64
		byRemote := map[int64][]domain.OutboxItem{}
		for _, it := range due {
			if byRemote[it.RemoteSpaceID] == nil {
				order = append(order, it.RemoteSpaceID)
			}
			byRemote[it.RemoteSpaceID] = append(byRemote[it.RemoteSpaceID], it)
		}
		for _, remote := range order {
			mu.Lock()
			if busy[remote] {
				mu.Unlock()
				continue
			}
			busy[remote] = true
			mu.Unlock()
			items := byRemote[remote]
			wg.Go(func() {
				d.deliverAll(ctx, items)
				mu.Lock()
				delete(busy, remote)
				mu.Unlock()
				d.wake.Wake() // more may have come due meanwhile
			})
		}
		timer.Reset(d.settings.Poll)
	}
}

// deliverAll delivers one remote space's items in order, stopping at the
// first that finds the remote space unreachable: the others would too.
func (d *Deliverer) deliverAll(ctx context.Context, items []domain.OutboxItem) {
	for _, it := range items {
		if ctx.Err() != nil || !d.deliver(ctx, it) {
			return
		}
	}
}

// deliver makes one attempt at one item and records its outcome. It
// reports false when the remote space could not be reached.
func (d *Deliverer) deliver(ctx context.Context, it domain.OutboxItem) bool {
	started, err := d.outbox.Start(ctx, it.ID, d.now())
	if err != nil || !started {
		if err != nil && ctx.Err() == nil {
			d.log.Warn("start delivery", "delivery", it.ID, "err", err)
		}
		return err == nil
	}
	it.Attempts++
	log := d.log.With("delivery", it.ID, "kind", it.Kind, "to", it.RemoteSpace, "what", it.Summary, "attempt", it.Attempts)
	sp, err := d.spaces.GetByID(ctx, it.SpaceID)
	if err != nil {
		return d.retry(ctx, log, it, err)
	}
	remote, err := d.remotes.Get(ctx, sp.ID, it.RemoteSpace)
	if err != nil {
		return d.retry(ctx, log, it, err)
	}
	if remote.Revoked() {
		d.fail(log, it, fmt.Sprintf("remote space %q was revoked; nothing is delivered to it", remote.Name))
		return true
	}
	var result string
	var receiptIDs []int64
	switch it.Kind {
	case domain.OutboxBundle:
		// A bundle of a release imported from a space revoked since the
		// promotion was queued goes nowhere, however long it waited.
		if err := d.bundles.Sendable(ctx, sp, it.Ref); err != nil {
			if domain.KindOf(err) == domain.KindInternal {
				return d.retry(ctx, log, it, err)
			}
			d.fail(log, it, domain.Message(err))
			return true
		}
		var answer []byte
		if answer, err = d.client.Send(ctx, remote, transport.PathBundles, sp.Fingerprint, it.Body); err == nil {
			result = summarise(it.Kind, answer)
		}
	case domain.OutboxReceipts:
		var body, answer []byte
		if body, receiptIDs, err = d.receipts.Outgoing(ctx, sp, remote); err != nil {
			return d.retry(ctx, log, it, err)
		}
		if len(receiptIDs) == 0 {
			d.succeed(log, it, remote, "nothing left to send", nil)
			return true
		}
		if answer, err = d.client.Send(ctx, remote, transport.PathReceipts, sp.Fingerprint, body); err == nil {
			result = summarise(it.Kind, answer)
		}
	case domain.OutboxPackages:
		result, err = d.sendPackages(ctx, sp, remote)
	default:
		d.fail(log, it, fmt.Sprintf("this server cannot send outbox items of kind %q; upgrade it", it.Kind))
		return true
	}
	var refused *transport.Refused
	switch {
	case err == nil:
		d.succeed(log, it, remote, result, receiptIDs)
		if len(receiptIDs) == receipt.MaxBatch {
			d.requeueSweep(ctx, log, it) // more may be waiting
		}
		return true
	case errors.As(err, &refused):
		d.fail(log, it, refused.Message)
		return true
	}
	return d.retry(ctx, log, it, err)
}

// succeed marks an item delivered — once, even if another loop raced this
// one — and, for receipts, marks exactly the acknowledged ones sent.
func (d *Deliverer) succeed(log *slog.Logger, it domain.OutboxItem, remote domain.RemoteSpace, result string, receiptIDs []int64) {
	ctx, cancel := detached()
	defer cancel()
	now := d.now()
	err := d.tx.WithTx(ctx, func(ctx context.Context) error {
		ok, err := d.outbox.Delivered(ctx, it.ID, result, now)
		if err != nil || !ok {
			return err
		}
		return d.sent.MarkSent(ctx, remote.ID, receiptIDs, now)
	})
	if err != nil {
		log.Error("record a delivery; it will be sent again, which the receiver ignores", "err", err)
		return
	}
	if v, ok := d.client.Told(remote); ok {
		if err := compat.Told(ctx, d.remotes, remote, v); err != nil {
			log.Warn("record the schema version a remote space reads", "err", err)
		}
	}
	log.Info("delivered", "result", result)
}

// retry puts an item back in the queue after a failure that may pass (the
// server is down, the network dropped), backing off, and holds back the
// remote space's other queued items as long.
func (d *Deliverer) retry(ctx context.Context, log *slog.Logger, it domain.OutboxItem, cause error) bool {
	wait := d.backoff(it.Attempts)
	if ctx.Err() != nil {
		wait = 0 // stopping: whoever runs the loop next sends it at once
	}
	dctx, cancel := detached()
	defer cancel()
	now := d.now()
	next := now.Add(wait)
	if err := d.outbox.Retry(dctx, it.ID, cause.Error(), next, now); err != nil {
		log.Error("requeue a delivery", "err", err)
	}
	if err := d.outbox.Postpone(dctx, it.RemoteSpaceID, next); err != nil {
		log.Error("postpone deliveries", "err", err)
	}
	if ctx.Err() == nil {
		log.Warn("delivery failed; will retry", "err", cause, "in", wait.Round(time.Millisecond))
	}
	return false
}

// fail records that the remote space refused an item: sending it again
// would not help until a person changes something (`remote-space retry`).
func (d *Deliverer) fail(log *slog.Logger, it domain.OutboxItem, why string) {
	ctx, cancel := detached()
	defer cancel()
	if err := d.outbox.Fail(ctx, it.ID, why, d.now()); err != nil {
		log.Error("record a refused delivery", "err", err)
	}
	log.Warn("delivery refused; it waits for `ferry remote-space retry`", "why", why)
}

func (d *Deliverer) requeueSweep(ctx context.Context, log *slog.Logger, it domain.OutboxItem) {
	if _, err := d.outbox.Enqueue(ctx, &domain.OutboxItem{
		SpaceID: it.SpaceID, RemoteSpaceID: it.RemoteSpaceID, Kind: it.Kind, Summary: it.Summary,
		CreatedAt: d.now(), CreatedBy: it.CreatedBy,
	}); err != nil {
		log.Error("queue the next batch", "err", err)
	}
}

// backoff is the wait before attempt n+1: RetryMin·2^(n-1), at most
// RetryMax, drawn from the upper half of that.
func (d *Deliverer) backoff(attempts int) time.Duration {
	w := d.settings.RetryMin
	for i := 1; i < attempts && w < d.settings.RetryMax; i++ {
		w *= 2
	}
	w = min(w, d.settings.RetryMax)
	return w/2 + rand.N(w/2+1)
}

// detached is a context for recording an outcome even while the loop stops.
func detached() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// summarise turns a receiver's answer into a line for people.
func summarise(kind string, answer []byte) string {
	switch kind {
	case domain.OutboxBundle:
		var r bundle.ReceiveResult
		if json.Unmarshal(answer, &r) != nil {
			return "accepted"
		}
		switch {
		case r.AlreadyReceived:
			return "already received (" + r.State + ")"
		case r.State == domain.BundlePending:
			return "pending there: " + r.Reason
		}
		return fmt.Sprintf("imported as %s %s (lifecycle %s)", r.Project, r.Version, r.Lifecycle)
	case domain.OutboxReceipts:
		var r receipt.ImportResult
		if json.Unmarshal(answer, &r) != nil {
			return "accepted"
		}
		return fmt.Sprintf("%d receipt(s) imported, %d already there", r.Imported, r.Duplicates)
	}
	return "accepted"
}
