package release

import (
	"context"
	"slices"
	"strings"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// selectPackages resolves "ID:VERSION" selections against the space's feed
// and checks that every deploy-package step of the process has its package
// selected, so a release never lacks what it deploys.
func selectPackages(ctx context.Context, feed store.Packages, spaceID int64, process []domain.Step, specs []string) ([]domain.PackageRef, error) {
	var refs []domain.PackageRef
	for _, spec := range specs {
		id, version, ok := strings.Cut(spec, ":")
		if !ok || id == "" || version == "" {
			return nil, domain.Invalidf("--package %q: give ID:VERSION, for example shop-web:1.2.0", spec)
		}
		if slices.ContainsFunc(refs, func(r domain.PackageRef) bool { return r.ID == id }) {
			return nil, domain.Invalidf("package %q is selected twice; a release deploys one version of each package", id)
		}
		p, err := feed.Get(ctx, spaceID, id, version)
		if err != nil {
			if domain.KindOf(err) == domain.KindNotFound {
				return nil, domain.NotFoundf("package %s %s is not in this space's feed; push it first with `ferry package push FILE --id %s --version %s`", id, version, id, version)
			}
			return nil, err
		}
		refs = append(refs, p.Ref())
	}
	for _, step := range process {
		if step.Type != domain.StepDeployPackage {
			continue
		}
		if !slices.ContainsFunc(refs, func(r domain.PackageRef) bool { return r.ID == step.Package }) {
			return nil, domain.Invalidf("step %q deploys package %q, but the release selects no version of it: add --package %s:VERSION", step.Name, step.Package, step.Package)
		}
	}
	return refs, nil
}
