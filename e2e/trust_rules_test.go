package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/ferrytest"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/receipt"
	"github.com/ferrydeploy/ferry/internal/signing"
)

// TestReceiptsSpeakOnlyForTheirSigner is issue 14 item 1, through the
// binary: correctly signed receipts that report what their signer has no
// right to report — a local environment, a third space's environment, a
// release never promoted toward the signer, a false digest, a signer known
// only by a relayed certificate that carries a known name — are refused,
// and open no lifecycle gate. A genuine receipt still does.
func TestReceiptsSpeakOnlyForTheirSigner(t *testing.T) {
	p := newPair(t)
	p.release(t) // 1.0.0 deployed to Development and Test
	dev := func(args ...string) string {
		return p.dev.Must(append([]string{"--space", "DevTest Space"}, args...)...).Stdout
	}
	devFail := func(args ...string) string {
		return p.dev.Fail(append([]string{"--space", "DevTest Space"}, args...)...).Stderr
	}
	// A phase after Prod, and a space trusted for receipts that the
	// release never goes to.
	dev("apply", "-f", ferrytest.WriteFile(t, "final.yaml", `environments: [{name: Final}]
lifecycles:
  - name: Main
    phases:
      - {name: Dev, environments: [Development]}
      - {name: Test, environments: [Test]}
      - {name: Prod, environments: ["Prod Space: Production"]}
      - {name: Final, environments: [Final]}
`))
	for _, env := range []string{"Final"} {
		dev("var", "set", "My Project", "ConnectionString", "Server=final", "--env", env)
	}
	p.prod.Must("space", "create", "QA Space")
	qaPEM := filepath.Join(t.TempDir(), "qa.pem")
	p.prod.Must("space", "cert", "QA Space", "--out", qaPEM)
	dev("remote-space", "add", "QA Space", "--cert", qaPEM, "--trust", "receipts")
	p.promote(t) // 1.0.0 promoted to Prod (written to a file)

	devSpace := p.dev.Space(t, "DevTest Space")
	prodKey, qaKey := p.prod.SpaceIdentity(t, "Prod Space"), p.prod.SpaceIdentity(t, "QA Space")
	prodFP, qaFP := fingerprintOf(prodKey), fingerprintOf(qaKey)
	origin := receipt.OriginRef{Space: "DevTest Space", Fingerprint: devSpace.Fingerprint, Project: "My Project"}
	run := func(args ...string) string { return dev(args...) }

	dev("release", "create", "My Project", "--version", "2.0.0") // deployed nowhere
	dev("release", "create", "My Project", "--version", "3.0.0") // Development and Test, never promoted
	dev("deploy", "My Project", "3.0.0", "--to", "Development", "--wait")
	dev("deploy", "My Project", "3.0.0", "--to", "Test", "--wait")
	d1, d2, d3 := digestOf(t, run, "My Project", "1.0.0"), digestOf(t, run, "My Project", "2.0.0"), digestOf(t, run, "My Project", "3.0.0")
	zero := "sha256:" + strings.Repeat("0", 64)

	refused := func(name, file string, wants ...string) {
		t.Helper()
		out := devFail("receipt", "import", file)
		contains(t, out, append([]string{"refused ["}, wants...)...)
		if t.Failed() {
			t.Fatalf("%s: %s", name, out)
		}
	}
	prodSays := func(version, digest, env, local string) string {
		return receiptFile(t, prodKey, "Prod Space", devSpace, signReceipt(t, prodKey, receipt.Payload{
			Deploying: receipt.SpaceRef{Space: "Prod Space", Fingerprint: prodFP}, Origin: origin,
			Version: version, SnapshotDigest: digest, Environment: env, LocalEnv: local}))
	}
	qaSays := func(version, digest, env, local string) string {
		return receiptFile(t, qaKey, "QA Space", devSpace, signReceipt(t, qaKey, receipt.Payload{
			Deploying: receipt.SpaceRef{Space: "QA Space", Fingerprint: qaFP}, Origin: origin,
			Version: version, SnapshotDigest: digest, Environment: env, LocalEnv: local}))
	}

	// A space trusted for receipts reports one of this space's own
	// environments: the gate to Test must stay shut.
	refused("Development for 2.0.0", prodSays("2.0.0", d2, "Development", "Development"), "receipt-")
	refused("Test for 2.0.0", prodSays("2.0.0", d2, "Test", "Test"), "receipt-")
	refused("Development for a promoted release", prodSays("1.0.0", d1, "Development", "Development"), "receipt-environment", "Prod Space: Development")
	refused("another space's environment", prodSays("1.0.0", d1, "QA Space: Verify", "Verify"), "receipt-environment")
	contains(t, devFail("deploy", "My Project", "2.0.0", "--to", "Test"), `phase "Dev"`)

	// QA, trusted for receipts, reports Prod's environment, for a release
	// never promoted anywhere, with a false digest: the phase after Prod
	// must stay shut.
	refused("QA for Prod, never promoted, zero digest", qaSays("3.0.0", zero, "Prod Space: Production", "Production"), "receipt-")
	refused("QA for Prod, real digest", qaSays("3.0.0", d3, "Prod Space: Production", "Production"), "receipt-")
	refused("QA for Prod, promoted release", qaSays("1.0.0", d1, "Prod Space: Production", "Production"), "receipt-")
	refused("QA's own environment, never promoted to QA", qaSays("1.0.0", d1, "QA Space: Production", "Production"), "receipt-path")
	refused("Prod, never promoted to Prod", prodSays("3.0.0", d3, "Prod Space: Production", "Production"), "receipt-path")
	refused("Prod, promoted, false digest", prodSays("1.0.0", zero, "Prod Space: Production", "Production"), "receipt-digest")
	contains(t, devFail("deploy", "My Project", "3.0.0", "--to", "Final"), `phase "Prod"`)
	contains(t, devFail("deploy", "My Project", "1.0.0", "--to", "Final"), `phase "Prod"`)

	// Relayed by QA: a receipt signed by a space this space does not know,
	// whose certificate carries the name "Prod Space".
	evil, err := identity.Generate("Prod Space", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	relayed := func(signer *identity.Identity, claimFP string) string {
		return receiptFile(t, qaKey, "QA Space", devSpace, signReceipt(t, signer, receipt.Payload{
			Deploying: receipt.SpaceRef{Space: "Prod Space", Fingerprint: claimFP}, Origin: origin,
			Version: "1.0.0", SnapshotDigest: d1, Environment: "Prod Space: Production", LocalEnv: "Production"}))
	}
	refused("relayed, unknown signer named Prod Space", relayed(evil, fingerprintOf(evil)), "receipt-signer", "does not know")
	refused("relayed, claims Prod's fingerprint", relayed(evil, prodFP), "signature")
	contains(t, devFail("deploy", "My Project", "1.0.0", "--to", "Final"), `phase "Prod"`)
	if out := dev("dashboard"); strings.Contains(lineWith(t, out, "Prod Space: Production"), "Success") {
		t.Errorf("a refused receipt shows on the dashboard:\n%s", out)
	}

	// The genuine receipt opens the gate.
	prod := func(args ...string) ferrytest.Result {
		return p.prod.Must(append([]string{"--space", "Prod Space"}, args...)...)
	}
	prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}]
lifecycles: [{name: Production, phases: [{name: Live, environments: [Production]}]}]
`))
	file := filepath.Join(t.TempDir(), "my-project-1.0.0.bundle")
	dev("promote", "My Project", "1.0.0", "--to", "Prod Space", "--out", file)
	prod("bundle", "import", file)
	prod("var", "set", "DevTest Space: My Project", "ConnectionString", "Server=prod-db", "--env", "Production")
	prod("deploy", "DevTest Space: My Project", "1.0.0", "--to", "Production", "--wait")
	back := filepath.Join(t.TempDir(), "back.json")
	prod("receipt", "export", "--to", "DevTest Space", "--out", back)
	contains(t, dev("receipt", "import", back), "Imported 1 receipt")
	contains(t, dev("deploy", "My Project", "1.0.0", "--to", "Final", "--wait"), "Success")
}

// TestRemoteProjectBoundToOrigin is issue 14 item 2: a space trusted for
// releases cannot put its code into another origin's project, however it
// names the origin; and a digest this space did not verify is never shown
// as if it had.
func TestRemoteProjectBoundToOrigin(t *testing.T) {
	p := newPair(t)
	p.release(t)
	file := p.promote(t)
	prod := func(args ...string) string {
		return p.prod.Must(append([]string{"--space", "Prod Space"}, args...)...).Stdout
	}
	prodFail := func(args ...string) string {
		return p.prod.Fail(append([]string{"--space", "Prod Space"}, args...)...).Stderr
	}
	prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}]
lifecycles: [{name: Production, phases: [{name: Live, environments: [Production]}]}]
`))
	prod("bundle", "import", file)
	prod("var", "set", "DevTest Space: My Project", "ConnectionString", "Server=prod-db", "--env", "Production")

	// Another space of DevTest's server, trusted by Prod for releases.
	p.dev.Must("space", "create", "Other Space")
	otherPEM := filepath.Join(t.TempDir(), "other.pem")
	p.dev.Must("space", "cert", "Other Space", "--out", otherPEM)
	prod("remote-space", "add", "Other Space", "--cert", otherPEM, "--trust", "releases")
	other := p.dev.SpaceIdentity(t, "Other Space")
	prodSpace := p.prod.Space(t, "Prod Space")
	genuine := bundlePayload(t, file)
	forged := func(edit func(pl *bundle.Payload)) string {
		pl := genuine
		pl.ID = "forged"
		pl.Source = bundle.SpaceRef{Space: "Other Space", Fingerprint: fingerprintOf(other)}
		pl.Process = append([]domain.Step(nil), genuine.Process...)
		pl.Process[0].Script = "echo pwned-by-other"
		edit(&pl)
		return forgeBundle(t, other, retargeted(pl))
	}

	// Other signs a new version of DevTest's project: refused, naming both
	// spaces and what to do.
	newVersion := forged(func(pl *bundle.Payload) { pl.Release.Version = "1.0.1" })
	out := prodFail("bundle", "import", newVersion)
	contains(t, out, "refused [bundle-deliverer]", `"Other Space"`, `"DevTest Space"`, "ferry project deliverers")
	contains(t, prodFail("bundle", "import", forged(func(pl *bundle.Payload) {})), "refused [bundle-deliverer]")
	// Other names DevTest as origin but with its own fingerprint, or says
	// the release was made in Prod itself.
	contains(t, prodFail("bundle", "import", forged(func(pl *bundle.Payload) {
		pl.Origin.Fingerprint = fingerprintOf(other)
	})), "refused [bundle-origin-name]", "DevTest Space")
	contains(t, prodFail("bundle", "import", forged(func(pl *bundle.Payload) {
		pl.Origin.Space = "DevTest Renamed" // DevTest's fingerprint under another name: a second project
	})), "refused [bundle-origin-name]", `came here as "DevTest Space"`)
	contains(t, prodFail("bundle", "import", forged(func(pl *bundle.Payload) {
		pl.Origin = bundle.Origin{Space: "Prod Space", Fingerprint: prodSpace.Fingerprint, Project: "Shop"}
	})), "refused [bundle-origin]")
	contains(t, prodFail("bundle", "import", forged(func(pl *bundle.Payload) {
		pl.Origin = bundle.Origin{Space: "Elsewhere", Fingerprint: prodSpace.Fingerprint, Project: "Shop"}
	})), "refused [bundle-origin]")

	// Nothing changed: the project runs DevTest's process.
	notContains(t, prod("release", "list", "DevTest Space: My Project"), "1.0.1")
	contains(t, prod("project", "deliverers", "DevTest Space: My Project"), "origin \"DevTest Space\"", "No other space")
	r := prod("deploy", "DevTest Space: My Project", "1.0.0", "--to", "Production", "--wait")
	notContains(t, r, "pwned")

	// Allowed by a person, Other may deliver it.
	prod("project", "deliverers", "DevTest Space: My Project", "--add", "Other Space")
	contains(t, prod("bundle", "import", newVersion), "Imported DevTest Space: My Project 1.0.1")

	// The first delivery of a project binds it to its deliverer, and the
	// origin digest a relay claims is shown as its claim, not as checked.
	realDigest := genuine.SnapshotDigest
	contains(t, prod("bundle", "import", forged(func(pl *bundle.Payload) {
		pl.Origin.Project = "Fresh"
	})), "Imported DevTest Space: Fresh 1.0.0")
	var shown struct {
		SnapshotDigest string `json:"snapshotDigest"`
		DigestHere     string `json:"digestHere"`
		OriginDigest   struct {
			Digest   string `json:"digest"`
			SignedBy string `json:"signedBy"`
			ByOrigin bool   `json:"byOrigin"`
		} `json:"originDigest"`
	}
	decodeJSON(t, prod("release", "show", "DevTest Space: Fresh", "1.0.0", "-o", "json"), &shown)
	if shown.SnapshotDigest == realDigest || shown.SnapshotDigest != shown.DigestHere || shown.OriginDigest.ByOrigin || shown.OriginDigest.SignedBy != "Other Space" {
		t.Errorf("a relay's claim of the origin's digest is shown as checked: %+v", shown)
	}
	contains(t, prod("release", "show", "DevTest Space: Fresh", "1.0.0"), "claimed by Other Space", "not verified here")
	contains(t, prod("project", "deliverers", "DevTest Space: Fresh"), "Other Space")
	// ...while the origin's own signature on its digest is shown as such.
	decodeJSON(t, prod("release", "show", "DevTest Space: My Project", "1.0.0", "-o", "json"), &shown)
	if shown.SnapshotDigest != realDigest || !shown.OriginDigest.ByOrigin {
		t.Errorf("the origin's own digest: %+v", shown)
	}
}

// TestRevocationStopsDeployments is issue 14 item 3: after `remote-space
// revoke`, releases already imported from that space do not deploy and are
// not promoted onward, with a refusal that says who revoked it and when;
// and receipts the revoked space signed open no gate any more.
func TestRevocationStopsDeployments(t *testing.T) {
	p := newPair(t)
	p.release(t)
	file := p.promote(t)
	prod := func(args ...string) string {
		return p.prod.Must(append([]string{"--space", "Prod Space"}, args...)...).Stdout
	}
	prodFail := func(args ...string) string {
		return p.prod.Fail(append([]string{"--space", "Prod Space"}, args...)...).Stderr
	}
	dev := func(args ...string) string {
		return p.dev.Must(append([]string{"--space", "DevTest Space"}, args...)...).Stdout
	}
	// Prod may promote onward to a DR space of its server.
	p.prod.Must("space", "create", "DR Space")
	drPEM := filepath.Join(t.TempDir(), "dr.pem")
	p.prod.Must("space", "cert", "DR Space", "--out", drPEM)
	prod("remote-space", "add", "DR Space", "--cert", drPEM, "--trust", "promote")
	prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}]
remoteEnvironments: ["DR Space: Recovery"]
lifecycles: [{name: Production, phases: [{name: Live, environments: [Production]}, {name: DR, environments: ["DR Space: Recovery"]}]}]
`))
	prod("bundle", "import", file)
	prod("var", "set", "DevTest Space: My Project", "ConnectionString", "Server=prod-db", "--env", "Production")
	prod("deploy", "DevTest Space: My Project", "1.0.0", "--to", "Production", "--wait")

	// DevTest's later phase opens on Prod's receipt.
	dev("apply", "-f", ferrytest.WriteFile(t, "final.yaml", `environments: [{name: Final}]
lifecycles:
  - name: Main
    phases:
      - {name: Dev, environments: [Development]}
      - {name: Test, environments: [Test]}
      - {name: Prod, environments: ["Prod Space: Production"]}
      - {name: Final, environments: [Final]}
`))
	dev("var", "set", "My Project", "ConnectionString", "Server=final", "--env", "Final")
	back := filepath.Join(t.TempDir(), "back.json")
	prod("receipt", "export", "--to", "DevTest Space", "--out", back)
	dev("receipt", "import", back)
	dev("deploy", "My Project", "1.0.0", "--to", "Final", "--wait")

	// Prod revokes DevTest: what DevTest delivered no longer deploys, nor
	// goes on to DR.
	prod("remote-space", "revoke", "DevTest Space")
	out := prodFail("deploy", "DevTest Space: My Project", "1.0.0", "--to", "Production")
	contains(t, out, "refused [release-revoked]", `"DevTest Space"`, "revoked on", "by admin")
	contains(t, prodFail("promote", "DevTest Space: My Project", "1.0.0", "--to", "DR Space", "--out", filepath.Join(t.TempDir(), "dr.bundle")), "refused [release-revoked]")

	// DevTest revokes Prod: Prod's receipt no longer opens the phase after it.
	dev("remote-space", "revoke", "Prod Space")
	contains(t, p.dev.Fail("--space", "DevTest Space", "deploy", "My Project", "1.0.0", "--to", "Final").Stderr, `phase "Prod"`)
	notContains(t, lineWith(t, dev("dashboard"), "Prod Space: Production"), "Success")
}

// TestSignedDocumentsDecodedExactly is issue 14 item 5: a signed payload
// that a standard JSON tool would read differently from ferry — a name
// twice, a name differing only in case, a name ferry does not know — is
// refused, so what jq shows is what ferry imports.
func TestSignedDocumentsDecodedExactly(t *testing.T) {
	p := newPair(t)
	p.release(t)
	file := p.promote(t)
	p.prod.Must("--space", "Prod Space", "apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}]
lifecycles: [{name: Production, phases: [{name: Live, environments: [Production]}]}]
`))
	devKey := p.dev.SpaceIdentity(t, "DevTest Space")
	data, _ := os.ReadFile(file)
	good, err := bundle.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	body := string(good.Body)
	step := `"name":"Announce","type":"script",`
	if !strings.Contains(body, step) || !strings.Contains(body, `"release":{"version":"1.0.0"`) {
		t.Fatalf("unexpected payload: %s", body)
	}
	for name, edited := range map[string]string{
		"a step's script twice":        strings.Replace(body, step, step+`"script":"echo pwned",`, 1),
		"a script differing in case":   strings.Replace(body, step, step+`"Script":"echo pwned",`, 1),
		"the version twice":            strings.Replace(body, `"release":{"version":"1.0.0"`, `"release":{"version":"1.0.0","version":"6.6.6"`, 1),
		"the kind differing in case":   strings.Replace(body, `"kind":`, `"Kind":"ferry.release-bundle","kind":`, 1),
		"an unknown field in a step":   strings.Replace(body, step, step+`"shell":"sh",`, 1),
		"a target fingerprint in case": strings.Replace(body, `"target":{`, `"Target":{"space":"x","fingerprint":"y"},"target":{`, 1),
	} {
		forged := bundleFile(t, devKey, good.Payload.SchemaVersion, []byte(edited))
		r := p.prod.Fail("--space", "Prod Space", "bundle", "import", forged)
		contains(t, r.Stderr, "refused [exact-encoding]")
		if t.Failed() {
			t.Fatalf("%s: %s", name, r.Stderr)
		}
	}
	notContains(t, p.prod.Must("--space", "Prod Space", "project", "list").Stdout, "My Project")

	// A receipt whose environment is given twice, in two cases.
	p.prod.Must("--space", "Prod Space", "bundle", "import", file)
	prodKey := p.prod.SpaceIdentity(t, "Prod Space")
	devSpace := p.dev.Space(t, "DevTest Space")
	sg := signReceipt(t, prodKey, receipt.Payload{
		Deploying: receipt.SpaceRef{Space: "Prod Space", Fingerprint: fingerprintOf(prodKey)},
		Origin:    receipt.OriginRef{Space: "DevTest Space", Fingerprint: devSpace.Fingerprint, Project: "My Project"},
		Version:   "1.0.0", SnapshotDigest: good.Payload.SnapshotDigest, Environment: "Prod Space: Production", LocalEnv: "Production"})
	for _, edit := range []func(string) string{
		func(s string) string {
			return strings.Replace(s, `"localEnvironment":"Production"`, `"localEnvironment":"Production","LocalEnvironment":"Test"`, 1)
		},
		func(s string) string {
			return strings.Replace(s, `"state":"Success"`, `"state":"Failed","state":"Success"`, 1)
		},
	} {
		body := []byte(edit(string(sg.Payload)))
		sig, err := signing.Sign(prodKey.Signer, body)
		if err != nil {
			t.Fatal(err)
		}
		f := receiptFile(t, prodKey, "Prod Space", devSpace, receipt.Signed{Payload: body, Signature: sig, Signer: sg.Signer})
		contains(t, p.dev.Fail("--space", "DevTest Space", "receipt", "import", f).Stderr, "refused [exact-encoding]")
	}
}

// TestRevocationStopsQueuedDeployments: a deployment of an imported release
// that was queued — allowed then — but had not started when its source was
// revoked does not run: the task fails naming the rule, and no step of the
// release runs.
func TestRevocationStopsQueuedDeployments(t *testing.T) {
	p := newPair(t)
	p.release(t)
	file := p.promote(t)
	prod := func(args ...string) string {
		return p.prod.Must(append([]string{"--space", "Prod Space"}, args...)...).Stdout
	}
	gate := filepath.Join(t.TempDir(), "open")
	prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}]
lifecycles: [{name: Production, phases: [{name: Live, environments: [Production]}]}]
projects:
  - name: Busy
    lifecycle: Production
    process: [{name: Wait, type: script, script: "while [ ! -e '`+gate+`' ]; do sleep 0.1; done"}]
`))
	prod("bundle", "import", file)
	prod("var", "set", "DevTest Space: My Project", "ConnectionString", "Server=prod-db", "--env", "Production")
	prod("release", "create", "Busy", "--version", "1")
	for range 4 { // every worker busy
		prod("deploy", "Busy", "1", "--to", "Production")
	}
	var queued struct {
		TaskID int64 `json:"taskId"`
	}
	decodeJSON(t, prod("deploy", "DevTest Space: My Project", "1.0.0", "--to", "Production", "-o", "json"), &queued)
	prod("remote-space", "revoke", "DevTest Space")
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprint(queued.TaskID)
	var task haTask
	ferrytest.WaitFor(t, time.Minute, "the queued deployment to end", func() bool {
		var tasks []haTask
		decodeJSON(t, prod("task", "list", "-o", "json"), &tasks)
		for _, tk := range tasks {
			if tk.ID == queued.TaskID {
				task = tk
			}
		}
		return task.State == "Success" || task.State == "Failed" || task.State == "Cancelled"
	})
	log := p.prod.Run("--space", "Prod Space", "task", "log", id).Out()
	if task.State != "Failed" || !strings.Contains(task.Error+log, "release-revoked") {
		t.Errorf("a deployment queued before its source was revoked ended %s (%s):\n%s", task.State, task.Error, log)
	}
	notContains(t, log, "Step 1/")
}
