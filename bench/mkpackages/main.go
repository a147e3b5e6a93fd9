// Command mkpackages writes the packages bench/packages.sh measures: a
// realistic application (text and binary files) as zip and tar, and a
// random blob, each in two versions where the second changes 1% of the
// content. Everything is derived from a fixed seed, so runs are comparable.
//
//	go run ./bench/mkpackages -out DIR -mb 20
package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"time"
)

func main() {
	out := flag.String("out", "", "folder to write to")
	mb := flag.Int("mb", 20, "approximate size of each package in MB")
	flag.Parse()
	if *out == "" {
		log.Fatal("-out is required")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	target := int64(*mb) * 1_000_000
	v1 := appTree(rand.New(rand.NewSource(7)), target*8/5) // zips to about target
	v2, changed := changeOnePercent(rand.New(rand.NewSource(8)), v1)
	log.Printf("app: %d files, %d MB of content; version 2 changes %d files (%d bytes)", len(v1.names), v1.size/1_000_000, len(changed), v1.sizeOf(changed))
	for i, t := range []*tree{v1, v2} {
		n := i + 1
		must(writeFile(filepath.Join(*out, fmt.Sprintf("app-%d.zip", n)), func(w io.Writer) error { return t.zip(w) }))
		must(writeFile(filepath.Join(*out, fmt.Sprintf("app-%d.tar", n)), func(w io.Writer) error { return t.tar(w) }))
		must(writeFile(filepath.Join(*out, fmt.Sprintf("app-%d.tar.gz", n)), func(w io.Writer) error {
			zw := gzip.NewWriter(w)
			if err := t.tar(zw); err != nil {
				return err
			}
			return zw.Close()
		}))
	}
	blob := make([]byte, target)
	rand.New(rand.NewSource(9)).Read(blob)
	must(os.WriteFile(filepath.Join(*out, "blob-1.bin"), blob, 0o644))
	r := rand.New(rand.NewSource(10))
	region := int(target / 400) // 4 regions of 0.25%
	for i := 0; i < 4; i++ {
		at := r.Intn(len(blob) - region)
		r.Read(blob[at : at+region])
	}
	must(os.WriteFile(filepath.Join(*out, "blob-2.bin"), blob, 0o644))
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func writeFile(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type tree struct {
	names []string
	files map[string][]byte
	size  int64
}

func (t *tree) sizeOf(names []string) int64 {
	var n int64
	for _, name := range names {
		n += int64(len(t.files[name]))
	}
	return n
}

var words = []string{"func", "return", "if", "err", "!=", "nil", "{", "}", "package", "import", "deploy", "release",
	"ferry", "space", "context", "string", "int64", "for", "range", "var", ":=", "//", "the", "of", "to", "a"}

// appTree is half source-like text (compresses about 4:1) and half binary
// files that do not compress (images, libraries), in files of 2-300 kB.
func appTree(r *rand.Rand, total int64) *tree {
	t := &tree{files: map[string][]byte{}}
	for i := 0; t.size < total; i++ {
		var name string
		var body []byte
		n := 2_000 + r.Intn(300_000)
		if i%2 == 0 {
			name = fmt.Sprintf("src/mod%03d/file%05d.go", i%97, i)
			body = text(r, n)
		} else {
			name = fmt.Sprintf("assets/bin%03d/blob%05d.dat", i%53, i)
			body = make([]byte, n)
			r.Read(body)
		}
		t.files[name] = body
		t.names = append(t.names, name)
		t.size += int64(n)
	}
	sort.Strings(t.names)
	return t
}

func text(r *rand.Rand, n int) []byte {
	var b bytes.Buffer
	for b.Len() < n {
		for j := r.Intn(12); j >= 0; j-- {
			b.WriteString(words[r.Intn(len(words))])
			b.WriteByte(' ')
		}
		if r.Intn(7) == 0 {
			fmt.Fprintf(&b, "%d", r.Intn(100000))
		}
		b.WriteByte('\n')
	}
	return b.Bytes()[:n]
}

// changeOnePercent edits files that together hold 1% of the content: a
// line inserted into text files, 100 bytes overwritten in binary ones.
func changeOnePercent(r *rand.Rand, t *tree) (*tree, []string) {
	out := &tree{names: t.names, files: map[string][]byte{}, size: t.size}
	for k, v := range t.files {
		out.files[k] = v
	}
	var changed []string
	var n int64
	for _, i := range r.Perm(len(t.names)) {
		if n >= t.size/100 {
			break
		}
		name := t.names[i]
		body := bytes.Clone(t.files[name])
		mid := len(body) / 2
		if filepath.Ext(name) == ".go" {
			body = append(body[:mid:mid], append([]byte("\n// changed in version 2\n"), body[mid:]...)...)
		} else {
			r.Read(body[mid : mid+100])
		}
		out.files[name] = body
		changed = append(changed, name)
		n += int64(len(body))
	}
	return out, changed
}

var mtime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (t *tree) zip(w io.Writer) error {
	zw := zip.NewWriter(w)
	for _, name := range t.names {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: mtime})
		if err != nil {
			return err
		}
		if _, err := f.Write(t.files[name]); err != nil {
			return err
		}
	}
	return zw.Close()
}

func (t *tree) tar(w io.Writer) error {
	tw := tar.NewWriter(w)
	for _, name := range t.names {
		body := t.files[name]
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		if _, err := tw.Write(body); err != nil {
			return err
		}
	}
	return tw.Close()
}
