package packages

import (
	"bufio"
	"compress/flate"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
)

// Manifest says how to rebuild a package, byte for byte, from chunks.
type Manifest struct {
	Chunker string `json:"chunker"` // ChunkerVersion that cut it
	// Format is what the package is: "zip" (also nupkg), "tar", "tar.gz"
	// or "file" (anything else).
	Format string `json:"format"`
	Size   int64  `json:"size"`
	SHA256 Hash   `json:"sha256"` // of the whole package file
	// Gzip is set when the chunks are the package's decompressed content
	// and the file is rebuilt by compressing them again (see GzipRecipe).
	Gzip *GzipRecipe `json:"gzip,omitempty"`
	// Note says why a compressed package is stored as raw bytes instead.
	Note   string    `json:"note,omitempty"`
	Chunks ChunkList `json:"chunks"`
}

// ChunkRef is one chunk of a manifest, in order.
type ChunkRef struct {
	Hash Hash  `json:"h"`
	Size int64 `json:"n"`
}

// GzipRecipe is what it takes to rebuild a gzip file exactly from its
// decompressed bytes (as pristine-tar does): the header as it was, and the
// Go compress/flate level that reproduced the deflate stream when the
// package was pushed. The trailer (CRC-32 and length) is computed.
type GzipRecipe struct {
	Header   []byte `json:"header"`   // base64 in JSON
	Level    int    `json:"level"`    // compress/flate level
	Expanded int64  `json:"expanded"` // decompressed size
}

// maxExpanded bounds a gzip package's decompressed content (a gzip recipe's
// Expanded) for a file of size bytes: past it, push stores the file as it
// is, so a transfer file may declare no more.
func maxExpanded(size int64) int64 { return max(64*size, 64<<20) }

// Stored is the total size of the manifest's chunks (the decompressed
// size for a gzip recipe).
func (m *Manifest) Stored() int64 {
	var n int64
	for _, c := range m.Chunks {
		n += c.Size
	}
	return n
}

// ChunkSource reads a chunk by hash, checking it.
type ChunkSource interface {
	Get(h Hash, size int64, buf []byte) ([]byte, error)
}

// Rebuild writes the package described by m to w, reading chunks from src,
// and checks the result's SHA-256 and size: a package that does not verify
// is an error even if every chunk did.
func Rebuild(m *Manifest, src ChunkSource, w io.Writer) error {
	return rebuild(m, src, w, 1<<20)
}

// verifyRebuild is Rebuild to nowhere, only to check the result: it needs
// no large buffer, and an import's memory is counted.
func verifyRebuild(m *Manifest, src ChunkSource) error {
	return rebuild(m, src, io.Discard, 64<<10)
}

// rebuild is Rebuild writing through a buffer of bufSize bytes.
func rebuild(m *Manifest, src ChunkSource, w io.Writer, bufSize int) error {
	sum := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, sum)}
	bw := bufio.NewWriterSize(cw, bufSize)
	var out io.Writer = bw
	var fw *flate.Writer
	var crc hash.Hash32
	if m.Gzip != nil {
		if _, err := bw.Write(m.Gzip.Header); err != nil {
			return err
		}
		var err error
		if fw, err = flate.NewWriter(bw, m.Gzip.Level); err != nil {
			return err
		}
		crc = crc32.NewIEEE()
		out = io.MultiWriter(fw, crc)
	}
	buf := make([]byte, 0, MaxChunk)
	for _, c := range m.Chunks {
		var err error
		if buf, err = src.Get(c.Hash, c.Size, buf[:0]); err != nil {
			return err
		}
		if _, err := out.Write(buf); err != nil {
			return err
		}
	}
	if fw != nil {
		if err := fw.Close(); err != nil {
			return err
		}
		var trailer [8]byte
		binary.LittleEndian.PutUint32(trailer[:4], crc.Sum32())
		binary.LittleEndian.PutUint32(trailer[4:], uint32(m.Gzip.Expanded))
		if _, err := bw.Write(trailer[:]); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	var got Hash
	sum.Sum(got[:0])
	if got != m.SHA256 || cw.n != m.Size {
		return fmt.Errorf("the rebuilt package does not verify: SHA-256 %s (%d bytes), expected %s (%d bytes)", got, cw.n, m.SHA256, m.Size)
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
