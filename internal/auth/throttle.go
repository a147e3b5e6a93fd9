package auth

import (
	"slices"
	"sync"
	"time"
)

// Throttle slows password guessing at the sign-in form without letting a
// guesser lock anyone out. Failed sign-ins are counted in buckets:
//
//   - per address: every user name tried from one network address;
//   - per user and address: one user name from one address;
//   - per device: a browser that signed in as the user before presents a
//     device cookie (see Service.SignIn); its failures count only against
//     itself, so neither bucket above ever slows it down;
//   - per user, from everywhere: only once failures for the user come from
//     spreadAddresses or more addresses (a distributed run), and never for
//     a browser with the user's device cookie.
//
// Each bucket allows a few free failures; after that the next attempt must
// wait 1 s, then 2 s, 4 s … up to maxDelay after the bucket's last failure.
// A bucket is forgotten forget after its last failure, and a successful
// sign-in empties the user's buckets for that address and device (not the
// address's own bucket: signing in to one's own account must not buy more
// guesses at others).
//
// So a guessing run from one address soon waits up to 15 minutes between
// tries, and an administrator signing in from another address — or from the
// same address with a browser that signed in before — is not slowed at all.
// Buckets live in this process: a restart forgets them, and each node of a
// cluster keeps its own.
type Throttle struct {
	mu      sync.Mutex
	now     func() time.Time
	buckets map[string]*bucket
	// spread maps a user name to the addresses that failed for it lately.
	spread map[string]map[string]time.Time
}

// Throttle settings.
const (
	freeAddress     = 20 // failures from one address, any user names
	freeUserAddress = 5  // failures for one user name from one address
	freeDevice      = 5  // failures from one device of the user
	spreadAddresses = 10 // addresses failing for one user before all untrusted tries wait
	maxDelay        = 15 * time.Minute
	forget          = time.Hour
	maxBuckets      = 100_000 // beyond this, expired buckets are swept on every failure
)

type bucket struct {
	fails int
	last  time.Time
}

// NewThrottle returns an empty throttle reading the time from now.
func NewThrottle(now func() time.Time) *Throttle {
	return &Throttle{now: now, buckets: map[string]*bucket{}, spread: map[string]map[string]time.Time{}}
}

// Attempt names who is signing in, from where and with which device
// (device "" means a browser without a valid device cookie for the user).
type Attempt struct {
	User    string
	Address string
	Device  string
}

func (a Attempt) keys() []struct {
	key  string
	free int
} {
	type k = struct {
		key  string
		free int
	}
	if a.Device != "" {
		return []k{{"device\x00" + a.User + "\x00" + a.Device, freeDevice}}
	}
	return []k{{"addr\x00" + a.Address, freeAddress}, {"user\x00" + a.User + "\x00" + a.Address, freeUserAddress}}
}

// Wait returns how long the attempt must wait before its password may be
// checked; 0 means now.
func (t *Throttle) Wait(a Attempt) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var wait time.Duration
	for _, k := range a.keys() {
		if b := t.live(k.key, now); b != nil {
			wait = max(wait, until(b, k.free, now))
		}
	}
	if a.Device == "" {
		if n, last := t.spreadOf(a.User, now); n >= spreadAddresses {
			wait = max(wait, until(&bucket{fails: n, last: last}, spreadAddresses-1, now))
		}
	}
	return wait
}

// until is how long after now a bucket with fails failures, free of them
// free, makes the next attempt wait.
func until(b *bucket, free int, now time.Time) time.Duration {
	over := b.fails - free
	if over <= 0 {
		return 0
	}
	delay := maxDelay
	if over <= 20 {
		delay = min(time.Second<<(over-1), maxDelay)
	}
	return max(0, b.last.Add(delay).Sub(now))
}

// Failed records a failed attempt; knownUser says whether the user name
// exists (only those are tracked across addresses, which bounds memory). It
// reports whether a bucket just used up its free failures (worth telling an
// administrator).
func (t *Throttle) Failed(a Attempt, knownUser bool) (tripped bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.buckets) > maxBuckets {
		t.sweep(now)
	}
	for _, k := range a.keys() {
		b := t.live(k.key, now)
		if b == nil {
			b = &bucket{}
			t.buckets[k.key] = b
		}
		b.fails++
		b.last = now
		tripped = tripped || b.fails == k.free+1
	}
	if a.Device == "" && knownUser {
		addrs := t.spread[a.User]
		if addrs == nil {
			addrs = map[string]time.Time{}
			t.spread[a.User] = addrs
		}
		addrs[a.Address] = now
	}
	return tripped
}

// Succeeded forgets the user's failures from the attempt's address and
// device.
func (t *Throttle) Succeeded(a Attempt) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range a.keys() {
		if k.free != freeAddress {
			delete(t.buckets, k.key)
		}
	}
}

// live returns the bucket under key unless it is absent or forgotten.
func (t *Throttle) live(key string, now time.Time) *bucket {
	b := t.buckets[key]
	if b != nil && now.Sub(b.last) > forget {
		delete(t.buckets, key)
		return nil
	}
	return b
}

// spreadOf counts the addresses that failed for user within forget, and
// the time of the newest failure.
func (t *Throttle) spreadOf(user string, now time.Time) (int, time.Time) {
	var last time.Time
	addrs := t.spread[user]
	for a, at := range addrs {
		if now.Sub(at) > forget {
			delete(addrs, a)
			continue
		}
		if at.After(last) {
			last = at
		}
	}
	if len(addrs) == 0 {
		delete(t.spread, user)
	}
	return len(addrs), last
}

// sweep drops forgotten buckets and, if that is not enough to bound
// memory, the buckets whose last failure is oldest.
func (t *Throttle) sweep(now time.Time) {
	for k, b := range t.buckets {
		if now.Sub(b.last) > forget {
			delete(t.buckets, k)
		}
	}
	for u := range t.spread {
		t.spreadOf(u, now)
	}
	if len(t.buckets) <= maxBuckets*3/4 {
		return
	}
	keys := make([]string, 0, len(t.buckets))
	for k := range t.buckets {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return t.buckets[a].last.Compare(t.buckets[b].last) })
	for _, k := range keys[:len(keys)-maxBuckets*3/4] {
		delete(t.buckets, k)
	}
}
