package packages

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"runtime"
	"sort"
	"sync"

	"github.com/ferrydeploy/ferry/internal/archive"
	"github.com/ferrydeploy/ferry/internal/packages/expand"
)

// IngestStats say what an ingest did.
type IngestStats struct {
	Chunks    int   `json:"chunks"`
	NewChunks int   `json:"newChunks"`
	NewBytes  int64 `json:"newBytes"` // bytes of chunks not stored before
}

// Ingest cuts the package file into chunks, stores the new ones in cs (or
// only hashes them when cs is nil) and returns its manifest. It reads the
// file in a streaming way, so memory does not grow with its size: the
// whole-file SHA-256, chunk hashing and (for tar.gz) recompression run on
// separate goroutines.
func Ingest(file string, cs *Chunks) (*Manifest, IngestStats, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, IngestStats{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, IngestStats{}, err
	}
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	head = head[:n]

	m := &Manifest{Chunker: ChunkerVersion, Size: fi.Size(), Format: "file"}
	wholeDone := make(chan error, 1)
	go func() { // the package's own SHA-256, on its own reader
		g, err := os.Open(file)
		if err != nil {
			wholeDone <- err
			return
		}
		defer g.Close()
		h := sha256.New()
		_, err = io.Copy(h, bufio.NewReaderSize(g, 1<<20))
		h.Sum(m.SHA256[:0])
		wholeDone <- err
	}()

	var st IngestStats
	switch archive.Detect(head) {
	case archive.Zip:
		m.Format = "zip"
		bounds, err := zipBounds(f, fi.Size())
		if err != nil {
			m.Note = "not a readable zip archive; stored as plain bytes: " + err.Error()
		}
		m.Chunks, st, err = chunkStream(section(f, fi.Size()), bounds, cs)
		if err != nil {
			return nil, st, err
		}
	case archive.TarGz:
		m.Format = "gzip"
		if ok, err := ingestGzip(f, fi.Size(), m, cs, &st); err != nil {
			return nil, st, err
		} else if !ok {
			m.Chunks, st, err = chunkStream(section(f, fi.Size()), nil, cs)
			if err != nil {
				return nil, st, err
			}
		}
	case archive.Tar:
		m.Format = "tar"
		fallthrough
	default:
		m.Chunks, st, err = chunkStream(section(f, fi.Size()), nil, cs)
		if err != nil {
			return nil, st, err
		}
	}
	if err := <-wholeDone; err != nil {
		return nil, st, err
	}
	if m.Gzip == nil && m.Stored() != m.Size {
		return nil, st, fmt.Errorf("the file changed while it was read")
	}
	return m, st, nil
}

func section(f *os.File, size int64) io.Reader {
	return bufio.NewReaderSize(io.NewSectionReader(f, 0, size), 1<<20)
}

// zipBounds returns the offsets where each entry's compressed data starts
// and ends, so chunks can follow entries: an unchanged entry's compressed
// bytes are identical from version to version. It reads the central
// directory as a stream (expand.ZipEntries), so memory is 16 bytes per
// entry here, not what archive/zip keeps per file.
func zipBounds(f *os.File, size int64) ([]int64, error) {
	entries, err := expand.ZipEntries(f, size)
	if err != nil {
		return nil, err
	}
	b := make([]int64, 0, 2*len(entries))
	for _, e := range entries {
		b = append(b, e.Data, e.Data+e.Size)
	}
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	return b, nil
}

// chunkStream cuts r into chunks, hashing and storing them on worker
// goroutines while the next chunks are cut.
func chunkStream(r io.Reader, bounds []int64, cs *Chunks) ([]ChunkRef, IngestStats, error) {
	type job struct {
		idx int
		buf *[]byte
	}
	type result struct {
		idx   int
		hash  Hash
		size  int64
		isNew bool
		err   error
	}
	workers := max(1, runtime.GOMAXPROCS(0))
	pool := sync.Pool{New: func() any { b := make([]byte, 0, MaxChunk); return &b }}
	jobs := make(chan job, 4*workers)
	results := make(chan result, 4*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				res := result{idx: j.idx, hash: sha256.Sum256(*j.buf), size: int64(len(*j.buf))}
				if cs != nil {
					res.isNew, res.err = cs.Put(res.hash, *j.buf)
				}
				pool.Put(j.buf)
				results <- res
			}
		}()
	}
	var refs []ChunkRef
	var st IngestStats
	var firstErr error
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for res := range results {
			for len(refs) <= res.idx {
				refs = append(refs, ChunkRef{})
			}
			refs[res.idx] = ChunkRef{Hash: res.hash, Size: res.size}
			if res.err != nil && firstErr == nil {
				firstErr = res.err
			}
			if res.isNew {
				st.NewChunks++
				st.NewBytes += res.size
			}
		}
	}()
	c := newChunker(r, bounds)
	var readErr error
	for idx := 0; ; idx++ {
		chunk, err := c.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		b := pool.Get().(*[]byte)
		*b = append((*b)[:0], chunk...)
		jobs <- job{idx, b}
	}
	close(jobs)
	wg.Wait()
	close(results)
	<-collected
	st.Chunks = len(refs)
	if readErr != nil {
		return nil, st, readErr
	}
	if refs == nil {
		refs = []ChunkRef{}
	}
	return refs, st, firstErr
}

// ingestGzip chunks the decompressed content of a single-member gzip file
// when Go's compress/flate at some level reproduces its deflate stream
// exactly; that is checked over the whole file while chunking. It returns
// false, with m.Note saying why, when the file must be chunked raw.
func ingestGzip(f *os.File, size int64, m *Manifest, cs *Chunks, st *IngestStats) (bool, error) {
	hdr, err := gzipHeader(io.NewSectionReader(f, 0, min(size, 64<<10)))
	if err != nil {
		m.Note = "gzip header not understood (" + err.Error() + "); stored as compressed bytes"
		return false, nil
	}
	level, ok, head := detectLevel(f, size, hdr)
	if !ok {
		m.Note = "the gzip stream was not made by a compressor ferry can reproduce byte for byte (Go compress/flate levels 1-9); stored as compressed bytes, so a changed version transfers less efficiently"
		return false, nil
	}
	// Decompress once; feed the bytes to the chunker and, on the side, to a
	// compressor whose output is compared with the original stream.
	cr := &countReader{r: bufio.NewReaderSize(io.NewSectionReader(f, int64(len(hdr)), size-int64(len(hdr))), 1<<20)}
	fr := flate.NewReader(cr)
	check := newRecompressCheck(io.NewSectionReader(f, int64(len(hdr)), size-int64(len(hdr))), level)
	crc := crc32.NewIEEE()
	// A gzip file that expands enormously (a bomb) is stored as it is
	// once it passes 64 times its size: decompressing it would cost time
	// and disk out of proportion to the file.
	limit := max(64*size, 64<<20)
	expanded := &countReader{r: io.TeeReader(&boundedReader{r: fr, left: limit}, io.MultiWriter(check, crc))}
	refs, s, err := chunkStream(expanded, nil, cs)
	*st = s
	if err != nil {
		check.abort()
		m.Note = "the gzip stream is damaged (" + err.Error() + "); stored as compressed bytes"
		if errors.Is(err, errExpandsTooMuch) {
			m.Note = "the gzip stream " + err.Error() + "; stored as compressed bytes"
		}
		return false, nil
	}
	deflateLen := cr.n
	same := check.finish(deflateLen)
	var trailer [8]byte
	if _, err := f.ReadAt(trailer[:], int64(len(hdr))+deflateLen); err != nil {
		m.Note = "the gzip trailer is missing; stored as compressed bytes"
		return false, nil
	}
	switch {
	case binary.LittleEndian.Uint32(trailer[:4]) != crc.Sum32() || binary.LittleEndian.Uint32(trailer[4:]) != uint32(expanded.n):
		m.Note = "the gzip trailer does not match the content; stored as compressed bytes"
		return false, nil
	case int64(len(hdr))+deflateLen+8 != size:
		m.Note = "the file has data after its first gzip member; stored as compressed bytes"
		return false, nil
	case !same:
		m.Note = fmt.Sprintf("recompressing at level %d did not reproduce the file byte for byte; stored as compressed bytes", level)
		return false, nil
	}
	if archive.Detect(head) == archive.Tar {
		m.Format = "tar.gz"
	}
	m.Chunks = refs
	m.Gzip = &GzipRecipe{Header: hdr, Level: level, Expanded: expanded.n}
	return true, nil
}

// gzipHeader returns the raw bytes of a gzip member header (RFC 1952).
func gzipHeader(r io.Reader) ([]byte, error) {
	br := bufio.NewReader(r)
	var h bytes.Buffer
	fixed := make([]byte, 10)
	if _, err := io.ReadFull(br, fixed); err != nil {
		return nil, err
	}
	if fixed[0] != 0x1f || fixed[1] != 0x8b || fixed[2] != 8 {
		return nil, errors.New("not a deflate gzip member")
	}
	h.Write(fixed)
	flg := fixed[3]
	if flg&0xe0 != 0 {
		return nil, errors.New("reserved flags set")
	}
	if flg&4 != 0 { // FEXTRA
		var l [2]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return nil, err
		}
		h.Write(l[:])
		if _, err := io.CopyN(&h, br, int64(binary.LittleEndian.Uint16(l[:]))); err != nil {
			return nil, err
		}
	}
	for _, bit := range []byte{8, 16} { // FNAME, FCOMMENT
		if flg&bit != 0 {
			s, err := br.ReadBytes(0)
			if err != nil {
				return nil, err
			}
			h.Write(s)
		}
	}
	if flg&2 != 0 { // FHCRC
		if _, err := io.CopyN(&h, br, 2); err != nil {
			return nil, err
		}
	}
	return h.Bytes(), nil
}

// detectLevel finds the compress/flate level that reproduces the start of
// the deflate stream, trying the level the header hints at first.
func detectLevel(f *os.File, size int64, hdr []byte) (level int, ok bool, head []byte) {
	const sample = 1 << 20
	fr := flate.NewReader(bufio.NewReader(io.NewSectionReader(f, int64(len(hdr)), size-int64(len(hdr)))))
	plain, err := io.ReadAll(io.LimitReader(fr, sample))
	if err != nil {
		return 0, false, nil
	}
	head = plain[:min(len(plain), 512)]
	_, err = fr.Read(make([]byte, 1))
	whole := err == io.EOF // the sample is all there is
	orig := make([]byte, min(size-int64(len(hdr)), 4<<20))
	n, _ := f.ReadAt(orig, int64(len(hdr)))
	orig = orig[:n]
	levels := []int{6, 9, 1, 5, 4, 7, 8, 3, 2}
	switch hdr[8] { // XFL: what Go's gzip writes for its levels
	case 2:
		levels = []int{9}
	case 4:
		levels = []int{1}
	}
	for _, lv := range levels {
		var out bytes.Buffer
		w, _ := flate.NewWriter(&out, lv)
		w.Write(plain)
		w.Close()
		got := out.Bytes()
		if whole {
			if len(orig) >= len(got) && bytes.Equal(got, orig[:len(got)]) {
				return lv, true, head
			}
			continue
		}
		// The sample's last block differs from the full stream's; compare
		// what comes before it.
		k := len(got) / 2
		if k > 64 && len(orig) >= k && bytes.Equal(got[:k], orig[:k]) {
			return lv, true, head
		}
	}
	return 0, false, head
}

// errExpandsTooMuch stops decompressing a gzip file that expands past its
// bound.
var errExpandsTooMuch = errors.New("it expands to more than 64 times its size")

type boundedReader struct {
	r    io.Reader
	left int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errExpandsTooMuch
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ReadByte lets flate read exactly the deflate stream and no further, so the
// count says where the stream ends.
func (c *countReader) ReadByte() (byte, error) {
	br := c.r.(io.ByteReader)
	b, err := br.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// recompressCheck compresses what is written to it on its own goroutine and
// compares the output with the original deflate stream.
type recompressCheck struct {
	in   chan []byte
	done chan int64 // bytes that matched; -1 when they differ
}

func newRecompressCheck(orig io.Reader, level int) *recompressCheck {
	c := &recompressCheck{in: make(chan []byte, 32), done: make(chan int64, 1)}
	go func() {
		cmp := &compareWriter{orig: bufio.NewReaderSize(orig, 1<<20)}
		fw, _ := flate.NewWriter(cmp, level)
		for b := range c.in {
			if !cmp.differs {
				fw.Write(b)
			}
		}
		fw.Close()
		if cmp.differs {
			c.done <- -1
		} else {
			c.done <- cmp.n
		}
	}()
	return c
}

func (c *recompressCheck) Write(p []byte) (int, error) {
	c.in <- append([]byte(nil), p...)
	return len(p), nil
}

func (c *recompressCheck) abort() { close(c.in); <-c.done }

// finish reports whether the recompressed stream equals the original's
// first deflateLen bytes exactly.
func (c *recompressCheck) finish(deflateLen int64) bool {
	close(c.in)
	return <-c.done == deflateLen
}

type compareWriter struct {
	orig    *bufio.Reader
	n       int64
	differs bool
	buf     []byte
}

func (w *compareWriter) Write(p []byte) (int, error) {
	if w.differs {
		return len(p), nil
	}
	if cap(w.buf) < len(p) {
		w.buf = make([]byte, len(p))
	}
	b := w.buf[:len(p)]
	if _, err := io.ReadFull(w.orig, b); err != nil || !bytes.Equal(b, p) {
		w.differs = true
		return len(p), nil
	}
	w.n += int64(len(p))
	return len(p), nil
}
