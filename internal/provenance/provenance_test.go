package provenance_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/envelope"
	"github.com/ferrydeploy/ferry/internal/receipt"
	"github.com/ferrydeploy/ferry/internal/signing"
	"github.com/ferrydeploy/ferry/internal/store"
)

// storeReceipt stores a receipt signed by Prod straight into Dev's store,
// as an earlier version of ferry may have accepted it.
func (w *world) storeReceipt(t *testing.T, version, env, local, digest string) {
	t.Helper()
	pl := receipt.Payload{Kind: receipt.ReceiptKind, SchemaVersion: 1,
		Deploying: receipt.SpaceRef{Space: "Prod", Fingerprint: w.sp["Prod"].Fingerprint},
		Origin:    receipt.OriginRef{Space: "Dev", Fingerprint: w.sp["Dev"].Fingerprint, Project: "Shop"},
		Version:   version, SnapshotDigest: digest, Environment: env, LocalEnv: local, State: domain.TaskSuccess}
	body, _ := json.Marshal(pl)
	sig, err := signing.Sign(w.keys["Prod"].Signer, body)
	if err != nil {
		t.Fatal(err)
	}
	r := domain.Receipt{SpaceID: w.sp["Dev"].ID, Digest: envelope.Digest(body), DeployingSpace: "Prod", SignerFingerprint: w.sp["Prod"].Fingerprint,
		OriginSpace: "Dev", OriginFingerprint: w.sp["Dev"].Fingerprint, OriginProject: "Shop", Version: version, SnapshotDigest: digest,
		Environment: env, State: domain.TaskSuccess, ReceivedFrom: "Prod", Payload: body, Signature: sig, SignerPEM: string(w.keys["Prod"].CertPEM)}
	if _, err := w.st.Receipts().Create(w.ctx, &r); err != nil {
		t.Fatal(err)
	}
}

func (w *world) progress(t *testing.T, version string) func(string) bool {
	t.Helper()
	p, err := w.st.Projects().Get(w.ctx, w.sp["Dev"].ID, "Shop")
	if err != nil {
		t.Fatal(err)
	}
	rel, err := w.st.Releases().Get(w.ctx, p.ID, version)
	if err != nil {
		t.Fatal(err)
	}
	done, err := w.gates.Of(w.ctx, w.sp["Dev"], p, rel)
	if err != nil {
		t.Fatal(err)
	}
	return done
}

// TestProgressCountsOnlyReceiptsThatHoldNow: receipts stored by an earlier
// version that speak for a local environment, another space, a release
// never promoted there or with a false digest open no gate; a genuine one
// does, until its signer is revoked.
func TestProgressCountsOnlyReceiptsThatHoldNow(t *testing.T) {
	w := newWorld(t)
	zero := "sha256:" + strings.Repeat("0", 64)
	w.storeReceipt(t, "1.0.0", "Final", "Final", w.good.SnapshotDigest)
	w.storeReceipt(t, "2.0.0", "Prod: Production", "Production", w.digest) // never promoted
	w.storeReceipt(t, "1.0.0", "QA: Staging", "Production", zero)
	// Prod's word that it deployed to its own "Final" counts, as "Prod:
	// Final"; this space's Final does not.
	if done := w.progress(t, "1.0.0"); done("Final") || done("QA: Staging") || done("Prod: Production") || !done("Prod: Final") {
		t.Fatal("a stored receipt that breaks the rules opened a gate of 1.0.0")
	}
	if done := w.progress(t, "2.0.0"); done("Prod") || done("Prod: Production") {
		t.Fatal("a receipt for a release never promoted opened a gate")
	}
	// What a receipt says is recomputed from what it signed: the stored
	// environment does not count, its own local environment does.
	w.storeReceipt(t, "1.0.0", "Final", "Production", w.good.SnapshotDigest)
	done := w.progress(t, "1.0.0")
	if done("Final") || !done("Prod: Production") || !done("Prod") {
		t.Fatal("the genuine part of a receipt is not what counts")
	}
	if _, err := w.set.Trust.Revoke(w.ctx, "Dev", "Prod"); err != nil {
		t.Fatal(err)
	}
	if done := w.progress(t, "1.0.0"); done("Prod") || done("Prod: Production") {
		t.Fatal("a revoked space's receipt still opens a gate")
	}
}

// TestDeliverable: a release delivered by a revoked space, or originating
// in one, is refused, naming the rule, the space, when and by whom.
func TestDeliverable(t *testing.T) {
	w := newWorld(t)
	prod := w.sp["Prod"]
	shop, err := w.st.Projects().Get(w.ctx, prod.ID, "Dev: Shop")
	if err != nil {
		t.Fatal(err)
	}
	// QA may deliver Dev's project too, and delivers 1.0.5.
	if _, err := w.set.Bundles.AllowDeliverer(w.ctx, "Prod", "Dev: Shop", "QA"); err != nil {
		t.Fatal(err)
	}
	pl := w.good
	pl.Source = bundle.SpaceRef{Space: "QA", Fingerprint: fp(w.keys["QA"])}
	pl.Release.Version = "1.0.5"
	body, _ := json.Marshal(retarget(pl))
	data, err := envelope.Seal(bundle.Format, pl.SchemaVersion, body, w.keys["QA"].CertPEM, func(b []byte) ([]byte, error) { return signing.Sign(w.keys["QA"].Signer, b) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.set.Bundles.Import(w.ctx, "Prod", data, ""); err != nil {
		t.Fatal(err)
	}
	rel := func(v string) domain.Release {
		r, err := w.st.Releases().Get(w.ctx, shop.ID, v)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, v := range []string{"1.0.0", "1.0.5"} {
		if err := w.rules.Deliverable(w.ctx, prod, shop, rel(v)); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
	}
	if _, err := w.set.Trust.Revoke(w.ctx, "Prod", "Dev"); err != nil {
		t.Fatal(err)
	}
	err = w.rules.Deliverable(w.ctx, prod, shop, rel("1.0.0"))
	if err == nil || !strings.Contains(err.Error(), "[release-revoked]") || !strings.Contains(err.Error(), `delivered by remote space "Dev"`) || !strings.Contains(err.Error(), "by system") {
		t.Errorf("delivered by a revoked space: %v", err)
	}
	err = w.rules.Deliverable(w.ctx, prod, shop, rel("1.0.5"))
	if err == nil || !strings.Contains(err.Error(), `originates in remote space "Dev"`) {
		t.Errorf("originating in a revoked space, delivered by a trusted one: %v", err)
	}
	if _, err := w.st.Receipts().List(w.ctx, prod.ID, store.ReceiptFilter{}); err != nil {
		t.Fatal(err)
	}
}

// A correctly signed bundle whose step has a timeoutSeconds over the 24-hour
// cap is refused at import, naming the step and the cap.
func TestBundleImportRefusesStepTimeoutOverCap(t *testing.T) {
	w := newWorld(t)
	for i, timeout := range []int{domain.MaxStepTimeoutSeconds + 1, 10 * 365 * 24 * 3600, 1<<31 - 1} {
		pl := w.good
		pl.Release.Version = "1.1." + string(rune('0'+i))
		pl.Process = slices.Clone(pl.Process)
		pl.Process[0].TimeoutSeconds = timeout
		body, _ := json.Marshal(retarget(pl))
		data, err := envelope.Seal(bundle.Format, pl.SchemaVersion, body, w.keys["Dev"].CertPEM, func(b []byte) ([]byte, error) { return signing.Sign(w.keys["Dev"].Signer, b) })
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.set.Bundles.Import(w.ctx, "Prod", data, "")
		if err == nil || !strings.Contains(err.Error(), `step "`+pl.Process[0].Name+`"`) || !strings.Contains(err.Error(), "86400") {
			t.Errorf("timeoutSeconds %d: %v, want a refusal naming the step and the cap 86400", timeout, err)
		}
	}
}
