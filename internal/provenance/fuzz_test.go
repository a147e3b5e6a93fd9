package provenance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/envelope"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/provenance"
	"github.com/ferrydeploy/ferry/internal/receipt"
	"github.com/ferrydeploy/ferry/internal/release"
	"github.com/ferrydeploy/ferry/internal/services"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/signing"
	"github.com/ferrydeploy/ferry/internal/store"
)

// world is the production service set on a real SQLite file with four
// spaces: Dev, the origin of project Shop; Prod, which Dev promotes to and
// which imported release 1.0.0; QA, trusted by Dev for receipts and by
// Prod for releases, but never on Shop's path; and Evil, a space nobody
// knows whose certificate says it is "Prod". The fuzz tests sign documents
// as any of them, with hostile content, and check what they could change.
type world struct {
	ctx   context.Context
	st    store.Store
	set   services.Set
	gates *deploy.Progress
	rules *provenance.Rules
	keys  map[string]*identity.Identity
	sp    map[string]domain.Space
	good  bundle.Payload // the genuine bundle of Shop 1.0.0 for Prod
	// digest is Shop 1.0.0's snapshot digest in Dev.
	digest string
}

func newWorld(t testing.TB) *world {
	t.Helper()
	env := servicetest.New(t)
	ctx, set := env.Ctx, env.Set
	w := &world{ctx: ctx, st: env.Store, set: set, gates: env.Progress(), rules: provenance.New(env.Store.RemoteSpaces(), env.Store.Projects(), env.Store.Bundles()), keys: map[string]*identity.Identity{}, sp: map[string]domain.Space{}}
	for _, name := range []string{"Dev", "Prod", "QA"} {
		sp := env.CreateSpace(name)
		w.sp[name] = sp
		var err error
		if w.keys[name], err = set.Trust.Identity(ctx, sp.ID); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if w.keys["Evil"], err = identity.Generate("Prod", time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	for _, a := range []struct{ in, name, trust string }{
		{"Dev", "Prod", "promote,receipts"}, {"Dev", "QA", "receipts"},
		{"Prod", "Dev", "releases"}, {"Prod", "QA", "releases"},
	} {
		env.Trust(a.in, a.name, a.trust)
	}
	env.Apply("Dev", `environments: [{name: Final}]
remoteEnvironments: ["Prod: Production", "QA: Staging"]
lifecycles: [{name: Main, phases: [{name: Prod, environments: ["Prod: Production"]}, {name: Final, environments: [Final]}]}]
projects:
  - name: Shop
    lifecycle: Main
    variables:
      - {name: Token, value: tok, sensitive: true}
      - {name: QASecret, value: qa-only, sensitive: true, environments: ["QA: Staging"]}
    process:
      - {name: Run, type: script, script: "echo shop"}
      - {name: QA only, type: script, environments: ["QA: Staging"], script: "echo qa"}
`)
	env.Apply("Prod", `environments: [{name: Production}]
lifecycles: [{name: Live, phases: [{name: Live, environments: [Production]}]}]
`)
	for _, v := range []string{"1.0.0", "2.0.0"} {
		rel, err := set.Releases.Create(ctx, "Dev", "Shop", release.CreateRequest{Version: v})
		if err != nil {
			t.Fatal(err)
		}
		w.digest = rel.SnapshotDigest
	}
	pr, err := set.Bundles.Promote(ctx, "Dev", bundle.PromoteRequest{Project: "Shop", Version: "1.0.0", To: "Prod"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.Bundles.Import(ctx, "Prod", pr.Data, ""); err != nil {
		t.Fatal(err)
	}
	p, err := bundle.Parse(pr.Data)
	if err != nil {
		t.Fatal(err)
	}
	w.good = p.Payload
	return w
}

func theWorld(f *testing.F) *world { return newWorld(f) }

func fp(id *identity.Identity) string { return identity.Fingerprint(id.Cert.Raw) }

// FuzzReceiptImport imports receipt files into Dev that are well formed and
// correctly signed — by Prod, QA, an unknown space named "Prod", or Dev
// itself — with hostile content: any environment, any signer claimed, any
// release and digest, relayed through Prod or QA. Whatever is accepted, no
// stored receipt may speak for anything but its signer's own environments,
// and the lifecycle gates of Shop may open only on Prod's word for the
// release promoted to Prod.
func FuzzReceiptImport(f *testing.F) {
	w := theWorld(f)
	seeds := []struct {
		signer, claim, exporter uint8
		env, local, version     string
		realDigest              bool
		state                   string
	}{
		{0, 0, 0, "Prod: Production", "Production", "1.0.0", true, "Success"},       // genuine
		{0, 0, 0, "Final", "Final", "1.0.0", true, "Success"},                       // a local environment
		{0, 0, 0, "Development", "Development", "2.0.0", true, "Success"},           // never promoted
		{1, 1, 1, "Prod: Production", "Production", "2.0.0", false, "Success"},      // QA speaks for Prod, zero digest
		{1, 1, 1, "QA: Staging", "Staging", "1.0.0", true, "Success"},               // QA, never promoted to QA
		{2, 2, 1, "Prod: Production", "Production", "1.0.0", true, "Success"},       // relayed, unknown signer named Prod
		{2, 0, 1, "Prod: Production", "Production", "1.0.0", true, "Success"},       // relayed, claims Prod's fingerprint
		{3, 3, 0, "Prod: Production", "Production", "1.0.0", true, "Success"},       // signed by Dev itself
		{0, 0, 0, "Prod: Production", "Final", "1.0.0", true, "Success"},            // mismatched names
		{0, 0, 0, "Prod: Production", "Prod: Production", "1.0.0", true, "Success"}, // a remote name as its own
		{0, 0, 0, "Prod: Production", "Production", "1.0.0", true, "Queued"},        // not a final state
		{0, 0, 1, "Prod: Production", "Production", "1.0.0", true, "Success"},       // genuine, relayed by QA
	}
	for _, s := range seeds {
		f.Add(s.signer, s.claim, s.exporter, s.env, s.local, s.version, s.realDigest, s.state)
	}
	who := []string{"Prod", "QA", "Evil", "Dev"}
	f.Fuzz(func(t *testing.T, signer, claim, exporter uint8, env, local, version string, realDigest bool, state string) {
		sk, ck, ek := w.keys[who[int(signer)%4]], w.keys[who[int(claim)%4]], w.keys[who[int(exporter)%2]]
		digest := "sha256:" + strings.Repeat("0", 64)
		if realDigest {
			digest = w.digest
			if version == "1.0.0" {
				digest = w.good.SnapshotDigest
			}
		}
		pl := receipt.Payload{Kind: receipt.ReceiptKind, SchemaVersion: receipt.SchemaVersion,
			Deploying: receipt.SpaceRef{Space: who[int(claim)%4], Fingerprint: fp(ck)},
			Origin:    receipt.OriginRef{Space: "Dev", Fingerprint: w.sp["Dev"].Fingerprint, Project: "Shop"},
			Version:   version, SnapshotDigest: digest, Environment: env, LocalEnv: local,
			State: domain.TaskState(state), DeployedBy: "fuzz"}
		body, _ := json.Marshal(pl)
		sig, err := signing.Sign(sk.Signer, body)
		if err != nil {
			t.Fatal(err)
		}
		fb := receipt.FileBody{Kind: receipt.FileKind, SchemaVersion: receipt.SchemaVersion, CreatedAt: time.Now().UTC(),
			Exporter:    receipt.SpaceRef{Space: who[int(exporter)%2], Fingerprint: fp(ek)},
			Destination: receipt.SpaceRef{Space: "Dev", Fingerprint: w.sp["Dev"].Fingerprint},
			Receipts:    []receipt.Signed{{Payload: body, Signature: sig, Signer: string(sk.CertPEM)}}}
		raw, _ := json.Marshal(fb)
		data, err := envelope.Seal(receipt.FileFormat, receipt.SchemaVersion, raw, ek.CertPEM, func(b []byte) ([]byte, error) { return signing.Sign(ek.Signer, b) })
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.set.Receipts.Import(w.ctx, "Dev", data)
		if err != nil && domain.KindOf(err) == domain.KindInternal {
			t.Fatalf("internal error: %v", err)
		}
		w.checkReceipts(t)
	})
}

// checkReceipts: every receipt Dev holds speaks for its signer, and Shop's
// gates open only on Prod's word about 1.0.0.
func (w *world) checkReceipts(t *testing.T) {
	t.Helper()
	list, err := w.st.Receipts().List(w.ctx, w.sp["Dev"].ID, store.ReceiptFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range list {
		if r.SignerFingerprint != w.sp["Prod"].Fingerprint || !strings.HasPrefix(r.Environment, "Prod: ") || r.Version != "1.0.0" || r.SnapshotDigest != w.good.SnapshotDigest {
			t.Fatalf("Dev holds a receipt that does not speak for its signer: %+v", r)
		}
	}
	p, err := w.st.Projects().Get(w.ctx, w.sp["Dev"].ID, "Shop")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "2.0.0"} {
		rel, err := w.st.Releases().Get(w.ctx, p.ID, v)
		if err != nil {
			t.Fatal(err)
		}
		done, err := w.gates.Of(w.ctx, w.sp["Dev"], p, rel)
		if err != nil {
			t.Fatal(err)
		}
		if done("Final") || done("Development") || done("QA") || done("QA: Staging") || (v == "2.0.0" && done("Prod")) {
			t.Fatalf("a gate of %s opened on a receipt that had no right to open it", v)
		}
	}
}

// FuzzBundleImport imports bundles into Prod that are correctly signed —
// by Dev, QA or an unknown space — with hostile content: another origin
// (Dev's fingerprint, QA's, Prod's own, an unknown one, under any name),
// any project, version and scope, and JSON names doubled or changed in
// case anywhere. Whatever is accepted: every remote project stays bound to
// its origin and deliverers, Dev's Shop keeps Dev's process, and nothing
// ferry imported reads differently to a standard JSON decoder.
func FuzzBundleImport(f *testing.F) {
	w := theWorld(f)
	f.Add(uint8(1), uint8(0), "Dev", "Shop", "1.0.1", "Production", uint8(0), uint16(0))      // QA into Dev's project
	f.Add(uint8(1), uint8(1), "Dev", "Shop", "1.0.1", "Production", uint8(0), uint16(0))      // QA under Dev's name
	f.Add(uint8(1), uint8(2), "Prod", "Shop", "1.0.1", "Production", uint8(0), uint16(0))     // origin: Prod itself
	f.Add(uint8(0), uint8(0), "Dev", "Shop", "1.0.2", "QA: Staging", uint8(0), uint16(0))     // a third space's scope
	f.Add(uint8(0), uint8(0), "Dev", "Shop", "1.0.3", "Production", uint8(1), uint16(40))     // a name twice
	f.Add(uint8(0), uint8(0), "Dev", "Shop", "1.0.4", "Production", uint8(2), uint16(200))    // a name in another case
	f.Add(uint8(1), uint8(3), "Elsewhere", "App", "1.0.0", "Production", uint8(0), uint16(0)) // a new project, first delivery
	f.Add(uint8(2), uint8(0), "Dev", "Shop", "9.9.9", "Production", uint8(0), uint16(0))      // an unknown signer
	f.Add(uint8(0), uint8(0), "Dev", "Shop", "1.0.0", "Production", uint8(0), uint16(0))      // 1.0.0 again, changed
	who := []string{"Dev", "QA", "Evil"}
	f.Fuzz(func(t *testing.T, signer, origin uint8, originName, project, version, scope string, edit uint8, at uint16) {
		sk := w.keys[who[int(signer)%3]]
		pl := w.good
		pl.ID = "fuzz"
		pl.SchemaVersion = bundle.SchemaVersion // the version that says which space each scope names
		pl.Source = bundle.SpaceRef{Space: who[int(signer)%3], Fingerprint: fp(sk)}
		ofp := []string{w.sp["Dev"].Fingerprint, fp(w.keys["QA"]), w.sp["Prod"].Fingerprint, "AA:" + strings.Repeat("00:", 30) + "00"}[int(origin)%4]
		pl.Origin = bundle.Origin{Space: originName, Fingerprint: ofp, Project: project}
		pl.Release.Version = version
		pl.Process = []domain.Step{{Name: "Run", Type: domain.StepScript, Script: "echo fuzz " + version, Environments: []string{scope}}}
		pl = retarget(pl)
		body, _ := json.Marshal(pl)
		body = mangle(body, edit, int(at))
		data, err := envelope.Seal(bundle.Format, pl.SchemaVersion, body, sk.CertPEM, func(b []byte) ([]byte, error) { return signing.Sign(sk.Signer, b) })
		if err != nil {
			t.Fatal(err)
		}
		res, err := w.set.Bundles.Import(w.ctx, "Prod", data, "")
		switch {
		case err != nil && domain.KindOf(err) == domain.KindInternal:
			t.Fatalf("internal error: %v", err)
		case err == nil:
			exact(t, body)
			w.checkBinding(t, res.Project, sk)
		}
		w.checkShop(t)
	})
}

// retarget recomputes a payload's target snapshot digest, as a signer does.
func retarget(pl bundle.Payload) bundle.Payload {
	snap, _ := pl.Snapshot(nil)
	pl.TargetSnapshotDigest = release.Digest(snap)
	return pl
}

// mangle doubles the JSON name found at or after offset at (edit 1), or
// adds a copy of it with its first letter's case changed (edit 2).
func mangle(body []byte, edit uint8, at int) []byte {
	if edit%3 == 0 || len(body) == 0 {
		return body
	}
	i := bytes.Index(body[at%len(body):], []byte(`":`))
	if i < 0 {
		return body
	}
	end := at%len(body) + i + 1 // the closing quote of a name
	start := bytes.LastIndexByte(body[:end], '"')
	if start < 0 || end-start < 2 {
		return body
	}
	name := string(body[start+1 : end])
	if edit%3 == 2 {
		name = strings.ToUpper(name[:1]) + name[1:]
		if name == string(body[start+1:end]) {
			name = strings.ToLower(name[:1]) + name[1:]
		}
	}
	// Insert `"name":null,` before the original name.
	out := append([]byte(nil), body[:start]...)
	out = append(out, []byte(`"`+name+`":null,`)...)
	return append(out, body[start:]...)
}

// exact checks that a payload ferry accepted reads the same to encoding/json,
// which tolerates what ferry refuses: had it read differently, a person
// looking at it with a standard tool would have seen another document.
func exact(t *testing.T, body []byte) {
	t.Helper()
	var a, b bundle.Payload
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("accepted a payload encoding/json cannot read: %v", err)
	}
	if err := envelope.Strict(body, &b); err != nil {
		t.Fatalf("accepted a payload Strict refuses: %v", err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("accepted a payload that reads differently:\n%s\n%s", ja, jb)
	}
}

// checkBinding: a project an import wrote is bound to its origin, and its
// signer is that origin or one of its deliverers.
func (w *world) checkBinding(t *testing.T, name string, signer *identity.Identity) {
	t.Helper()
	p, err := w.st.Projects().Get(w.ctx, w.sp["Prod"].ID, name)
	if err != nil {
		t.Fatal(err)
	}
	if p.Origin == nil || p.Origin.Fingerprint == w.sp["Prod"].Fingerprint {
		t.Fatalf("imported into %q, which is not bound to another origin: %+v", name, p.Origin)
	}
	if fp(signer) == p.Origin.Fingerprint {
		return
	}
	ds, err := w.st.Projects().Deliverers(w.ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Fingerprint == fp(signer) {
			return
		}
	}
	t.Fatalf("%q accepted a release from a space that may not deliver it", name)
}

// checkShop: Dev's project in Prod holds only what Dev signed.
func (w *world) checkShop(t *testing.T) {
	t.Helper()
	p, err := w.st.Projects().Get(w.ctx, w.sp["Prod"].ID, "Dev: Shop")
	if err != nil {
		t.Fatal(err)
	}
	if p.Origin.Fingerprint != w.sp["Dev"].Fingerprint {
		t.Fatalf("Dev: Shop rebound to %+v", p.Origin)
	}
	rels, err := w.st.Releases().List(w.ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rels {
		if r.Provenance == nil || r.Provenance.SourceFingerprint != w.sp["Dev"].Fingerprint {
			t.Fatalf("Dev: Shop %s was delivered by %+v", r.Version, r.Provenance)
		}
		if r.Version == "1.0.0" {
			continue // the genuine release, of schema 1 (Dev did not know what Prod reads)
		}
		named := map[string]bool{}
		for _, ref := range r.Snapshot.Spaces {
			named[ref.Space] = true
		}
		for _, st := range r.Snapshot.Process {
			for _, e := range st.Environments {
				if space, _, ok := strings.Cut(e, ": "); ok && !named[space] {
					t.Fatalf("Dev: Shop %s carries a step for a space the bundle did not name as one after Prod: %+v", r.Version, st)
				}
			}
		}
	}
}
