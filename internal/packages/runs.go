package packages

import (
	"context"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// chunkRuns expresses a chunk list as runs of the base manifests (which the
// target holds) and literal chunks, so a new version's manifest costs a few
// bytes per changed region instead of a hash per chunk. It returns nil when
// there are no bases.
func chunkRuns(chunks []ChunkRef, bases []*Manifest) []ChunkRun {
	if len(bases) == 0 {
		return nil
	}
	type at struct{ base, pos int }
	where := map[Hash]at{}
	for b, m := range bases {
		for i, c := range m.Chunks {
			if _, ok := where[c.Hash]; !ok {
				where[c.Hash] = at{b, i}
			}
		}
	}
	var runs []ChunkRun
	for i := 0; i < len(chunks); {
		w, ok := where[chunks[i].Hash]
		if !ok {
			if n := len(runs); n > 0 && runs[n-1].Base == 0 {
				runs[n-1].Chunks = append(runs[n-1].Chunks, chunks[i])
			} else {
				runs = append(runs, ChunkRun{Chunks: []ChunkRef{chunks[i]}})
			}
			i++
			continue
		}
		base := bases[w.base].Chunks
		n := 1
		for i+n < len(chunks) && w.pos+n < len(base) && base[w.pos+n] == chunks[i+n] {
			n++
		}
		runs = append(runs, ChunkRun{Base: w.base + 1, From: w.pos, Count: n})
		i += n
	}
	return runs
}

// expandRuns rebuilds a transferred package's chunk list from its runs and
// the manifests this space holds for the assumed packages.
func (s *Service) expandRuns(ctx context.Context, spaceID int64, pl *TransferPayload, p *TransferPackage) error {
	if p.Runs == nil {
		return nil
	}
	if len(p.Manifest.Chunks) > 0 {
		return domain.Invalidf("refused: package %s %s has both a chunk list and runs", p.ID, p.Version)
	}
	cache := map[int][]ChunkRef{}
	var out []ChunkRef
	for _, r := range p.Runs {
		if r.File {
			if pl.SchemaVersion < 2 || r.Base != 0 || len(r.Chunks) > 0 || r.From < 0 || r.Count <= 0 || r.From > len(pl.Chunks)-r.Count {
				return domain.Invalidf("refused: package %s %s refers to chunks %d-%d of the file's %d", p.ID, p.Version, r.From, r.From+r.Count, len(pl.Chunks))
			}
			out = append(out, pl.Chunks[r.From:r.From+r.Count]...)
			continue
		}
		if r.Base == 0 {
			out = append(out, r.Chunks...)
			continue
		}
		if r.Base < 0 || r.Base > len(pl.Assumed) {
			return domain.Invalidf("refused: package %s %s refers to base package %d, which the file does not name", p.ID, p.Version, r.Base)
		}
		base, ok := cache[r.Base]
		if !ok {
			ref := pl.Assumed[r.Base-1]
			have, err := s.store.Packages().BySHA256(ctx, spaceID, ref.SHA256)
			if err != nil {
				return err
			}
			if len(have) == 0 {
				return domain.Invalidf("refused: the transfer file assumes this space holds %s %s (SHA-256 %s), and it does not. Export a full transfer file (package export --full)", ref.ID, ref.Version, ref.SHA256)
			}
			m, err := decodeManifest(have[0])
			if err != nil {
				return err
			}
			base, cache[r.Base] = m.Chunks, m.Chunks
		}
		if r.From < 0 || r.Count <= 0 || r.From+r.Count > len(base) {
			return domain.Invalidf("refused: package %s %s refers to chunks %d-%d of a base package with %d", p.ID, p.Version, r.From, r.From+r.Count, len(base))
		}
		out = append(out, base[r.From:r.From+r.Count]...)
	}
	p.Manifest.Chunks, p.Runs = out, nil
	return nil
}
