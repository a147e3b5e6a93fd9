package provenance_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/provenance"
)

// TestBindKeepsOriginsOfEarlierVersions: a data folder written before
// names were compared as a person reads them may hold a remote project
// whose origin's name reads like a known space's (here "dev", beside the
// remote space "Dev"). That origin keeps delivering under its name; a new
// origin may not take such a name, nor may the established one change it.
func TestBindKeepsOriginsOfEarlierVersions(t *testing.T) {
	w := newWorld(t)
	prod := w.sp["Prod"]
	qa, err := w.st.RemoteSpaces().Get(w.ctx, prod.ID, "QA")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	old := domain.Project{SpaceID: prod.ID, Name: "dev: Tool", Lifecycle: "Production", CreatedAt: now, UpdatedAt: now,
		Origin: &domain.ProjectOrigin{Space: "dev", Project: "Tool", Fingerprint: qa.Fingerprint}}
	if err := w.st.Projects().Put(w.ctx, &old); err != nil {
		t.Fatal(err)
	}
	bind := func(space, fingerprint, project string) error {
		_, err := w.rules.Bind(w.ctx, prod, provenance.Origin{Space: space, Fingerprint: fingerprint, Project: project}, qa)
		return err
	}
	if err := bind("dev", qa.Fingerprint, "Tool"); err != nil {
		t.Errorf("the established origin's next release: %v", err)
	}
	if err := bind("dev", qa.Fingerprint, "Other Tool"); err != nil {
		t.Errorf("the established origin's new project: %v", err)
	}
	refusedAs := func(err error) bool {
		return err != nil && strings.Contains(err.Error(), "refused ["+domain.RuleBundleOriginName+"]")
	}
	if err := bind("DEV", qa.Fingerprint, "Tool"); !refusedAs(err) {
		t.Errorf("the established origin under another spelling: %v", err)
	}
	if err := bind("dEv", identity.Fingerprint(w.keys["Evil"].Cert.Raw), "Tool"); !refusedAs(err) {
		t.Errorf("a new origin named like it: %v", err)
	}
}
