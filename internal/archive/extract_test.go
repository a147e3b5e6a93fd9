package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type entry struct {
	name, body, link string
	typ              byte // tar type; 0: regular file
	mode             int64
}

func writeTar(t *testing.T, gz bool, entries ...entry) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: 0o644, Size: int64(len(e.body)), Format: tar.FormatPAX}
		if e.mode != 0 {
			h.Mode = e.mode
		}
		if e.typ == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	data := buf.Bytes()
	name := "a.tar"
	if gz {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(data)
		zw.Close()
		data, name = z.Bytes(), "a.tar.gz"
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeZip(t *testing.T, entries ...entry) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.typ == tar.TypeSymlink {
			h.SetMode(fs.ModeSymlink | 0o777)
			e.body = e.link
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e.body))
	}
	zw.Close()
	p := filepath.Join(t.TempDir(), "a.zip")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// sandbox returns an extraction destination inside a folder whose other
// contents must never change.
func sandbox(t *testing.T) (dest string, check func()) {
	t.Helper()
	outer := t.TempDir()
	dest = filepath.Join(outer, "dest")
	return dest, func() {
		t.Helper()
		entries, _ := os.ReadDir(outer)
		for _, e := range entries {
			if e.Name() != "dest" {
				t.Errorf("extraction wrote %s outside its destination", e.Name())
			}
		}
	}
}

func TestExtractGood(t *testing.T) {
	for _, kind := range []string{"tar", "tar.gz", "zip"} {
		t.Run(kind, func(t *testing.T) {
			entries := []entry{
				{name: "app/", typ: tar.TypeDir},
				{name: "app/config.json", body: `{"a":1}`},
				{name: "app/bin/run.sh", body: "#!/bin/sh\necho hi\n", mode: 0o4755},
				{name: "app/current", typ: tar.TypeSymlink, link: "bin/run.sh"},
				{name: "./top.txt", body: "top"},
			}
			var file string
			switch kind {
			case "zip":
				file = writeZip(t, entries...)
			default:
				file = writeTar(t, kind == "tar.gz", entries...)
			}
			dest, check := sandbox(t)
			st, err := ExtractFile(file, dest, DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			check()
			b, err := os.ReadFile(filepath.Join(dest, "app", "current"))
			if err != nil || !strings.Contains(string(b), "echo hi") {
				t.Fatalf("link: %q %v", b, err)
			}
			if st.Files != 3 || st.Links != 1 {
				t.Errorf("stats %+v", st)
			}
			if kind != "zip" {
				fi, _ := os.Stat(filepath.Join(dest, "app", "bin", "run.sh"))
				if fi.Mode().Perm() != 0o755 || fi.Mode()&fs.ModeSetuid != 0 {
					t.Errorf("mode %v: want 0755 without setuid", fi.Mode())
				}
			}
		})
	}
}

func TestExtractRefusesHostileArchives(t *testing.T) {
	// An absolute entry name aims at a file of this test's own, so that no
	// other process's file in the shared temporary folder can fail the test.
	evil := filepath.Join(t.TempDir(), "ferry-evil")
	cases := map[string][]entry{
		"dot-dot":              {{name: "../evil", body: "x"}},
		"dot-dot inside":       {{name: "a/../../evil", body: "x"}},
		"absolute":             {{name: evil, body: "x"}},
		"backslash":            {{name: "..\\evil", body: "x"}},
		"symlink out":          {{name: "l", typ: tar.TypeSymlink, link: "../../etc"}},
		"symlink absolute":     {{name: "l", typ: tar.TypeSymlink, link: "/etc"}},
		"write through link":   {{name: "l", typ: tar.TypeSymlink, link: "."}, {name: "l/x", body: "x"}},
		"hardlink out":         {{name: "h", typ: tar.TypeLink, link: "../../etc/passwd"}},
		"hardlink to nothing":  {{name: "h", typ: tar.TypeLink, link: "nothing"}},
		"device":               {{name: "dev", typ: tar.TypeChar}},
		"fifo":                 {{name: "fifo", typ: tar.TypeFifo}},
		"duplicate":            {{name: "a", body: "1"}, {name: "a", body: "2"}},
		"duplicate via dot":    {{name: "a/b", body: "1"}, {name: "./a//b", body: "2"}},
		"file then dir":        {{name: "a", body: "1"}, {name: "a/b", body: "2"}},
		"link then file":       {{name: "a", typ: tar.TypeSymlink, link: "b"}, {name: "a", body: "2"}},
		"nul":                  {{name: "a\x00b", body: "x"}},
		"empty name":           {{name: "", body: "x"}},
		"symlink chain escape": {{name: "d/", typ: tar.TypeDir}, {name: "d/l", typ: tar.TypeSymlink, link: "../.."}},
	}
	for name, entries := range cases {
		for _, kind := range []string{"tar", "zip"} {
			if kind == "tar" && strings.Contains(entries[0].name, "\x00") {
				continue // tar cannot even encode it
			}
			if kind == "zip" && (entries[0].typ == tar.TypeLink || entries[0].typ == tar.TypeChar || entries[0].typ == tar.TypeFifo) {
				continue
			}
			t.Run(kind+"/"+name, func(t *testing.T) {
				var file string
				if kind == "zip" {
					file = writeZip(t, entries...)
				} else {
					file = writeTar(t, false, entries...)
				}
				dest, check := sandbox(t)
				_, err := ExtractFile(file, dest, DefaultLimits)
				var ae *Error
				if !errors.As(err, &ae) {
					t.Fatalf("want a refusal, got %v", err)
				}
				check()
				if _, err := os.Lstat(evil); err == nil {
					t.Fatalf("wrote %s", evil)
				}
			})
		}
	}
}

func TestExtractLimits(t *testing.T) {
	big := strings.Repeat("0", 1<<20) // compresses to about a kilobyte
	lim := Limits{MaxEntries: 10, MaxTotal: 2 << 20, MaxFile: 1 << 20}
	cases := map[string]string{
		"zip bomb":    writeZip(t, entry{name: "a", body: big}, entry{name: "b", body: big}, entry{name: "c", body: big}),
		"tar.gz bomb": writeTar(t, true, entry{name: "a", body: big}, entry{name: "b", body: big}, entry{name: "c", body: big}),
		"huge file":   writeTar(t, true, entry{name: "a", body: big + "x"}),
		"many entries": writeZip(t, func() []entry {
			var es []entry
			for i := 0; i < 11; i++ {
				es = append(es, entry{name: strings.Repeat("x", i+1), body: "1"})
			}
			return es
		}()...),
	}
	for name, file := range cases {
		t.Run(name, func(t *testing.T) {
			dest, check := sandbox(t)
			st, err := ExtractFile(file, dest, lim)
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("want a refusal, got %v (stats %+v)", err, st)
			}
			if st.Bytes > lim.MaxTotal {
				t.Errorf("wrote %d bytes past the limit", st.Bytes)
			}
			check()
		})
	}
}

// A zip whose central directory understates an entry's size must not write
// more than it declares.
func TestExtractZipSizeLie(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	body := strings.Repeat("A", 100_000)
	w, _ := zw.CreateRaw(&zip.FileHeader{Name: "lie", Method: zip.Store, CompressedSize64: uint64(len(body)), UncompressedSize64: 10, CRC32: 0})
	w.Write([]byte(body))
	zw.Close()
	file := filepath.Join(t.TempDir(), "lie.zip")
	os.WriteFile(file, buf.Bytes(), 0o644)
	dest, check := sandbox(t)
	st, err := ExtractFile(file, dest, DefaultLimits)
	if err == nil {
		t.Fatalf("accepted a zip entry larger than declared (stats %+v)", st)
	}
	if st.Bytes > 10 {
		t.Errorf("wrote %d bytes for an entry declared as 10", st.Bytes)
	}
	check()
}

func TestExtractNeedsEmptyDestination(t *testing.T) {
	dest := t.TempDir()
	os.WriteFile(filepath.Join(dest, "old"), []byte("x"), 0o644)
	if _, err := ExtractFile(writeTar(t, false, entry{name: "a", body: "1"}), dest, DefaultLimits); err == nil {
		t.Fatal("extracted into a folder that was not empty")
	}
}

func TestExtractNotAnArchive(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x")
	os.WriteFile(p, []byte("hello"), 0o644)
	dest, _ := sandbox(t)
	if _, err := ExtractFile(p, dest, DefaultLimits); err == nil {
		t.Fatal("extracted a text file")
	}
}

// TestExtractToStaysInItsFolder: once the folder is open, replacing its
// path — moving it away and putting a symlink to somewhere else in its
// place, as a process racing the extraction could — changes nothing about
// where entries land: in the folder that was opened, never behind the link.
func TestExtractToStaysInItsFolder(t *testing.T) {
	file := writeTar(t, false, entry{name: "app/config.json", body: "{}"}, entry{name: "top.txt", body: "top"})
	dir := t.TempDir()
	dest, moved, elsewhere := filepath.Join(dir, "dest"), filepath.Join(dir, "moved"), filepath.Join(dir, "elsewhere")
	for _, d := range []string{dest, elsewhere} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if err := os.Rename(dest, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, dest); err != nil {
		t.Fatal(err)
	}
	if _, err := ExtractTo(file, root, DefaultLimits); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Errorf("entries landed behind the symlink: %v", entries)
	}
	if b, err := os.ReadFile(filepath.Join(moved, "app", "config.json")); err != nil || string(b) != "{}" {
		t.Errorf("the opened folder lacks the entries: %q %v", b, err)
	}
}
