package expand

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// roundTrip expands a file and restores it, checking it comes back byte
// for byte; it returns the expansion stats.
func roundTrip(t testing.TB, path string) Stats {
	t.Helper()
	src, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	fi, _ := src.Stat()
	dst, err := os.Create(filepath.Join(t.TempDir(), "expanded"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	st, err := File(src, fi.Size(), dst)
	if err != nil {
		t.Fatalf("expand %s: %v", path, err)
	}
	if got, _ := dst.Seek(0, io.SeekEnd); got != st.Size {
		t.Fatalf("expanded form is %d bytes, stats say %d", got, st.Size)
	}
	dst.Seek(0, io.SeekStart)
	h := sha256.New()
	if err := Restore(dst, h, fi.Size()); err != nil {
		t.Fatalf("restore %s: %v", path, err)
	}
	orig, _ := os.ReadFile(path)
	if sum := sha256.Sum256(orig); !bytes.Equal(h.Sum(nil), sum[:]) {
		t.Fatalf("%s was not restored byte for byte", path)
	}
	return st
}

func content(seed int64, n int) map[string][]byte {
	r := rand.New(rand.NewSource(seed))
	files := map[string][]byte{}
	for i := 0; i < n; i++ {
		var b bytes.Buffer
		for b.Len() < 3000+r.Intn(20000) {
			b.WriteString([]string{"deploy ", "release\n", "ferry ", "space ", "{}", "42 "}[r.Intn(6)])
		}
		files[filepath.Join("app", "src", string(rune('a'+i%26)), "f"+string(rune('a'+i/26))+".txt")] = b.Bytes()
		raw := make([]byte, 2000+r.Intn(5000))
		r.Read(raw)
		files[filepath.Join("app", "img", "i"+string(rune('a'+i%26))+string(rune('a'+i/26))+".png")] = raw
	}
	return files
}

func writeTree(t testing.TB, dir string, files map[string][]byte) {
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, body, 0o644)
		at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		os.Chtimes(p, at, at)
	}
}

func TestGoArchives(t *testing.T) {
	dir := t.TempDir()
	files := content(1, 40)
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for name, body := range files {
		w, _ := zw.Create(name)
		w.Write(body)
	}
	st, _ := zw.Create("stored.bin")
	st.Write([]byte("not compressed"))
	zw.Close()
	os.WriteFile(filepath.Join(dir, "a.zip"), zb.Bytes(), 0o644)
	if s := roundTrip(t, filepath.Join(dir, "a.zip")); s.Streams != len(files)+1 {
		t.Errorf("expanded %d streams of %d entries", s.Streams, len(files)+1)
	}
	var gb bytes.Buffer
	gw := gzip.NewWriter(&gb)
	gw.Write(zb.Bytes())
	gw.Close()
	gw = gzip.NewWriter(&gb) // a second member
	gw.Write([]byte("second member"))
	gw.Close()
	gb.WriteString("trailing junk")
	os.WriteFile(filepath.Join(dir, "a.gz"), gb.Bytes(), 0o644)
	if s := roundTrip(t, filepath.Join(dir, "a.gz")); s.Streams != 2 {
		t.Errorf("expanded %d gzip members of 2", s.Streams)
	}
}

// TestRealTools expands archives made by Info-ZIP zip, jar, GNU tar with
// gzip -6 and python's zipfile (zlib, as NuGet's writer), when installed.
func TestRealTools(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, content(2, 60))
	run := func(name string, args ...string) string {
		if _, err := exec.LookPath(name); err != nil {
			t.Logf("skipped %s: not installed (the CI script installs zip, default-jdk-headless and gzip)", name)
			return ""
		}
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		return filepath.Join(dir, args[len(args)-1])
	}
	var made []string
	if p := run("zip", "-q", "-r", "out.zip", "app"); p != "" {
		made = append(made, filepath.Join(dir, "out.zip"))
	}
	if p := run("jar", "cf", "out.jar", "app"); p != "" {
		made = append(made, filepath.Join(dir, "out.jar"))
	}
	if _, err := exec.LookPath("tar"); err == nil {
		if _, err := exec.LookPath("gzip"); err == nil {
			cmd := exec.Command("sh", "-c", "tar -cf - app | gzip -6 -n > out.tar.gz")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("tar | gzip: %v\n%s", err, out)
			}
			made = append(made, filepath.Join(dir, "out.tar.gz"))
		}
	}
	if len(made) == 0 {
		t.Skip("none of zip, jar, tar+gzip is installed")
	}
	for _, p := range made {
		if s := roundTrip(t, p); s.Streams == 0 {
			t.Errorf("%s: no deflate stream expanded", filepath.Base(p))
		}
	}
}

func TestNotArchives(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"empty":    {},
		"text":     []byte("hello"),
		"fake.zip": append([]byte("PK\x03\x04"), bytes.Repeat([]byte{0xff}, 100)...),
		"fake.gz":  append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}, bytes.Repeat([]byte{0xff}, 100)...),
		"short.gz": {0x1f, 0x8b, 8},
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o644)
		roundTrip(t, p)
	}
}

func TestRestoreHostile(t *testing.T) {
	for name, in := range map[string][]byte{
		"unknown tag":   []byte("X"),
		"huge raw":      {'R', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
		"truncated raw": {'R', 10, 'a'},
		"bad deflate":   {'D', 0x09},
		"bad varint":    {'R', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	} {
		if err := Restore(bytes.NewReader(in), io.Discard, 1<<20); err == nil {
			t.Errorf("%s: restored", name)
		}
	}
	// A raw segment longer than the limit is refused before it is copied.
	if err := Restore(bytes.NewReader([]byte{'R', 100}), io.Discard, 10); !errors.Is(err, ErrFormat) {
		t.Errorf("over the limit: %v", err)
	}
}

func FuzzRestore(f *testing.F) {
	f.Add([]byte("R\x03abcD\x03\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		Restore(bytes.NewReader(in), &out, 1<<16)
		if out.Len() > 1<<16 {
			t.Fatalf("wrote %d bytes past the limit", out.Len())
		}
	})
}
