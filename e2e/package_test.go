package e2e

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// appFiles is a package's content: a config file with a variable reference
// and many files of text that compresses about as well as code does.
func appFiles(seed int64, n int) map[string][]byte {
	r := rand.New(rand.NewSource(seed))
	files := map[string][]byte{
		"config/app.json": []byte(`{"greeting": "#{Greeting}", "release": "#{Ferry.Release.Number}"}` + "\n"),
	}
	for i := 0; i < n; i++ {
		raw := make([]byte, 45<<10)
		r.Read(raw)
		files[fmt.Sprintf("lib/part%03d.txt", i)] = []byte(base64.StdEncoding.EncodeToString(raw))
	}
	return files
}

func writeZip(t *testing.T, path string, files map[string][]byte, extra ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	names = append(names, extra...)
	sortStrings(names)
	for _, name := range names {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		body, ok := files[name]
		if !ok {
			body = []byte("escaped!")
		}
		w.Write(body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestPackageTransfer is issue 7's walkthrough across two servers: a
// package pushed in DevTest and deployed there with substitution; its
// release promoted to Prod, where deploying is refused until a transfer file
// brings the package; then deployed byte-identical. After a receipt the next
// version's transfer file is a few percent of the package; a tampered file
// is refused; a zip-slip package never writes outside its destination.
func TestPackageTransfer(t *testing.T) {
	p := newPair(t)
	dir := t.TempDir()
	devRoot, prodRoot := filepath.Join(dir, "dev-root"), filepath.Join(dir, "prod-root")
	dev := func(args ...string) ferrytest.Result {
		return p.dev.Must(append([]string{"--space", "DevTest Space"}, args...)...)
	}
	devFail := func(args ...string) ferrytest.Result {
		return p.dev.Fail(append([]string{"--space", "DevTest Space"}, args...)...)
	}
	prod := func(args ...string) ferrytest.Result {
		return p.prod.Must(append([]string{"--space", "Prod Space"}, args...)...)
	}
	prodFail := func(args ...string) ferrytest.Result {
		return p.prod.Fail(append([]string{"--space", "Prod Space"}, args...)...)
	}

	v1 := appFiles(1, 120)
	zip1 := writeZip(t, filepath.Join(dir, "shop-1.0.0.zip"), v1)
	r := dev("package", "push", filepath.Join(dir, "shop-1.0.0.zip"), "--id", "shop-web", "--version", "1.0.0")
	contains(t, r.Stdout, "Pushed shop-web 1.0.0", sha256Hex(zip1), "zip")
	contains(t, dev("package", "list").Stdout, "shop-web", "1.0.0")
	contains(t, dev("package", "show", "shop-web", "1.0.0").Stdout, "chunks aligned to zip entries")

	dev("apply", "-f", ferrytest.WriteFile(t, "devtest-pkg.yaml", fmt.Sprintf(`environments: [{name: Development}]
remoteEnvironments: ["Prod Space: Production"]
lifecycles:
  - name: Main
    phases:
      - {name: Dev, environments: [Development]}
      - {name: Prod, environments: ["Prod Space: Production"]}
projects:
  - name: Shop
    lifecycle: Main
    variables:
      - {name: Root, value: %q}
      - {name: Root, value: %q, environments: ["Prod Space: Production"]}
      - {name: Greeting, value: hello dev}
      - {name: Greeting, value: hello prod, environments: ["Prod Space: Production"]}
    process:
      - name: Deploy web
        type: deploy-package
        package: shop-web
        destination: "#{Root}/#{Ferry.Environment.Name}/shop"
        substitute: [config/app.json]
        preDeploy: test -f config/app.json
        postDeploy: |
          echo "deployed #{Ferry.Package.Id} #{Ferry.Package.Version} in $(pwd)"
          cat config/app.json
`, devRoot, prodRoot)))
	r = devFail("release", "create", "Shop", "--version", "0.9.0")
	contains(t, r.Stderr, "shop-web", "--package")
	dev("release", "create", "Shop", "--version", "1.0.0", "--package", "shop-web:1.0.0")
	contains(t, dev("release", "show", "Shop", "1.0.0").Stdout, "shop-web", "1.0.0")
	r = dev("deploy", "Shop", "1.0.0", "--to", "Development", "--wait")
	contains(t, r.Stdout, "Verified SHA-256 "+sha256Hex(zip1), `"greeting": "hello dev"`, "deployed shop-web 1.0.0")
	got, err := os.ReadFile(filepath.Join(devRoot, "Development", "shop", "config", "app.json"))
	if err != nil || !strings.Contains(string(got), `"release": "1.0.0"`) {
		t.Fatalf("substituted config: %q %v", got, err)
	}

	// Promote; in Prod the deployment is refused until the package arrives.
	bundleFile := filepath.Join(dir, "shop-1.0.0.bundle")
	dev("promote", "Shop", "1.0.0", "--to", "Prod Space", "--out", bundleFile)
	contains(t, prod("bundle", "inspect", bundleFile).Stdout, "shop-web")
	prod("apply", "-f", ferrytest.WriteFile(t, "prod-pkg.yaml", `environments: [{name: Production}]
lifecycles: [{name: Live, phases: [{name: Live, environments: [Production]}]}]
`))
	contains(t, prod("bundle", "import", bundleFile).Stdout, "shop-web 1.0.0 is not in this space's feed")
	r = prodFail("deploy", "DevTest Space: Shop", "1.0.0", "--to", "Production")
	contains(t, r.Stderr, "shop-web 1.0.0", "not in space \"Prod Space\"'s feed")

	transfer1 := filepath.Join(dir, "t1.ferry")
	r = dev("package", "export", "--to", "Prod Space", "--out", transfer1)
	contains(t, r.Stdout, "shop-web 1.0.0", "every chunk is carried")

	// A flipped byte anywhere is refused, and nothing enters the feed.
	data, _ := os.ReadFile(transfer1)
	for _, at := range []int{len(data) / 2, 700} {
		bad := bytes.Clone(data)
		bad[at] ^= 0x01
		r = prodFail("package", "import", ferrytest.WriteFile(t, "bad.ferry", string(bad)))
		contains(t, r.Stderr, "refused")
	}
	contains(t, prod("package", "list").Stdout, "No packages")

	contains(t, prod("package", "import", transfer1).Stdout, "Imported 1 package", "shop-web 1.0.0")
	r = prod("deploy", "DevTest Space: Shop", "1.0.0", "--to", "Production", "--wait")
	contains(t, r.Stdout, `"greeting": "hello prod"`, "Success")
	for name, want := range v1 {
		got, err := os.ReadFile(filepath.Join(prodRoot, "Production", "shop", filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		if name != "config/app.json" && !bytes.Equal(got, want) {
			t.Fatalf("%s differs after transfer", name)
		}
	}
	prod("package", "download", "shop-web", "1.0.0", "--out", filepath.Join(dir, "prod-copy.zip"))
	if copy, _ := os.ReadFile(filepath.Join(dir, "prod-copy.zip")); !bytes.Equal(copy, zip1) {
		t.Fatal("the package in Prod's feed is not byte-identical to the one pushed in DevTest")
	}

	// The receipt carries Prod's package inventory back.
	receipts := filepath.Join(dir, "receipts.json")
	prod("receipt", "export", "--to", "DevTest Space", "--out", receipts)
	dev("receipt", "import", receipts)

	// Version 1.1.0 changes one file of 120: its transfer file is small.
	v2 := appFiles(1, 120)
	v2["lib/part060.txt"] = append([]byte("changed "), v2["lib/part060.txt"][8:]...)
	zip2 := writeZip(t, filepath.Join(dir, "shop-1.1.0.zip"), v2)
	dev("package", "push", filepath.Join(dir, "shop-1.1.0.zip"), "--id", "shop-web", "--version", "1.1.0")
	dev("release", "create", "Shop", "--version", "1.1.0", "--package", "shop-web:1.1.0")
	dev("deploy", "Shop", "1.1.0", "--to", "Development", "--wait")
	dev("promote", "Shop", "1.1.0", "--to", "Prod Space", "--out", filepath.Join(dir, "shop-1.1.0.bundle"))
	transfer2 := filepath.Join(dir, "t2.ferry")
	r = dev("package", "export", "--to", "Prod Space", "--out", transfer2, "-o", "json")
	var sum struct {
		Packages []struct{ ID, Version string }
		Basis    string
	}
	decodeJSON(t, r.Stdout, &sum)
	if len(sum.Packages) != 1 || sum.Packages[0].Version != "1.1.0" || !strings.Contains(sum.Basis, "receipts") {
		t.Fatalf("second transfer: %+v", sum)
	}
	fi, _ := os.Stat(transfer2)
	pct := 100 * float64(fi.Size()) / float64(len(zip2))
	t.Logf("transfer file for 1.1.0: %d bytes, %.2f%% of the %d-byte package", fi.Size(), pct, len(zip2))
	if pct > 5 {
		t.Fatalf("the transfer file for one changed file of 120 is %.1f%% of the package", pct)
	}
	prod("bundle", "import", filepath.Join(dir, "shop-1.1.0.bundle"))
	prod("package", "import", transfer2)
	contains(t, prod("deploy", "DevTest Space: Shop", "1.1.0", "--to", "Production", "--wait").Stdout, "deployed shop-web 1.1.0")
	got, _ = os.ReadFile(filepath.Join(prodRoot, "Production", "shop", "lib", "part060.txt"))
	if !bytes.Equal(got, v2["lib/part060.txt"]) {
		t.Fatal("1.1.0 did not deploy its changed file")
	}

	// A zip-slip package fails its deployment and writes nothing outside
	// its destination.
	writeZip(t, filepath.Join(dir, "evil.zip"), map[string][]byte{"config/app.json": []byte("{}")}, "../../escaped.txt")
	dev("package", "push", filepath.Join(dir, "evil.zip"), "--id", "shop-web", "--version", "6.6.6")
	dev("release", "create", "Shop", "--version", "6.6.6", "--package", "shop-web:6.6.6")
	r = devFail("deploy", "Shop", "6.6.6", "--to", "Development", "--wait")
	contains(t, r.Out(), "unsafe archive entry", "../../escaped.txt")
	for _, p := range []string{filepath.Join(devRoot, "escaped.txt"), filepath.Join(devRoot, "Development", "escaped.txt"), filepath.Join(dir, "escaped.txt")} {
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("zip-slip wrote %s", p)
		}
	}
	// The previous deployment is untouched.
	if _, err := os.Stat(filepath.Join(devRoot, "Development", "shop", "lib", "part060.txt")); err != nil {
		t.Fatalf("a refused package damaged the running deployment: %v", err)
	}
}
