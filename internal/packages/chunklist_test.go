package packages

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"
)

func randomChunks(r *rand.Rand, n int) ChunkList {
	l := make(ChunkList, n)
	for i := range l {
		for j := range l[i].Hash {
			l[i].Hash[j] = byte(r.Uint32())
		}
		l[i].Size = int64(r.IntN(MaxChunk + 1))
	}
	return l
}

// TestManifestJSONIsMarshal checks that the one-buffer manifest encoding
// is json.Marshal's, byte for byte, for every shape of manifest.
func TestManifestJSONIsMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, m := range []Manifest{
		{Chunker: ChunkerVersion, Format: "zip", Size: 5},
		{Chunker: ChunkerVersion, Format: "zip", Size: 5, Chunks: ChunkList{}},
		{Chunker: ChunkerVersion, Format: "file", Size: 1 << 40, Chunks: randomChunks(r, 1)},
		{Chunker: ChunkerVersion, Format: "tar.gz", Size: 77, Note: `stored raw: <&> "quoted" é`, Chunks: randomChunks(r, 3000),
			Gzip: &GzipRecipe{Header: []byte{31, 139, 8, 0}, Level: 6, Expanded: 123}},
	} {
		want, err := json.Marshal(&m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := manifestJSON(&m)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("manifestJSON: %v\n%.300s\njson.Marshal:\n%.300s", err, got, want)
		}
	}
	bad := Manifest{Chunks: ChunkList{{Size: -1}}}
	if _, err := manifestJSON(&bad); err == nil {
		t.Error("a negative chunk size was encoded")
	}
}

// oldChunkList is how chunk lists were decoded before they were decoded
// in place: the definition the faster code must agree with.
func oldChunkList(b []byte) (ChunkList, bool) {
	var s string
	if json.Unmarshal(b, &s) != nil {
		return nil, false
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(raw)%chunkRecord != 0 {
		return nil, false
	}
	out := make(ChunkList, len(raw)/chunkRecord)
	for i := range out {
		copy(out[i].Hash[:], raw[i*chunkRecord:])
		out[i].Size = int64(binary.BigEndian.Uint32(raw[i*chunkRecord+32:]))
	}
	return out, true
}

// TestChunkListDecodesAsBefore checks decoding in place against the
// definition, on lists and on random edits of them: padding, bytes of
// other alphabets, lengths off by one, escapes. Only escaped line breaks,
// which base64 decoding skipped and ferry never writes, are refused now.
func TestChunkListDecodesAsBefore(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var cases [][]byte
	for _, n := range []int{0, 1, 2, 5} {
		b, err := json.Marshal(randomChunks(r, n))
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, b)
		for range 500 {
			c := bytes.Clone(b)
			at := 1 + r.IntN(max(1, len(c)-2))
			switch r.IntN(3) {
			case 0:
				c[at] = "=A/+-_ \\\"é"[r.IntN(10)]
			case 1:
				c = slices.Insert(c, at, "=A/+-_ \\\""[r.IntN(9)])
			default:
				c = slices.Delete(c, at, at+1)
			}
			cases = append(cases, c)
		}
		if n > 0 {
			cases = append(cases, append([]byte(`"\u0041`), b[2:]...), bytes.Replace(b, []byte("A"), []byte(`\n`), 1))
		}
	}
	for _, b := range cases {
		want, wok := oldChunkList(b)
		var got ChunkList
		gok := got.UnmarshalJSON(b) == nil
		if gok != wok && !(wok && bytes.Contains(b, []byte(`\n`))) {
			t.Errorf("%q: decoded %v, before %v", b, gok, wok)
		}
		if gok && wok && !slices.Equal(got, want) {
			t.Errorf("%q: decoded %v, before %v", b, got, want)
		}
	}
}
