package trust_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/signing"
	"github.com/ferrydeploy/ferry/internal/trust"
)

// twoSpaces: Dev and Prod on one server; each knows the other's certificate
// only once a test adds it.
func twoSpaces(t *testing.T) (*servicetest.Env, string, string) {
	t.Helper()
	env := servicetest.New(t)
	env.CreateSpace("Dev")
	env.CreateSpace("Prod")
	_, dev, err := env.Set.Trust.Certificate(env.Ctx, "Dev")
	if err != nil {
		t.Fatal(err)
	}
	_, prod, err := env.Set.Trust.Certificate(env.Ctx, "Prod")
	if err != nil {
		t.Fatal(err)
	}
	return env, string(dev), string(prod)
}

func wantKind(t *testing.T, what string, err error, kind domain.Kind, says ...string) {
	t.Helper()
	if domain.KindOf(err) != kind || err == nil {
		t.Errorf("%s: got %v, want a %s error", what, err, kind)
		return
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%s: %q does not say %q", what, err, s)
		}
	}
}

func TestAddKnowsASpaceByItsCertificate(t *testing.T) {
	env, dev, prod := twoSpaces(t)
	add := func(name, cert, trustFor string) (domain.RemoteSpace, bool, error) {
		return env.Set.Trust.Add(env.Ctx, "Dev", trust.AddRequest{Name: name, Certificate: cert, Trust: trustFor})
	}
	r, created, err := add("Prod", prod, "promote")
	if err != nil || !created || r.Fingerprint == "" {
		t.Fatalf("add Prod: %+v %v %v", r, created, err)
	}
	if _, created, err := add("Prod", prod, "promote"); err != nil || created {
		t.Errorf("adding the same again: created %v, %v", created, err)
	}
	_, _, err = add("Prod", dev, "promote")
	wantKind(t, "another certificate under a known name", err, domain.KindInvalid, "itself")
	other, err := identity.Generate("Prod", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = add("Prod", string(other.CertPEM), "promote")
	wantKind(t, "a new certificate under a known name", err, domain.KindConflict, "remote-space update")
	_, _, err = add("Production", prod, "promote")
	wantKind(t, "a known certificate under a new name", err, domain.KindConflict, `known as remote space "Prod"`)
	_, _, err = add("Evil", "not a certificate", "")
	wantKind(t, "garbage", err, domain.KindInvalid)
	_, _, err = add("QA", string(other.CertPEM), "everything")
	wantKind(t, "an unknown trust", err, domain.KindInvalid)
	_, _, err = env.Set.Trust.Add(env.AsRole("Dev", "deployer"), "Dev", trust.AddRequest{Name: "QA", Certificate: string(other.CertPEM)})
	wantKind(t, "a deployer", err, domain.KindForbidden)
}

func TestURLsArePrivateOrEncrypted(t *testing.T) {
	env, _, prod := twoSpaces(t)
	if _, _, err := env.Set.Trust.Add(env.Ctx, "Dev", trust.AddRequest{Name: "Prod", Certificate: prod, URL: "http://prod.example.com"}); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("add with plain http to another machine: %v", err)
	}
	env.Trust("Dev", "Prod", "promote")
	for url, ok := range map[string]bool{
		"https://prod.example.com:8443": true,
		"http://127.0.0.1:8080":         true,
		"http://localhost:8080":         true,
		"http://[::1]:8080":             true,
		"":                              true,
		"http://prod.example.com":       false,
		"http://10.0.0.5:8080":          false,
		"ftp://prod.example.com":        false,
		"prod.example.com":              false,
	} {
		r, err := env.Set.Trust.Update(env.Ctx, "Dev", "Prod", trust.UpdateRequest{URL: &url})
		if ok != (err == nil) || (ok && r.URL != url) {
			t.Errorf("URL %q: %+v, %v", url, r.URL, err)
		}
	}
}

func mustSpace(t *testing.T, env *servicetest.Env, name string) domain.Space {
	t.Helper()
	sp, err := env.Set.Catalog.Space(env.Ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func TestVerifyNamesTheRuleItBreaks(t *testing.T) {
	env, _, prod := twoSpaces(t)
	dev := mustSpace(t, env, "Dev")
	prodSpace := mustSpace(t, env, "Prod")
	key, err := env.Set.Trust.Identity(env.Ctx, prodSpace.ID)
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte(`{"hello":"world"}`)
	sig, err := signing.Sign(key.Signer, payload)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(direction string, payload, sig []byte) error {
		_, err := env.Set.Trust.Verify(env.Ctx, dev.ID, direction, []byte(prod), payload, sig)
		return err
	}
	wantKind(t, "an unknown signer", verify(domain.TrustReleases, payload, sig), domain.KindUntrusted, "["+domain.RuleSignerKnown+"]")
	env.Trust("Dev", "Prod", "receipts")
	wantKind(t, "a signer not trusted for releases", verify(domain.TrustReleases, payload, sig), domain.KindUntrusted, "["+domain.RuleSignerTrusted+"]", "--trust receipts,releases")
	if err := verify(domain.TrustReceipts, payload, sig); err != nil {
		t.Errorf("a good signature: %v", err)
	}
	flipped := append([]byte(nil), payload...)
	flipped[3] ^= 1
	wantKind(t, "altered contents", verify(domain.TrustReceipts, flipped, sig), domain.KindUntrusted, "["+domain.RuleSignature+"]")
	wantKind(t, "no signer certificate", func() error {
		_, err := env.Set.Trust.Verify(env.Ctx, dev.ID, domain.TrustReceipts, []byte("nothing"), payload, sig)
		return err
	}(), domain.KindUntrusted, "["+domain.RuleSignerKnown+"]")
	if _, err := env.Set.Trust.Revoke(env.Ctx, "Dev", "Prod"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "a revoked signer", verify(domain.TrustReceipts, payload, sig), domain.KindUntrusted, "["+domain.RuleSignerRevoked+"]")
}

func TestRevocationIsFinal(t *testing.T) {
	env, _, _ := twoSpaces(t)
	env.Trust("Dev", "Prod", "promote")
	r, err := env.Set.Trust.Revoke(env.Ctx, "Dev", "Prod")
	if err != nil || !r.Revoked() || r.RevokedBy != "system" {
		t.Fatalf("revoke: %+v %v", r, err)
	}
	if again, err := env.Set.Trust.Revoke(env.Ctx, "Dev", "Prod"); err != nil || !again.Revoked() || again.RevokedAt.Sub(*r.RevokedAt).Abs() > time.Millisecond {
		t.Errorf("revoking twice: %+v %v", again, err)
	}
	url := "https://prod.example.com"
	_, err = env.Set.Trust.Update(env.Ctx, "Dev", "Prod", trust.UpdateRequest{URL: &url})
	wantKind(t, "updating a revoked space", err, domain.KindConflict, "stays revoked")
	names, err := env.Set.Trust.RemoteNames(env.Ctx, mustSpace(t, env, "Dev").ID)
	if err != nil || len(names) != 0 {
		t.Errorf("remote names after revoking: %v %v", names, err)
	}
}

func TestUpdateChangesWhatItIsGiven(t *testing.T) {
	env, _, _ := twoSpaces(t)
	env.Trust("Dev", "Prod", "promote")
	_, err := env.Set.Trust.Update(env.Ctx, "Dev", "Prod", trust.UpdateRequest{})
	wantKind(t, "an empty update", err, domain.KindInvalid, "nothing to change")
	trustFor := "promote,receipts"
	r, err := env.Set.Trust.Update(env.Ctx, "Dev", "Prod", trust.UpdateRequest{Trust: &trustFor})
	if err != nil || !r.Trust.Has(domain.TrustReceipts) || !r.Trust.Has(domain.TrustPromote) {
		t.Errorf("update trust: %+v %v", r, err)
	}
	pin := "not a fingerprint"
	_, err = env.Set.Trust.Update(env.Ctx, "Dev", "Prod", trust.UpdateRequest{TLSFingerprint: &pin})
	wantKind(t, "a bad TLS pin", err, domain.KindInvalid)
	events, err := env.Set.Catalog.Audit(env.Ctx, "Dev", 0)
	if err != nil || len(events) == 0 || events[0].Action != "remote-space.update" || events[0].Details["trust"] != "promote → "+r.Trust.String() {
		t.Errorf("audit of the update: %+v %v", events, err)
	}
}

func TestAgeKeyOnlyForAdministrators(t *testing.T) {
	env, _, _ := twoSpaces(t)
	_, err := env.Set.Trust.AgeKey(env.AsRole("Dev", "space-admin"), "Dev")
	wantKind(t, "a space admin", err, domain.KindForbidden)
	key, err := env.Set.Trust.AgeKey(env.Ctx, "Dev")
	if err != nil || !strings.HasPrefix(key, "AGE-SECRET-KEY-1") {
		t.Errorf("the age key: %v", err)
	}
}
