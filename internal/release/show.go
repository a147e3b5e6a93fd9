package release

import (
	"context"
	"fmt"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// Current names the project's current, unreleased state wherever a diff
// takes a release version.
const Current = "current"

// Detail is a release with what people check before approving it: the
// digest of its snapshot and its packages.
//
// A digest is shown only as verified as it is. DigestHere is always
// computed here, from the snapshot this space stores and deploys. For an
// imported release, SnapshotDigest is the origin's digest when the origin
// itself signed the bundle (so both spaces show the same digest), and
// DigestHere otherwise; Origin then says whose claim the origin's digest
// is, since this space cannot recompute it (the bundle carried the
// snapshot sliced for this space).
type Detail struct {
	domain.Release
	// Packages is the release's package selection.
	Packages []PackageRef `json:"packages"`
	// DigestHere is the digest of the snapshot as stored here.
	DigestHere string `json:"digestHere"`
	// Origin is set for an imported release.
	Origin *OriginDigest `json:"originDigest,omitempty"`
}

// OriginDigest is the digest an imported release has in its origin space,
// and who says so.
type OriginDigest struct {
	Digest string `json:"digest"`
	// SignedBy names the space whose signature covers it: the origin
	// itself, or a space that relayed the release.
	SignedBy string `json:"signedBy"`
	// ByOrigin is true when the origin signed it; otherwise it is a
	// relay's claim, not verified here.
	ByOrigin bool   `json:"byOrigin"`
	Note     string `json:"note"`
}

// PackageRef is a package a release deploys, pinned by content.
type PackageRef struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
}

// Show returns a release with its snapshot digests.
func (s *Service) Show(ctx context.Context, space, project, version string) (Detail, error) {
	p, err := s.project(ctx, space, project)
	if err != nil {
		return Detail{}, err
	}
	r, err := s.releases.Get(ctx, p.ID, version)
	if err != nil {
		return Detail{}, err
	}
	d := Detail{Release: r, Packages: []PackageRef{}, DigestHere: Digest(r.Snapshot)}
	switch {
	case r.Provenance != nil && p.Origin != nil:
		o := &OriginDigest{Digest: r.SnapshotDigest, SignedBy: r.Provenance.SourceSpace, ByOrigin: r.Provenance.SourceFingerprint == p.Origin.Fingerprint}
		if o.ByOrigin {
			o.Note = fmt.Sprintf("signed by %s, the release's origin; this space cannot recompute it (it holds the snapshot sliced for it, whose digest is digestHere)", o.SignedBy)
		} else {
			o.Note = fmt.Sprintf("claimed by %s, which relayed the release; not verified here", o.SignedBy)
			d.SnapshotDigest = d.DigestHere
		}
		d.Origin = o
	case r.SnapshotDigest == "":
		d.SnapshotDigest = d.DigestHere
	}
	for _, p := range r.Snapshot.Packages {
		d.Packages = append(d.Packages, PackageRef{ID: p.ID, Version: p.Version, SHA256: p.SHA256, Size: p.Size})
	}
	return d, nil
}

// Side is one side of a diff: a release version or Current.
type Side struct {
	Version        string `json:"version"`
	SnapshotDigest string `json:"snapshotDigest"`
}

// Diff is what changed in a project between two releases, or between a
// release and the project's current state.
type Diff struct {
	Project string `json:"project"`
	From    Side   `json:"from"`
	To      Side   `json:"to"`
	// Identical means no difference at all, secrets included. Equal digests
	// alone do not prove that, because digests leave secret values out.
	Identical bool `json:"identical"`
	Changes
}

// Diff compares two releases of a project; either version may be Current.
func (s *Service) Diff(ctx context.Context, space, project, from, to string) (Diff, error) {
	if _, err := s.project(ctx, space, project); err != nil {
		return Diff{}, err
	}
	if from == "" || to == "" {
		return Diff{}, domain.Invalidf("a diff needs two versions (from and to); %q means the project's current state", Current)
	}
	var d Diff
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		p, err := s.project(ctx, space, project)
		if err != nil {
			return err
		}
		snapshot := func(version string) (domain.Snapshot, error) {
			if version == Current {
				return Freeze(p), nil
			}
			r, err := s.releases.Get(ctx, p.ID, version)
			return r.Snapshot, err
		}
		old, err := snapshot(from)
		if err != nil {
			return err
		}
		new, err := snapshot(to)
		if err != nil {
			return err
		}
		d = Diff{
			Project: p.Name,
			From:    Side{Version: from, SnapshotDigest: Digest(old)},
			To:      Side{Version: to, SnapshotDigest: Digest(new)},
			Changes: Compare(old, new),
		}
		d.Identical = d.Changes.Empty()
		return nil
	})
	return d, err
}
