package packages

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// chunkFile is a transfer file's chunk entries for n chunks of 64 KiB
// (several receivedLog batches), in packs of 25, with its signed list;
// edit may change a chunk's bytes as they are written.
func chunkFile(t *testing.T, n int, edit func(i int, b []byte) []byte) (ChunkList, []byte) {
	t.Helper()
	rnd := rand.New(rand.NewSource(int64(n)))
	var list ChunkList
	var chunks [][]byte
	for range n {
		b := make([]byte, 64<<10)
		rnd.Read(b)
		list = append(list, ChunkRef{Hash: sha256.Sum256(b), Size: int64(len(b))})
		chunks = append(chunks, b)
	}
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for first := 0; first < n; first += 25 {
		count := min(25, n-first)
		var pack []byte
		for i := first; i < first+count; i++ {
			b := chunks[i]
			if edit != nil {
				b = edit(i, bytes.Clone(b))
			}
			pack = append(pack, b...)
		}
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("chunks/%06d-%06d", first, count), Mode: 0o600, Size: int64(len(pack))})
		tw.Write(pack)
	}
	tw.Close()
	return list, out.Bytes()
}

// TestImportChunksPipeline reads chunks while earlier ones are stored:
// every chunk of a good file is stored and recorded; a chunk whose bytes
// differ from its signed hash (early, midway, last), a file cut off
// midway, or a pack with bytes to spare is refused, no chunk from the
// refused one on is stored, and every chunk recorded as received is on
// disk with its bytes (synced before recorded), so a transfer resumes.
func TestImportChunksPipeline(t *testing.T) {
	const n = 200 // 12.5 MiB: three batches and a part
	cases := []struct {
		name    string
		edit    func(i int, b []byte) []byte
		cut     int // bytes cut off the file's end
		refusal string
		stored  int // chunks stored before the refusal, at most
	}{
		{name: "good", stored: n},
		{name: "flipped chunk 3", edit: flipAt(3), refusal: "does not match its signed hash", stored: 3},
		{name: "flipped chunk 130", edit: flipAt(130), refusal: "does not match its signed hash", stored: 130},
		{name: "flipped last chunk", edit: flipAt(n - 1), refusal: "does not match its signed hash", stored: n - 1},
		{name: "cut midway", cut: 90 * 64 << 10, refusal: "refused", stored: 120},
		{name: "pack with a spare byte", edit: func(i int, b []byte) []byte {
			if i == 74 {
				return append(b, 0)
			}
			return b
		}, refusal: "refused", stored: 75},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newDeltaFixture(t)
			list, file := chunkFile(t, n, tc.edit)
			file = file[:len(file)-tc.cut]
			pl := &TransferPayload{SchemaVersion: 2, Chunks: list}
			var res ImportResult
			err := f.s.importChunks(context.Background(), f.spaceID, pl, tar.NewReader(bytes.NewReader(file)), &res)
			if tc.refusal == "" && err != nil {
				t.Fatal(err)
			}
			if tc.refusal != "" && (err == nil || !strings.Contains(err.Error(), tc.refusal)) {
				t.Fatalf("import: %v, want a refusal saying %q", err, tc.refusal)
			}
			received, err := f.s.store.ReceivedChunks().List(context.Background(), f.spaceID)
			if err != nil {
				t.Fatal(err)
			}
			recorded := map[string]bool{}
			for _, h := range received {
				recorded[h] = true
			}
			for i, c := range list {
				stored := f.s.chunks.Has(c.Hash)
				if i >= tc.stored && stored {
					t.Errorf("chunk %d stored: nothing from chunk %d on may be", i, tc.stored)
				}
				if recorded[c.Hash.String()] {
					if got, err := f.s.chunks.Get(c.Hash, c.Size, nil); err != nil || len(got) != int(c.Size) {
						t.Errorf("chunk %d recorded as received but not on disk: %v", i, err)
					}
				}
			}
			if tc.refusal == "" && (len(recorded) != n || res.Chunks != n || res.NewChunks != n || res.Bytes != int64(n)*64<<10) {
				t.Errorf("%d of %d chunks recorded; result %+v", len(recorded), n, res)
			}
			if tc.refusal != "" && tc.stored >= 64 && len(recorded) < 64 { // at least the first full batch
				t.Errorf("only %d chunks recorded before the refusal at chunk %d: a resumed transfer sends them again", len(recorded), tc.stored)
			}
		})
	}
}

func flipAt(k int) func(int, []byte) []byte {
	return func(i int, b []byte) []byte {
		if i == k {
			b[len(b)/2] ^= 1
		}
		return b
	}
}
