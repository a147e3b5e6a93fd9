package receipt_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/compat"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/envelope"
	"github.com/ferrydeploy/ferry/internal/receipt"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/signing"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/trust"
)

// fixture is two spaces of one store: Dev (the origin, trusting Prod for
// receipts) and Prod.
type fixture struct {
	ctx       context.Context
	st        store.Store
	tr        *trust.Service
	svc       *receipt.Service
	dev, prod domain.Space
	env       *servicetest.Env
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := servicetest.New(t)
	f := &fixture{ctx: env.Ctx, st: env.Store, tr: env.Set.Trust, svc: env.Set.Receipts, env: env}
	f.dev = env.CreateSpace("Dev")
	f.prod = env.CreateSpace("Prod")
	env.Trust("Dev", "Prod", "receipts")
	return f
}

// file builds a receipt file from Prod to Dev holding one receipt; edit may
// change the receipt's bytes after it was signed.
func (f *fixture) file(t *testing.T, pl receipt.Payload, edit func([]byte) []byte) []byte {
	t.Helper()
	id, err := f.tr.Identity(f.ctx, f.prod.ID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(pl)
	sig, err := signing.Sign(id.Signer, body)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		body = edit(body)
	}
	fb := receipt.FileBody{Kind: receipt.FileKind, SchemaVersion: receipt.SchemaVersion, CreatedAt: time.Now().UTC(),
		Exporter:    receipt.SpaceRef{Space: "Prod", Fingerprint: f.prod.Fingerprint},
		Destination: receipt.SpaceRef{Space: "Dev", Fingerprint: f.dev.Fingerprint},
		Receipts:    []receipt.Signed{{Payload: body, Signature: sig, Signer: string(id.CertPEM)}}}
	raw, _ := json.Marshal(fb)
	data, err := envelope.Seal(receipt.FileFormat, receipt.SchemaVersion, raw, id.CertPEM, func(b []byte) ([]byte, error) { return signing.Sign(id.Signer, b) })
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func (f *fixture) payload() receipt.Payload {
	return receipt.Payload{Kind: receipt.ReceiptKind, SchemaVersion: receipt.SchemaVersion,
		Deploying: receipt.SpaceRef{Space: "Prod", Fingerprint: f.prod.Fingerprint},
		Origin:    receipt.OriginRef{Space: "Dev", Fingerprint: f.dev.Fingerprint, Project: "Shop"},
		Version:   "9.9.9", Environment: "Prod: Production", LocalEnv: "Production",
		State: domain.TaskSuccess, DeployedBy: "someone", Machines: ptr(2)}
}

func (f *fixture) receipts(t *testing.T) int {
	t.Helper()
	list, err := f.st.Receipts().List(f.ctx, f.dev.ID, store.ReceiptFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

func TestImportRefusesReceiptForUnknownRelease(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.Import(f.ctx, "Dev", f.file(t, f.payload(), nil))
	if err == nil || !strings.Contains(err.Error(), "does not have") {
		t.Fatalf("import of a receipt for an unknown release: %v", err)
	}
	if n := f.receipts(t); n != 0 {
		t.Errorf("%d receipts stored after a refusal", n)
	}
}

func TestImportRefusesAlteredReceiptInValidFile(t *testing.T) {
	f := newFixture(t)
	// The exporter signs the file over a receipt whose own signature no
	// longer matches: each receipt is checked on its own.
	data := f.file(t, f.payload(), func(b []byte) []byte { return []byte(strings.Replace(string(b), "Success", "Failed", 1)) })
	_, err := f.svc.Import(f.ctx, "Dev", data)
	if err == nil || domain.KindOf(err) != domain.KindUntrusted || !strings.Contains(err.Error(), "altered") {
		t.Fatalf("import of an altered receipt: %v", err)
	}
	if n := f.receipts(t); n != 0 {
		t.Errorf("%d receipts stored after a refusal", n)
	}
}

func TestImportRefusesUntrustedExporter(t *testing.T) {
	f := newFixture(t)
	if _, err := f.tr.Update(f.ctx, "Dev", "Prod", trust.UpdateRequest{Trust: ptr("releases")}); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.Import(f.ctx, "Dev", f.file(t, f.payload(), nil))
	if err == nil || !strings.Contains(err.Error(), "not trusted for receipts") {
		t.Fatalf("import from a space not trusted for receipts: %v", err)
	}
}

// TestImportRefusesMachinesOutOfSchema: "machines" came with schema 3; a
// receipt of an earlier version carrying it, one of version 3 without it,
// and a negative count are not what ferry writes.
func TestImportRefusesMachinesOutOfSchema(t *testing.T) {
	f := newFixture(t)
	for name, edit := range map[string]func(*receipt.Payload){
		"previous version with machines": func(p *receipt.Payload) { p.SchemaVersion = compat.Previous },
		"current version without":        func(p *receipt.Payload) { p.Machines = nil },
		"negative":                       func(p *receipt.Payload) { p.Machines = ptr(-1) },
	} {
		pl := f.payload()
		edit(&pl)
		_, err := f.svc.Import(f.ctx, "Dev", f.file(t, pl, nil))
		if err == nil || !strings.Contains(err.Error(), "exact-encoding") || !strings.Contains(err.Error(), "machines") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := f.receipts(t); n != 0 {
		t.Errorf("%d receipts stored after a refusal", n)
	}
}

func ptr[T any](v T) *T { return &v }

// TestImportSkipsReceiptOfDeletedRelease: a correctly signed receipt about
// a release this space deleted is skipped, so the file's other receipts
// still land; one about a version that never existed still refuses the
// file.
func TestImportSkipsReceiptOfDeletedRelease(t *testing.T) {
	f := newFixture(t)
	f.env.Apply("Dev", "environments: [{name: Dev}]\nlifecycles: [{name: L, phases: [{name: Dev, environments: [Dev]}]}]\nprojects: [{name: Shop, lifecycle: L}]\n")
	p, err := f.st.Projects().Get(f.ctx, f.dev.ID, "Shop")
	if err != nil {
		t.Fatal(err)
	}
	rel := &domain.Release{ProjectID: p.ID, Project: "Shop", Version: "9.9.9", CreatedBy: "test"}
	if err := f.st.Releases().Create(f.ctx, rel); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Removal().DeleteReleases(f.ctx, []int64{rel.ID}); err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.Import(f.ctx, "Dev", f.file(t, f.payload(), nil))
	if err != nil || res.OfDeleted != 1 || res.Imported != 0 {
		t.Fatalf("import of a receipt about a deleted release: %+v, %v", res, err)
	}
	if n := f.receipts(t); n != 0 {
		t.Errorf("%d receipts stored of a deleted release", n)
	}
	other := f.payload()
	other.Version = "9.9.10"
	if _, err := f.svc.Import(f.ctx, "Dev", f.file(t, other, nil)); err == nil || !strings.Contains(err.Error(), "does not have") {
		t.Fatalf("import of a receipt about a release that never existed: %v", err)
	}
}
