package outbox

import (
	"testing"
	"time"
)

func TestBackoffGrowsWithJitterWithinBounds(t *testing.T) {
	d := &Deliverer{settings: Settings{RetryMin: 100 * time.Millisecond, RetryMax: 2 * time.Second}.WithDefaults()}
	for attempts := 1; attempts <= 30; attempts++ {
		ceiling := min(100*time.Millisecond<<min(attempts-1, 20), 2*time.Second)
		for range 50 {
			w := d.backoff(attempts)
			if w < ceiling/2 || w > ceiling {
				t.Fatalf("attempt %d: waited %s, want between %s and %s", attempts, w, ceiling/2, ceiling)
			}
		}
	}
}
