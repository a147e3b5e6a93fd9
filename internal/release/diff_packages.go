package release

import (
	"slices"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// PackageChange is a package whose selected version was added, removed or
// changed between two releases (matched by id).
type PackageChange struct {
	ID     string             `json:"id"`
	Change string             `json:"change"`
	Old    *domain.PackageRef `json:"old,omitempty"`
	New    *domain.PackageRef `json:"new,omitempty"`
}

func comparePackageSets(old, new []domain.PackageRef) []PackageChange {
	var out []PackageChange
	for _, n := range new {
		i := slices.IndexFunc(old, func(o domain.PackageRef) bool { return o.ID == n.ID })
		switch {
		case i < 0:
			out = append(out, PackageChange{ID: n.ID, Change: Added, New: &n})
		case old[i] != n:
			o := old[i]
			out = append(out, PackageChange{ID: n.ID, Change: Changed, Old: &o, New: &n})
		}
	}
	for _, o := range old {
		if !slices.ContainsFunc(new, func(n domain.PackageRef) bool { return n.ID == o.ID }) {
			out = append(out, PackageChange{ID: o.ID, Change: Removed, Old: &o})
		}
	}
	return out
}

// packageStepChanges lists the deploy-package fields that differ.
func packageStepChanges(o, n domain.Step) []FieldChange {
	var out []FieldChange
	str := func(field, a, b string) {
		if a != b {
			out = append(out, FieldChange{Field: field, Old: a, New: b})
		}
	}
	str("package", o.Package, n.Package)
	str("destination", o.Destination, n.Destination)
	if !slices.Equal(o.Substitute, n.Substitute) {
		out = append(out, FieldChange{Field: "substitute", Old: nonNil(o.Substitute), New: nonNil(n.Substitute)})
	}
	str("preDeploy", o.PreDeploy, n.PreDeploy)
	str("postDeploy", o.PostDeploy, n.PostDeploy)
	return out
}
