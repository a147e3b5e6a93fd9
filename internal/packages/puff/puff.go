// Package puff turns a deflate stream (RFC 1951) into a byte-aligned token
// form and back, bit for bit, whatever compressor made it (zlib, Info-ZIP,
// GNU gzip, Java, .NET). The idea is Chrome OS's puffin: in the token form
// a literal is its own byte and a match a fixed-size record, so two
// versions of a compressed file differ only where their content differs
// and a byte-level delta finds the rest; Huff writes the original bits back.
//
// The token form ("puff-1") is a sequence of blocks, each:
//
//	header   1 byte: BFINAL | BTYPE<<1, plus 8 for a dynamic block whose
//	         header is the one zlib's trees.c builds for its symbols (then
//	         the header is left out: see trees.go)
//	stored   1 byte: the padding bits skipped to the byte boundary (value),
//	         2 bytes: LEN (little-endian), then LEN bytes
//	dynamic  3 bytes: HLIT, HDIST, HCLEN (as coded), HCLEN+4 bytes: the
//	         code-length code lengths in stream order, then the code-length
//	         symbols as coded (a byte each; 16, 17 and 18 followed by a byte
//	         holding their extra bits)
//	fixed    nothing
//	data     (fixed and dynamic) 0x00-0x7E: n+1 literal bytes follow;
//	         0x7F uvarint(n): n literal bytes follow (128 to 65,536);
//	         0x80: a match, then length-3 (1 byte) and distance-1 (2 bytes,
//	         big-endian); 0x81: the same for a length of 258 coded as symbol
//	         284 with extra bits 31; 0xFF: end of block
//
// and after the final block 1 byte: the value of the bits that pad the last
// byte. A run of literals is kept whole (up to 64 KiB), so an edit that
// shifts where a run starts does not shift the bytes inside it. Everything a deflate stream may choose freely (padding bits, how
// code lengths are run-length coded, trailing zero lengths, either coding of
// 258) is recorded, and Huffman codes are canonical given their lengths, so
// Huff(Puff(s)) == s for every stream Puff accepts.
package puff

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// ErrFormat is returned for input that is not a deflate stream (Puff) or
// not a token stream (Huff).
var ErrFormat = errors.New("puff: malformed input")

func formatErr(what string) error { return fmt.Errorf("%w: %s", ErrFormat, what) }

const (
	opMatch    = 0x80
	opMatch284 = 0x81
	opEnd      = 0xFF
	opLongRun  = 0x7F
	maxShort   = 127
	maxLitRun  = 1 << 16
	predicted  = 8
	// maxBlock bounds the tokens of a block held to see whether its header
	// is the predicted one; a larger block keeps its header.
	maxBlock = 1 << 20
)

// Length and distance codes (RFC 1951 3.2.5).
var (
	lenBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distXtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	clOrder  = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// lenSym and distSym map a length (3..258) and a distance (1..32768) to
// their code, for Huff.
var lenSym, distSym = func() (l [259]uint8, d [32769]uint8) {
	for c := 0; c < 29; c++ {
		for v := int(lenBase[c]); v < int(lenBase[c])+1<<lenExtra[c] && v <= 258; v++ {
			l[v] = uint8(c)
		}
	}
	l[258] = 28
	for c := 0; c < 30; c++ {
		for v := int(distBase[c]); v < int(distBase[c])+1<<distXtra[c]; v++ {
			d[v] = uint8(c)
		}
	}
	return
}()

// fixedLengths are the code lengths of the fixed Huffman codes.
var fixedLit, fixedDist = func() (lit [288]uint8, dist [32]uint8) {
	for i := range lit {
		switch {
		case i < 144:
			lit[i] = 8
		case i < 256:
			lit[i] = 9
		case i < 280:
			lit[i] = 7
		default:
			lit[i] = 8
		}
	}
	for i := range dist {
		dist[i] = 5
	}
	return
}()

// Result says how much of the input a deflate stream took.
type Result struct {
	In  int64 // bytes of deflate stream, the last one partly padding
	Out int64 // bytes of token form written
}

// Puff reads one deflate stream from r and writes its token form to w. It
// reads at most one byte past the stream's end from r (Result.In says
// where the stream ended). Memory is constant; it does not decompress.
// A *bufio.Writer w is written to directly and left for the caller to
// flush (many small streams then share one buffer).
func Puff(r io.ByteReader, w io.Writer) (Result, error) {
	bw, shared := w.(*bufio.Writer)
	if !shared {
		bw = bufio.NewWriterSize(w, 64<<10)
	}
	p := puffers.Get().(*puffer)
	defer func() {
		p.br, p.out, p.w = bitReader{}, nil, nil // hold no reader or writer in the pool
		puffers.Put(p)
	}()
	p.br, p.out, p.lits, p.holding = bitReader{r: r}, &countingWriter{w: bw}, p.lits[:0], false
	p.w = p.out
	err := p.run()
	if !shared {
		if ferr := bw.Flush(); err == nil {
			err = ferr
		}
	}
	return Result{In: p.br.consumed - int64(p.br.n/8), Out: p.out.n}, err
}

// countingWriter counts what the puffer writes.
type countingWriter struct {
	w *bufio.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) WriteByte(b byte) error {
	c.n++
	return c.w.WriteByte(b)
}

type tokenWriter interface {
	io.Writer
	io.ByteWriter
}

// puffers keeps puffers' buffers (a held block's header and tokens) from
// one stream to the next: a jar of 100,000 entries would otherwise make a
// gigabyte of garbage.
var puffers = sync.Pool{New: func() any { return &puffer{lits: make([]byte, 0, 256)} }}

type puffer struct {
	br   bitReader
	out  *countingWriter
	w    tokenWriter // out, or hdr/blk while a dynamic block is held
	lits []byte

	// a dynamic block held until its end: its header byte, header and
	// tokens, and its symbols' frequencies
	holding  bool
	hd       byte
	hdr, blk bytes.Buffer
	litFreq  [lCodes]uint32
	distFreq [dCodes]uint32
}

// release writes a held block with its header as coded.
func (p *puffer) release() {
	if p.holding {
		p.out.WriteByte(p.hd)
		p.out.Write(p.hdr.Bytes())
		p.out.Write(p.blk.Bytes())
		p.holding = false
		p.w = p.out
	}
}

func (p *puffer) run() error {
	var lit, dist huffman
	for {
		h, err := p.br.get(3)
		if err != nil {
			return err
		}
		final, typ := h&1, h>>1
		if typ != 2 {
			p.w.WriteByte(byte(h))
		}
		switch typ {
		case 0:
			if err := p.stored(); err != nil {
				return err
			}
		case 1:
			if err := lit.build(fixedLit[:]); err != nil {
				return err
			}
			if err := dist.build(fixedDist[:]); err != nil {
				return err
			}
			if err := p.data(&lit, &dist); err != nil {
				return err
			}
		case 2:
			p.hd, p.holding = byte(h), true
			p.hdr.Reset()
			p.blk.Reset()
			p.litFreq, p.distFreq = [lCodes]uint32{}, [dCodes]uint32{}
			p.w = &p.hdr
			if err := p.dynamic(&lit, &dist); err != nil {
				return err
			}
			p.w = &p.blk
			if err := p.data(&lit, &dist); err != nil {
				return err
			}
			if p.holding {
				var buf [400]byte
				if bytes.Equal(predictHeader(&p.litFreq, &p.distFreq, buf[:0]), p.hdr.Bytes()) {
					p.out.WriteByte(p.hd | predicted)
					p.out.Write(p.blk.Bytes())
					p.holding = false
					p.w = p.out
				}
				p.release()
			}
		default:
			return formatErr("block type 3")
		}
		if final == 1 {
			break
		}
	}
	k := p.br.n % 8
	pad := byte(p.br.bits & (1<<k - 1))
	p.br.bits >>= k
	p.br.n -= k
	return p.w.WriteByte(pad)
}

func (p *puffer) stored() error {
	k := p.br.n % 8
	pad, _ := p.br.get(k)
	p.w.WriteByte(byte(pad))
	v, err := p.br.get(32)
	if err != nil {
		return err
	}
	n, nn := v&0xffff, v>>16
	if n != ^nn&0xffff {
		return formatErr("stored block length does not match its complement")
	}
	p.w.WriteByte(byte(n))
	p.w.WriteByte(byte(n >> 8))
	for ; n > 0 && p.br.n >= 8; n-- {
		b, _ := p.br.get(8)
		p.w.WriteByte(byte(b))
	}
	for ; n > 0; n-- {
		b, err := p.br.r.ReadByte()
		if err != nil {
			return unexpected(err)
		}
		p.br.consumed++
		p.w.WriteByte(b)
	}
	return nil
}

func (p *puffer) dynamic(lit, dist *huffman) error {
	v, err := p.br.get(14)
	if err != nil {
		return err
	}
	hlit, hdist, hclen := v&31, v>>5&31, v>>10
	p.w.WriteByte(byte(hlit))
	p.w.WriteByte(byte(hdist))
	p.w.WriteByte(byte(hclen))
	var cl [19]uint8
	for i := 0; i < int(hclen)+4; i++ {
		l, err := p.br.get(3)
		if err != nil {
			return err
		}
		cl[clOrder[i]] = uint8(l)
		p.w.WriteByte(byte(l))
	}
	var clh huffman
	if err := clh.build(cl[:]); err != nil {
		return err
	}
	nlit, ndist := int(hlit)+257, int(hdist)+1
	var lengths [320]uint8
	for i := 0; i < nlit+ndist; {
		sym, err := clh.decode(&p.br)
		if err != nil {
			return err
		}
		p.w.WriteByte(byte(sym))
		var rep int
		var val uint8
		switch {
		case sym < 16:
			lengths[i] = uint8(sym)
			i++
			continue
		case sym == 16:
			if i == 0 {
				return formatErr("repeat with no previous length")
			}
			x, err := p.br.get(2)
			if err != nil {
				return err
			}
			p.w.WriteByte(byte(x))
			rep, val = 3+int(x), lengths[i-1]
		case sym == 17:
			x, err := p.br.get(3)
			if err != nil {
				return err
			}
			p.w.WriteByte(byte(x))
			rep = 3 + int(x)
		default:
			x, err := p.br.get(7)
			if err != nil {
				return err
			}
			p.w.WriteByte(byte(x))
			rep = 11 + int(x)
		}
		if i+rep > nlit+ndist {
			return formatErr("code lengths overflow")
		}
		for ; rep > 0; rep-- {
			lengths[i] = val
			i++
		}
	}
	if err := lit.build(lengths[:nlit]); err != nil {
		return err
	}
	return dist.build(lengths[nlit : nlit+ndist])
}

func (p *puffer) flushLits() {
	switch n := len(p.lits); {
	case n == 0:
		return
	case n <= maxShort:
		p.w.WriteByte(byte(n - 1))
	default:
		var b [1 + binary.MaxVarintLen32]byte
		b[0] = opLongRun
		p.w.Write(b[:1+binary.PutUvarint(b[1:], uint64(n))])
	}
	p.w.Write(p.lits)
	p.lits = p.lits[:0]
}

func (p *puffer) data(lit, dist *huffman) error {
	for {
		sym, err := lit.decode(&p.br)
		if err != nil {
			return err
		}
		if p.holding && p.blk.Len() > maxBlock {
			p.release()
		}
		if sym < 256 {
			p.litFreq[sym]++
			p.lits = append(p.lits, byte(sym))
			if len(p.lits) == maxLitRun {
				p.flushLits()
			}
			continue
		}
		p.flushLits()
		if sym == 256 {
			p.litFreq[256]++
			return p.w.WriteByte(opEnd)
		}
		sym -= 257
		if sym >= 29 {
			return formatErr("invalid length symbol")
		}
		p.litFreq[257+sym]++
		x, err := p.br.get(uint(lenExtra[sym]))
		if err != nil {
			return err
		}
		length := int(lenBase[sym]) + int(x)
		op := byte(opMatch)
		if length > 258 {
			return formatErr("length over 258")
		}
		if sym == 27 && length == 258 { // symbol 284 with extra bits 31
			op = opMatch284
		}
		ds, err := dist.decode(&p.br)
		if err != nil {
			return err
		}
		if ds >= 30 {
			return formatErr("invalid distance symbol")
		}
		x, err = p.br.get(uint(distXtra[ds]))
		if err != nil {
			return err
		}
		p.distFreq[ds]++
		d := int(distBase[ds]) + int(x) - 1
		p.w.Write([]byte{op, byte(length - 3), byte(d >> 8), byte(d)})
	}
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// bitReader reads bits least significant first, as deflate stores them.
type bitReader struct {
	r        io.ByteReader
	bits     uint64
	n        uint
	consumed int64
	eof      bool
}

func (b *bitReader) need(k uint) error {
	for b.n < k {
		c, err := b.r.ReadByte()
		if err != nil {
			b.eof = true
			return unexpected(err)
		}
		b.bits |= uint64(c) << b.n
		b.n += 8
		b.consumed++
	}
	return nil
}

func (b *bitReader) get(k uint) (uint32, error) {
	if err := b.need(k); err != nil {
		return 0, err
	}
	v := uint32(b.bits & (1<<k - 1))
	b.bits >>= k
	b.n -= k
	return v, nil
}

// peek fills the buffer to at least k bits unless the input ends.
func (b *bitReader) peek(k uint) {
	for b.n < k && !b.eof {
		c, err := b.r.ReadByte()
		if err != nil {
			b.eof = true
			return
		}
		b.bits |= uint64(c) << b.n
		b.n += 8
		b.consumed++
	}
}

// huffman is a canonical Huffman code for decoding.
type huffman struct {
	count  [16]uint16
	symbol [320]uint16
	fast   [1 << fastBits]uint16 // sym<<4 | length, 0 when longer than fastBits
}

const fastBits = 9

func (h *huffman) build(lengths []uint8) error {
	h.count = [16]uint16{}
	for _, l := range lengths {
		h.count[l]++
	}
	h.count[0] = 0
	left := 1
	for l := 1; l < 16; l++ {
		left <<= 1
		left -= int(h.count[l])
		if left < 0 {
			return formatErr("over-subscribed Huffman code")
		}
	}
	var offs [16]uint16
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	for s, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = uint16(s)
			offs[l]++
		}
	}
	h.fast = [1 << fastBits]uint16{}
	code := 0
	idx := 0
	for l := 1; l <= fastBits; l++ {
		for i := 0; i < int(h.count[l]); i++ {
			rev := reverse(uint32(code), uint(l))
			e := h.symbol[idx]<<4 | uint16(l)
			for j := int(rev); j < 1<<fastBits; j += 1 << l {
				h.fast[j] = e
			}
			code++
			idx++
		}
		code <<= 1
	}
	return nil
}

func reverse(v uint32, n uint) uint32 {
	var r uint32
	for i := uint(0); i < n; i++ {
		r = r<<1 | v&1
		v >>= 1
	}
	return r
}

func (h *huffman) decode(b *bitReader) (int, error) {
	b.peek(fastBits)
	if b.n >= fastBits {
		if e := h.fast[b.bits&(1<<fastBits-1)]; e != 0 {
			l := uint(e & 15)
			b.bits >>= l
			b.n -= l
			return int(e >> 4), nil
		}
	}
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		bit, err := b.get(1)
		if err != nil {
			return 0, err
		}
		code |= int(bit)
		count := int(h.count[l])
		if code-count < first {
			return int(h.symbol[index+(code-first)]), nil
		}
		index += count
		first += count
		first <<= 1
		code <<= 1
	}
	return 0, formatErr("invalid Huffman code")
}
