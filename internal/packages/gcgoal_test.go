package packages

import (
	"runtime/debug"
	"testing"
)

// TestCollectSooner: overlapping imports lower the GC goal until the last
// ends, then the process's own goal is back; a lower goal, or GC off, is
// left alone.
func TestCollectSooner(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	goal := func() int { g := debug.SetGCPercent(-1); debug.SetGCPercent(g); return g }
	a := collectSooner()
	b := collectSooner()
	if g := goal(); g != importGCPercent {
		t.Fatalf("goal during imports %d, want %d", g, importGCPercent)
	}
	a()
	a() // twice is once
	if g := goal(); g != importGCPercent {
		t.Fatalf("goal with one import left %d, want %d", g, importGCPercent)
	}
	b()
	if g := goal(); g != 100 {
		t.Fatalf("goal after the imports %d, want 100", g)
	}
	for _, own := range []int{20, -1} {
		debug.SetGCPercent(own)
		restore := collectSooner()
		if g := goal(); g != own {
			t.Errorf("operator's goal %d became %d during an import", own, g)
		}
		restore()
		if g := goal(); g != own {
			t.Errorf("operator's goal %d became %d after an import", own, g)
		}
	}
}
