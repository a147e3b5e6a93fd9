package bench

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferrydeploy/ferry/internal/packages/delta"
	"github.com/ferrydeploy/ferry/internal/packages/expand"
)

// benchTree is an application of 600 text files (about 8 MB); changed
// edits 1% of them.
func benchTree(changed bool) map[string][]byte {
	r := rand.New(rand.NewSource(16))
	words := []string{"deploy ", "release ", "ferry ", "space\n", "{ ", "} ", "const ", "export ", "42 "}
	files := map[string][]byte{}
	for i := 0; i < 600; i++ {
		var b bytes.Buffer
		for n := 4000 + r.Intn(20000); b.Len() < n; {
			b.WriteString(words[r.Intn(len(words))])
		}
		if changed && i%100 == 7 {
			b.WriteString("\n// changed in version 2\n")
		}
		files[fmt.Sprintf("app/m%02d/file%03d.js", i%17, i)] = b.Bytes()
	}
	return files
}

// benchPackages writes the tree as a zip (archive/zip) and a tar-like
// stream gzipped at level 6, version 1 and 2, and returns their paths.
func benchPackages(b *testing.B) map[string][2]string {
	dir := b.TempDir()
	out := map[string][2]string{}
	for v, changed := range []bool{false, true} {
		files := benchTree(changed)
		var z bytes.Buffer
		zw := zip.NewWriter(&z)
		var raw bytes.Buffer
		for i := 0; i < 600; i++ {
			name := fmt.Sprintf("app/m%02d/file%03d.js", i%17, i)
			w, _ := zw.Create(name)
			w.Write(files[name])
			raw.WriteString(name)
			raw.Write(files[name])
		}
		zw.Close()
		var g bytes.Buffer
		gw, _ := gzip.NewWriterLevel(&g, 6)
		gw.Write(raw.Bytes())
		gw.Close()
		for kind, data := range map[string][]byte{"zip": z.Bytes(), "gz": g.Bytes()} {
			p := filepath.Join(dir, fmt.Sprintf("app-%d.%s", v+1, kind))
			if err := os.WriteFile(p, data, 0o644); err != nil {
				b.Fatal(err)
			}
			pair := out[kind]
			pair[v] = p
			out[kind] = pair
		}
	}
	return out
}

func expandFile(b *testing.B, src, dst string) int64 {
	in, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	fi, _ := in.Stat()
	out, err := os.Create(dst)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	if _, err := expand.File(in, fi.Size(), out); err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

// BenchmarkTransferStages times the stages a delta transfer adds to a
// package (docs/transfer-format.md), per byte of package: expanding it
// (puff, zlib's trees), restoring it (huff), and applying a delta of its
// version 2 to version 1's expanded form.
func BenchmarkTransferStages(b *testing.B) {
	pk := benchPackages(b)
	dir := b.TempDir()
	for _, kind := range []string{"zip", "gz"} {
		v1, v2 := pk[kind][0], pk[kind][1]
		x1, x2 := filepath.Join(dir, kind+"-1.x"), filepath.Join(dir, kind+"-2.x")
		size := expandFile(b, v1, x1)
		expandFile(b, v2, x2)
		b.Run("expand/"+kind, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				expandFile(b, v1, filepath.Join(dir, "loop.x"))
			}
		})
		b.Run("restore/"+kind, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				f, _ := os.Open(x1)
				if err := expand.Restore(f, io.Discard, size); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
		base, _ := os.ReadFile(x1)
		next, _ := os.ReadFile(x2)
		var d bytes.Buffer
		if _, err := delta.Encode(base, next, &d, nil); err != nil {
			b.Fatal(err)
		}
		b.Run("apply/"+kind, func(b *testing.B) {
			b.SetBytes(int64(len(next)))
			for b.Loop() {
				if _, err := delta.Apply(bytes.NewReader(base), int64(len(base)), bytes.NewReader(d.Bytes()), io.Discard, int64(len(next))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
