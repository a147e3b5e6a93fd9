package packages

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// ChunkList is an ordered list of chunks. In JSON it is one base64 string
// of 36-byte records — the chunk's SHA-256 (32 bytes), then its size (4
// bytes, big-endian) — about half the size of an object per chunk and far
// cheaper to decode, which keeps the header of a transfer file for a
// gigabyte package (30,000 chunks) small.
type ChunkList []ChunkRef

const chunkRecord = 36

// recordText is the base64 length of one record: 36 bytes are 48
// characters, without padding, so a list's base64 is its records' one
// after another.
const recordText = chunkRecord / 3 * 4

// MarshalJSON writes the base64 string of records (null for a nil list).
func (l ChunkList) MarshalJSON() ([]byte, error) {
	if l == nil {
		return []byte("null"), nil
	}
	return l.appendJSON(make([]byte, 0, recordText*len(l)+2))
}

// appendJSON appends the list's JSON string to out, a record at a time.
func (l ChunkList) appendJSON(out []byte) ([]byte, error) {
	var rec [chunkRecord]byte
	out = append(out, '"')
	for _, c := range l {
		if c.Size < 0 || c.Size > 1<<31 {
			return nil, fmt.Errorf("chunk %s has size %d", c.Hash, c.Size)
		}
		copy(rec[:], c.Hash[:])
		binary.BigEndian.PutUint32(rec[32:], uint32(c.Size))
		out = base64.StdEncoding.AppendEncode(out, rec[:])
	}
	return append(out, '"'), nil
}

// UnmarshalJSON reads what MarshalJSON writes. A string without escapes
// (as ferry writes it) is decoded in place, a record at a time, with no
// copy of it.
func (l *ChunkList) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*l = nil
		return nil
	}
	text := b
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && bytes.IndexByte(b, '\\') < 0 {
		text = b[1 : len(b)-1]
	} else {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("chunk list: %w", err)
		}
		text = []byte(s)
	}
	bad := fmt.Errorf("chunk list: not base64 of %d-byte records", chunkRecord)
	if len(text)%recordText != 0 {
		// Strict base64 of whole records has no padding and no line
		// breaks; anything else decodes to other lengths or fails.
		return bad
	}
	enc := base64.StdEncoding.Strict()
	out := make(ChunkList, len(text)/recordText)
	var rec [chunkRecord]byte
	for i := range out {
		if n, err := enc.Decode(rec[:], text[i*recordText:(i+1)*recordText]); err != nil || n != chunkRecord {
			return bad
		}
		copy(out[i].Hash[:], rec[:32])
		out[i].Size = int64(binary.BigEndian.Uint32(rec[32:36]))
	}
	*l = out
	return nil
}

// manifestJSON is json.Marshal(m), byte for byte, built in one buffer of
// its final size: a gigabyte package's manifest lists 30,000 chunks, and
// encoding/json would copy their 1.4 MB string into a growing buffer and
// then again into its result.
func manifestJSON(m *Manifest) ([]byte, error) {
	if m.Chunks == nil {
		return json.Marshal(m)
	}
	rest := *m
	rest.Chunks = nil
	head, err := json.Marshal(&rest)
	if err != nil {
		return nil, err
	}
	const tail = `null}` // chunks is the last field
	if !bytes.HasSuffix(head, []byte(tail)) {
		return nil, fmt.Errorf("manifest JSON does not end with its chunks")
	}
	head = head[:len(head)-len(tail)]
	out := make([]byte, 0, len(head)+recordText*len(m.Chunks)+3)
	out, err = m.Chunks.appendJSON(append(out, head...))
	if err != nil {
		return nil, fmt.Errorf("json: error calling MarshalJSON for type packages.ChunkList: %w", err)
	}
	return append(out, '}'), nil
}
