package bundle_test

import (
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/compat"
	"github.com/ferrydeploy/ferry/internal/release"
	"github.com/ferrydeploy/ferry/internal/servicetest"
)

// While nothing is known of what the target reads, a bundle is written in
// the previous schema version — also one carrying values for spaces after
// the target (downstream, which the previous version has) — so an
// air-gapped server of the release before reads it. Asked for the current
// version, it is written so.
func TestPromoteToUnknownTargetWritesPrevious(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	env.CreateSpace("Prod")
	env.CreateSpace("QA")
	env.Trust("Dev", "Prod", "promote,receipts")
	env.Trust("Dev", "QA", "promote,receipts")
	env.Apply("Dev", `remoteEnvironments: ["Prod: Production", "QA: Staging"]
lifecycles: [{name: Main, phases: [{name: Prod, environments: ["Prod: Production"]}, {name: QA, environments: ["QA: Staging"]}]}]
projects:
  - name: Shop
    lifecycle: Main
    variables: [{name: QASecret, value: qa-only, sensitive: true, environments: ["QA: Staging"]}]
    process: [{name: Run, type: script, script: "echo shop"}]
`)
	if _, err := env.Set.Releases.Create(env.Ctx, "Dev", "Shop", release.CreateRequest{Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		asked, want int
	}{{0, compat.Previous}, {compat.Current, compat.Current}} {
		pr, err := env.Set.Bundles.Promote(env.Ctx, "Dev", bundle.PromoteRequest{Project: "Shop", Version: "1.0.0", To: "Prod", SchemaVersion: c.asked})
		if err != nil {
			t.Fatal(err)
		}
		p, err := bundle.Parse(pr.Data)
		if err != nil {
			t.Fatal(err)
		}
		if p.Payload.Downstream == nil || len(p.Payload.Downstream.Sealed) != 1 {
			t.Fatalf("asked %d: downstream %+v, want QA's sealed value", c.asked, p.Payload.Downstream)
		}
		if p.Payload.SchemaVersion != c.want || p.Envelope.SchemaVersion != c.want || pr.SchemaVersion != c.want {
			t.Errorf("asked %d: schema %d (envelope %d, reported %d), want %d", c.asked, p.Payload.SchemaVersion, p.Envelope.SchemaVersion, pr.SchemaVersion, c.want)
		}
		if strings.Contains(strings.Join(pr.Notes, " "), "not known yet") {
			t.Errorf("asked %d: notes %q", c.asked, pr.Notes)
		}
	}
}
