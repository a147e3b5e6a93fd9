package packages

import "io"

// Content-defined chunking, FastCDC style (Xia et al., USENIX ATC 2016): a
// gear rolling hash over the bytes, cut where its top bits are zero, with a
// stricter mask before the average size and a looser one after it
// ("normalized chunking"), so sizes cluster around the average. An insertion
// or deletion moves only the cuts near it; the rest of the file cuts at the
// same content as before and its chunks dedupe.
//
// The parameters and the gear table are part of the format: two servers
// must cut the same bytes the same way for a target's chunks to match a
// source's. Changing any of them needs a new ChunkerVersion.
const (
	ChunkerVersion = "fastcdc-gear64-32k-v1"
	MinChunk       = 8 << 10
	AvgChunk       = 32 << 10
	MaxChunk       = 128 << 10

	// The hash's top bits decide a cut: 17 of them must be zero before the
	// average size (P = 2^-17), 13 after it (P = 2^-13). With an 8 KiB
	// minimum this averages close to 32 KiB. (A 64 KiB average carried 2.4%
	// of a zip for a 1% change, 32 KiB 1.6%: see docs/performance.md.)
	maskStrict uint64 = 0xFFFF_8000_0000_0000
	maskLoose  uint64 = 0xFFF8_0000_0000_0000
)

// gear is the rolling hash's table: 256 pseudo-random words from
// SplitMix64 with a fixed seed, so it is the same in every build.
var gear = func() (t [256]uint64) {
	x := uint64(0x6665727279636463) // "ferrycdc"
	for i := range t {
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		t[i] = z ^ (z >> 31)
	}
	return t
}()

// cut returns the length of the first chunk of b, where len(b) is at most
// MaxChunk unless b is the rest of the stream. A b shorter than MinChunk is
// one chunk.
func cut(b []byte) int {
	n := len(b)
	if n <= MinChunk {
		return n
	}
	if n > MaxChunk {
		n = MaxChunk
	}
	normal := min(AvgChunk, n)
	var h uint64
	i := MinChunk
	for ; i < normal; i++ {
		h = h<<1 + gear[b[i]]
		if h&maskStrict == 0 {
			return i + 1
		}
	}
	for ; i < n; i++ {
		h = h<<1 + gear[b[i]]
		if h&maskLoose == 0 {
			return i + 1
		}
	}
	return n
}

// chunker splits a stream into content-defined chunks. Boundaries, when
// set, are stream offsets where a chunk should end if it is at least
// MinChunk long by then (zip entry edges): a changed entry then dirties only
// the chunks it is in.
type chunker struct {
	r     io.Reader
	buf   []byte
	start int // of unread data in buf
	end   int
	eof   bool
	off   int64 // stream offset of buf[start]

	bounds []int64 // ascending
}

func newChunker(r io.Reader, bounds []int64) *chunker {
	return &chunker{r: r, buf: make([]byte, 8*MaxChunk), bounds: bounds}
}

// next returns the next chunk, valid until the following call, or io.EOF.
func (c *chunker) next() ([]byte, error) {
	if c.end-c.start < MaxChunk && !c.eof {
		if err := c.fill(); err != nil {
			return nil, err
		}
	}
	if c.start == c.end {
		return nil, io.EOF
	}
	avail := c.buf[c.start:c.end]
	if !c.eof && len(avail) > MaxChunk {
		avail = avail[:MaxChunk]
	}
	n := cut(avail)
	// Prefer a boundary inside the chunk, as long as the chunk stays at
	// least MinChunk long.
	for len(c.bounds) > 0 && c.bounds[0] < c.off+MinChunk {
		c.bounds = c.bounds[1:]
	}
	if len(c.bounds) > 0 && c.bounds[0] < c.off+int64(n) {
		n = int(c.bounds[0] - c.off)
	}
	chunk := c.buf[c.start : c.start+n]
	c.start += n
	c.off += int64(n)
	return chunk, nil
}

func (c *chunker) fill() error {
	copy(c.buf, c.buf[c.start:c.end])
	c.end -= c.start
	c.start = 0
	for c.end < len(c.buf) && !c.eof {
		n, err := c.r.Read(c.buf[c.end:])
		c.end += n
		if err == io.EOF {
			c.eof = true
		} else if err != nil {
			return err
		}
	}
	return nil
}
