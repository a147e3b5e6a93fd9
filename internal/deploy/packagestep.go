package deploy

import (
	"context"
	"errors"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// PackageSource writes a package version from a space's feed to the file
// dst, verified against the SHA-256 the release pinned.
type PackageSource interface {
	Fetch(ctx context.Context, spaceID int64, ref domain.PackageRef, dst string) error
}

// packageRef finds the version of a package the release pins.
func packageRef(rel domain.Release, id string) (domain.PackageRef, bool) {
	for _, p := range rel.Snapshot.Packages {
		if p.ID == id {
			return p, true
		}
	}
	return domain.PackageRef{}, false
}

// checkPackages refuses a deployment, before any task exists, when a
// deploy-package step that runs in env needs a package the space's feed
// does not hold with the SHA-256 the release pinned.
func checkPackages(ctx context.Context, feed store.Packages, sp domain.Space, p domain.Project, rel domain.Release, env string) error {
	for _, step := range rel.Snapshot.Process {
		if step.Type != domain.StepDeployPackage || !step.AppliesTo(env) {
			continue
		}
		ref, ok := packageRef(rel, step.Package)
		if !ok {
			return domain.Invalidf("cannot deploy %s %s: step %q deploys package %q, which the release does not select", p.Name, rel.Version, step.Name, step.Package)
		}
		have, err := feed.Get(ctx, sp.ID, ref.ID, ref.Version)
		if errors.Is(err, domain.ErrNotFound) {
			return domain.Invalidf("cannot deploy %s %s to %s: package %s %s is not in space %q's feed yet. Bring it with a transfer file from the space that made the release (`ferry package export` there, `ferry package import FILE` here), or push it with `ferry package push`",
				p.Name, rel.Version, env, ref.ID, ref.Version, sp.Name)
		}
		if err != nil {
			return err
		}
		if have.SHA256 != ref.SHA256 {
			return domain.Invalidf("cannot deploy %s %s to %s: package %s %s in this feed has SHA-256 %s, but the release pins %s", p.Name, rel.Version, env, ref.ID, ref.Version, have.SHA256, ref.SHA256)
		}
	}
	return nil
}
