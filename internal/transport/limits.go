package transport

import (
	"fmt"
	"sync"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// Limits bound what the receiving endpoints spend on requests before a
// signature is checked. The headers that admit a request hold only public
// fingerprints, so anyone who knows them can send: what the server holds
// for such requests must not grow with what they send.
type Limits struct {
	// Bytes bounds the request bodies held in memory at once: bundles,
	// receipt files and chunk queries (read whole before they are
	// verified) and package transfer headers. Decoding takes up to about
	// three times as much again. One request larger than Bytes (a bundle
	// near its 64 MiB limit, a transfer header near 256 MiB) is admitted
	// only while nothing else is held.
	Bytes int64
	// Transfers bounds the requests being received at once, PerPeer those
	// from one remote address.
	Transfers, PerPeer int
	// Idle is the longest a body may stall. A body read whole must also
	// arrive within Idle plus its length at MinRate bytes per second.
	Idle    time.Duration
	MinRate int64
	// RetryAfter is what a refused sender is told to wait.
	RetryAfter time.Duration
}

// DefaultLimits suit a server that receives from a few dozen spaces.
var DefaultLimits = Limits{
	Bytes:      128 << 20,
	Transfers:  16,
	PerPeer:    4,
	Idle:       30 * time.Second,
	MinRate:    64 << 10,
	RetryAfter: 5 * time.Second,
}

// Limiter counts what the receiving endpoints hold. Its zero value is not
// usable: call NewLimiter.
type Limiter struct {
	l     Limits
	mu    sync.Mutex
	bytes int64
	n     int
	peers map[string]int
}

// NewLimiter returns a limiter enforcing l.
func NewLimiter(l Limits) *Limiter {
	return &Limiter{l: l, peers: map[string]int{}}
}

// Limits returns the limits it enforces.
func (x *Limiter) Limits() Limits { return x.l }

// Lease is one admitted request's share; Leave gives it back.
type Lease struct {
	x     *Limiter
	peer  string
	bytes int64
	once  sync.Once
}

// Enter admits a request from peer (its remote address) that will hold
// size bytes in memory, or refuses it for now (domain.KindUnavailable):
// too many requests at once, from this peer or in all, or too many bytes.
func (x *Limiter) Enter(peer string, size int64) (*Lease, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	switch {
	case x.n >= x.l.Transfers:
		return nil, x.busy("%d transfers are being received", x.n)
	case x.peers[peer] >= x.l.PerPeer:
		return nil, x.busy("%d transfers from %s are being received", x.peers[peer], peer)
	}
	if err := x.take(size); err != nil {
		return nil, err
	}
	x.n++
	x.peers[peer]++
	return &Lease{x: x, peer: peer, bytes: size}, nil
}

// Grow adds n bytes to what the request holds (a transfer header it is
// about to read), or refuses.
func (l *Lease) Grow(n int64) error {
	l.x.mu.Lock()
	defer l.x.mu.Unlock()
	if err := l.x.take(n); err != nil {
		return err
	}
	l.bytes += n
	return nil
}

// Leave ends the request's share; calling it again does nothing.
func (l *Lease) Leave() {
	l.once.Do(func() {
		x := l.x
		x.mu.Lock()
		defer x.mu.Unlock()
		x.bytes -= l.bytes
		x.n--
		if x.peers[l.peer]--; x.peers[l.peer] <= 0 {
			delete(x.peers, l.peer)
		}
	})
}

// take reserves n bytes; the caller holds mu.
func (x *Limiter) take(n int64) error {
	if n > 0 && x.bytes > 0 && x.bytes+n > x.l.Bytes {
		return x.busy("%d MiB of transfers are being received", x.bytes>>20)
	}
	x.bytes += n
	return nil
}

func (x *Limiter) busy(format string, args ...any) error {
	return domain.Errorf(domain.KindUnavailable, "refused for now: %s; try again in %s", fmt.Sprintf(format, args...), x.l.RetryAfter)
}
