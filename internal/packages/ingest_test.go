package packages

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
)

// text returns n bytes of compressible, varied text.
func text(r *rand.Rand, n int) []byte {
	words := []string{"deploy ", "release ", "ferry ", "package ", "chunk\n", "space ", "{\"id\": 42} ", "lorem ", "ipsum\n"}
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.Intn(len(words))])
		if r.Intn(20) == 0 {
			fmt.Fprintf(&b, "%d ", r.Int63())
		}
	}
	return b.Bytes()[:n]
}

type file struct {
	name string
	data []byte
}

func files(seed int64, count, size int) []file {
	r := rand.New(rand.NewSource(seed))
	var fs []file
	for i := 0; i < count; i++ {
		fs = append(fs, file{fmt.Sprintf("app/f%03d.txt", i), text(r, size/2+r.Intn(size))})
	}
	return fs
}

func makeZip(fs []file) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range fs {
		w, _ := zw.Create(f.name)
		w.Write(f.data)
	}
	zw.Close()
	return buf.Bytes()
}

func makeTarGz(fs []file, level int) []byte {
	var t bytes.Buffer
	tw := tar.NewWriter(&t)
	for _, f := range fs {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg})
		tw.Write(f.data)
	}
	tw.Close()
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, level)
	zw.Write(t.Bytes())
	zw.Close()
	return z.Bytes()
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func roundTrip(t *testing.T, cs *Chunks, name string, data []byte) *Manifest {
	t.Helper()
	m, _, err := Ingest(writeTemp(t, name, data), cs)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Rebuild(m, cs, &out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("%s: rebuilt %d bytes differ from the original %d", name, out.Len(), len(data))
	}
	return m
}

func newStore(t *testing.T) *Chunks {
	cs, err := OpenChunks(filepath.Join(t.TempDir(), "chunks"), "")
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestCutSizes(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	data := make([]byte, 16<<20)
	r.Read(data)
	c := newChunker(bytes.NewReader(data), nil)
	var n, total int
	for {
		ch, err := c.next()
		if err != nil {
			break
		}
		if len(ch) > MaxChunk || (len(ch) < MinChunk && total+len(ch) != len(data)) {
			t.Fatalf("chunk of %d bytes", len(ch))
		}
		n++
		total += len(ch)
	}
	avg := total / n
	if total != len(data) || avg < 24<<10 || avg > 48<<10 {
		t.Fatalf("%d chunks, average %d bytes", n, avg)
	}
}

func TestRoundTripAndDedupe(t *testing.T) {
	cs := newStore(t)
	v1 := files(1, 60, 40<<10)
	v2 := append([]file(nil), v1...)
	r := rand.New(rand.NewSource(9))
	v2[30] = file{v2[30].name, text(r, len(v2[30].data))} // one file of 60 changed
	for _, tc := range []struct {
		name       string
		make       func([]file) []byte
		wantFormat string
		recipe     bool
	}{
		{"a.zip", makeZip, "zip", false},
		{"a.tar.gz", func(f []file) []byte { return makeTarGz(f, gzip.DefaultCompression) }, "tar.gz", true},
		{"b.tar.gz", func(f []file) []byte { return makeTarGz(f, gzip.BestSpeed) }, "tar.gz", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m1 := roundTrip(t, cs, tc.name, tc.make(v1))
			m2 := roundTrip(t, cs, tc.name, tc.make(v2))
			if m1.Format != tc.wantFormat || (m1.Gzip != nil) != tc.recipe {
				t.Fatalf("format %q recipe %v note %q", m1.Format, m1.Gzip != nil, m1.Note)
			}
			have := map[Hash]bool{}
			for _, c := range m1.Chunks {
				have[c.Hash] = true
			}
			var fresh int64
			for _, c := range m2.Chunks {
				if !have[c.Hash] {
					fresh += c.Size
				}
			}
			frac := float64(fresh) / float64(m2.Stored())
			t.Logf("%s: %d chunks, %d new bytes of %d (%.1f%%)", tc.name, len(m2.Chunks), fresh, m2.Stored(), 100*frac)
			if frac > 0.15 {
				t.Errorf("one changed file of 60 made %.0f%% of the content new", 100*frac)
			}
		})
	}
	if m := roundTrip(t, cs, "c.tar.gz", makeTarGz(v1[:4], gzip.BestCompression)); m.Gzip == nil || m.Gzip.Level != 9 {
		t.Errorf("level 9 not reproduced: %+v", m.Gzip)
	}
	roundTrip(t, cs, "empty", nil)
	roundTrip(t, cs, "small", []byte("hello"))
}

// A gzip file made by GNU gzip is not reproducible by Go's compressor: it
// is stored as its compressed bytes, and says so.
func TestGzipFallback(t *testing.T) {
	if _, err := exec.LookPath("gzip"); err != nil {
		t.Skip("no gzip")
	}
	var plain bytes.Buffer
	tw := tar.NewWriter(&plain)
	data := text(rand.New(rand.NewSource(3)), 300<<10)
	tw.WriteHeader(&tar.Header{Name: "x", Mode: 0o644, Size: int64(len(data))})
	tw.Write(data)
	tw.Close()
	cmd := exec.Command("gzip", "-c", "-n")
	cmd.Stdin = &plain
	gz, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	m := roundTrip(t, newStore(t), "gnu.tar.gz", gz)
	if m.Gzip != nil || m.Note == "" {
		t.Fatalf("recipe %v, note %q", m.Gzip, m.Note)
	}
}

// Damaged gzip input is stored raw and still rebuilds exactly.
func TestGzipDamaged(t *testing.T) {
	gz := makeTarGz(files(4, 3, 20<<10), 6)
	gz = append(gz, "trailing junk"...)
	m := roundTrip(t, newStore(t), "junk.tar.gz", gz)
	if m.Gzip != nil {
		t.Fatal("used a recipe for a file with trailing data")
	}
	bad := makeTarGz(files(4, 3, 20<<10), 6)
	bad[len(bad)/2] ^= 0xff
	roundTrip(t, newStore(t), "bad.tar.gz", bad)
}

func TestChunkDamageDetected(t *testing.T) {
	cs := newStore(t)
	m := roundTrip(t, cs, "a.zip", makeZip(files(5, 5, 30<<10)))
	p := cs.path(m.Chunks[0].Hash)
	b, _ := os.ReadFile(p)
	b[0] ^= 1
	os.WriteFile(p, b, 0o600)
	if err := Rebuild(m, cs, &bytes.Buffer{}); err == nil {
		t.Fatal("rebuilt a package from a damaged chunk")
	}
}

// TestZipBoundsAsArchiveZip: the entry bounds chunking prefers are the
// ones archive/zip finds (older servers used it, and a target's manifest
// of a file must be cut as the source's was), for Go's zip and, when
// installed, Info-ZIP zip and jar.
func TestZipBoundsAsArchiveZip(t *testing.T) {
	dir := t.TempDir()
	paths := []string{filepath.Join(dir, "go.zip")}
	os.WriteFile(paths[0], makeZip(files(3, 50, 9000)), 0o644)
	src := filepath.Join(dir, "app")
	for _, f := range files(4, 40, 9000) {
		p := filepath.Join(src, f.name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, f.data, 0o644)
	}
	for tool, args := range map[string][]string{"zip": {"-q", "-r", "out.zip", "app"}, "jar": {"cf", "out.jar", "app"}} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Logf("%s is not installed; its archives are not checked", tool)
			continue
		}
		cmd := exec.Command(tool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v %s", tool, err, out)
		}
		paths = append(paths, filepath.Join(dir, args[len(args)-2]))
	}
	for _, p := range paths {
		f, _ := os.Open(p)
		fi, _ := f.Stat()
		got, err := zipBounds(f, fi.Size())
		if err != nil {
			t.Fatal(err)
		}
		zr, err := zip.NewReader(f, fi.Size())
		if err != nil {
			t.Fatal(err)
		}
		var want []int64
		for _, e := range zr.File {
			off, _ := e.DataOffset()
			want = append(want, off, off+int64(e.CompressedSize64))
		}
		sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: bounds differ from archive/zip's", filepath.Base(p))
		}
		f.Close()
	}
}
