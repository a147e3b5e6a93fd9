package bundle

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// ReceiveResult says what became of a bundle a connected space delivered.
type ReceiveResult struct {
	Digest    string `json:"digest"`
	State     string `json:"state"` // imported or pending
	Project   string `json:"project"`
	Version   string `json:"version"`
	Lifecycle string `json:"lifecycle,omitempty"`
	// AlreadyReceived is true when this bundle had arrived before: a
	// delivery whose acknowledgement was lost is sent again, and changes
	// nothing the second time.
	AlreadyReceived bool `json:"alreadyReceived,omitempty"`
	// Reason says why a pending bundle waits for a person.
	Reason string `json:"reason,omitempty"`
}

// Receive takes a bundle delivered by a connected space. It is verified
// exactly as Import verifies a file, and nothing is written unless every
// check passes. It is then imported at once when the lifecycle of its
// remote project is not in doubt — the project exists already, or the
// space has one lifecycle — and otherwise kept, verified, as pending, for a
// person to import with ImportPending. Receiving a bundle that arrived
// before (imported or pending) changes nothing. data is the file, kept as
// it came for a pending bundle; parsed is it as Parse or ParseOpened read
// it.
func (s *Service) Receive(ctx context.Context, space string, data []byte, parsed *Parsed) (ReceiveResult, error) {
	pl := parsed.Payload
	res := ReceiveResult{Digest: parsed.Envelope.Digest, Project: domain.RemoteName(pl.Origin.Space, pl.Origin.Project), Version: pl.Release.Version}
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		// No user acts here: what authorises the import is the signature of
		// a space trusted for releases, checked by verify.
		sp, err := s.spaces.Get(ctx, space)
		if err != nil {
			return err
		}
		v, err := s.verify(ctx, sp, parsed)
		if err != nil {
			return err
		}
		prev, err := s.bundles.Get(ctx, sp.ID, domain.BundleIn, res.Digest)
		switch {
		case err == nil:
			res.State, res.AlreadyReceived = prev.State, true
			return nil
		case !errors.Is(err, domain.ErrNotFound):
			return err
		}
		lifecycle := ""
		if _, err := s.projects.Get(ctx, sp.ID, res.Project); errors.Is(err, domain.ErrNotFound) {
			lifecycle, err = s.chooseLifecycle(ctx, sp, "")
			if domain.KindOf(err) == domain.KindInvalid {
				return s.keepPending(ctx, v, data, domain.Message(err), &res)
			}
			if err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		imp, err := s.write(ctx, v, lifecycle)
		if err != nil {
			return err
		}
		res.State, res.Lifecycle = domain.BundleImported, imp.Lifecycle
		return nil
	})
	return res, err
}

// keepPending stores a verified bundle for a person to import.
func (s *Service) keepPending(ctx context.Context, v *verified, data []byte, why string, res *ReceiveResult) error {
	rec := domain.BundleRecord{
		SpaceID: v.space.ID, Direction: domain.BundleIn, Digest: res.Digest,
		SourceSpace: v.signer.Name, TargetSpace: v.space.Name, Project: res.Project, Version: res.Version,
		State: domain.BundlePending, CreatedAt: s.now(), CreatedBy: domain.ActorName(ctx), Data: data,
	}
	if err := s.bundles.Create(ctx, &rec); err != nil {
		return err
	}
	res.State, res.Reason = domain.BundlePending, why
	return s.audit.Record(ctx, v.space.ID, "bundle.receive", res.Project+" "+res.Version, map[string]string{
		"project": res.Project, "from": v.signer.Name, "fingerprint": v.signer.Fingerprint, "bundle": res.Digest, "state": domain.BundlePending, "reason": why,
	})
}

// record stores the record of an imported bundle, or moves the pending
// record of the same bundle to imported.
func (s *Service) record(ctx context.Context, rec *domain.BundleRecord) error {
	prev, err := s.bundles.Get(ctx, rec.SpaceID, domain.BundleIn, rec.Digest)
	switch {
	case err == nil && prev.State == domain.BundlePending:
		rec.ID = prev.ID
		return s.bundles.MarkImported(ctx, prev.ID, s.now(), rec.CreatedBy)
	case err != nil && !errors.Is(err, domain.ErrNotFound):
		return err
	}
	return s.bundles.Create(ctx, rec)
}

// ImportPending imports a bundle that a connected space delivered and that
// waits for a person (see Receive), choosing its lifecycle. digest may be
// shortened to any unique prefix, as `ferry bundle list` shows it. The
// bundle is verified again, since trust may have changed since it arrived.
func (s *Service) ImportPending(ctx context.Context, space, digest, lifecycle string) (ImportResult, error) {
	sp, err := s.access.Space(ctx, space, domain.PermAdminSpace, "", "")
	if err != nil {
		return ImportResult{}, err
	}
	rec, err := s.pending(ctx, sp, digest)
	if err != nil {
		return ImportResult{}, err
	}
	if rec.State == domain.BundleImported {
		return ImportResult{Project: rec.Project, Version: rec.Version, Source: rec.SourceSpace, AlreadyImported: true}, nil
	}
	return s.Import(ctx, space, rec.Data, lifecycle)
}

// pending finds a received bundle by digest or unique digest prefix.
func (s *Service) pending(ctx context.Context, sp domain.Space, digest string) (domain.BundleRecord, error) {
	want := strings.TrimSuffix(strings.TrimSpace(digest), "…")
	if want == "" {
		return domain.BundleRecord{}, domain.Invalidf("give the digest of a pending bundle, as `ferry bundle list` shows it")
	}
	if !strings.HasPrefix(want, "sha256:") {
		want = "sha256:" + want
	}
	list, err := s.bundles.List(ctx, sp.ID, 0)
	if err != nil {
		return domain.BundleRecord{}, err
	}
	var found []domain.BundleRecord
	for _, b := range list {
		if b.Direction == domain.BundleIn && strings.HasPrefix(b.Digest, want) {
			found = append(found, b)
		}
	}
	switch len(found) {
	case 0:
		return domain.BundleRecord{}, domain.NotFoundf("no bundle received by space %q has digest %s; `ferry bundle list` shows the pending ones", sp.Name, digest)
	case 1:
	default:
		return domain.BundleRecord{}, domain.Invalidf("digest %s matches %d bundles; give more of it", digest, len(found))
	}
	if found[0].State != domain.BundlePending {
		return found[0], nil
	}
	return s.bundles.Get(ctx, sp.ID, domain.BundleIn, found[0].Digest)
}

// PendingHint is the command that imports a pending bundle.
func PendingHint(space, digest string) string {
	return fmt.Sprintf("ferry bundle import --pending %s --lifecycle LIFECYCLE --space %q", digest, space)
}
