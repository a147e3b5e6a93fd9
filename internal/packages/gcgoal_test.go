package packages

import (
	"math"
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

// TestImportMemoryLimit: imports lower the soft memory limit, by one
// step for each at once, and put the process's own back when the last
// ends; an operator's lower limit is left alone.
func TestImportMemoryLimit(t *testing.T) {
	orig := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(orig)
	limit := func() int64 { return debug.SetMemoryLimit(-1) }
	a := collectSooner()
	if l := limit(); l != importMemoryLimit {
		t.Fatalf("limit during an import %d, want %d", l, importMemoryLimit)
	}
	b := collectSooner()
	if l := limit(); l != importMemoryLimit+importMemoryEach {
		t.Fatalf("limit during two imports %d, want %d", l, importMemoryLimit+importMemoryEach)
	}
	b()
	b() // twice is once
	if l := limit(); l != importMemoryLimit {
		t.Fatalf("limit with one import left %d, want %d", l, importMemoryLimit)
	}
	a()
	if l := limit(); l != math.MaxInt64 {
		t.Fatalf("limit after the imports %d, want none", l)
	}
	debug.SetMemoryLimit(8 << 20)
	restore := collectSooner()
	if l := limit(); l != 8<<20 {
		t.Errorf("operator's limit 8 MiB became %d during an import", l)
	}
	restore()
	if l := limit(); l != 8<<20 {
		t.Errorf("operator's limit 8 MiB became %d after an import", l)
	}
}
