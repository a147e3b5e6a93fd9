// Package delta is a byte-level delta between two versions of a file:
// copies from the version the receiver holds (the base), byte-wise
// differences against it, and new bytes, compressed with zstd. It needs no
// round trip (the sender holds both versions), and applying one needs only
// random reads of the base and constant memory, so a gigabyte rebuilds in a
// few megabytes. Transfer files carry one per changed package, over the
// packages' expanded forms (package expand); the representation knows
// nothing of packages, so anything that sends one version of a file to a
// holder of another (agents too) can use it.
//
// A delta (Format) is one zstd stream (RFC 8878) of:
//
//	"FD1" uvarint(target size) ops... 0x00
//	ADD  0x01 uvarint(n) n bytes                 the next n bytes as given
//	COPY 0x02 svarint(seek) uvarint(n)           n bytes of the base
//	DIFF 0x03 svarint(seek) uvarint(n) n bytes   n bytes of the base, each plus the given byte (mod 256)
//
// where COPY and DIFF read the base from the end of the previous COPY or
// DIFF moved by seek (0 at the start). The encoder finds matches through
// content-defined anchors (a gear hash), verifies them byte for byte,
// extends them both ways, and, as bsdiff does, carries on across bytes
// that differ while most still match, so a timestamp changed inside an
// otherwise equal stretch costs a few bytes of DIFF, not a new match.
// Where a match ends it first looks a few bytes on at alignments a few
// bytes away (as zstd's repeat offsets do): a token stream's structure
// shifts by a byte or two where a header changed.
package delta

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// Format names the delta representation.
const Format = "ferry-delta-1"

const (
	opEnd  = 0x00
	opAdd  = 0x01
	opCopy = 0x02
	opDiff = 0x03
	magic  = "FD1"

	// window bounds zstd's window, and so the decoder's memory.
	window = 2 << 20
)

// ErrFormat is returned by Apply for input that is not a well-formed delta
// for the given base.
var ErrFormat = errors.New("malformed delta")

func formatErr(f string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(f, a...))
}

// Apply reads a delta from d and writes the file it rebuilds from base
// (baseSize bytes) to w. The delta is untrusted: every length and seek is
// checked against the base and against limit (the most the caller will
// accept), a delta that would write more than limit or stops early is
// ErrFormat, memory is bounded by zstd's window (at most 4 MiB) and a 256
// KiB buffer, and the work is linear in what is written. It returns the
// number of bytes written.
func Apply(base io.ReaderAt, baseSize int64, d io.Reader, w io.Writer, limit int64) (int64, error) {
	zr, err := zstd.NewReader(d, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(2*window), zstd.WithDecoderMaxMemory(2*window))
	if err != nil {
		return 0, err
	}
	defer zr.Close()
	a := &applier{r: bufio.NewReaderSize(zr, 64<<10), base: base, baseSize: baseSize, w: w}
	if err := a.readHeader(limit); err != nil {
		return 0, err
	}
	a.buf = make([]byte, 256<<10)
	for {
		op, err := a.r.ReadByte()
		if err != nil {
			return a.out, formatErr("truncated (%v)", err)
		}
		if op == opEnd {
			break
		}
		if err := a.apply(op); err != nil {
			return a.out, err
		}
	}
	if uint64(a.out) != a.size {
		return a.out, formatErr("rebuilt %d bytes of %d", a.out, a.size)
	}
	if _, err := a.r.ReadByte(); err != io.EOF {
		return a.out, formatErr("data after the end")
	}
	return a.out, nil
}

// applier is Apply's state: the decompressed delta, the base, and how far
// both have been read and the target written.
type applier struct {
	r        *bufio.Reader
	base     io.ReaderAt
	baseSize int64
	w        io.Writer
	buf      []byte
	size     uint64 // of the target, as the delta declares
	out      int64  // target bytes written
	bpos     int64  // base position after the last COPY or DIFF
}

// readHeader reads the magic and the target's size, at most limit.
func (a *applier) readHeader(limit int64) error {
	var m [3]byte
	if _, err := io.ReadFull(a.r, m[:]); err != nil || string(m[:]) != magic {
		return formatErr("not a %s delta", Format)
	}
	size, err := binary.ReadUvarint(a.r)
	if err != nil || size > uint64(limit) {
		return formatErr("it rebuilds %d bytes, more than the %d expected", size, limit)
	}
	a.size = size
	return nil
}

// apply reads the operands of one operation (op, not opEnd), checks them
// against the base and the declared size, and writes what it rebuilds.
func (a *applier) apply(op byte) error {
	r := a.r
	if op > opDiff {
		return formatErr("unknown operation %d", op)
	}
	if op != opAdd {
		seek, err := binary.ReadVarint(r)
		if err != nil {
			return formatErr("bad seek")
		}
		a.bpos += seek
	}
	n64, err := binary.ReadUvarint(r)
	if err != nil || n64 == 0 || n64 > a.size-uint64(a.out) {
		return formatErr("an operation of %d bytes at %d of %d", n64, a.out, a.size)
	}
	n := int64(n64)
	if op != opAdd && (a.bpos < 0 || a.bpos > a.baseSize-n) {
		return formatErr("reads %d bytes at %d of a %d-byte base", n, a.bpos, a.baseSize)
	}
	for left := n; left > 0; {
		k := min(left, int64(len(a.buf)))
		b := a.buf[:k]
		switch op {
		case opAdd:
			if _, err := io.ReadFull(r, b); err != nil {
				return formatErr("truncated new bytes")
			}
		case opCopy:
			if _, err := a.base.ReadAt(b, a.bpos); err != nil {
				return fmt.Errorf("read base: %w", err)
			}
		case opDiff:
			if _, err := a.base.ReadAt(b, a.bpos); err != nil {
				return fmt.Errorf("read base: %w", err)
			}
			for i := range b {
				c, err := r.ReadByte()
				if err != nil {
					return formatErr("truncated differences")
				}
				b[i] += c
			}
		}
		if op != opAdd {
			a.bpos += k
		}
		if _, err := a.w.Write(b); err != nil {
			return err
		}
		a.out += k
		left -= k
	}
	return nil
}
