package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/release"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/signing"
)

// The release the bundle benchmarks promote: the size the bundle issue asks
// for.
const (
	bundleVariables = 10000
	bundleSteps     = 200
	sourceSpace     = "Source Space"
	targetSpace     = "Target Space"
	project         = "Big"
)

// sourceYAML is the source space: 7 local environments and 3 remote ones
// (two of the target's, one of a third space), a lifecycle whose only phase
// is the target's production (so a release may be promoted at once), and one
// project with bundleVariables values (every tenth sensitive) and
// bundleSteps steps, scoped in every way the slicer distinguishes.
func sourceYAML() []byte {
	var b strings.Builder
	b.WriteString("environments:\n")
	for e := range 7 {
		fmt.Fprintf(&b, "  - name: Env%d\n", e)
	}
	b.WriteString("remoteEnvironments:\n  - \"Target Space: Production\"\n  - \"Target Space: Staging\"\n  - \"Other Space: Live\"\n")
	b.WriteString("lifecycles:\n  - name: To Target\n    phases:\n      - {name: Prod, environments: [\"Target Space: Production\"]}\n")
	fmt.Fprintf(&b, "projects:\n  - name: %s\n    lifecycle: To Target\n    templates:\n", project)
	b.WriteString("      - {name: DbUrl, type: sensitive, required: true}\n      - {name: Region, type: text, default: eu}\n")
	b.WriteString("    variables:\n")
	for i := range bundleVariables {
		scope := ""
		switch i % 5 {
		case 1:
			scope = fmt.Sprintf(", environments: [Env%d]", i%7)
		case 2:
			scope = `, environments: ["Target Space: Production"]`
		case 3:
			scope = fmt.Sprintf(`, environments: [Env%d, "Target Space: Staging"]`, i%7)
		case 4:
			scope = `, environments: ["Other Space: Live"]`
		}
		// Every tenth value is sensitive, rotating through the five scopes.
		sensitive := ""
		if i%10 == (i/10)%5 {
			sensitive = ", sensitive: true"
		}
		// About 1,000 names, each with values for several scopes.
		fmt.Fprintf(&b, "      - {name: App.Setting%04d, value: \"value-%05d-%s\"%s%s}\n", i%1000, i, strings.Repeat("x", 24), sensitive, scope)
	}
	b.WriteString("    process:\n")
	for s := range bundleSteps {
		fmt.Fprintf(&b, "      - name: Step %03d\n        type: script\n", s)
		switch s % 4 {
		case 1:
			fmt.Fprintf(&b, "        environments: [Env%d]\n", s%7)
		case 2:
			b.WriteString("        environments: [\"Target Space: Production\"]\n")
		}
		fmt.Fprintf(&b, "        script: |\n          set -eu\n          echo \"step %d on #{Ferry.Environment.Name}\"\n          export A=\"#{App.Setting%04d}\" B=\"#{App.Setting%04d}\"\n          ./deploy.sh --region \"#{Region}\" --db \"#{DbUrl}\"\n", s, s, s+1)
	}
	return []byte(b.String())
}

const targetYAML = `environments: [{name: Staging}, {name: Production}]
lifecycles:
  - name: Main
    phases:
      - {name: Staging, environments: [Staging]}
      - {name: Production, environments: [Production]}
`

// bundleWorld is two spaces on one server, each trusting the other, the
// source holding the big project: what promotion and import run against.
type bundleWorld struct {
	ctx      context.Context
	releases *release.Service
	bundles  *bundle.Service
}

func newBundleWorld(b *testing.B) *bundleWorld {
	b.Helper()
	env := servicetest.New(b)
	for _, name := range []string{sourceSpace, targetSpace, "Other Space"} {
		env.CreateSpace(name)
	}
	env.Trust(sourceSpace, targetSpace, domain.TrustPromote)
	env.Trust(sourceSpace, "Other Space", domain.TrustPromote)
	env.Trust(targetSpace, sourceSpace, domain.TrustReleases)
	apply := func(space string, yaml []byte) { env.Apply(space, string(yaml)) }
	apply(sourceSpace, sourceYAML())
	apply(targetSpace, []byte(targetYAML))
	return &bundleWorld{ctx: env.Ctx, releases: env.Set.Releases, bundles: env.Set.Bundles}
}

// promoted creates release version of the big project and promotes it to
// the target space.
func (w *bundleWorld) promoted(b *testing.B, version string) []byte {
	b.Helper()
	if _, err := w.releases.Create(w.ctx, sourceSpace, project, release.CreateRequest{Version: version}); err != nil {
		b.Fatal(err)
	}
	pr, err := w.bundles.Promote(w.ctx, sourceSpace, bundle.PromoteRequest{Project: project, Version: version, To: targetSpace})
	if err != nil {
		b.Fatal(err)
	}
	return pr.Data
}

// BenchmarkBundlePromote writes the bundle of a release with 10,000
// variables and 200 steps: lifecycle check, slicing for the target, sealing
// the sensitive values to the target's key, signing, re-reading the result,
// and recording it.
func BenchmarkBundlePromote(b *testing.B) {
	w := newBundleWorld(b)
	data := w.promoted(b, "1.0.0")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		pr, err := w.bundles.Promote(w.ctx, sourceSpace, bundle.PromoteRequest{Project: project, Version: "1.0.0", To: targetSpace})
		if err != nil {
			b.Fatal(err)
		}
		data = pr.Data
	}
	b.ReportMetric(float64(len(data)), "bundle-bytes")
}

// BenchmarkBundleImport imports such a bundle: parse, signature and trust,
// opening every sealed value with the target's key, rebuilding and checking
// the snapshot digest, and one transaction of writes. Each iteration imports
// a bundle of a new release (importing one twice does nothing), all
// promoted before the clock starts.
func BenchmarkBundleImport(b *testing.B) {
	w := newBundleWorld(b)
	files := make([][]byte, b.N)
	for i := range files {
		files[i] = w.promoted(b, fmt.Sprintf("1.0.%d", i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := w.bundles.Import(w.ctx, targetSpace, files[i], "")
		if err != nil {
			b.Fatal(err)
		}
		if res.AlreadyImported {
			b.Fatalf("release %s was already imported", res.Version)
		}
	}
	b.ReportMetric(float64(len(files[0])), "bundle-bytes")
}

// BenchmarkBundleVerifyPerMB is what checking a bundle costs per MB before
// any store is touched: Parse (size, JSON, base64, digest, payload checks)
// and the ECDSA P-256 signature over the payload, checked as an import
// checks it (against the SHA-256 the digest check computed).
//
// With FERRY_BENCH_BASELINE_DIR set, the 10MB case also writes its payload
// bytes, signature and signer certificate there, for bench/bundle_baseline.sh
// to time sha256sum and openssl on the same bytes.
func BenchmarkBundleVerifyPerMB(b *testing.B) {
	id, err := identity.Generate(sourceSpace, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{1 << 20, 10 << 20} {
		b.Run(fmt.Sprintf("%dMB", size>>20), func(b *testing.B) {
			data := sizedBundle(b, id, size)
			if dir := os.Getenv("FERRY_BENCH_BASELINE_DIR"); dir != "" && size == 10<<20 {
				writeBaseline(b, dir, id, data)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			for b.Loop() {
				p, err := bundle.Parse(data)
				if err != nil {
					b.Fatal(err)
				}
				if err := signing.VerifySum(id.Cert, p.Body, p.Sum, p.Signature); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(data)), "bundle-bytes")
			// CPU time (user + system, every thread: the collector's
			// too) moves far less than wall time on a shared machine.
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N)/float64(time.Millisecond), "cpu-ms/op")
		})
	}
}

// sizedBundle builds a signed bundle of about size bytes, with variables
// like the ones promotion writes (a sealed value is a few hundred bytes of
// armored age ciphertext; these are stand-ins of that shape).
func sizedBundle(b *testing.B, id *identity.Identity, size int) []byte {
	b.Helper()
	fp := identity.Fingerprint(id.Cert.Raw)
	p := &bundle.Payload{
		Kind: bundle.PayloadKind, SchemaVersion: bundle.SchemaVersion, ID: "0123456789abcdef0123456789abcdef",
		CreatedAt: time.Now().UTC(), CreatedBy: "bench",
		Source:  bundle.SpaceRef{Space: sourceSpace, Fingerprint: fp},
		Target:  bundle.SpaceRef{Space: targetSpace, Fingerprint: fp},
		Origin:  bundle.Origin{Space: sourceSpace, Fingerprint: fp, Project: project},
		Release: bundle.ReleaseInfo{Version: "1.0.0", CreatedAt: time.Now().UTC(), CreatedBy: "bench"},
		Process: []domain.Step{{Name: "Deploy", Type: domain.StepScript, Script: "./deploy.sh\n"}}, Templates: []domain.Template{},
		Packages: []bundle.Package{}, History: []domain.DeploymentSummary{},
		SnapshotDigest: "sha256:" + strings.Repeat("0", 64), TargetSnapshotDigest: "sha256:" + strings.Repeat("0", 64),
	}
	sealed := "-----BEGIN AGE ENCRYPTED FILE-----\n" + strings.Repeat(strings.Repeat("Q", 64)+"\n", 4) + "-----END AGE ENCRYPTED FILE-----\n"
	// A bundle is 4/3 of its payload (base64) plus a fixed part.
	for payloadBytes := 0; payloadBytes*4/3 < size-2048; {
		i := len(p.Variables)
		v := bundle.Variable{Name: fmt.Sprintf("App.Setting%05d", i), Environments: []string{"Production"}}
		if i%10 == 0 {
			v.Sensitive, v.Sealed = true, sealed
		} else {
			v.Value = fmt.Sprintf("value-%05d-%s", i, strings.Repeat("x", 24))
		}
		p.Variables = append(p.Variables, v)
		payloadBytes += len(v.Name) + len(v.Value) + len(v.Sealed) + 60
	}
	data, err := bundle.Encode(p, id.CertPEM, func(body []byte) ([]byte, error) { return signing.Sign(id.Signer, body) })
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// writeBaseline writes payload.json (the signed bytes), payload.sig and
// signer.pem, the inputs of `openssl dgst -sha256 -verify`.
func writeBaseline(b *testing.B, dir string, id *identity.Identity, data []byte) {
	b.Helper()
	p, err := bundle.Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	for name, content := range map[string][]byte{
		"bundle":       data,
		"payload.json": p.Body,
		"payload.sig":  p.Signature,
		"signer.pem":   id.CertPEM,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
