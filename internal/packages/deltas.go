package packages

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/packages/delta"
	"github.com/ferrydeploy/ferry/internal/packages/expand"
	"github.com/ferrydeploy/ferry/internal/packages/puff"
)

// A package a target holds an earlier version of travels, in schema 2, as
// a delta from that version (docs/transfer-format.md, "Deltas"): both
// sides rebuild the base and expand it (package expand: deflate streams in
// puff's token form), the source encodes the new version's expanded form
// against it (package delta), and the target applies the delta, restores
// the file from the expanded form, checks its SHA-256 and ingests it as if
// it had been pushed. All of it streams through temporary files: memory
// does not grow with the package.

// DeltaRecipe says how a transfer file's delta rebuilds a package.
type DeltaRecipe struct {
	// Base is the position (from 1) in the file's assumed packages of the
	// version the delta is from.
	Base int `json:"base"`
	// Expansion and Format name the expanded form and the delta encoding
	// (expand.Version, delta.Format).
	Expansion string `json:"expansion"`
	Format    string `json:"format"`
	// BaseExpanded is the base's expanded form, which the target computes
	// and checks before applying the delta; Expanded the new version's,
	// which the delta rebuilds.
	BaseExpanded Blob `json:"baseExpanded"`
	Expanded     Blob `json:"expanded"`
	// Entry is the transfer file's tar entry holding the delta, and Delta
	// its size and SHA-256.
	Entry string `json:"entry"`
	Delta Blob   `json:"delta"`
}

// Blob is a size and a SHA-256.
type Blob struct {
	Size   int64 `json:"size"`
	SHA256 Hash  `json:"sha256"`
}

// deltaFile is a delta computed for an export, in a temporary file until
// the transfer file is written.
type deltaFile struct {
	path   string
	recipe DeltaRecipe
	stats  delta.Stats
}

// tempPath names a new temporary file in the service's folder.
func (s *Service) tempPath(kind string) string {
	var rnd [8]byte
	rand.Read(rnd[:])
	return filepath.Join(s.tmp, kind+"-"+hex.EncodeToString(rnd[:]))
}

// rebuildTo writes the package m describes to a new temporary file.
func (s *Service) rebuildTo(m *Manifest) (string, error) {
	p := s.tempPath("rebuild")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	err = Rebuild(m, s.chunks, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p)
		return "", err
	}
	return p, nil
}

// expandTo writes the expanded form of the file at src to a new temporary
// file and returns its path, size and SHA-256.
func (s *Service) expandTo(src string) (string, Blob, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", Blob{}, err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return "", Blob{}, err
	}
	p := s.tempPath("expanded")
	out, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", Blob{}, err
	}
	defer out.Close()
	fail := func(err error) (string, Blob, error) { os.Remove(p); return "", Blob{}, err }
	st, err := expand.File(in, fi.Size(), out)
	if err != nil {
		return fail(fmt.Errorf("expand package: %w", err))
	}
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, bufio.NewReaderSize(out, 1<<20))
	if err != nil {
		return fail(err)
	}
	if n != st.Size {
		return fail(fmt.Errorf("expanded form is %d bytes, expected %d", n, st.Size))
	}
	b := Blob{Size: n}
	h.Sum(b.SHA256[:0])
	return p, b, nil
}

// makeDelta computes the delta from the package base to next, both in this
// space's feed. It checks on the way that the new version's expanded form
// restores to exactly the package, so the target can rebuild it.
func (s *Service) makeDelta(base, next *Manifest) (df *deltaFile, err error) {
	var tmp []string
	defer func() {
		for _, p := range tmp {
			os.Remove(p)
		}
	}()
	step := func(p string, err error) (string, error) {
		if p != "" {
			tmp = append(tmp, p)
		}
		return p, err
	}
	baseFile, err := step(s.rebuildTo(base))
	if err != nil {
		return nil, err
	}
	nextFile, err := step(s.rebuildTo(next))
	if err != nil {
		return nil, err
	}
	bx, bb, err := s.expandTo(baseFile)
	if _, err2 := step(bx, err); err2 != nil {
		return nil, err2
	}
	nx, nb, err := s.expandTo(nextFile)
	if _, err2 := step(nx, err); err2 != nil {
		return nil, err2
	}
	if err := restoresTo(nx, next); err != nil {
		return nil, err
	}
	bmap, bunmap, err := mapFile(bx)
	if err != nil {
		return nil, err
	}
	defer bunmap()
	nmap, nunmap, err := mapFile(nx)
	if err != nil {
		return nil, err
	}
	defer nunmap()
	p := s.tempPath("delta")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	// Pages of the two maps the encoder is done with are dropped as it
	// goes, so the server's resident memory stays near the encoder's
	// window, not the two files.
	release := func(inBase bool, from, to int) {
		m := nmap
		if inBase {
			m = bmap
		}
		page := os.Getpagesize()
		from = (from + page - 1) / page * page
		to = to / page * page
		if from < to {
			syscall.Madvise(m[from:to], syscall.MADV_DONTNEED)
		}
	}
	st, err := delta.Encode(bmap, nmap, cw, release)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p)
		return nil, fmt.Errorf("encode delta: %w", err)
	}
	df = &deltaFile{path: p, stats: st, recipe: DeltaRecipe{Expansion: expand.Version, Format: delta.Format,
		BaseExpanded: bb, Expanded: nb, Delta: Blob{Size: cw.n}}}
	h.Sum(df.recipe.Delta.SHA256[:0])
	return df, nil
}

// restoresTo checks that the expanded form at path restores to exactly
// the package m describes.
func restoresTo(path string, m *Manifest) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	cw := &countWriter{w: h}
	if err := expand.Restore(f, cw, m.Size); err != nil {
		return fmt.Errorf("the expanded package does not restore: %w", err)
	}
	var got Hash
	h.Sum(got[:0])
	if got != m.SHA256 || cw.n != m.Size {
		return fmt.Errorf("the expanded package restores to SHA-256 %s (%d bytes), not %s", got, cw.n, m.SHA256)
	}
	return nil
}

// mapFile maps a file read-only; an empty file is an empty slice.
func mapFile(path string) ([]byte, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if fi.Size() == 0 {
		return nil, func() {}, nil
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("map %s: %w", filepath.Base(path), err)
	}
	return b, func() { syscall.Munmap(b) }, nil
}

// applyDelta rebuilds a transferred package from the delta in r and the
// base this space holds, checks it against everything the signed header
// says, and ingests it into the chunk store. It returns the package's
// manifest as this space cut it. Nothing here touches the feed.
func (s *Service) applyDelta(ctx context.Context, spaceID int64, pl *TransferPayload, p *TransferPackage, r io.Reader) (*Manifest, error) {
	d := p.Delta
	name := p.ID + " " + p.Version
	if d.Base < 1 || d.Base > len(pl.Assumed) {
		return nil, domain.Invalidf("refused: package %s refers to base package %d, which the file does not name", name, d.Base)
	}
	ref := pl.Assumed[d.Base-1]
	have, err := s.store.Packages().BySHA256(ctx, spaceID, ref.SHA256)
	if err != nil {
		return nil, err
	}
	if len(have) == 0 {
		return nil, domain.Invalidf("refused: the transfer file has package %s as a delta from %s %s (SHA-256 %s), which this space does not hold. Export a full transfer file (package export --full)", name, ref.ID, ref.Version, ref.SHA256)
	}
	bm, err := decodeManifest(have[0])
	if err != nil {
		return nil, err
	}
	var tmp []string
	defer func() {
		for _, p := range tmp {
			os.Remove(p)
		}
	}()
	baseFile, err := s.rebuildTo(bm)
	if err != nil {
		return nil, fmt.Errorf("rebuild base %s %s: %w", ref.ID, ref.Version, err)
	}
	tmp = append(tmp, baseFile)
	bx, bb, err := s.expandTo(baseFile)
	if err != nil {
		return nil, err
	}
	tmp = append(tmp, bx)
	os.Remove(baseFile)
	// Each stage (expand, apply, ingest) streams with buffers of its own;
	// collecting between them keeps the next one's GC goal at what it
	// needs, so a gigabyte's import stays within 64 MB.
	debug.FreeOSMemory()
	if bb != d.BaseExpanded {
		return nil, domain.Invalidf("refused: package %s: the base %s %s expands here to %d bytes (SHA-256 %s), not the %d bytes (%s) the delta was made from; the two servers expand packages differently. Export a full transfer file (package export --full)",
			name, ref.ID, ref.Version, bb.Size, bb.SHA256, d.BaseExpanded.Size, d.BaseExpanded.SHA256)
	}
	base, err := os.Open(bx)
	if err != nil {
		return nil, err
	}
	defer base.Close()

	// delta → expanded form → restored file, in one stream; every stage
	// is bounded by the sizes the signed header declares.
	out := s.tempPath("delivered")
	tmp = append(tmp, out)
	f, err := os.OpenFile(out, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fileSum := sha256.New()
	fileOut := &countWriter{w: io.MultiWriter(f, fileSum)}
	pr, pw := io.Pipe()
	restored := make(chan error, 1)
	go func() {
		bw := bufio.NewWriterSize(fileOut, 1<<20)
		err := expand.Restore(pr, bw, p.Manifest.Size)
		if err == nil {
			err = bw.Flush()
		}
		pr.CloseWithError(err)
		restored <- err
	}()
	deltaSum := sha256.New()
	deltaIn := &countReader{r: io.TeeReader(r, deltaSum)}
	expSum := sha256.New()
	n, err := delta.Apply(base, bb.Size, deltaIn, io.MultiWriter(pw, expSum), d.Expanded.Size)
	pw.CloseWithError(err)
	rerr := <-restored
	if err == nil && rerr != nil {
		err = rerr
	}
	if err == nil {
		_, err = io.Copy(io.Discard, deltaIn) // the rest of the entry counts towards its hash
	}
	if err != nil {
		if errors.Is(err, delta.ErrFormat) || errors.Is(err, expand.ErrFormat) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, puff.ErrFormat) {
			return nil, domain.Invalidf("refused: the delta for package %s is damaged or altered: %v", name, err)
		}
		return nil, fmt.Errorf("package %s: %w", name, err)
	}
	var got Hash
	if deltaSum.Sum(got[:0]); got != d.Delta.SHA256 || deltaIn.n != d.Delta.Size {
		return nil, domain.Invalidf("refused: the delta for package %s does not match its signed SHA-256: the file was altered or damaged", name)
	}
	if expSum.Sum(got[:0]); got != d.Expanded.SHA256 || n != d.Expanded.Size {
		return nil, domain.Invalidf("refused: package %s: the delta does not rebuild the signed expanded form", name)
	}
	if fileSum.Sum(got[:0]); got != p.Manifest.SHA256 || fileOut.n != p.Manifest.Size {
		return nil, domain.Invalidf("refused: package %s rebuilt to SHA-256 %s (%d bytes), not the signed %s (%d bytes)", name, got, fileOut.n, p.Manifest.SHA256, p.Manifest.Size)
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	debug.FreeOSMemory()
	m, _, err := Ingest(out, s.chunks)
	if err != nil {
		return nil, fmt.Errorf("store package %s: %w", name, err)
	}
	if m.SHA256 != p.Manifest.SHA256 {
		return nil, fmt.Errorf("package %s changed on disk while it was stored", name)
	}
	return m, nil
}
