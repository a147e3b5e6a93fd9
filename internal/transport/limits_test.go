package transport

import (
	"testing"

	"github.com/ferrydeploy/ferry/internal/domain"
)

func TestLimiter(t *testing.T) {
	x := NewLimiter(Limits{Bytes: 100, Transfers: 3, PerPeer: 2})
	busy := func(err error) bool { return domain.KindOf(err) == domain.KindUnavailable }

	a, err := x.Enter("p1", 60)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Enter("p2", 60); !busy(err) {
		t.Fatalf("over the byte budget: %v", err)
	}
	b, err := x.Enter("p1", 40)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Enter("p1", 0); !busy(err) {
		t.Fatalf("a third request from one peer: %v", err)
	}
	c, err := x.Enter("p2", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Enter("p3", 0); !busy(err) {
		t.Fatalf("a fourth request in all: %v", err)
	}
	if err := c.Grow(1); !busy(err) {
		t.Fatalf("growing past the budget: %v", err)
	}
	a.Leave()
	a.Leave() // twice is once
	b.Leave()
	if err := c.Grow(100); err != nil {
		t.Fatalf("growing within the budget: %v", err)
	}
	c.Leave()
	// Alone, one request may be larger than the budget (a bundle near its
	// size limit must get through), but nothing joins it.
	big, err := x.Enter("p1", 500)
	if err != nil {
		t.Fatalf("a large request alone: %v", err)
	}
	if _, err := x.Enter("p2", 1); !busy(err) {
		t.Fatalf("a request beside a large one: %v", err)
	}
	if _, err := x.Enter("p2", 0); err != nil {
		t.Fatalf("a streamed request beside a large one: %v", err)
	}
	big.Leave()
	if x.n != 1 || x.bytes != 0 || len(x.peers) != 1 {
		t.Errorf("state after leaving: n=%d bytes=%d peers=%v", x.n, x.bytes, x.peers)
	}
}
