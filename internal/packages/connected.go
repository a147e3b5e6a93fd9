package packages

import (
	"context"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// What connected transfers need of the feed: a target answers which chunks
// it lacks, a source narrows its transfer to those, and chunks are recorded
// as received as they arrive, so a transfer cut off midway resumes with
// what is still missing (docs/architecture.md, "Connected spaces").

// Missing returns the chunks of hashes the space lacks: not stored on this
// server, or stored but neither used by the space's packages nor received
// by it (chunks of other spaces do not count, and saying a space has them
// would tell whoever asks what other spaces hold).
func (s *Service) Missing(ctx context.Context, spaceID int64, hashes []Hash) ([]Hash, error) {
	mine := make(map[Hash]bool, len(hashes))
	for _, h := range hashes {
		mine[h] = false
	}
	if err := s.markHeld(ctx, spaceID, mine); err != nil {
		return nil, err
	}
	missing := []Hash{}
	for _, h := range hashes {
		if !mine[h] || !s.chunks.Has(h) {
			missing = append(missing, h)
		}
	}
	return missing, nil
}

// narrow keeps in a planned transfer only the chunks the target says it
// lacks.
func narrow(ctx context.Context, lacks func(context.Context, []Hash) ([]Hash, error), pl *TransferPayload, sum *ExportSummary) error {
	hashes := make([]Hash, len(pl.Chunks))
	for i, c := range pl.Chunks {
		hashes[i] = c.Hash
	}
	missing, err := lacks(ctx, hashes)
	if err != nil {
		return err
	}
	want := make(map[Hash]bool, len(missing))
	for _, h := range missing {
		want[h] = true
	}
	kept := pl.Chunks[:0]
	sum.Chunks, sum.ChunkBytes = 0, 0
	for _, c := range pl.Chunks {
		if want[c.Hash] {
			kept = append(kept, c)
			sum.Chunks++
			sum.ChunkBytes += c.Size
		}
	}
	pl.Chunks = kept
	if pl.Basis == "" || pl.Basis == "nothing known: every chunk is carried" {
		pl.Basis = "the target's answer"
	} else {
		pl.Basis += ", the target's answer"
	}
	sum.Basis = pl.Basis
	return nil
}

// receivedLog records chunks as received by a space, a batch at a time.
type receivedLog struct {
	s       *Service
	spaceID int64
	pending []string
}

// receivedEvery bounds how many verified chunks a cut-off transfer may have
// stored without recording them (they are sent again).
const receivedEvery = 16

func (r *receivedLog) add(ctx context.Context, h Hash) error {
	r.pending = append(r.pending, h.String())
	if len(r.pending) < receivedEvery {
		return nil
	}
	return r.flush(ctx)
}

func (r *receivedLog) flush(ctx context.Context) error {
	if len(r.pending) == 0 {
		return nil
	}
	err := r.s.store.ReceivedChunks().Add(context.WithoutCancel(ctx), r.spaceID, r.pending, r.s.now())
	r.pending = r.pending[:0]
	return err
}

// receivedChunks sets want[h] for the chunks of want the space received.
func (s *Service) receivedChunks(ctx context.Context, spaceID int64, want map[Hash]bool) error {
	list, err := s.store.ReceivedChunks().List(ctx, spaceID)
	if err != nil {
		return err
	}
	for _, h := range list {
		if hh, err := ParseHash(h); err == nil {
			if _, ok := want[hh]; ok {
				want[hh] = true
			}
		}
	}
	return nil
}

// NothingToSend reports whether err is PlanExport's way of saying the target
// needs no package, so a connected delivery has nothing to do.
func NothingToSend(err error) bool { return domain.KindOf(err) == domain.KindInvalid }
