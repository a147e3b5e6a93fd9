package packages

import (
	"context"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// What deployment targets need of the feed (targets.PackageChunks): the
// manifest of a package version a release pinned, and its chunks, which
// the server sends an agent when its cache lacks them.
//
// When packages gain other representations (deltas), these two are what
// changes for agents.

// Manifest returns the manifest of the package ref names in the space's
// feed, refused when the feed's version is not the SHA-256 the release
// pinned.
func (s *Service) Manifest(ctx context.Context, spaceID int64, ref domain.PackageRef) (*Manifest, error) {
	p, err := s.store.Packages().Get(ctx, spaceID, ref.ID, ref.Version)
	if err != nil {
		return nil, err
	}
	if p.SHA256 != ref.SHA256 {
		return nil, domain.Invalidf("package %s in this feed has SHA-256 %s, but the release was made with %s", ref, p.SHA256, ref.SHA256)
	}
	return decodeManifest(p)
}

// Chunk appends a stored chunk's bytes to buf, checked against h.
func (s *Service) Chunk(h Hash, size int64, buf []byte) ([]byte, error) {
	return s.chunks.Get(h, size, buf)
}
