package domain

import "time"

// Outbox item kinds: what a space delivers to a connected remote space.
// Every kind travels in one request per item to its own receiving endpoint
// (packages: a chunk query first, then one transfer; docs/architecture.md, "Connected spaces"). A kind is added by naming it
// here, giving it an endpoint, and teaching the delivery loop how to send
// it; the outbox table needs no change.
const (
	// OutboxBundle is a signed release bundle; the item's Body is the
	// bundle file exactly as promote wrote it, Ref its digest.
	OutboxBundle = "bundle"
	// OutboxReceipts is a sweep: "send this remote space the receipts it
	// has not had yet". The signed batch is made when it is sent, from the
	// receipts not yet marked sent to that space, so a receipt file export
	// and a connected delivery never disagree. Ref is empty: at most one
	// sweep per remote space is queued at a time.
	OutboxReceipts = "receipts"
	// OutboxPackages is a sweep: "send this remote space the packages of
	// the releases promoted to it that it does not hold". The chunks to
	// send are worked out when it is sent, by asking the remote space which
	// it lacks, so a transfer cut off midway resumes where it stopped.
	OutboxPackages = "packages"
)

// Delivery states of an outbox item.
const (
	DeliveryQueued    = "queued"    // waiting for its next attempt
	DeliveryInFlight  = "in-flight" // being sent now
	DeliveryDelivered = "delivered" // the remote space acknowledged it
	DeliveryFailed    = "failed"    // the remote space refused it; a person must act
)

// OutboxItem is one thing a space delivers to a remote space, stored before
// any attempt so that nothing is lost while the remote space is away.
type OutboxItem struct {
	ID            int64  `json:"id"`
	SpaceID       int64  `json:"-"`
	RemoteSpaceID int64  `json:"-"`
	RemoteSpace   string `json:"remoteSpace"` // its name, filled in on reads
	Kind          string `json:"kind"`
	// Ref identifies what the item carries (a bundle's digest); items
	// with an empty Ref are sweeps that coalesce while queued.
	Ref     string `json:"ref,omitempty"`
	Summary string `json:"summary,omitempty"` // for people: "Shop 1.0.0"
	// Body is what is sent, for kinds that freeze it when queued. It is
	// cleared once delivered.
	Body          []byte     `json:"-"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt time.Time  `json:"nextAttemptAt"`
	LastAttemptAt *time.Time `json:"lastAttemptAt,omitempty"`
	LastError     string     `json:"lastError,omitempty"`
	// Result is the remote space's answer to the delivery that succeeded.
	Result      string     `json:"result,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	CreatedBy   string     `json:"createdBy"`
	DeliveredAt *time.Time `json:"deliveredAt,omitempty"`
}

// DeliverySummary counts a remote space's outbox items by state, with the
// newest error of an item not yet delivered.
type DeliverySummary struct {
	Queued      int        `json:"queued"`
	InFlight    int        `json:"inFlight"`
	Delivered   int        `json:"delivered"`
	Failed      int        `json:"failed"`
	LastError   string     `json:"lastError,omitempty"`
	LastErrorAt *time.Time `json:"lastErrorAt,omitempty"`
}
