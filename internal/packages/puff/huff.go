package puff

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"sync"
)

// Huff reads one token stream (what Puff writes) from r and writes the
// deflate stream it describes to w, bit for bit. It reads exactly the token
// stream and no further. The input is untrusted: anything that does not
// describe a deflate stream is ErrFormat; memory is constant and the work
// is linear in the input. A *bufio.Writer w is written to directly and
// left for the caller to flush.
func Huff(r io.ByteReader, w io.Writer) error {
	bw, shared := w.(*bufio.Writer)
	if !shared {
		bw = bufio.NewWriterSize(w, 64<<10)
	}
	h := huffer{r: r, bw: bitWriter{w: bw}}
	err := h.run()
	if !shared {
		if ferr := bw.Flush(); err == nil {
			err = ferr
		}
	}
	if err == nil {
		err = h.bw.err
	}
	return err
}

type huffer struct {
	r  io.ByteReader
	bw bitWriter
}

func (h *huffer) byte() (byte, error) {
	b, err := h.r.ReadByte()
	return b, unexpected(err)
}

func (h *huffer) run() error {
	var lit, dist encoder
	for {
		hd, err := h.byte()
		if err != nil {
			return err
		}
		pred := hd&predicted != 0
		hd &^= predicted
		if hd > 7 || pred && hd>>1 != 2 {
			return formatErr("bad block header")
		}
		h.bw.put(uint32(hd), 3)
		if pred {
			if err := h.predictedBlock(&lit, &dist); err != nil {
				return err
			}
			if hd&1 == 1 {
				break
			}
			continue
		}
		switch hd >> 1 {
		case 0:
			if err := h.stored(); err != nil {
				return err
			}
		case 1:
			lit.build(fixedLit[:])
			dist.build(fixedDist[:])
			if err := h.data(&lit, &dist); err != nil {
				return err
			}
		case 2:
			if err := h.dynamic(&lit, &dist); err != nil {
				return err
			}
			if err := h.data(&lit, &dist); err != nil {
				return err
			}
		default:
			return formatErr("block type 3")
		}
		if hd&1 == 1 {
			break
		}
	}
	pad, err := h.byte()
	if err != nil {
		return err
	}
	k := (8 - h.bw.n%8) % 8
	if uint32(pad) >= 1<<k {
		return formatErr("final padding does not fit")
	}
	h.bw.put(uint32(pad), k)
	return h.bw.flushBits()
}

func (h *huffer) stored() error {
	pad, err := h.byte()
	if err != nil {
		return err
	}
	k := (8 - h.bw.n%8) % 8
	if uint32(pad) >= 1<<k {
		return formatErr("stored block padding does not fit")
	}
	h.bw.put(uint32(pad), k)
	lo, err := h.byte()
	if err != nil {
		return err
	}
	hi, err := h.byte()
	if err != nil {
		return err
	}
	n := uint32(lo) | uint32(hi)<<8
	h.bw.put(n|(^n&0xffff)<<16, 32)
	if err := h.bw.flushBits(); err != nil {
		return err
	}
	for ; n > 0; n-- {
		b, err := h.byte()
		if err != nil {
			return err
		}
		h.bw.w.WriteByte(b)
	}
	return nil
}

func (h *huffer) dynamic(lit, dist *encoder) error {
	var v [3]byte
	for i := range v {
		b, err := h.byte()
		if err != nil {
			return err
		}
		v[i] = b
	}
	hlit, hdist, hclen := v[0], v[1], v[2]
	if hlit > 31 || hdist > 31 || hclen > 15 {
		return formatErr("bad dynamic block header")
	}
	h.bw.put(uint32(hlit)|uint32(hdist)<<5|uint32(hclen)<<10, 14)
	var cl [19]uint8
	for i := 0; i < int(hclen)+4; i++ {
		l, err := h.byte()
		if err != nil {
			return err
		}
		if l > 7 {
			return formatErr("bad code length code length")
		}
		cl[clOrder[i]] = l
		h.bw.put(uint32(l), 3)
	}
	var clc encoder
	if !clc.build(cl[:]) {
		return formatErr("over-subscribed code length code")
	}
	nlit, ndist := int(hlit)+257, int(hdist)+1
	var lengths [320]uint8
	for i := 0; i < nlit+ndist; {
		sym, err := h.byte()
		if err != nil {
			return err
		}
		if sym > 18 || clc.len[sym] == 0 {
			return formatErr("code length symbol has no code")
		}
		clc.put(&h.bw, int(sym))
		var rep int
		var val uint8
		switch {
		case sym < 16:
			lengths[i] = sym
			i++
			continue
		case sym == 16:
			x, err := h.extra(2)
			if err != nil {
				return err
			}
			if i == 0 {
				return formatErr("repeat with no previous length")
			}
			rep, val = 3+int(x), lengths[i-1]
		case sym == 17:
			x, err := h.extra(3)
			if err != nil {
				return err
			}
			rep = 3 + int(x)
		default:
			x, err := h.extra(7)
			if err != nil {
				return err
			}
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
	if !lit.build(lengths[:nlit]) || !dist.build(lengths[nlit:nlit+ndist]) {
		return formatErr("over-subscribed Huffman code")
	}
	return nil
}

// predictedBlock writes a dynamic block whose header was left out: it
// reads the block's tokens (at most maxBlock bytes of them), counts their
// symbols, writes the header trees.c builds for them, then the tokens.
// blocks keeps the buffers predictedBlock holds a block's tokens in.
var blocks = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

func (h *huffer) predictedBlock(lit, dist *encoder) error {
	pooled := blocks.Get().(*[]byte)
	tokens := (*pooled)[:0]
	defer func() {
		if cap(tokens) <= maxBlock+maxLitRun+8 {
			*pooled = tokens[:0]
			blocks.Put(pooled)
		}
	}()
	var litFreq [lCodes]uint32
	var distFreq [dCodes]uint32
	take := func(n int) ([]byte, error) {
		if len(tokens)+n > maxBlock+maxLitRun+8 {
			return nil, formatErr("block too long to predict its header")
		}
		start := len(tokens)
		for i := 0; i < n; i++ {
			b, err := h.byte()
			if err != nil {
				return nil, err
			}
			tokens = append(tokens, b)
		}
		return tokens[start:], nil
	}
	for {
		op, err := take(1)
		if err != nil {
			return err
		}
		switch {
		case op[0] < opLongRun:
			b, err := take(int(op[0]) + 1)
			if err != nil {
				return err
			}
			for _, c := range b {
				litFreq[c]++
			}
		case op[0] == opLongRun:
			v, err := binary.ReadUvarint(h.r)
			if err != nil || v <= maxShort || v > maxLitRun {
				return formatErr("bad literal run")
			}
			var vb [binary.MaxVarintLen32]byte
			tokens = append(tokens, vb[:binary.PutUvarint(vb[:], v)]...)
			b, err := take(int(v))
			if err != nil {
				return err
			}
			for _, c := range b {
				litFreq[c]++
			}
		case op[0] == opMatch, op[0] == opMatch284:
			m, err := take(3)
			if err != nil {
				return err
			}
			length, d := int(m[0])+3, int(m[1])<<8|int(m[2])+1
			if d > 32768 || op[0] == opMatch284 && length != 258 {
				return formatErr("bad match")
			}
			ls := int(lenSym[length])
			if op[0] == opMatch284 {
				ls = 27
			}
			litFreq[257+ls]++
			distFreq[distSym[d]]++
		case op[0] == opEnd:
			litFreq[256]++
			var buf [400]byte
			r := h.r
			hr := bytes.NewReader(predictHeader(&litFreq, &distFreq, buf[:0]))
			h.r = hr
			err := h.dynamic(lit, dist)
			if err == nil && hr.Len() != 0 {
				err = formatErr("predicted header not used up")
			}
			if err != nil {
				h.r = r
				return err
			}
			tr := bytes.NewReader(tokens)
			h.r = tr
			err = h.data(lit, dist)
			h.r = r
			if err == nil && tr.Len() != 0 {
				err = formatErr("tokens after the end of a block")
			}
			return err
		default:
			return formatErr("unknown token")
		}
	}
}

func (h *huffer) extra(bits uint) (byte, error) {
	x, err := h.byte()
	if err != nil {
		return 0, err
	}
	if uint32(x) >= 1<<bits {
		return 0, formatErr("extra bits out of range")
	}
	h.bw.put(uint32(x), bits)
	return x, nil
}

func (h *huffer) data(lit, dist *encoder) error {
	for {
		op, err := h.byte()
		if err != nil {
			return err
		}
		switch {
		case op <= opLongRun:
			n := int(op) + 1
			if op == opLongRun {
				v, err := binary.ReadUvarint(h.r)
				if err != nil || v <= maxShort || v > maxLitRun {
					return formatErr("bad literal run")
				}
				n = int(v)
			}
			for ; n > 0; n-- {
				b, err := h.byte()
				if err != nil {
					return err
				}
				if lit.len[b] == 0 {
					return formatErr("literal has no code")
				}
				lit.put(&h.bw, int(b))
			}
		case op == opEnd:
			if lit.len[256] == 0 {
				return formatErr("end of block has no code")
			}
			lit.put(&h.bw, 256)
			return nil
		case op == opMatch, op == opMatch284:
			var m [3]byte
			for i := range m {
				if m[i], err = h.byte(); err != nil {
					return err
				}
			}
			length := int(m[0]) + 3
			d := int(m[1])<<8 | int(m[2]) + 1
			if d > 32768 {
				return formatErr("distance over 32768")
			}
			ls := int(lenSym[length])
			x := uint32(length - int(lenBase[ls]))
			if op == opMatch284 {
				if length != 258 {
					return formatErr("alternate 258 with another length")
				}
				ls, x = 27, 31
			}
			if lit.len[257+ls] == 0 {
				return formatErr("length has no code")
			}
			lit.put(&h.bw, 257+ls)
			h.bw.put(x, uint(lenExtra[ls]))
			ds := int(distSym[d])
			if dist.len[ds] == 0 {
				return formatErr("distance has no code")
			}
			dist.put(&h.bw, ds)
			h.bw.put(uint32(d-int(distBase[ds])), uint(distXtra[ds]))
		default:
			return formatErr("unknown token")
		}
		if h.bw.err != nil {
			return h.bw.err
		}
	}
}

// encoder holds the canonical codes of a Huffman code, bit-reversed for
// writing least significant bit first.
type encoder struct {
	len  [320]uint8
	code [320]uint16
}

func (e *encoder) build(lengths []uint8) bool {
	e.len = [320]uint8{}
	copy(e.len[:], lengths)
	var count [16]int
	for _, l := range lengths {
		count[l]++
	}
	count[0] = 0
	left := 1
	for l := 1; l < 16; l++ {
		left = left<<1 - count[l]
		if left < 0 {
			return false
		}
	}
	var next [16]int
	code := 0
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	for s, l := range lengths {
		if l != 0 {
			e.code[s] = uint16(reverse(uint32(next[l]), uint(l)))
			next[l]++
		}
	}
	return true
}

func (e *encoder) put(w *bitWriter, sym int) { w.put(uint32(e.code[sym]), uint(e.len[sym])) }

// bitWriter writes bits least significant first.
type bitWriter struct {
	w    *bufio.Writer
	bits uint64
	n    uint // pending bits in bits; also the stream's bit position mod 8 after a flush
	err  error
}

func (b *bitWriter) put(v uint32, k uint) {
	b.bits |= uint64(v) << b.n
	b.n += k
	for b.n >= 8 {
		if err := b.w.WriteByte(byte(b.bits)); err != nil && b.err == nil {
			b.err = err
		}
		b.bits >>= 8
		b.n -= 8
	}
}

// flushBits writes a partly filled last byte; callers pad to a byte first.
func (b *bitWriter) flushBits() error {
	if b.n > 0 {
		b.w.WriteByte(byte(b.bits))
		b.bits, b.n = 0, 0
	}
	return b.err
}
