package packages

import (
	"context"
	"strings"
	"testing"
)

// TestExpandRunsBounded: runs are a signed header's shorthand for chunk
// lists, and untrusted. A run of a few bytes names up to a whole base
// package, so a header of runs repeating the base (or the file's own
// chunks) used to expand to a list of billions of chunks — a megabyte of
// header held tens of gigabytes — and a run whose From+Count overflowed
// passed the range check and panicked. Each is refused, before the list
// grows past what the package's declared size allows.
func TestExpandRunsBounded(t *testing.T) {
	f := newDeltaFixture(t)
	base := len(f.s.mustManifest(t, f.spaceID, "app", "1").Chunks)
	fileChunks := []ChunkRef{{Hash: Hash{1}, Size: MinChunk}, {Hash: Hash{2}, Size: MinChunk}}
	repeat := func(r ChunkRun, n int) []ChunkRun {
		out := make([]ChunkRun, n)
		for i := range out {
			out[i] = r
		}
		return out
	}
	for name, runs := range map[string][]ChunkRun{
		"the base a million times":           repeat(ChunkRun{Base: 1, From: 0, Count: base}, 1_000_000),
		"the file's chunks, often":           repeat(ChunkRun{File: true, From: 0, Count: 2}, 1_000_000),
		"From+Count overflows":               {{Base: 1, From: 1 << 62, Count: 1 << 62}},
		"negative From":                      {{Base: 1, From: -1, Count: 2}},
		"a literal chunk of size 0":          {{Chunks: []ChunkRef{{Hash: Hash{3}, Size: 0}}}},
		"a gzip recipe expanding 2^60 bytes": repeat(ChunkRun{Base: 1, From: 0, Count: base}, 1_000_000),
		"a package of 2^60 bytes":            repeat(ChunkRun{Base: 1, From: 0, Count: base}, 1_000_000),
	} {
		pl := f.pl
		pl.Chunks = fileChunks
		p := TransferPackage{ID: "app", Version: "3", Runs: runs,
			Manifest: Manifest{Chunker: ChunkerVersion, Format: "zip", Size: f.pkg.Manifest.Size, SHA256: f.pkg.Manifest.SHA256}}
		switch name {
		case "a gzip recipe expanding 2^60 bytes":
			p.Manifest.Gzip = &GzipRecipe{Level: 6, Expanded: 1 << 60}
		case "a package of 2^60 bytes":
			p.Manifest.Size = 1 << 60
		}
		err := f.s.expandRuns(context.Background(), f.spaceID, &pl, &p)
		if err == nil || !strings.Contains(err.Error(), "refused") {
			t.Errorf("%s: %v (%d chunks)", name, err, len(p.Manifest.Chunks))
		}
	}
	// What a source writes still expands.
	pl := f.pl
	p := TransferPackage{ID: "app", Version: "1", Runs: []ChunkRun{{Base: 1, From: 0, Count: base}},
		Manifest: Manifest{Chunker: ChunkerVersion, Format: "zip", Size: f.s.mustManifest(t, f.spaceID, "app", "1").Size}}
	if err := f.s.expandRuns(context.Background(), f.spaceID, &pl, &p); err != nil || len(p.Manifest.Chunks) != base {
		t.Fatalf("a whole base: %v", err)
	}
}

func (s *Service) mustManifest(t *testing.T, spaceID int64, id, version string) *Manifest {
	t.Helper()
	p, err := s.store.Packages().Get(context.Background(), spaceID, id, version)
	if err != nil {
		t.Fatal(err)
	}
	m, err := decodeManifest(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
