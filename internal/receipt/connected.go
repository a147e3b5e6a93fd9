package receipt

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/ferrydeploy/ferry/internal/compat"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/envelope"
	"github.com/ferrydeploy/ferry/internal/signing"
)

// MaxBatch bounds the receipts in one connected delivery, so that a batch
// stays far below MaxFileSize (a receipt with its certificate is about
// 2 KB); what does not fit goes in the next one.
const MaxBatch = 1000

// queueBack queues, in the caller's transaction, delivery of new receipts
// to the space each release came from, when that space is connected (has
// a URL): the deploying space's own receipts, and receipts relayed from
// further down a multi-hop path. One queued sweep per remote space carries
// every receipt not yet sent there, so a burst of deployments is one
// request. A space that is the release's origin sends nothing on.
func (s *Service) queueBack(ctx context.Context, sp domain.Space, receipts []domain.Receipt) error {
	queued := map[int64]bool{}
	for _, r := range receipts {
		if r.OriginFingerprint == sp.Fingerprint {
			continue
		}
		p, err := s.projects.Get(ctx, sp.ID, domain.RemoteName(r.OriginSpace, r.OriginProject))
		if errors.Is(err, domain.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		rel, err := s.releases.Get(ctx, p.ID, r.Version)
		if errors.Is(err, domain.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		if rel.Provenance == nil {
			continue
		}
		dest, err := s.remotes.GetByFingerprint(ctx, sp.ID, rel.Provenance.SourceFingerprint)
		if errors.Is(err, domain.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		if dest.Revoked() || dest.URL == "" || queued[dest.ID] {
			continue
		}
		queued[dest.ID] = true
		if _, err := s.outbox.Enqueue(ctx, &domain.OutboxItem{
			SpaceID: sp.ID, RemoteSpaceID: dest.ID, Kind: domain.OutboxReceipts, Summary: "deployment receipts",
			CreatedAt: s.now(), CreatedBy: domain.ActorName(ctx),
		}); err != nil {
			return err
		}
	}
	return nil
}

// Outgoing signs a receipt file for dest holding the receipts not yet sent
// to it (at most MaxBatch), in the same form `receipt export` writes, of the
// schema version dest is known to read. It does not mark them sent: the
// connected delivery does that once dest has acknowledged them, in the same
// receipt_sends record file exports use, so the two never send a receipt
// twice. ids is empty when nothing is due.
func (s *Service) Outgoing(ctx context.Context, sp domain.Space, dest domain.RemoteSpace) (data []byte, ids []int64, err error) {
	list, err := s.receipts.Unsent(ctx, sp.ID, dest.ID)
	if err != nil {
		return nil, nil, err
	}
	f, err := s.file(ctx, sp, dest, list, 0, MaxBatch)
	if err != nil || len(f.ids) == 0 {
		return nil, nil, err
	}
	return f.data, f.ids, nil
}

// receiptFile is a signed receipt file and what went into it.
type receiptFile struct {
	data    []byte
	version int
	ids     []int64 // the receipts in it
	waiting int     // receipts left out: newer than the file's version
}

// file signs a receipt file for dest with the receipts of list that head
// there (at most limit of them; 0 means no limit), in schema version asked,
// or else the newest dest is known to read, or — nothing known of it — the
// oldest that carries them all. A receipt of a newer schema version than
// the file's is left for a later file: it is relayed unchanged, and dest
// could not read it.
func (s *Service) file(ctx context.Context, sp domain.Space, dest domain.RemoteSpace, list []domain.Receipt, asked, limit int) (receiptFile, error) {
	var f receiptFile
	type due struct {
		r       domain.Receipt
		version int
	}
	var heading []due
	needed := compat.Previous
	for _, r := range list {
		ok, err := s.headsTo(ctx, sp, r, dest)
		if err != nil {
			return f, err
		}
		if !ok {
			continue
		}
		var v struct {
			SchemaVersion int `json:"schemaVersion"`
		}
		if json.Unmarshal(r.Payload, &v) != nil {
			continue
		}
		heading = append(heading, due{r, v.SchemaVersion})
		needed = max(needed, v.SchemaVersion)
	}
	version, err := compat.Choose(dest, asked, needed)
	if err != nil {
		return f, err
	}
	f.version = version
	body := FileBody{Kind: FileKind, SchemaVersion: version, CreatedAt: s.now(),
		Exporter: SpaceRef{Space: sp.Name, Fingerprint: sp.Fingerprint}, Destination: SpaceRef{Space: dest.Name, Fingerprint: dest.Fingerprint},
		Receipts: []Signed{}}
	for _, d := range heading {
		if d.version > version {
			f.waiting++
			continue
		}
		if limit > 0 && len(f.ids) == limit {
			break
		}
		body.Receipts = append(body.Receipts, Signed{Payload: d.r.Payload, Signature: d.r.Signature, Signer: d.r.SignerPEM})
		f.ids = append(f.ids, d.r.ID)
	}
	id, err := s.trust.Identity(ctx, sp.ID)
	if err != nil {
		return f, err
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return f, err
	}
	f.data, err = envelope.Seal(FileFormat, version, raw, id.CertPEM, func(b []byte) ([]byte, error) { return signing.Sign(id.Signer, b) })
	return f, err
}
