package auth

import (
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)} }
func fail(th *Throttle, a Attempt, n int) {
	for range n {
		th.Failed(a, true)
	}
}

func TestThrottleDelaysGrowAndCap(t *testing.T) {
	c := newClock()
	th := NewThrottle(c.now)
	a := Attempt{User: "admin", Address: "203.0.113.7"}
	fail(th, a, freeUserAddress)
	if w := th.Wait(a); w != 0 {
		t.Fatalf("after %d free failures: wait %s, want 0", freeUserAddress, w)
	}
	want := time.Second
	for i := 0; i < 15; i++ {
		th.Failed(a, true)
		if w := th.Wait(a); w != want {
			t.Fatalf("failure %d over the free ones: wait %s, want %s", i+1, w, want)
		}
		c.add(want)
		if w := th.Wait(a); w != 0 {
			t.Fatalf("after waiting %s: still %s", want, w)
		}
		want = min(2*want, maxDelay)
	}
	if want != maxDelay {
		t.Fatalf("delay did not reach the cap: %s", want)
	}
	c.add(forget + time.Second)
	if w := th.Wait(a); w != 0 {
		t.Errorf("an hour after the last failure: wait %s, want 0", w)
	}
	th.Failed(a, true)
	if w := th.Wait(a); w != 0 {
		t.Errorf("the bucket was forgotten, yet one failure makes it wait %s", w)
	}
}

// TestThrottleCannotLockOutFromElsewhere: a guessing run against admin
// from one address, however long, never slows admin down from another
// address, nor from a browser that signed in as admin before.
func TestThrottleCannotLockOutFromElsewhere(t *testing.T) {
	c := newClock()
	th := NewThrottle(c.now)
	guesser := Attempt{User: "admin", Address: "198.51.100.66"}
	for range 1000 {
		if th.Wait(guesser) == 0 {
			th.Failed(guesser, true)
		}
		c.add(time.Second)
	}
	if th.Wait(guesser) == 0 {
		t.Fatal("the guesser is not slowed down")
	}
	for _, a := range []Attempt{
		{User: "admin", Address: "192.0.2.10"},
		{User: "admin", Address: "198.51.100.66", Device: "device-of-admin"},
		{User: "alice", Address: "192.0.2.10"},
	} {
		if w := th.Wait(a); w != 0 {
			t.Errorf("%+v waits %s", a, w)
		}
	}
	// The guesser's address is slowed for every user name it tries.
	for i := range freeAddress {
		th.Failed(Attempt{User: "u" + string(rune('a'+i)), Address: "198.51.100.67"}, false)
	}
	th.Failed(Attempt{User: "zed", Address: "198.51.100.67"}, false)
	if th.Wait(Attempt{User: "someone", Address: "198.51.100.67"}) == 0 {
		t.Error("spraying user names from one address is not slowed down")
	}
}

// TestThrottleSpread: failures for one user from many addresses slow every
// untrusted attempt at that user, but not a browser that signed in before.
func TestThrottleSpread(t *testing.T) {
	c := newClock()
	th := NewThrottle(c.now)
	for i := range spreadAddresses {
		th.Failed(Attempt{User: "admin", Address: "10.0.0." + string(rune('0'+i))}, true)
	}
	if th.Wait(Attempt{User: "admin", Address: "192.0.2.1"}) == 0 {
		t.Error("a distributed run against admin does not slow new addresses")
	}
	if w := th.Wait(Attempt{User: "admin", Address: "192.0.2.1", Device: "trusted"}); w != 0 {
		t.Errorf("admin's own browser waits %s", w)
	}
	if w := th.Wait(Attempt{User: "bob", Address: "192.0.2.1"}); w != 0 {
		t.Errorf("another user waits %s", w)
	}
	// Unknown user names are not tracked across addresses.
	th2 := NewThrottle(c.now)
	for i := range spreadAddresses * 2 {
		th2.Failed(Attempt{User: "nobody", Address: "10.0.1." + string(rune('0'+i))}, false)
	}
	if len(th2.spread) != 0 {
		t.Errorf("unknown users tracked: %v", th2.spread)
	}
}

func TestThrottleSuccessResetsOnlyTheUsersBuckets(t *testing.T) {
	c := newClock()
	th := NewThrottle(c.now)
	a := Attempt{User: "admin", Address: "192.0.2.1"}
	fail(th, a, freeUserAddress+1)
	for i := range freeAddress {
		th.Failed(Attempt{User: "x" + string(rune('a'+i)), Address: "192.0.2.1"}, false)
	}
	th.Succeeded(a)
	if b := th.buckets["user\x00admin\x00192.0.2.1"]; b != nil {
		t.Error("success kept the user's bucket")
	}
	if th.Wait(Attempt{User: "other", Address: "192.0.2.1"}) == 0 {
		t.Error("success at one's own account emptied the address's bucket")
	}
}
