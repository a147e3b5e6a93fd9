package bench

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferrydeploy/ferry/internal/packages"
)

// BenchmarkChunkHash is what `package push` does to a file once it is on
// the server's disk, without writing chunks: the whole-file SHA-256, FastCDC
// cuts (entry-aligned for zip), a SHA-256 per chunk, and for tar.gz the
// decompression and the byte-exact recompression check. MB/s are per byte of
// package. bench/packages.sh points FERRY_BENCH_PACKAGES at the packages
// bench/mkpackages wrote; without it, a 20 MB random file is used.
func BenchmarkChunkHash(b *testing.B) {
	dir := os.Getenv("FERRY_BENCH_PACKAGES")
	files := []string{"app-1.zip", "app-1.jar", "app-1.nupkg", "app-1.tar", "app-1.tar.gz", "blob-1.bin"}
	if dir == "" {
		dir = b.TempDir()
		data := make([]byte, 20_000_000)
		rand.Read(data)
		if err := os.WriteFile(filepath.Join(dir, "blob-1.bin"), data, 0o644); err != nil {
			b.Fatal(err)
		}
		files = []string{"blob-1.bin"}
	}
	for _, name := range files {
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		if err != nil {
			continue
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(fi.Size())
			for b.Loop() {
				if _, _, err := packages.Ingest(path, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
