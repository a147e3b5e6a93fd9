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
	r := bufio.NewReaderSize(zr, 64<<10)
	var m [3]byte
	if _, err := io.ReadFull(r, m[:]); err != nil || string(m[:]) != magic {
		return 0, formatErr("not a %s delta", Format)
	}
	size, err := binary.ReadUvarint(r)
	if err != nil || size > uint64(limit) {
		return 0, formatErr("it rebuilds %d bytes, more than the %d expected", size, limit)
	}
	buf := make([]byte, 256<<10)
	var out, bpos int64
	for {
		op, err := r.ReadByte()
		if err != nil {
			return out, formatErr("truncated (%v)", err)
		}
		if op == opEnd {
			break
		}
		if op > opDiff {
			return out, formatErr("unknown operation %d", op)
		}
		if op != opAdd {
			seek, err := binary.ReadVarint(r)
			if err != nil {
				return out, formatErr("bad seek")
			}
			bpos += seek
		}
		n64, err := binary.ReadUvarint(r)
		if err != nil || n64 == 0 || n64 > size-uint64(out) {
			return out, formatErr("an operation of %d bytes at %d of %d", n64, out, size)
		}
		n := int64(n64)
		if op != opAdd && (bpos < 0 || bpos > baseSize-n) {
			return out, formatErr("reads %d bytes at %d of a %d-byte base", n, bpos, baseSize)
		}
		for left := n; left > 0; {
			k := min(left, int64(len(buf)))
			b := buf[:k]
			switch op {
			case opAdd:
				if _, err := io.ReadFull(r, b); err != nil {
					return out, formatErr("truncated new bytes")
				}
			case opCopy:
				if _, err := base.ReadAt(b, bpos); err != nil {
					return out, fmt.Errorf("read base: %w", err)
				}
			case opDiff:
				if _, err := base.ReadAt(b, bpos); err != nil {
					return out, fmt.Errorf("read base: %w", err)
				}
				for i := range b {
					c, err := r.ReadByte()
					if err != nil {
						return out, formatErr("truncated differences")
					}
					b[i] += c
				}
			}
			if op != opAdd {
				bpos += k
			}
			if _, err := w.Write(b); err != nil {
				return out, err
			}
			out += k
			left -= k
		}
	}
	if uint64(out) != size {
		return out, formatErr("rebuilt %d bytes of %d", out, size)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		return out, formatErr("data after the end")
	}
	return out, nil
}
