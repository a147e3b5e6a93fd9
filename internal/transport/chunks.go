package transport

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/envelope"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/packages"
	"github.com/ferrydeploy/ferry/internal/signing"
)

// A chunk query asks a connected target which of a transfer's chunks it
// lacks. The source signs it, so that only a space the target trusts for
// releases learns anything of what the target holds.
const (
	ChunkQueryFormat = "ferry-chunk-query"
	ChunkQueryKind   = "ferry.chunk-query"
	// MaxChunkQuery bounds a query: the hashes of a transfer of some
	// hundred gigabytes.
	MaxChunkQuery    = 64 << 20
	chunkQuerySchema = 1
)

// ChunkQuery is what the source signs.
type ChunkQuery struct {
	Kind          string            `json:"kind"`
	SchemaVersion int               `json:"schemaVersion"`
	CreatedAt     time.Time         `json:"createdAt"`
	Source        packages.SpaceRef `json:"source"`
	Target        packages.SpaceRef `json:"target"`
	Chunks        []packages.Hash   `json:"chunks"`
}

// ChunkAnswer is the target's answer: the queried chunks it lacks. (The
// schema versions it reads travel in every transfer answer's
// X-Ferry-Schema header: internal/compat.)
type ChunkAnswer struct {
	Missing []packages.Hash `json:"missing"`
}

// SealChunkQuery signs a query for chunks from the space whose identity id
// is, to target.
func SealChunkQuery(sp domain.Space, id *identity.Identity, target domain.RemoteSpace, chunks []packages.Hash, now time.Time) ([]byte, error) {
	body, err := json.Marshal(ChunkQuery{Kind: ChunkQueryKind, SchemaVersion: chunkQuerySchema, CreatedAt: now,
		Source: packages.SpaceRef{Space: sp.Name, Fingerprint: sp.Fingerprint}, Target: packages.SpaceRef{Space: target.Name, Fingerprint: target.Fingerprint},
		Chunks: chunks})
	if err != nil {
		return nil, err
	}
	return envelope.Seal(ChunkQueryFormat, chunkQuerySchema, body, id.CertPEM, func(b []byte) ([]byte, error) { return signing.Sign(id.Signer, b) })
}

// MissingChunks answers a signed chunk query from an admitted sender with
// the chunks the target space lacks, so that a transfer sends only those —
// and, after an interruption, resumes with what has not arrived.
func (r *Receiver) MissingChunks(ctx context.Context, a Admission, data []byte) (ChunkAnswer, error) {
	o, err := envelope.Open(data, ChunkQueryFormat, chunkQuerySchema, MaxChunkQuery, "chunk query")
	if err != nil {
		return ChunkAnswer{}, err
	}
	// As for a bundle (ReceiveBundle), the signature is checked before
	// anything reads the payload.
	if err := sameSigner(a, o.Envelope.Signer); err != nil {
		return ChunkAnswer{}, err
	}
	signer, err := r.trust.VerifySum(ctx, a.Space.ID, domain.TrustReleases, []byte(o.Envelope.Signer), o.Body, o.Sum, o.Signature)
	if err != nil {
		return ChunkAnswer{}, err
	}
	var q ChunkQuery
	if err := envelope.Strict(o.Body, &q); err != nil {
		return ChunkAnswer{}, domain.Refuse(domain.KindInvalid, domain.RuleExact, "the chunk query is malformed or not exactly what ferry writes: %v", err)
	}
	if err := o.CheckExact(); err != nil {
		return ChunkAnswer{}, err
	}
	switch {
	case q.Kind != ChunkQueryKind:
		return ChunkAnswer{}, domain.Refuse(domain.KindInvalid, domain.RuleFormat, "the signed document is a %q, not a chunk query", q.Kind)
	case q.Source.Fingerprint != signer.Fingerprint:
		return ChunkAnswer{}, domain.Errorf(domain.KindUntrusted, "refused: the query says it comes from %q but is signed by %q", q.Source.Space, signer.Name)
	case q.Target.Fingerprint != a.Space.Fingerprint:
		return ChunkAnswer{}, domain.Invalidf("refused: the query is for space %q (fingerprint %s), not %q", q.Target.Space, q.Target.Fingerprint, a.Space.Name)
	}
	missing, err := r.packages.Missing(ctx, a.Space.ID, q.Chunks)
	if err != nil {
		return ChunkAnswer{}, fmt.Errorf("find missing chunks: %w", err)
	}
	return ChunkAnswer{Missing: missing}, nil
}

// ReceivePackages takes a package transfer (the transfer file format of
// `ferry package export`) from an admitted sender, as a stream: the feed
// verifies its signature, trust and every chunk before storing anything
// it names, and records chunks as received as they arrive.
//
// The transfer's signed header is read whole before it is verified, so its
// size (from the first tar header) is added to the request's share of the
// limits first.
func (r *Receiver) ReceivePackages(ctx context.Context, a Admission, body io.Reader) (packages.ImportResult, error) {
	br := bufio.NewReaderSize(body, 1<<20)
	size, err := packages.HeaderSize(br)
	if err != nil {
		return packages.ImportResult{}, err
	}
	if err := a.lease.Grow(size); err != nil {
		return packages.ImportResult{}, err
	}
	return r.packages.Import(actingFor(ctx, a), a.Space.Name, br)
}
