// Command mkpackages writes the application bench/packages.sh packs with
// the real tools: two versions of a tree of files on disk, where version 2
// changes files holding 1% of the content and gives every file a new
// modification time (as a CI build does), plus a random blob in two
// versions. Everything is derived from fixed seeds, so runs are comparable.
//
//	go run ./bench/mkpackages -out DIR -mb 20
//
// writes DIR/v1/app/..., DIR/v2/app/..., DIR/blob-1.bin and DIR/blob-2.bin.
package main

import (
	"bytes"
	"flag"
	"fmt"
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
	target := int64(*mb) * 1_000_000
	v1 := appTree(rand.New(rand.NewSource(7)), target*4/3) // zips to about target
	v2, changed := changeOnePercent(rand.New(rand.NewSource(8)), v1)
	log.Printf("app: %d files, %d MB of content; version 2 changes %d files (%d bytes) and re-timestamps all", len(v1.names), v1.size/1_000_000, len(changed), v1.sizeOf(changed))
	must(v1.write(filepath.Join(*out, "v1", "app"), time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)))
	must(v2.write(filepath.Join(*out, "v2", "app"), time.Date(2026, 1, 2, 17, 31, 7, 0, time.UTC)))

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

// write puts the tree under dir, every file (and folder) modified at mtime
// plus a second per file, as a build that touches everything leaves it.
func (t *tree) write(dir string, mtime time.Time) error {
	for i, name := range t.names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, t.files[name], 0o644); err != nil {
			return err
		}
		at := mtime.Add(time.Duration(i%60) * time.Second)
		if err := os.Chtimes(p, at, at); err != nil {
			return err
		}
	}
	return filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.IsDir() {
			err = os.Chtimes(p, mtime, mtime)
		}
		return err
	})
}

var words = []string{"func", "return", "if", "err", "!=", "nil", "{", "}", "package", "import", "deploy", "release",
	"ferry", "space", "context", "string", "int64", "for", "range", "var", ":=", "//", "the", "of", "to", "a",
	"const", "export", "function", "class", "div", "span", "width:", "color:", "<script>", "</div>"}

// appTree is a web application: half source-like text (compresses about
// 4:1) and half binary files that do not compress (images, fonts), in files
// of 1-30 kB — about 1,800 files for a 20 MB zip.
func appTree(r *rand.Rand, total int64) *tree {
	t := &tree{files: map[string][]byte{}}
	for i := 0; t.size < total; i++ {
		var name string
		var body []byte
		if i%2 == 0 {
			n := 1_000 + r.Intn(16_000)
			name = fmt.Sprintf("src/mod%03d/file%05d.js", i%97, i)
			body = text(r, n)
		} else {
			n := 1_000 + r.Intn(30_000)
			name = fmt.Sprintf("assets/img%03d/image%05d.png", i%53, i)
			body = make([]byte, n)
			r.Read(body)
		}
		t.files[name] = body
		t.names = append(t.names, name)
		t.size += int64(len(body))
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
		if filepath.Ext(name) == ".js" {
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
