package packages_test

import (
	"archive/zip"
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/envelope"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/packages"
	"github.com/ferrydeploy/ferry/internal/release"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/signing"
)

// TestForgedInventoryIsRefusedBeforeItsPayloadIsRead: an inventory file
// given to `package export` (anyone who may promote) is signature-checked
// before its payload is decoded, as pushed transfers are. Before, a forged
// inventory of 4 million empty package references (16 MB, within
// MaxInventory) was decoded first: ~500 MB, then refused as untrusted.
func TestForgedInventoryIsRefusedBeforeItsPayloadIsRead(t *testing.T) {
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	env.CreateSpace("Prod")
	env.Trust("Dev", "Prod", "promote,receipts")
	env.Trust("Prod", "Dev", "releases")
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, _ := zw.Create("index.html")
	w.Write([]byte("hello"))
	zw.Close()
	if _, err := env.Set.Packages.Push(env.Ctx, "Dev", "web", "1.0.0", &zbuf); err != nil {
		t.Fatal(err)
	}
	env.Apply("Dev", `remoteEnvironments: ["Prod: Production"]
lifecycles: [{name: Main, phases: [{name: Prod, environments: ["Prod: Production"]}]}]
projects: [{name: Shop, lifecycle: Main, process: [{name: Install, type: deploy-package, package: web, destination: /srv/web}]}]
`)
	if _, err := env.Set.Releases.Create(env.Ctx, "Dev", "Shop", release.CreateRequest{Version: "1.0.0", Packages: []string{"web:1.0.0"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Set.Bundles.Promote(env.Ctx, "Dev", bundle.PromoteRequest{Project: "Shop", Version: "1.0.0", To: "Prod"}); err != nil {
		t.Fatal(err)
	}
	_, prodPEM, err := env.Set.Trust.Certificate(env.Ctx, "Prod")
	if err != nil {
		t.Fatal(err)
	}
	mallory, err := identity.Generate("Mallory", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	const n = 3_000_000
	payload := `{"kind":"` + packages.InventoryKind + `","schemaVersion":1,"packages":[` + strings.Repeat(`{},`, n-1) + `{}]}`
	forged, err := envelope.Seal(packages.InventoryFormat, packages.InventorySchema, []byte(payload), prodPEM, func(b []byte) ([]byte, error) { return signing.Sign(mallory.Signer, b) })
	if err != nil {
		t.Fatal(err)
	}
	if len(forged) > packages.MaxInventory {
		t.Fatalf("the forged inventory is %d bytes, over MaxInventory", len(forged))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = env.Set.Packages.PlanExport(env.Ctx, "Dev", packages.ExportRequest{To: "Prod", Inventory: forged})
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("a forged inventory: %v, want refused for its signature", err)
	}
	if mb := (after.TotalAlloc - before.TotalAlloc) >> 20; mb > 100 {
		t.Errorf("refusing a forged inventory of %d MB allocated %d MB", len(forged)>>20, mb)
	}
}
