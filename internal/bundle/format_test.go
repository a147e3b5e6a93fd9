package bundle

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/compat"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/envelope"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/signing"
)

var testNow = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// testSigner is the source space of the bundles these tests write.
func testSigner(t testing.TB) *identity.Identity {
	t.Helper()
	id, err := identity.Generate("Source Space", testNow)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// testPayload is a small, complete payload, built by hand.
func testPayload() *Payload {
	started, finished := testNow.Add(-time.Hour), testNow.Add(-time.Hour+time.Minute)
	return &Payload{
		Kind:          PayloadKind,
		SchemaVersion: SchemaVersion,
		ID:            "0123456789abcdef0123456789abcdef",
		CreatedAt:     testNow,
		CreatedBy:     "alice",
		Source:        SpaceRef{Space: "Source Space", Fingerprint: "AA:BB"},
		Target:        SpaceRef{Space: "Target Space", Fingerprint: "CC:DD"},
		Origin:        Origin{Space: "Source Space", Fingerprint: "AA:BB", Project: "Shop"},
		Release:       ReleaseInfo{Version: "1.0.0", Notes: "first", CreatedAt: testNow, CreatedBy: "alice"},
		Process: []domain.Step{
			{Name: "Deploy", Type: domain.StepScript, Script: "echo #{Greeting}\n"},
			{Name: "Prod only", Type: domain.StepScript, Script: "echo prod\n", Environments: []string{"Production"}},
		},
		Variables: []Variable{
			{Name: "Greeting", Value: "hello"},
			{Name: "Token", Sensitive: true, Sealed: "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n", Environments: []string{"Production"}},
		},
		Templates: []domain.Template{{Name: "DbUrl", Type: domain.TemplateText, Required: true}},
		Packages:  []Package{{ID: "shop-web", Version: "1.0.0", SHA256: strings.Repeat("ab", 32), Size: 1234}},
		History: []domain.DeploymentSummary{{
			Space: "Source Space", Environment: "Test", Version: "1.0.0", State: domain.TaskSuccess,
			StartedAt: &started, FinishedAt: &finished, DeployedBy: "alice",
		}},
		SnapshotDigest:       "sha256:" + strings.Repeat("1", 64),
		TargetSnapshotDigest: "sha256:" + strings.Repeat("2", 64),
	}
}

func encodeWith(t testing.TB, id *identity.Identity, p *Payload) []byte {
	t.Helper()
	data, err := Encode(p, id.CertPEM, func(b []byte) ([]byte, error) { return signing.Sign(id.Signer, b) })
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// verifyAs checks a parsed bundle the way an import does (trust.Verify):
// the certificate the bundle names must be the one this space knows, and
// the signature must verify with that known certificate.
func verifyAs(id *identity.Identity, p *Parsed) error {
	block, _ := pem.Decode([]byte(p.Envelope.Signer))
	if block == nil || block.Type != "CERTIFICATE" {
		return errors.New("no signer certificate")
	}
	if identity.Fingerprint(block.Bytes) != identity.Fingerprint(id.Cert.Raw) {
		return errors.New("unknown signer")
	}
	return signing.Verify(id.Cert, p.Body, p.Signature)
}

func TestParseRoundTrip(t *testing.T) {
	id := testSigner(t)
	want := testPayload()
	data := encodeWith(t, id, want)

	p, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse refused a bundle Encode wrote: %v", err)
	}
	if !reflect.DeepEqual(&p.Payload, want) {
		t.Errorf("payload changed in the round trip:\n got %+v\nwant %+v", p.Payload, *want)
	}
	if got := DigestOf(p.Body); got != p.Envelope.Digest {
		t.Errorf("digest of body %s, envelope says %s", got, p.Envelope.Digest)
	}
	if p.Envelope.Format != Format || p.Envelope.SchemaVersion != SchemaVersion || p.Envelope.Signer != string(id.CertPEM) {
		t.Errorf("envelope = %+v", p.Envelope)
	}
	if err := verifyAs(id, p); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	if other := testSigner(t); verifyAs(other, p) == nil || signing.Verify(other.Cert, p.Body, p.Signature) == nil {
		t.Error("bundle verifies with another space's key")
	}
	// The signed bytes are the payload JSON, exactly.
	body, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.Body, body) {
		t.Errorf("body is not the payload's JSON:\n%s", p.Body)
	}
}

// envelopeOf decodes a bundle's envelope, so a test can change it.
func envelopeOf(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestParseRefusals(t *testing.T) {
	id := testSigner(t)
	good := encodeWith(t, id, testPayload())

	readsVersions := fmt.Sprintf("schema versions %d to %d", compat.Previous, compat.Current)
	// withEnvelope changes the envelope only: the payload, its digest and
	// signature stay as signed.
	withEnvelope := func(fn func(m map[string]any)) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			m := envelopeOf(t, good)
			fn(m)
			return marshal(t, m)
		}
	}
	// withPayload signs a changed payload properly, so only Parse's own
	// checks of the payload can refuse it.
	withPayload := func(fn func(p *Payload)) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			p := testPayload()
			fn(p)
			return encodeWith(t, id, p)
		}
	}
	// withBody signs arbitrary payload bytes.
	withBody := func(body string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			data, err := envelope.Seal(Format, SchemaVersion, []byte(body), id.CertPEM, func(b []byte) ([]byte, error) { return signing.Sign(id.Signer, b) })
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
	goodBody, _ := json.Marshal(testPayload())

	tests := []struct {
		name  string
		data  func(t *testing.T) []byte
		wants []string
	}{
		{"empty", func(*testing.T) []byte { return nil }, []string{"not a readable ferry release bundle"}},
		{"not JSON", func(*testing.T) []byte { return []byte("PK\x03\x04 a zip file") }, []string{"not a readable"}},
		{"JSON array", func(*testing.T) []byte { return []byte(`[1, 2]`) }, []string{"not a readable"}},
		{"empty object", func(*testing.T) []byte { return []byte(`{}`) }, []string{"not a ferry release bundle", `format is ""`}},
		{"wrong format", withEnvelope(func(m map[string]any) { m["format"] = "ferry-receipt" }), []string{`format is "ferry-receipt"`, Format}},
		{"schema version 0", withEnvelope(func(m map[string]any) { m["schemaVersion"] = 0 }), []string{"schema version 0", readsVersions}},
		{"schema version next", withEnvelope(func(m map[string]any) { m["schemaVersion"] = compat.Current + 1 }), []string{fmt.Sprintf("schema version %d", compat.Current+1), readsVersions, "Upgrade ferry"}},
		{"envelope says previous, payload current", withEnvelope(func(m map[string]any) { m["schemaVersion"] = compat.Previous }), []string{fmt.Sprintf("payload has schema version %d but its envelope says %d", compat.Current, compat.Previous)}},
		{"schema version 999", withEnvelope(func(m map[string]any) { m["schemaVersion"] = 999 }), []string{"schema version 999", readsVersions, "Upgrade ferry"}},
		{"schema version not a number", withEnvelope(func(m map[string]any) { m["schemaVersion"] = "1" }), []string{"not a readable"}},
		{"digest of other contents", withEnvelope(func(m map[string]any) { m["digest"] = "sha256:" + strings.Repeat("0", 64) }), []string{"digest does not match", "recorded sha256:000"}},
		{"digest missing", withEnvelope(func(m map[string]any) { delete(m, "digest") }), []string{"digest does not match"}},
		{"digest in another notation", withEnvelope(func(m map[string]any) { m["digest"] = strings.ToUpper(m["digest"].(string)) }), []string{"digest does not match"}},
		{"payload bad base64", withEnvelope(func(m map[string]any) { m["payload"] = "!!" + m["payload"].(string)[2:] }), []string{"bad base64"}},
		{"payload unpadded base64", withEnvelope(func(m map[string]any) { m["payload"] = strings.TrimRight(m["payload"].(string), "=") }), []string{"bad base64"}},
		{"payload base64 with a space", withEnvelope(func(m map[string]any) { s := m["payload"].(string); m["payload"] = s[:8] + " " + s[8:] }), []string{"bad base64"}},
		{"control: the same payload re-signed", withBody(string(goodBody)), nil},
		{"signature bad base64", withEnvelope(func(m map[string]any) { m["signature"] = "*" + m["signature"].(string) }), []string{"signature is damaged or missing"}},
		{"signature missing", withEnvelope(func(m map[string]any) { delete(m, "signature") }), []string{"signature is damaged or missing"}},
		{"trailing JSON", func(*testing.T) []byte { return append(bytes.Clone(good), `{"format":"x"}`...) }, []string{"trailing data"}},
		{"trailing garbage", func(*testing.T) []byte { return append(bytes.Clone(good), "xyz"...) }, []string{"not a readable"}},
		{"two bundles", func(*testing.T) []byte { return append(bytes.Clone(good), good...) }, []string{"trailing data"}},
		{"unknown envelope field", withEnvelope(func(m map[string]any) { m["encrypted"] = false }), []string{`unknown field "encrypted"`}},
		{"unknown payload field", withBody(strings.Replace(string(goodBody), `{"kind"`, `{"trusted":true,"kind"`, 1)), []string{"payload is malformed", `unknown field "trusted"`}},
		{"unknown variable field", withBody(strings.Replace(string(goodBody), `{"name":"Greeting"`, `{"plaintext":"x","name":"Greeting"`, 1)), []string{"payload is malformed", `unknown field "plaintext"`}},
		{"trailing data in payload", withBody(string(goodBody) + `{}`), []string{"payload is malformed", "trailing data"}},
		{"payload not JSON", withBody("not json"), []string{"payload is malformed"}},
		{"sensitive value in plaintext", withPayload(func(p *Payload) { p.Variables[1].Value = "tok-secret" }), []string{`sensitive variable "Token" in plaintext`}},
		{"sensitive value in plaintext, no seal", withPayload(func(p *Payload) { p.Variables[1].Value, p.Variables[1].Sealed = "tok-secret", "" }), []string{`"Token" in plaintext`}},
		{"sensitive value not sealed", withPayload(func(p *Payload) { p.Variables[1].Sealed = "" }), []string{`"Token" carries no encrypted value`}},
		{"payload kind is a receipt", withPayload(func(p *Payload) { p.Kind = "ferry.deployment-receipt" }), []string{`"ferry.deployment-receipt", not a release bundle`}},
		{"payload kind missing", withPayload(func(p *Payload) { p.Kind = "" }), []string{`is a "", not a release bundle`}},
		{"payload schema version differs", withBody(strings.Replace(string(goodBody), fmt.Sprintf(`"schemaVersion":%d`, compat.Current), fmt.Sprintf(`"schemaVersion":%d`, compat.Previous), 1)), []string{fmt.Sprintf("payload has schema version %d but its envelope says %d", compat.Previous, compat.Current)}},
		{"no target", withPayload(func(p *Payload) { p.Target.Fingerprint = "" }), []string{"does not name its source, target and origin"}},
		{"no source", withPayload(func(p *Payload) { p.Source.Fingerprint = "" }), []string{"does not name its source"}},
		{"no origin", withPayload(func(p *Payload) { p.Origin.Fingerprint = "" }), []string{"does not name its source"}},
		{"no project", withPayload(func(p *Payload) { p.Origin.Project = "" }), []string{"names no project or release version"}},
		{"no version", withPayload(func(p *Payload) { p.Release.Version = "" }), []string{"names no project or release version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.data(t))
			if tt.wants == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", p.Envelope)
			}
			if !errors.Is(err, domain.ErrInvalid) {
				t.Errorf("error kind: %v is not Invalid", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "refused") {
				t.Errorf("message %q does not say it was refused", msg)
			}
			for _, want := range tt.wants {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not contain %q", msg, want)
				}
			}
		})
	}
}

// TestParseOversize checks the size bound comes before any parsing: a
// bundle padded with trailing whitespace is still a valid JSON document, so
// only the size check can refuse it, and it must do so without reading it.
func TestParseOversize(t *testing.T) {
	id := testSigner(t)
	good := encodeWith(t, id, testPayload())
	over := make([]byte, MaxSize+1)
	copy(over, good)
	for i := len(good); i < len(over); i++ {
		over[i] = ' '
	}

	// Exactly MaxSize bytes passes the size check (and is then refused only
	// because the padding makes it differ from what ferry wrote).
	if _, err := Parse(over[:MaxSize]); err == nil || strings.Contains(err.Error(), fmt.Sprint(MaxSize)) {
		t.Fatalf("a bundle of exactly MaxSize bytes: %v, want refusal as altered, not by size", err)
	}

	_, err := Parse(over)
	if err == nil || !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("Parse(MaxSize+1 bytes) = %v, want an Invalid refusal", err)
	}
	for _, want := range []string{fmt.Sprintf("%d bytes", MaxSize+1), fmt.Sprint(MaxSize)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not contain %q", err, want)
		}
	}
	// Reading 64 MiB would allocate at least that much; the refusal only
	// formats its message.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	allocs := testing.AllocsPerRun(3, func() { Parse(over) })
	runtime.ReadMemStats(&after)
	if allocs > 20 {
		t.Errorf("refusing an oversize bundle made %.0f allocations; it should not read the input", allocs)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("refusing an oversize bundle allocated %d bytes; it should not read the input", grew)
	}
}

// sameBundle reports whether two parsed bundles carry the same signed
// content, signature and signer certificate.
func sameBundle(a, b *Parsed) bool {
	der := func(p *Parsed) []byte {
		block, _ := pem.Decode([]byte(p.Envelope.Signer))
		if block == nil {
			return nil
		}
		return block.Bytes
	}
	return bytes.Equal(a.Body, b.Body) && bytes.Equal(a.Signature, b.Signature) && bytes.Equal(der(a), der(b)) &&
		a.Envelope.Format == b.Envelope.Format && a.Envelope.SchemaVersion == b.Envelope.SchemaVersion && a.Envelope.Digest == b.Envelope.Digest
}

// acceptance fails the test for every changed file that parses and
// verifies, naming forgeries (changed content) apart from re-encodings.
type acceptance struct {
	t    *testing.T
	orig *Parsed
}

func (a *acceptance) check(what string, p *Parsed) {
	a.t.Helper()
	switch {
	case !sameBundle(p, a.orig):
		a.t.Errorf("%s: parses and verifies with changed content:\n%s", what, p.Body)
	default:
		a.t.Errorf("%s: the changed file parses and verifies", what)
	}
}

// smallBundle is a ~2 KB bundle, small enough to change at every position.
func smallBundle(t testing.TB, id *identity.Identity) []byte {
	t.Helper()
	p := testPayload()
	p.History, p.Packages, p.Templates = []domain.DeploymentSummary{}, []Package{}, []domain.Template{}
	p.Process = p.Process[:1]
	return encodeWith(t, id, p)
}

// TestParseFlippedBytes changes every byte of a bundle, in several ways, and
// checks that no changed file both parses and verifies as the signer's.
func TestParseFlippedBytes(t *testing.T) {
	id := testSigner(t)
	good := smallBundle(t, id)
	if n := len(good); n < 1500 || n > 3000 {
		t.Fatalf("the small bundle is %d bytes, want about 2 KB", n)
	}
	orig, err := Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	acc := &acceptance{t: t, orig: orig}
	// Each single bit, and all bits at once.
	masks := []byte{0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff}
	for i := range good {
		for _, m := range masks {
			bad := bytes.Clone(good)
			bad[i] ^= m
			p, err := Parse(bad)
			if err != nil || verifyAs(id, p) != nil {
				continue
			}
			acc.check(fmt.Sprintf("byte %d %q^%#02x=%q in %q", i, good[i], m, bad[i], good[max(0, i-12):min(len(good), i+12)]), p)
		}
	}
}

// TestParseTruncated cuts the bundle at every length.
func TestParseTruncated(t *testing.T) {
	id := testSigner(t)
	good := smallBundle(t, id)
	orig, err := Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	acc := &acceptance{t: t, orig: orig}
	for n := range len(good) {
		p, err := Parse(good[:n])
		if err != nil || verifyAs(id, p) != nil {
			continue
		}
		acc.check(fmt.Sprintf("cut to %d of %d bytes (ends %q)", n, len(good), good[max(0, n-12):n]), p)
	}
}

// TestParseEquivalentEnvelopes rewrites the envelope text without changing
// any value Parse checks. Each rewrite is a file that Encode never wrote.
func TestParseEquivalentEnvelopes(t *testing.T) {
	id := testSigner(t)
	good := encodeWith(t, id, testPayload())
	orig, err := Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	insertNewline := func(field string) []byte {
		at := bytes.Index(good, []byte(`"`+field+`": "`)) + len(field) + 12
		return slices.Concat(good[:at], []byte(`\n`), good[at:])
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"key in upper case", bytes.Replace(good, []byte(`"format"`), []byte(`"FORMAT"`), 1)},
		{"newline inside the payload's base64", insertNewline("payload")},
		{"newline inside the signature's base64", insertNewline("signature")},
		{"final newline removed", bytes.TrimSuffix(good, []byte("\n"))},
		{"indented with tabs", bytes.ReplaceAll(good, []byte("\n  \""), []byte("\n\t\""))},
	}
	acc := &acceptance{t: t, orig: orig}
	for _, tt := range tests {
		if bytes.Equal(tt.data, good) {
			t.Fatalf("%s: the rewrite changed nothing", tt.name)
		}
		p, err := Parse(tt.data)
		if err != nil || verifyAs(id, p) != nil {
			continue
		}
		acc.check(tt.name, p)
	}
}

// FuzzParse checks Parse never panics, and that whatever it accepts is
// consistent: the body is the one the digest names, the payload is a
// release bundle of this schema, and a signature that verifies was made
// over the only body the test key ever signed.
func FuzzParse(f *testing.F) {
	id := testSigner(f)
	good := smallBundle(f, id)
	goodParsed, err := Parse(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	for n := 0; n < len(good); n += 37 {
		f.Add(good[:n])
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"format":"ferry-release-bundle","schemaVersion":1}`))
	r := rand.New(rand.NewPCG(1, 2))
	for range 8 {
		b := make([]byte, r.IntN(512))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			if p != nil {
				t.Fatalf("Parse returned a bundle with its error %v", err)
			}
			return
		}
		if got := DigestOf(p.Body); got != p.Envelope.Digest {
			t.Fatalf("accepted a bundle whose digest %s is not its body's %s", p.Envelope.Digest, got)
		}
		if p.Payload.Kind != PayloadKind || p.Payload.SchemaVersion != SchemaVersion || p.Envelope.SchemaVersion != SchemaVersion {
			t.Fatalf("accepted payload kind %q schema %d/%d", p.Payload.Kind, p.Envelope.SchemaVersion, p.Payload.SchemaVersion)
		}
		for _, v := range p.Payload.Variables {
			if v.Sensitive && v.Value != "" {
				t.Fatalf("accepted sensitive variable %q in plaintext", v.Name)
			}
		}
		again, err := Parse(data)
		if err != nil || !reflect.DeepEqual(again, p) {
			t.Fatalf("a second Parse of the same bytes differs: %v", err)
		}
		if verifyAs(id, p) == nil && !bytes.Equal(p.Body, goodParsed.Body) {
			t.Fatalf("a body the key never signed verifies:\n%s", p.Body)
		}
	})
}
