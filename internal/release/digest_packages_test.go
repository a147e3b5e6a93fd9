package release

import (
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/domain"
)

func TestCanonicalWithPackages(t *testing.T) {
	plain := sampleSnapshot()
	if !strings.HasPrefix(string(Canonical(plain)), `{"format":"ferry-snapshot/1",`) {
		t.Fatal("a snapshot without packages must keep the first canonical form")
	}
	snap := sampleSnapshot()
	snap.Process = append(snap.Process, domain.Step{Name: "Web", Type: domain.StepDeployPackage, Package: "web", Destination: "/srv/web", Substitute: []string{"b.json", "a.json"}})
	snap.Packages = []domain.PackageRef{{ID: "web", Version: "1.0.0", SHA256: strings.Repeat("ab", 32), Size: 10}, {ID: "api", Version: "2", SHA256: "cd", Size: 1}}
	got := string(Canonical(snap))
	for _, want := range []string{
		`{"format":"ferry-snapshot/2","packages":[{"id":"api","sha256":"cd","size":1,"version":"2"},{"id":"web",`,
		`{"destination":"/srv/web","environments":[],"name":"Web","package":"web","postDeploy":"","preDeploy":"","script":"","substitute":["b.json","a.json"],"timeoutSeconds":0,"type":"deploy-package"}`,
	} {
		if !strings.Contains(got, want) {
			t.Fatalf("canonical form lacks %s:\n%s", want, got)
		}
	}
	other := snap
	other.Packages = []domain.PackageRef{snap.Packages[1], {ID: "web", Version: "1.0.0", SHA256: strings.Repeat("ef", 32), Size: 10}}
	if Digest(other) == Digest(snap) {
		t.Fatal("a different package hash must change the digest")
	}
	swapped := snap
	swapped.Packages = []domain.PackageRef{snap.Packages[1], snap.Packages[0]}
	if Digest(swapped) != Digest(snap) {
		t.Fatal("package order must not change the digest")
	}
	if c := Compare(snap, other); len(c.Packages) != 1 || c.Packages[0].Change != Changed || c.Empty() {
		t.Fatalf("diff: %+v", c.Packages)
	}
}
