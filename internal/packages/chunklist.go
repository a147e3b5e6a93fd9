package packages

import (
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

// MarshalJSON writes the base64 string of records (null for a nil list).
func (l ChunkList) MarshalJSON() ([]byte, error) {
	if l == nil {
		return []byte("null"), nil
	}
	raw := make([]byte, chunkRecord*len(l))
	for i, c := range l {
		if c.Size < 0 || c.Size > 1<<31 {
			return nil, fmt.Errorf("chunk %s has size %d", c.Hash, c.Size)
		}
		copy(raw[i*chunkRecord:], c.Hash[:])
		binary.BigEndian.PutUint32(raw[i*chunkRecord+32:], uint32(c.Size))
	}
	out := make([]byte, 0, base64.StdEncoding.EncodedLen(len(raw))+2)
	out = append(out, '"')
	out = base64.StdEncoding.AppendEncode(out, raw)
	return append(out, '"'), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (l *ChunkList) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*l = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("chunk list: %w", err)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(raw)%chunkRecord != 0 {
		return fmt.Errorf("chunk list: not base64 of %d-byte records", chunkRecord)
	}
	out := make(ChunkList, len(raw)/chunkRecord)
	for i := range out {
		r := raw[i*chunkRecord:]
		copy(out[i].Hash[:], r[:32])
		out[i].Size = int64(binary.BigEndian.Uint32(r[32:36]))
	}
	*l = out
	return nil
}
