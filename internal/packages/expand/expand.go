// Package expand turns a package file into its expanded form — the same
// bytes with every deflate stream it can find (zip, jar and nupkg entries,
// gzip members) in puff's token form — and restores the file from it, byte
// for byte. Two versions of a compressed package are far more alike
// expanded than as they are: an unchanged entry is the same tokens, a
// changed one differs where its content does, and a byte-level delta
// (package delta) finds the rest. See docs/transfer-format.md.
//
// The expanded form (Version) is a sequence of segments:
//
//	'R' uvarint(n) n bytes     raw bytes of the file
//	'D' token stream           a deflate stream in puff's form
//
// Which deflate streams are expanded is decided when expanding; Restore
// needs no knowledge of the file's format, so a target restores whatever a
// source expanded, and both sides expanding the same file get the same
// bytes.
package expand

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/ferrydeploy/ferry/internal/packages/puff"
)

// Version names the expanded form and the rules that choose what is
// expanded; both sides of a delta must expand alike.
const Version = "ferry-expand-1"

const (
	tagRaw     = 'R'
	tagDeflate = 'D'
)

// Stats say what expanding found.
type Stats struct {
	Size     int64 // of the expanded form
	Streams  int   // deflate streams expanded
	Refused  int   // candidate streams left raw (not deflate, or not whole)
	RawBytes int64
}

// File writes the expanded form of the file src (size bytes) to dst, which
// must be empty: a candidate stream that turns out not to be deflate is
// taken back by truncating dst and written raw instead. Memory does not
// grow with the file's size beyond 24 bytes per zip entry.
func File(src io.ReaderAt, size int64, dst *os.File) (Stats, error) {
	e := &expander{src: src, size: size, f: dst, w: bufio.NewWriterSize(dst, 1<<20), r: bufio.NewReaderSize(nil, 256<<10)}
	var head [4]byte
	n, _ := src.ReadAt(head[:], 0)
	var err error
	switch {
	case n >= 4 && string(head[:4]) == "PK\x03\x04":
		err = e.zip()
	case n >= 3 && head[0] == 0x1f && head[1] == 0x8b && head[2] == 8:
		err = e.gzip()
	default:
		err = e.raw(size)
	}
	if err == nil {
		err = e.raw(size - e.pos) // whatever is left
	}
	if ferr := e.w.Flush(); err == nil {
		err = ferr
	}
	e.st.Size = e.out
	return e.st, err
}

type expander struct {
	src  io.ReaderAt
	size int64
	f    *os.File
	w    *bufio.Writer
	r    *bufio.Reader // reused for every stream
	pos  int64         // of src expanded so far
	out  int64         // bytes written to f
	st   Stats
}

func (e *expander) raw(n int64) error {
	if n <= 0 {
		return nil
	}
	var hdr [1 + binary.MaxVarintLen64]byte
	hdr[0] = tagRaw
	k := binary.PutUvarint(hdr[1:], uint64(n))
	e.w.Write(hdr[:1+k])
	if _, err := io.Copy(e.w, io.NewSectionReader(e.src, e.pos, n)); err != nil {
		return err
	}
	e.pos += n
	e.out += int64(1+k) + n
	e.st.RawBytes += n
	return nil
}

// deflate expands the deflate stream at pos that should end by end (the
// stream may end earlier; the rest is left for the next segment). It
// reports whether it did; when the bytes are not one deflate stream it
// leaves pos and the output as they were.
func (e *expander) deflate(end int64) (bool, error) {
	if err := e.w.Flush(); err != nil {
		return false, err
	}
	start := e.out
	e.w.WriteByte(tagDeflate)
	e.r.Reset(io.NewSectionReader(e.src, e.pos, end-e.pos))
	res, err := puff.Puff(e.r, e.w)
	if err == nil {
		err = e.w.Flush()
	}
	if err != nil {
		if !errors.Is(err, puff.ErrFormat) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return false, err
		}
		// Not deflate after all: take back what was written.
		e.w.Reset(e.f)
		if err := e.f.Truncate(start); err != nil {
			return false, err
		}
		if _, err := e.f.Seek(start, io.SeekStart); err != nil {
			return false, err
		}
		e.st.Refused++
		return false, nil
	}
	e.out = start + 1 + res.Out
	e.pos += res.In
	e.st.Streams++
	return true, nil
}

// zip expands every deflated entry, found through the central directory.
func (e *expander) zip() error {
	entries, err := ZipEntries(e.src, e.size)
	if err != nil {
		return nil // not a zip ferry can read: raw
	}
	for _, en := range entries {
		if en.Method != 8 || en.Data < e.pos || en.Size == 0 || en.Data+en.Size > e.size {
			continue
		}
		if err := e.raw(en.Data - e.pos); err != nil {
			return err
		}
		if _, err := e.deflate(en.Data + en.Size); err != nil {
			return err
		}
	}
	return nil
}

// gzip expands each member's deflate stream (RFC 1952); anything after the
// last member it understands is left raw.
func (e *expander) gzip() error {
	for e.size-e.pos >= 18 {
		var magic [3]byte
		if _, err := e.src.ReadAt(magic[:], e.pos); err != nil || magic != [3]byte{0x1f, 0x8b, 8} {
			return nil
		}
		hl, err := gzipHeaderLen(io.NewSectionReader(e.src, e.pos, min(e.size-e.pos, 1<<20)))
		if err != nil {
			return nil
		}
		if err := e.raw(int64(hl)); err != nil {
			return err
		}
		ok, err := e.deflate(e.size)
		if err != nil || !ok {
			return err
		}
		if err := e.raw(min(8, e.size-e.pos)); err != nil { // CRC-32 and length
			return err
		}
	}
	return nil
}

// gzipHeaderLen returns the length of the gzip member header at r.
func gzipHeaderLen(r io.Reader) (int, error) {
	br := bufio.NewReader(r)
	var fixed [10]byte
	if _, err := io.ReadFull(br, fixed[:]); err != nil {
		return 0, err
	}
	n := 10
	flg := fixed[3]
	if flg&0xe0 != 0 {
		return 0, errors.New("reserved flags set")
	}
	if flg&4 != 0 { // FEXTRA
		var l [2]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return 0, err
		}
		x := int(binary.LittleEndian.Uint16(l[:]))
		if _, err := br.Discard(x); err != nil {
			return 0, err
		}
		n += 2 + x
	}
	for _, bit := range []byte{8, 16} { // FNAME, FCOMMENT
		if flg&bit != 0 {
			s, err := br.ReadBytes(0)
			if err != nil {
				return 0, err
			}
			n += len(s)
		}
	}
	if flg&2 != 0 { // FHCRC
		n += 2
	}
	return n, nil
}

// ZipEntry is where a zip entry's data lies.
type ZipEntry struct {
	Data   int64 // offset of the entry's compressed data
	Size   int64 // of the compressed data
	Method uint16
}

// ZipEntries reads the central directory (zip64 too) and returns where
// each entry's data lies, in file order, reading each local header's name
// and extra lengths to find it. It keeps 24 bytes per entry (the standard
// library's reader keeps some hundreds, which for 100,000 entries is tens
// of megabytes).
func ZipEntries(r io.ReaderAt, size int64) ([]ZipEntry, error) {
	tail := min(size, 65535+22)
	buf := make([]byte, tail)
	if _, err := r.ReadAt(buf, size-tail); err != nil {
		return nil, err
	}
	eocd := -1
	for i := len(buf) - 22; i >= 0; i-- {
		if binary.LittleEndian.Uint32(buf[i:]) == 0x06054b50 {
			eocd = i
			break
		}
	}
	if eocd < 0 {
		return nil, errors.New("no end of central directory")
	}
	count := int64(binary.LittleEndian.Uint16(buf[eocd+10:]))
	cdSize := int64(binary.LittleEndian.Uint32(buf[eocd+12:]))
	cdOff := int64(binary.LittleEndian.Uint32(buf[eocd+16:]))
	if eocd >= 20 && binary.LittleEndian.Uint32(buf[eocd-20:]) == 0x07064b50 { // zip64 locator
		off := int64(binary.LittleEndian.Uint64(buf[eocd-20+8:]))
		var z [56]byte
		if _, err := r.ReadAt(z[:], off); err != nil || binary.LittleEndian.Uint32(z[:]) != 0x06064b50 {
			return nil, errors.New("bad zip64 end of central directory")
		}
		count = int64(binary.LittleEndian.Uint64(z[32:]))
		cdSize = int64(binary.LittleEndian.Uint64(z[40:]))
		cdOff = int64(binary.LittleEndian.Uint64(z[48:]))
	}
	if cdOff < 0 || cdSize < 0 || cdOff+cdSize > size || count > cdSize/46 {
		return nil, errors.New("central directory out of range")
	}
	cd := bufio.NewReaderSize(io.NewSectionReader(r, cdOff, cdSize), 256<<10)
	out := make([]ZipEntry, 0, count)
	var h [46]byte
	for i := int64(0); i < count; i++ {
		if _, err := io.ReadFull(cd, h[:]); err != nil || binary.LittleEndian.Uint32(h[:]) != 0x02014b50 {
			return nil, errors.New("bad central directory entry")
		}
		method := binary.LittleEndian.Uint16(h[10:])
		csize := int64(binary.LittleEndian.Uint32(h[20:]))
		usize := int64(binary.LittleEndian.Uint32(h[24:]))
		nameLen, extraLen, commentLen := int(binary.LittleEndian.Uint16(h[28:])), int(binary.LittleEndian.Uint16(h[30:])), int(binary.LittleEndian.Uint16(h[32:]))
		local := int64(binary.LittleEndian.Uint32(h[42:]))
		if _, err := cd.Discard(nameLen); err != nil {
			return nil, err
		}
		extra := make([]byte, extraLen)
		if _, err := io.ReadFull(cd, extra); err != nil {
			return nil, err
		}
		if _, err := cd.Discard(commentLen); err != nil {
			return nil, err
		}
		// zip64 extended information: the fields that are 0xFFFFFFFF, in order.
		for x := extra; len(x) >= 4; {
			id, n := binary.LittleEndian.Uint16(x), int(binary.LittleEndian.Uint16(x[2:]))
			if 4+n > len(x) {
				break
			}
			if id == 1 {
				f := x[4 : 4+n]
				take := func(v *int64) {
					if *v == 0xFFFFFFFF && len(f) >= 8 {
						*v = int64(binary.LittleEndian.Uint64(f))
						f = f[8:]
					}
				}
				take(&usize)
				take(&csize)
				take(&local)
			}
			x = x[4+n:]
		}
		var lh [30]byte
		if local < 0 || local+30 > size {
			return nil, errors.New("local header out of range")
		}
		if _, err := r.ReadAt(lh[:], local); err != nil || binary.LittleEndian.Uint32(lh[:]) != 0x04034b50 {
			return nil, errors.New("bad local header")
		}
		data := local + 30 + int64(binary.LittleEndian.Uint16(lh[26:])) + int64(binary.LittleEndian.Uint16(lh[28:]))
		out = append(out, ZipEntry{Data: data, Size: csize, Method: method})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Data < out[j].Data })
	return out, nil
}

// ErrFormat is returned by Restore for input that is not an expanded form.
var ErrFormat = errors.New("not an expanded package")

// Restore reads an expanded form from r and writes the file it describes
// to w. The input is untrusted: it fails with ErrFormat (or puff.ErrFormat)
// on anything malformed and before writing more than limit bytes; memory
// is constant and the work linear in the input.
func Restore(r io.Reader, w io.Writer, limit int64) error {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 256<<10)
	}
	lw := &limitWriter{w: w, left: limit}
	bw := bufio.NewWriterSize(lw, 256<<10)
	for {
		tag, err := br.ReadByte()
		if err == io.EOF {
			return bw.Flush()
		}
		if err != nil {
			return err
		}
		switch tag {
		case tagRaw:
			n, err := binary.ReadUvarint(br)
			if err != nil {
				return fmt.Errorf("%w: bad raw segment length", ErrFormat)
			}
			if n > uint64(lw.left) {
				return fmt.Errorf("%w: the file would be longer than %d bytes", ErrFormat, limit)
			}
			if n > uint64(lw.left-int64(bw.Buffered())) {
				return fmt.Errorf("%w: the file would be longer than %d bytes", ErrFormat, limit)
			}
			if _, err := io.CopyN(bw, br, int64(n)); err != nil {
				if err == io.EOF {
					err = fmt.Errorf("%w: truncated raw segment", ErrFormat)
				}
				return err
			}
		case tagDeflate:
			if err := puff.Huff(br, bw); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: unknown segment %q", ErrFormat, tag)
		}
	}
}

// ErrTooLong is returned when a restored file would pass its limit.
var ErrTooLong = errors.New("longer than declared")

type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		return 0, fmt.Errorf("%w: the restored file is %w", ErrFormat, ErrTooLong)
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	return n, err
}
