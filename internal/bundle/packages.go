package bundle

import (
	"context"
	"errors"

	"github.com/ferrydeploy/ferry/internal/domain"
)

func toBundlePackages(refs []domain.PackageRef) []Package {
	out := []Package{}
	for _, r := range refs {
		out = append(out, Package{ID: r.ID, Version: r.Version, SHA256: r.SHA256, Size: r.Size})
	}
	return out
}

func fromBundlePackages(ps []Package) []domain.PackageRef {
	var out []domain.PackageRef
	for _, p := range ps {
		out = append(out, domain.PackageRef{ID: p.ID, Version: p.Version, SHA256: p.SHA256, Size: p.Size})
	}
	return out
}

// missingPackages lists the release's packages that the space's feed does
// not hold with the pinned SHA-256.
func (s *Service) missingPackages(ctx context.Context, sp domain.Space, rel domain.Release) ([]domain.PackageRef, error) {
	var out []domain.PackageRef
	for _, ref := range rel.Snapshot.Packages {
		p, err := s.packages.Get(ctx, sp.ID, ref.ID, ref.Version)
		if errors.Is(err, domain.ErrNotFound) || (err == nil && p.SHA256 != ref.SHA256) {
			out = append(out, ref)
		} else if err != nil {
			return nil, err
		}
	}
	return out, nil
}
