package packages

import (
	"runtime/debug"
	"sync"
)

// importGCPercent is the garbage collector's goal while an import runs:
// collect when the heap has grown by half since the last collection, not
// doubled (Go's default, GOGC=100). An import's live heap is small (~11 MB
// at 1 GB) but it allocates steadily, so its resident memory follows the
// goal: 60 MB at the peak instead of 65-80 (docs/performance.md, "Import
// memory at 1 GB"). Only while imports run: the dashboard, which allocates
// a lot per page, pays 20-50% more CPU at 50.
const importGCPercent = 50

// importMemoryLimit and importMemoryEach make the Go runtime's soft memory
// limit (GOMEMLIMIT: heap, stacks and runtime structures) while imports
// run: importMemoryLimit for one, importMemoryEach more for each other at
// once. Under it the runtime returns freed pages to the system as it goes
// instead of keeping them for later: an import's Go memory stays near its
// live ~11 MB plus the garbage between collections, not the 22 MB it
// reached before (docs/performance.md, "Third pass"). It is a soft limit:
// past it the runtime collects more often, spending at most half the CPU
// on it, and never fails an allocation.
const (
	importMemoryLimit = 20 << 20
	importMemoryEach  = 12 << 20
)

var importGC struct {
	sync.Mutex
	running   int
	prev      int
	prevLimit int64
}

// collectSooner lowers the GC goal to importGCPercent, and the memory
// limit to importMemoryLimit (plus importMemoryEach per other import),
// until the returned function is called, unless the process's own is lower
// already (an operator's GOGC or GOMEMLIMIT, or GC off). Imports overlap:
// both are restored when the last one ends.
func collectSooner() (restore func()) {
	importGC.Lock()
	defer importGC.Unlock()
	if importGC.running == 0 {
		importGC.prev = debug.SetGCPercent(importGCPercent)
		if importGC.prev < importGCPercent { // lower already, or off (-1): the operator's choice stands
			debug.SetGCPercent(importGC.prev)
		}
		importGC.prevLimit = debug.SetMemoryLimit(-1)
	}
	importGC.running++
	setImportLimit()
	var once sync.Once
	return func() {
		once.Do(func() {
			importGC.Lock()
			defer importGC.Unlock()
			if importGC.running--; importGC.running == 0 {
				debug.SetGCPercent(importGC.prev)
				debug.SetMemoryLimit(importGC.prevLimit)
				return
			}
			setImportLimit()
		})
	}
}

// setImportLimit sets the memory limit for the imports running, or the
// process's own if that is lower. importGC is locked.
func setImportLimit() {
	limit := int64(importMemoryLimit + importMemoryEach*(importGC.running-1))
	debug.SetMemoryLimit(min(limit, importGC.prevLimit))
}
