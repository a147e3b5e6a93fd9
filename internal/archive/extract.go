// Package archive extracts package archives (zip, nupkg, tar, tar.gz) into a
// folder without ever writing outside it. It is the one place ferry turns
// archive entries into files, so its rules are strict and tested against
// hostile input: no absolute paths, no ".." components, no writing through
// symbolic links, no links that point outside the folder, no device files,
// no duplicate names, and limits on entry count and total size.
package archive

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Limits bound what one extraction may write.
type Limits struct {
	MaxEntries int   // files, folders and links
	MaxTotal   int64 // bytes of file content
	MaxFile    int64 // bytes of one file
}

// DefaultLimits suit deployment packages: large, but not unbounded.
var DefaultLimits = Limits{MaxEntries: 200_000, MaxTotal: 16 << 30, MaxFile: 8 << 30}

// Kinds of archive.
const (
	Zip   = "zip"
	Tar   = "tar"
	TarGz = "tar.gz"
)

// Stats say what an extraction wrote.
type Stats struct {
	Files   int   `json:"files"`
	Dirs    int   `json:"dirs"`
	Links   int   `json:"links"`
	Bytes   int64 `json:"bytes"`
	Skipped int   `json:"skipped"` // entries with nothing to write (pax globals)
}

// Error is a refusal: the archive breaks a rule. Entry names the offending
// entry as the archive spells it.
type Error struct {
	Entry  string
	Reason string
}

func (e *Error) Error() string {
	if e.Entry == "" {
		return "unsafe archive: " + e.Reason
	}
	return fmt.Sprintf("unsafe archive entry %q: %s", e.Entry, e.Reason)
}

func refuse(entry, format string, args ...any) error {
	return &Error{Entry: entry, Reason: fmt.Sprintf(format, args...)}
}

// Detect names the kind of archive from its first bytes, or "" when it is
// none that ferry extracts.
func Detect(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return Zip
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return TarGz
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return Tar
	}
	return ""
}

// ExtractFile extracts the archive at file into dest, which must not exist
// yet or be an empty folder. On error, dest may hold part of the archive; the
// caller removes it.
func ExtractFile(file, dest string, lim Limits) (Stats, error) {
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return Stats{}, err
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return Stats{}, err
	}
	defer root.Close()
	return ExtractTo(file, root, lim)
}

// ExtractTo extracts the archive at file into the folder root, which must
// be empty. Every entry is written through root, so nothing lands outside
// that folder even if a path above it is replaced meanwhile (a symbolic
// link swapped in by someone racing the extraction). On error, the folder
// may hold part of the archive; the caller removes it.
func ExtractTo(file string, root *os.Root, lim Limits) (Stats, error) {
	f, err := os.Open(file)
	if err != nil {
		return Stats{}, err
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	kind := Detect(head[:n])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return Stats{}, err
	}
	x, err := newExtractor(root, lim)
	if err != nil {
		return Stats{}, err
	}
	switch kind {
	case Zip:
		fi, err := f.Stat()
		if err != nil {
			return Stats{}, err
		}
		err = x.zip(f, fi.Size())
		return x.stats, err
	case Tar:
		err = x.tar(bufio.NewReaderSize(f, 1<<20))
		return x.stats, err
	case TarGz:
		zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
		if err != nil {
			return Stats{}, refuse("", "not a readable gzip stream: %v", err)
		}
		defer zr.Close()
		err = x.tar(zr)
		return x.stats, err
	}
	return Stats{}, refuse("", "not a zip, nupkg, tar or tar.gz archive")
}

type extractor struct {
	root  *os.Root
	lim   Limits
	stats Stats
	seen  map[string]byte // cleaned name → 'f' file, 'd' dir, 'l' link
}

func newExtractor(root *os.Root, lim Limits) (*extractor, error) {
	d, err := root.Open(".")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	entries, err := d.ReadDir(1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(entries) > 0 {
		return nil, fmt.Errorf("extract into %s: the folder is not empty", root.Name())
	}
	return &extractor{root: root, lim: lim, seen: map[string]byte{}}, nil
}

// clean checks an entry name and returns it as a slash-separated local
// path. Anything that could name a place outside the folder is refused, not
// repaired: an archive with such names was made by mistake or by an attacker.
func clean(name string) (string, error) {
	if name == "" {
		return "", refuse(name, "empty name")
	}
	if strings.ContainsAny(name, "\x00\\") {
		return "", refuse(name, "the name contains a NUL or a backslash")
	}
	if strings.HasPrefix(name, "/") || filepath.VolumeName(name) != "" || (len(name) > 1 && name[1] == ':') {
		return "", refuse(name, "absolute path")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", refuse(name, "the path contains \"..\"")
		}
	}
	c := path.Clean(name)
	if c == "." {
		return ".", nil
	}
	if !filepath.IsLocal(c) {
		return "", refuse(name, "not a local path")
	}
	return c, nil
}

func (x *extractor) count(name string) error {
	if n := x.stats.Files + x.stats.Dirs + x.stats.Links; n >= x.lim.MaxEntries {
		return refuse(name, "more than %d entries", x.lim.MaxEntries)
	}
	return nil
}

// prepare checks a cleaned name is new and that every folder above it is a
// real folder (created as needed), never a link; it returns the full path.
func (x *extractor) prepare(entry, name string, kind byte) (string, error) {
	if prev, dup := x.seen[name]; dup {
		if kind == 'd' && prev == 'd' {
			return filepath.FromSlash(name), nil
		}
		return "", refuse(entry, "duplicate name")
	}
	parts := strings.Split(name, "/")
	for i := range parts[:len(parts)-1] {
		sub := strings.Join(parts[:i+1], "/")
		dir := filepath.FromSlash(sub)
		switch x.seen[sub] {
		case 'd':
			continue
		case 'f', 'l':
			return "", refuse(entry, "%q is a file or link, not a folder", sub)
		}
		if err := x.count(entry); err != nil {
			return "", err
		}
		if err := x.root.Mkdir(dir, 0o755); err != nil {
			return "", err
		}
		x.seen[sub] = 'd'
		x.stats.Dirs++
	}
	x.seen[name] = kind
	return filepath.FromSlash(name), nil
}

func (x *extractor) dir(entry string) error {
	name, err := clean(entry)
	if err != nil || name == "." {
		return err
	}
	if x.seen[name] == 'd' {
		return nil
	}
	if err := x.count(entry); err != nil {
		return err
	}
	full, err := x.prepare(entry, name, 'd')
	if err != nil {
		return err
	}
	if err := x.root.Mkdir(full, 0o755); err != nil {
		return err
	}
	x.stats.Dirs++
	return nil
}

// file writes one regular file. size is the size the archive declares (-1
// when unknown); more bytes than that are refused, not truncated.
func (x *extractor) file(entry string, mode fs.FileMode, size int64, r io.Reader) error {
	name, err := clean(entry)
	if err != nil {
		return err
	}
	if name == "." {
		return refuse(entry, "a file cannot be the folder itself")
	}
	if err := x.count(entry); err != nil {
		return err
	}
	if size > x.lim.MaxFile {
		return refuse(entry, "%d bytes; one file may have at most %d", size, x.lim.MaxFile)
	}
	if size >= 0 && x.stats.Bytes+size > x.lim.MaxTotal {
		return refuse(entry, "the archive expands to more than %d bytes", x.lim.MaxTotal)
	}
	full, err := x.prepare(entry, name, 'f')
	if err != nil {
		return err
	}
	perm := fs.FileMode(0o644)
	if mode&0o111 != 0 {
		perm = 0o755
	}
	f, err := x.root.OpenFile(full, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, perm)
	if err != nil {
		return err
	}
	limit := min(x.lim.MaxFile, x.lim.MaxTotal-x.stats.Bytes)
	if size >= 0 {
		limit = min(limit, size)
	}
	n, err := io.Copy(f, io.LimitReader(r, limit))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	x.stats.Bytes += n
	x.stats.Files++
	if n == limit {
		// The entry must end here. Anything left means it is larger than it
		// said or than the limits allow (a bomb, or a lie); reading to the
		// end also makes zip check the entry's CRC.
		var one [1]byte
		m, rerr := r.Read(one[:])
		switch {
		case m > 0 && size >= 0 && n == size:
			return refuse(entry, "more data than the %d bytes it declares", size)
		case m > 0:
			return refuse(entry, "the archive expands beyond the limits (%d bytes per file, %d in all)", x.lim.MaxFile, x.lim.MaxTotal)
		case rerr != nil && !errors.Is(rerr, io.EOF):
			return refuse(entry, "damaged: %v", rerr)
		}
	}
	if size >= 0 && n != size {
		return refuse(entry, "truncated: %d of %d bytes", n, size)
	}
	return nil
}

// symlink creates a link whose target, read relative to the link's folder,
// stays inside the destination. Links are never followed while extracting.
func (x *extractor) symlink(entry, target string) error {
	name, err := clean(entry)
	if err != nil {
		return err
	}
	if err := x.linkTarget(entry, name, target); err != nil {
		return err
	}
	if err := x.count(entry); err != nil {
		return err
	}
	full, err := x.prepare(entry, name, 'l')
	if err != nil {
		return err
	}
	x.stats.Links++
	return x.root.Symlink(target, full)
}

func (x *extractor) linkTarget(entry, name, target string) error {
	if target == "" || strings.ContainsAny(target, "\x00\\") || strings.HasPrefix(target, "/") {
		return refuse(entry, "link target %q is absolute or malformed", target)
	}
	resolved := path.Join(path.Dir(name), target)
	if !filepath.IsLocal(resolved) {
		return refuse(entry, "link target %q points outside the destination", target)
	}
	return nil
}

// hardlink copies a file extracted earlier: a hard link would share an inode
// with whatever the target becomes later.
func (x *extractor) hardlink(entry, target string) error {
	src, err := clean(target)
	if err != nil {
		return refuse(entry, "hard link target %q: %s", target, err.(*Error).Reason)
	}
	if x.seen[src] != 'f' {
		return refuse(entry, "hard link target %q is not a file extracted before it", target)
	}
	f, err := x.root.OpenFile(filepath.FromSlash(src), os.O_RDONLY|noFollow, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return x.file(entry, fi.Mode(), fi.Size(), f)
}

func (x *extractor) tar(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return refuse("", "not a readable tar stream: %v", err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = x.dir(h.Name)
		case tar.TypeReg, tar.TypeRegA:
			err = x.file(h.Name, fs.FileMode(h.Mode), h.Size, tr)
		case tar.TypeSymlink:
			err = x.symlink(h.Name, h.Linkname)
		case tar.TypeLink:
			err = x.hardlink(h.Name, h.Linkname)
		case tar.TypeXGlobalHeader:
			x.stats.Skipped++
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			err = refuse(h.Name, "device files and pipes are not extracted")
		default:
			err = refuse(h.Name, "unsupported entry type %q", h.Typeflag)
		}
		if err != nil {
			return err
		}
	}
}

func (x *extractor) zip(r io.ReaderAt, size int64) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return refuse("", "not a readable zip archive: %v", err)
	}
	if len(zr.File) > x.lim.MaxEntries {
		return refuse("", "%d entries; the limit is %d", len(zr.File), x.lim.MaxEntries)
	}
	for _, f := range zr.File {
		mode := f.Mode()
		switch {
		case mode.IsDir() || strings.HasSuffix(f.Name, "/"):
			err = x.dir(f.Name)
		case mode&fs.ModeSymlink != 0:
			err = x.zipSymlink(f)
		case mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket) != 0:
			err = refuse(f.Name, "device files, pipes and sockets are not extracted")
		default:
			err = x.zipFile(f)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (x *extractor) zipFile(f *zip.File) error {
	if f.UncompressedSize64 > uint64(x.lim.MaxFile) {
		return refuse(f.Name, "%d bytes; one file may have at most %d", f.UncompressedSize64, x.lim.MaxFile)
	}
	rc, err := f.Open()
	if err != nil {
		return refuse(f.Name, "cannot read it: %v", err)
	}
	defer rc.Close()
	err = x.file(f.Name, f.Mode(), int64(f.UncompressedSize64), rc)
	var zerr *Error
	if err != nil && !errors.As(err, &zerr) && (errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) || errors.Is(err, io.ErrUnexpectedEOF)) {
		return refuse(f.Name, "damaged: %v", err)
	}
	return err
}

func (x *extractor) zipSymlink(f *zip.File) error {
	if f.UncompressedSize64 > 4096 {
		return refuse(f.Name, "symbolic link target longer than 4096 bytes")
	}
	rc, err := f.Open()
	if err != nil {
		return refuse(f.Name, "cannot read it: %v", err)
	}
	defer rc.Close()
	target, err := io.ReadAll(io.LimitReader(rc, 4097))
	if err != nil {
		return refuse(f.Name, "cannot read it: %v", err)
	}
	return x.symlink(f.Name, string(target))
}
