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
	"github.com/ferrydeploy/ferry/internal/packages"
	"github.com/ferrydeploy/ferry/internal/provenance"
	"github.com/ferrydeploy/ferry/internal/receipt"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/transport"
	"github.com/ferrydeploy/ferry/internal/trust"
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
	Store    store.Store
	Receipts *receipt.Service
	Packages *packages.Service
	Trust    *trust.Service
	Client   *transport.Client
	Log      *slog.Logger
	Now      func() time.Time
	Settings Settings

	wake chan struct{}
}

// NewDeliverer returns a delivery loop with defaults for unset settings.
func NewDeliverer(d Deliverer) *Deliverer {
	def := DefaultSettings
	if d.Settings.Poll <= 0 {
		d.Settings.Poll = def.Poll
	}
	if d.Settings.RetryMin <= 0 {
		d.Settings.RetryMin = def.RetryMin
	}
	if d.Settings.RetryMax < d.Settings.RetryMin {
		d.Settings.RetryMax = max(def.RetryMax, d.Settings.RetryMin)
	}
	if d.Settings.Timeout <= 0 {
		d.Settings.Timeout = def.Timeout
	}
	if d.Client == nil {
		d.Client = transport.NewClient(d.Settings.Timeout)
	}
	if d.Now == nil {
		d.Now = func() time.Time { return time.Now().UTC() }
	}
	d.wake = make(chan struct{}, 1)
	return &d
}

// Wake tells the loop an item was queued, so it need not wait for its poll.
func (d *Deliverer) Wake() {
	select {
	case d.wake <- struct{}{}:
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
	n, err := d.Store.Outbox().ResetInFlight(ctx, d.Now())
	if err != nil {
		return fmt.Errorf("requeue deliveries left in flight: %w", err)
	}
	if n > 0 {
		d.Log.Info("queued again deliveries left in flight by a stopped delivery loop", "count", n)
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
		case <-d.wake:
		case <-timer.C:
		}
		due, err := d.Store.Outbox().Due(ctx, d.Now(), dueBatch)
		if err != nil && ctx.Err() == nil {
			d.Log.Warn("read due deliveries", "err", err)
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
				d.Wake() // more may have come due meanwhile
			})
		}
		timer.Reset(d.Settings.Poll)
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
	started, err := d.Store.Outbox().Start(ctx, it.ID, d.Now())
	if err != nil || !started {
		if err != nil && ctx.Err() == nil {
			d.Log.Warn("start delivery", "delivery", it.ID, "err", err)
		}
		return err == nil
	}
	it.Attempts++
	log := d.Log.With("delivery", it.ID, "kind", it.Kind, "to", it.RemoteSpace, "what", it.Summary, "attempt", it.Attempts)
	sp, err := d.Store.Spaces().GetByID(ctx, it.SpaceID)
	if err != nil {
		return d.retry(ctx, log, it, err)
	}
	remote, err := d.Store.RemoteSpaces().Get(ctx, sp.ID, it.RemoteSpace)
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
		if err := d.deliverable(ctx, sp, it); err != nil {
			if domain.KindOf(err) == domain.KindInternal {
				return d.retry(ctx, log, it, err)
			}
			d.fail(log, it, domain.Message(err))
			return true
		}
		var answer []byte
		if answer, err = d.Client.Send(ctx, remote, transport.PathBundles, sp.Fingerprint, it.Body); err == nil {
			result = summarise(it.Kind, answer)
		}
	case domain.OutboxReceipts:
		var body, answer []byte
		if body, receiptIDs, err = d.Receipts.Outgoing(ctx, sp, remote); err != nil {
			return d.retry(ctx, log, it, err)
		}
		if len(receiptIDs) == 0 {
			d.succeed(log, it, remote, "nothing left to send", nil)
			return true
		}
		if answer, err = d.Client.Send(ctx, remote, transport.PathReceipts, sp.Fingerprint, body); err == nil {
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

// deliverable refuses to send on a bundle of a release imported from a
// space revoked since the promotion was queued (provenance.Deliverable):
// what a revoked space delivered goes nowhere, however long it waited.
func (d *Deliverer) deliverable(ctx context.Context, sp domain.Space, it domain.OutboxItem) error {
	rec, err := d.Store.Bundles().Get(ctx, sp.ID, domain.BundleOut, it.Ref)
	if errors.Is(err, domain.ErrNotFound) {
		return nil // nothing recorded to check it against
	} else if err != nil {
		return err
	}
	p, err := d.Store.Projects().Get(ctx, sp.ID, rec.Project)
	if err != nil {
		return err
	}
	rel, err := d.Store.Releases().Get(ctx, p.ID, rec.Version)
	if err != nil {
		return err
	}
	return provenance.Deliverable(ctx, d.Store, sp, p, rel)
}

// succeed marks an item delivered — once, even if another loop raced this
// one — and, for receipts, marks exactly the acknowledged ones sent.
func (d *Deliverer) succeed(log *slog.Logger, it domain.OutboxItem, remote domain.RemoteSpace, result string, receiptIDs []int64) {
	ctx, cancel := detached()
	defer cancel()
	now := d.Now()
	err := d.Store.WithTx(ctx, func(ctx context.Context) error {
		ok, err := d.Store.Outbox().Delivered(ctx, it.ID, result, now)
		if err != nil || !ok {
			return err
		}
		return d.Store.Receipts().MarkSent(ctx, remote.ID, receiptIDs, now)
	})
	if err != nil {
		log.Error("record a delivery; it will be sent again, which the receiver ignores", "err", err)
		return
	}
	if v, ok := d.Client.Told(remote); ok {
		if err := compat.Told(ctx, d.Store.RemoteSpaces(), remote, v); err != nil {
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
	now := d.Now()
	next := now.Add(wait)
	if err := d.Store.Outbox().Retry(dctx, it.ID, cause.Error(), next, now); err != nil {
		log.Error("requeue a delivery", "err", err)
	}
	if err := d.Store.Outbox().Postpone(dctx, it.RemoteSpaceID, next); err != nil {
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
	if err := d.Store.Outbox().Fail(ctx, it.ID, why, d.Now()); err != nil {
		log.Error("record a refused delivery", "err", err)
	}
	log.Warn("delivery refused; it waits for `ferry remote-space retry`", "why", why)
}

func (d *Deliverer) requeueSweep(ctx context.Context, log *slog.Logger, it domain.OutboxItem) {
	if _, err := d.Store.Outbox().Enqueue(ctx, &domain.OutboxItem{
		SpaceID: it.SpaceID, RemoteSpaceID: it.RemoteSpaceID, Kind: it.Kind, Summary: it.Summary,
		CreatedAt: d.Now(), CreatedBy: it.CreatedBy,
	}); err != nil {
		log.Error("queue the next batch", "err", err)
	}
}

// backoff is the wait before attempt n+1: RetryMin·2^(n-1), at most
// RetryMax, drawn from the upper half of that.
func (d *Deliverer) backoff(attempts int) time.Duration {
	w := d.Settings.RetryMin
	for i := 1; i < attempts && w < d.Settings.RetryMax; i++ {
		w *= 2
	}
	w = min(w, d.Settings.RetryMax)
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
