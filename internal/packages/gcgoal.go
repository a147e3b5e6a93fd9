package packages

import (
	"runtime/debug"
	"sync"
)

// importGCPercent is the garbage collector's goal while an import runs:
// collect when the heap has grown by a quarter since the last collection,
// not doubled (Go's default, GOGC=100). An import's live heap is small
// (~11 MB at 1 GB) but it allocates steadily, so its resident memory
// follows the goal: at 1 GB the Go heap's pages peak near 16 MB at 25,
// 19-23 MB at 50 and more at 100, for the same CPU within the noise
// (docs/performance.md, "Import memory at 1 GB" and "Third pass"). A soft
// memory limit (GOMEMLIMIT) low enough to do as much made the collector
// run back to back instead. Only while imports run: the dashboard, which
// allocates a lot per page, pays 20-50% more CPU at 50 already.
const importGCPercent = 25

var importGC struct {
	sync.Mutex
	running int
	prev    int
}

// collectSooner lowers the GC goal to importGCPercent until the returned
// function is called, unless the process's goal is lower already (an
// operator's GOGC, or off). Imports overlap: the goal is restored when the
// last one ends.
func collectSooner() (restore func()) {
	importGC.Lock()
	defer importGC.Unlock()
	if importGC.running == 0 {
		importGC.prev = debug.SetGCPercent(importGCPercent)
		if importGC.prev < importGCPercent { // lower already, or off (-1): the operator's choice stands
			debug.SetGCPercent(importGC.prev)
		}
	}
	importGC.running++
	var once sync.Once
	return func() {
		once.Do(func() {
			importGC.Lock()
			defer importGC.Unlock()
			if importGC.running--; importGC.running == 0 {
				debug.SetGCPercent(importGC.prev)
			}
		})
	}
}
