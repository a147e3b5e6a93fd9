package delta

import (
	"bufio"
	"encoding/binary"
	"io"
	"math/bits"
	"slices"

	"github.com/klauspost/compress/zstd"
)

// Stats say what a delta holds.
type Stats struct {
	Size   int64 `json:"size"`   // of the target
	Copied int64 `json:"copied"` // bytes copied from the base unchanged
	Diffed int64 `json:"diffed"` // bytes taken from the base with differences
	Added  int64 `json:"added"`  // new bytes
	Ops    int   `json:"ops"`
}

// Anchors: a position is one when the top 6 bits of the gear hash of the 64
// bytes ending there are zero (one in 64 positions) and it is at least
// minGap after the previous one; one with the top 12 bits zero is also a
// coarse anchor (one in 4,096), indexed over the whole base to find content
// that moved far. Fine anchors are indexed per slab of the base, around
// where the target's current match says the next one will be, so memory
// stays bounded whatever the base's size.
const (
	minGap     = 16
	minMatch   = 24      // bytes of a verified match before it is used
	slabSize   = 8 << 20 // of the base, indexed at a time
	maxSlabs   = 12
	mergeGap   = 64 // a gap this small between two matches of the same alignment is always differenced
	extendScan = 64 << 10

	// resync: how far on, at how far from the current alignment, and how
	// many equal bytes make a match worth taking.
	resyncSkip   = 32
	resyncShift  = 8
	resyncEnough = 10
)

var gear = func() (t [256]uint64) {
	x := uint64(0x6665727279646c74) // "ferrydlt"
	for i := range t {
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		t[i] = z ^ (z >> 31)
	}
	return t
}()

func isAnchor(h uint64) bool { return h>>58 == 0 }
func isCoarse(h uint64) bool { return h>>52 == 0 }
func key(h uint64) uint64    { return uint64(uint32(h >> 26)) }

// Encode writes a delta that rebuilds target from base to w. Both are
// whole in memory (callers map files); the encoder's own memory is the
// index of a dozen 8 MiB slabs of the base plus one entry per 4 KiB of it.
// release, when not nil, is told of stretches [from, to) of the base
// (inBase) or the target the encoder is done with for now; a caller that
// mapped files drops their pages, so resident memory stays near the slabs
// in use. The encoder may still read them later (the pages come back).
func Encode(base, target []byte, w io.Writer, release func(inBase bool, from, to int)) (Stats, error) {
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithWindowSize(window),
		zstd.WithEncoderConcurrency(1))
	if err != nil {
		return Stats{}, err
	}
	bw := bufio.NewWriterSize(zw, 256<<10)
	if release == nil {
		release = func(bool, int, int) {}
	}
	e := &encoder{b: base, n: target, w: bw, slabs: map[int]*slab{}, release: release}
	e.st.Size = int64(len(target))
	bw.WriteString(magic)
	e.uvarint(uint64(len(target)))
	e.coarseIndex()
	e.run()
	bw.WriteByte(opEnd)
	if err := bw.Flush(); err != nil {
		return e.st, err
	}
	return e.st, zw.Close()
}

type slab struct {
	entries []uint64 // key<<32 | offset in slab, sorted
	used    int
}

type encoder struct {
	b, n []byte
	w    *bufio.Writer
	st   Stats

	coarse []uint64 // key<<40 | base offset, sorted
	slabs  map[int]*slab
	clock  int

	release  func(inBase bool, from, to int)
	released int // target bytes released

	covered int // target bytes already placed
	bpos    int // base position after the last COPY or DIFF
	// the open region: target[rs:re] aligned with base[rs+d:re+d]
	open   bool
	rs, re int
	d      int
}

func (e *encoder) coarseIndex() {
	var h uint64
	last := -minGap
	for p, c := range e.b {
		h = h<<1 + gear[c]
		if isAnchor(h) && p-last >= minGap {
			last = p
			if isCoarse(h) {
				e.coarse = append(e.coarse, key(h)<<40|uint64(p))
			}
		}
	}
	slices.Sort(e.coarse)
	e.release(true, 0, len(e.b))
}

func (e *encoder) slab(i int) *slab {
	e.clock++
	if s, ok := e.slabs[i]; ok {
		s.used = e.clock
		return s
	}
	if len(e.slabs) >= maxSlabs {
		oldest, at := -1, e.clock
		for k, s := range e.slabs {
			if s.used < at {
				oldest, at = k, s.used
			}
		}
		delete(e.slabs, oldest)
		e.release(true, oldest*slabSize, min((oldest+1)*slabSize, len(e.b)))
	}
	start, end := i*slabSize, min((i+1)*slabSize, len(e.b))
	s := &slab{used: e.clock, entries: make([]uint64, 0, (end-start)/48)}
	var h uint64
	last := -minGap
	for p := max(0, start-64); p < end; p++ {
		h = h<<1 + gear[e.b[p]]
		if isAnchor(h) && p-last >= minGap {
			last = p
			if p >= start {
				s.entries = append(s.entries, key(h)<<32|uint64(p-start))
			}
		}
	}
	slices.Sort(s.entries)
	e.slabs[i] = s
	return s
}

// candidates returns base positions of anchors with key k, nearest to
// expect first (at most four).
func (e *encoder) candidates(k uint64, coarse bool, expect int, out []int) []int {
	out = out[:0]
	nslabs := (len(e.b) + slabSize - 1) / slabSize
	c := min(max(expect, 0), len(e.b)-1) / slabSize
	for i := c - 1; i <= c+1; i++ {
		if i < 0 || i >= nslabs {
			continue
		}
		s := e.slab(i)
		j, _ := slices.BinarySearch(s.entries, k<<32)
		for ; j < len(s.entries) && s.entries[j]>>32 == k; j++ {
			out = append(out, i*slabSize+int(uint32(s.entries[j])))
		}
	}
	if len(out) == 0 && coarse {
		j, _ := slices.BinarySearch(e.coarse, k<<40)
		for ; j < len(e.coarse) && e.coarse[j]>>40 == k; j++ {
			out = append(out, int(e.coarse[j]&(1<<40-1)))
		}
	}
	dist := func(b int) int {
		if b > expect {
			return b - expect
		}
		return expect - b
	}
	slices.SortFunc(out, func(a, b int) int { return dist(a) - dist(b) })
	if len(out) > 4 {
		out = out[:4]
	}
	return out
}

func (e *encoder) run() {
	if len(e.b) == 0 {
		e.add(0, len(e.n))
		return
	}
	var h uint64
	last := -minGap
	var cands []int
	for p, c := range e.n {
		h = h<<1 + gear[c]
		if !isAnchor(h) || p-last < minGap {
			continue
		}
		last = p
		if p < e.covered {
			continue
		}
		if done := e.covered - slabSize; done-e.released >= 4*slabSize {
			e.release(false, e.released, done)
			e.released = done
		}
		cands = e.candidates(key(h), isCoarse(h), p+e.d, cands)
		best, bestLen, bestBack := -1, 0, 0
		for _, b := range cands {
			back := matchBack(e.n, e.b, p, b, p-e.covered+1)
			if back == 0 {
				continue
			}
			fwd := matchLen(e.n[p+1:], e.b[b+1:])
			if back+fwd > bestLen {
				best, bestLen, bestBack = b, back+fwd, back
			}
		}
		if bestLen < minMatch {
			continue
		}
		start := p - bestBack + 1
		e.place(start, start+bestLen, best-p)
		e.resync()
	}
	e.close(len(e.n))
	e.add(e.covered, len(e.n))
}

// resync looks, where a match ended, for the next one close by: a few
// bytes on in the target and at an alignment a few bytes from the current
// one (a token stream's structure shifts by a byte or two where a header
// changed), so the match resumes without waiting for the next anchor.
func (e *encoder) resync() {
	const skip, enough = resyncSkip, resyncEnough
	for e.open && e.covered < len(e.n) {
		at, found, d := 0, false, 0
		for k := 1; k <= skip && !found; k++ {
			p := e.covered + k
			if p >= len(e.n) {
				break
			}
			for _, s := range shifts {
				b := p + e.d + s
				if b < 0 || b >= len(e.b) {
					continue
				}
				if matchLen(e.n[p:min(p+enough, len(e.n))], e.b[b:]) == enough {
					at, found, d = p, true, e.d+s
					break
				}
			}
		}
		if !found {
			return
		}
		e.place(at, at+matchLen(e.n[at:], e.b[at+d:]), d)
	}
}

// shifts is 0, -1, 1, -2, 2, … up to ±resyncShift: the nearest alignments
// first.
var shifts = func() []int {
	out := []int{0}
	for i := 1; i <= resyncShift; i++ {
		out = append(out, -i, i)
	}
	return out
}()

// place takes the match target[start:end] == base[start+d:end+d].
func (e *encoder) place(start, end, d int) {
	if e.open && d == e.d {
		gap := start - e.re
		if gap <= mergeGap || 2*e.matches(e.re, start, d) >= gap {
			e.re, e.covered = end, end
			return
		}
	}
	e.close(start)
	e.add(e.covered, start)
	e.open, e.rs, e.re, e.d = true, start, end, d
	e.covered = end
}

// matches counts equal bytes of target[from:to] and the base at d.
func (e *encoder) matches(from, to, d int) int {
	n := 0
	for i := from; i < to; i++ {
		if j := i + d; j >= 0 && j < len(e.b) && e.n[i] == e.b[j] {
			n++
		}
	}
	return n
}

// close ends the open region, first extending it over the bytes before
// limit for as long as most of them still match (bsdiff's rule: the
// length that maximises 2×matches − length), then writes it.
func (e *encoder) close(limit int) {
	if !e.open {
		return
	}
	best, score, s := 0, 0, 0
	for i := e.re; i < limit && i-e.re < extendScan; i++ {
		j := i + e.d
		if j >= len(e.b) {
			break
		}
		if e.n[i] == e.b[j] {
			s++
		} else {
			s--
		}
		if s > score {
			best, score = i-e.re+1, s
		}
	}
	e.re += best
	e.emitRegion(e.rs, e.re, e.d)
	e.covered = max(e.covered, e.re)
	e.open = false
}

// emitRegion writes target[from:to], aligned with the base at d, as COPY
// for equal stretches and DIFF for stretches whose differences lie within
// 16 bytes of each other.
func (e *encoder) emitRegion(from, to, d int) {
	i := from
	for i < to {
		m := i + matchLen(e.n[i:to], e.b[i+d:])
		if m >= to {
			e.copy(i, to, d)
			return
		}
		end := m + 1
		for k := end; k < to && k-end < 16; k++ {
			if e.n[k] != e.b[k+d] {
				end = k + 1
			}
		}
		if m > i {
			e.copy(i, m, d)
		}
		e.diff(m, end, d)
		i = end
	}
}

func (e *encoder) copy(from, to, d int) {
	e.w.WriteByte(opCopy)
	e.varint(int64(from + d - e.bpos))
	e.uvarint(uint64(to - from))
	e.bpos = to + d
	e.st.Copied += int64(to - from)
	e.st.Ops++
}

func (e *encoder) diff(from, to, d int) {
	e.w.WriteByte(opDiff)
	e.varint(int64(from + d - e.bpos))
	e.uvarint(uint64(to - from))
	for i := from; i < to; i++ {
		e.w.WriteByte(e.n[i] - e.b[i+d])
	}
	e.bpos = to + d
	e.st.Diffed += int64(to - from)
	e.st.Ops++
}

func (e *encoder) add(from, to int) {
	if to <= from {
		return
	}
	e.w.WriteByte(opAdd)
	e.uvarint(uint64(to - from))
	e.w.Write(e.n[from:to])
	e.st.Added += int64(to - from)
	e.st.Ops++
	e.covered = max(e.covered, to)
}

func (e *encoder) uvarint(v uint64) {
	var b [binary.MaxVarintLen64]byte
	e.w.Write(b[:binary.PutUvarint(b[:], v)])
}

func (e *encoder) varint(v int64) {
	var b [binary.MaxVarintLen64]byte
	e.w.Write(b[:binary.PutVarint(b[:], v)])
}

// matchLen is the length of the common prefix of a and b.
func matchLen(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+8 <= n; i += 8 {
		if x := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]); x != 0 {
			return i + bits.TrailingZeros64(x)/8
		}
	}
	for ; i < n && a[i] == b[i]; i++ {
	}
	return i
}

// matchBack counts equal bytes backwards from a[p] and b[q], at most limit.
func matchBack(a, b []byte, p, q, limit int) int {
	k := 0
	for k < limit && p-k >= 0 && q-k >= 0 && a[p-k] == b[q-k] {
		k++
	}
	return k
}
