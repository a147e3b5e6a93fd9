// Package trust gives each space its identity and manages what a space knows
// of other spaces: their certificates, where to reach them, and which
// directions they are trusted for. Bundle and receipt import ask it one
// question — is this document signed by a space we trust for this? — and
// every change to trust is audited with fingerprints before and after.
package trust

import (
	"context"
	"crypto/sha256"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/audit"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/signing"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Service manages identities and trust.
type Service struct {
	tx      store.Transactor
	spaces  store.Spaces
	remotes store.RemoteSpaces
	access  access.Guard
	audit   *audit.Log
	now     func() time.Time
}

// New returns a trust service over the spaces (their identities) and
// remote spaces tables.
func New(tx store.Transactor, spaces store.Spaces, remotes store.RemoteSpaces, guard access.Guard, log *audit.Log, now func() time.Time) *Service {
	return &Service{tx: tx, spaces: spaces, remotes: remotes, access: guard, audit: log, now: now}
}

// CreateIdentity gives a new space its key pair and certificate. It runs in
// the transaction that creates the space.
func (s *Service) CreateIdentity(ctx context.Context, sp *domain.Space) error {
	id, err := identity.Generate(sp.Name, s.now())
	if err != nil {
		return fmt.Errorf("create identity of space %q: %w", sp.Name, err)
	}
	private, err := id.MarshalPrivate()
	if err != nil {
		return err
	}
	sp.Fingerprint = identity.Fingerprint(id.Cert.Raw)
	return s.spaces.SetIdentity(ctx, sp.ID, id.CertPEM, sp.Fingerprint, private)
}

// EnsureIdentities gives an identity to every space that lacks one.
func (s *Service) EnsureIdentities(ctx context.Context) error {
	spaces, err := s.spaces.List(ctx)
	if err != nil {
		return err
	}
	for _, sp := range spaces {
		if sp.Fingerprint != "" {
			continue
		}
		if err := s.tx.WithTx(ctx, func(ctx context.Context) error { return s.CreateIdentity(ctx, &sp) }); err != nil {
			return err
		}
	}
	return nil
}

// Certificate returns a space's certificate as PEM.
func (s *Service) Certificate(ctx context.Context, space string) (domain.Space, []byte, error) {
	sp, err := s.access.Space(ctx, space, domain.PermView, "", "")
	if err != nil {
		return sp, nil, err
	}
	cert, _, err := s.spaces.Identity(ctx, sp.ID)
	return sp, cert, err
}

// Identity returns a space's full identity, private keys included, for
// signing and decrypting. It never leaves the server.
func (s *Service) Identity(ctx context.Context, spaceID int64) (*identity.Identity, error) {
	cert, private, err := s.spaces.Identity(ctx, spaceID)
	if err != nil {
		return nil, err
	}
	return identity.ParsePrivate(cert, private)
}

// RemoteNames lists the unrevoked remote spaces of a space; remote
// environments may only belong to one of them.
func (s *Service) RemoteNames(ctx context.Context, spaceID int64) ([]string, error) {
	list, err := s.remotes.List(ctx, spaceID)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, r := range list {
		if !r.Revoked() {
			names = append(names, r.Name)
		}
	}
	return names, nil
}

// AddRequest adds a remote space.
type AddRequest struct {
	Name        string `json:"name"`
	Certificate string `json:"certificate"` // PEM
	URL         string `json:"url,omitempty"`
	Trust       string `json:"trust,omitempty"` // "releases,receipts,promote"
	// TLSFingerprint pins the SHA-256 fingerprint of the TLS certificate
	// the server at URL presents (for a self-signed server certificate).
	TLSFingerprint string `json:"tlsFingerprint,omitempty"`
}

// Add registers another space by its certificate. Adding the same name with
// the same certificate again changes nothing; a different certificate under
// a known name is refused (rotation is an explicit Update).
func (s *Service) Add(ctx context.Context, space string, req AddRequest) (domain.RemoteSpace, bool, error) {
	var r domain.RemoteSpace
	created := false
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.SpaceWide(ctx, space, domain.PermAdminSpace)
		if err != nil {
			return err
		}
		if err := domain.ValidateName("remote space", req.Name); err != nil {
			return err
		}
		cert, err := s.parseCert(req.Certificate)
		if err != nil {
			return err
		}
		trust, err := domain.ParseTrust(req.Trust)
		if err != nil {
			return err
		}
		if err := validateURL(req.URL); err != nil {
			return err
		}
		pin, err := ParseFingerprint(req.TLSFingerprint)
		if err != nil {
			return err
		}
		if cert.Fingerprint == sp.Fingerprint {
			return domain.Invalidf("that is the certificate of space %q itself; add the other space's certificate (`ferry space cert NAME` on its server)", space)
		}
		old, err := s.remotes.Get(ctx, sp.ID, req.Name)
		if err == nil && old.DeletedAt != nil {
			return domain.Conflictf("remote space %q was deleted on %s; its name and certificate stay reserved, revoked, so that what it delivered never deploys again. Add the space under a new name with a new certificate if you trust it again", req.Name, old.DeletedAt.Format(time.RFC3339))
		}
		if err == nil {
			if old.Fingerprint == cert.Fingerprint {
				r = old
				return nil
			}
			return domain.Conflictf("remote space %q is already known with fingerprint %s, and this certificate has fingerprint %s. If its certificate really changed (compare fingerprints with its owners), rotate it with `ferry remote-space update %q --cert FILE`", req.Name, old.Fingerprint, cert.Fingerprint, req.Name)
		}
		if !errors.Is(err, domain.ErrNotFound) {
			return err
		}
		if other, err := s.remotes.GetByFingerprint(ctx, sp.ID, cert.Fingerprint); err == nil {
			if other.DeletedAt != nil {
				return domain.Conflictf("this certificate (fingerprint %s) is that of remote space %q, which was deleted; a deleted space's certificate is never trusted again", cert.Fingerprint, other.Name)
			}
			return domain.Conflictf("this certificate (fingerprint %s) is already known as remote space %q", cert.Fingerprint, other.Name)
		}
		r = domain.RemoteSpace{SpaceID: sp.ID, Name: req.Name, CertPEM: string(cert.PEM), Fingerprint: cert.Fingerprint, URL: req.URL, TLSFingerprint: pin, Trust: trust}
		if err := s.remotes.Create(ctx, &r); err != nil {
			return err
		}
		created = true
		return s.audit.Record(ctx, sp.ID, "remote-space.add", r.Name, map[string]string{
			"fingerprint": r.Fingerprint, "certificateSpace": cert.SpaceName, "trust": trust.String(), "url": r.URL, "tlsFingerprint": r.TLSFingerprint,
		})
	})
	return r, created, err
}

// UpdateRequest changes a remote space; nil fields are left as they are.
type UpdateRequest struct {
	URL         *string `json:"url,omitempty"`
	Trust       *string `json:"trust,omitempty"`
	Certificate *string `json:"certificate,omitempty"` // rotation
	// TLSFingerprint pins the server's TLS certificate; "" removes the pin.
	TLSFingerprint *string `json:"tlsFingerprint,omitempty"`
}

// Update changes a remote space's URL, trust or certificate.
func (s *Service) Update(ctx context.Context, space, name string, req UpdateRequest) (domain.RemoteSpace, error) {
	var r domain.RemoteSpace
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.SpaceWide(ctx, space, domain.PermAdminSpace)
		if err != nil {
			return err
		}
		if r, err = s.remotes.Get(ctx, sp.ID, name); err != nil {
			return err
		}
		if r.Revoked() {
			return domain.Conflictf("remote space %q was revoked on %s; a revoked space stays revoked. Add its new certificate under a new name if you trust it again", name, r.RevokedAt.Format(time.RFC3339))
		}
		details := map[string]string{}
		if req.URL != nil {
			if err := validateURL(*req.URL); err != nil {
				return err
			}
			details["url"] = fmt.Sprintf("%q → %q", r.URL, *req.URL)
			r.URL = *req.URL
		}
		if req.TLSFingerprint != nil {
			pin, err := ParseFingerprint(*req.TLSFingerprint)
			if err != nil {
				return err
			}
			details["tlsFingerprint"] = fmt.Sprintf("%q → %q", r.TLSFingerprint, pin)
			r.TLSFingerprint = pin
		}
		if req.Trust != nil {
			t, err := domain.ParseTrust(*req.Trust)
			if err != nil {
				return err
			}
			details["trust"] = r.Trust.String() + " → " + t.String()
			r.Trust = t
		}
		details["fingerprint"] = r.Fingerprint
		if req.Certificate != nil {
			cert, err := s.parseCert(*req.Certificate)
			if err != nil {
				return err
			}
			if cert.Fingerprint == sp.Fingerprint {
				return domain.Invalidf("that is the certificate of space %q itself", space)
			}
			details["fingerprint"] = r.Fingerprint + " → " + cert.Fingerprint
			r.CertPEM, r.Fingerprint = string(cert.PEM), cert.Fingerprint
		}
		if len(details) == 1 && req.Certificate == nil {
			return domain.Invalidf("nothing to change: give --url, --tls-fingerprint, --trust or --cert")
		}
		r.UpdatedAt = s.now()
		if err := s.remotes.Update(ctx, &r); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "remote-space.update", name, details)
	})
	return r, err
}

// Revoke stops trusting a remote space for good: anything signed by it is
// refused from now on. It stays listed, as revoked.
func (s *Service) Revoke(ctx context.Context, space, name string) (domain.RemoteSpace, error) {
	var r domain.RemoteSpace
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.SpaceWide(ctx, space, domain.PermAdminSpace)
		if err != nil {
			return err
		}
		if r, err = s.remotes.Get(ctx, sp.ID, name); err != nil {
			return err
		}
		if r.Revoked() {
			return nil
		}
		now := s.now()
		r.RevokedAt, r.UpdatedAt, r.RevokedBy = &now, now, domain.ActorName(ctx)
		if err := s.remotes.Update(ctx, &r); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "remote-space.revoke", name, map[string]string{"fingerprint": r.Fingerprint, "trust": r.Trust.String() + " → none (revoked)"})
	})
	return r, err
}

// List returns a space's remote spaces.
func (s *Service) List(ctx context.Context, space string) ([]domain.RemoteSpace, error) {
	sp, err := s.access.Space(ctx, space, domain.PermView, "", "")
	if err != nil {
		return nil, err
	}
	return s.remotes.List(ctx, sp.ID)
}

// Get returns one remote space of a space.
func (s *Service) Get(ctx context.Context, spaceID int64, name string) (domain.RemoteSpace, error) {
	return s.remotes.Get(ctx, spaceID, name)
}

// Verify checks that payload was signed (sig) by the space whose certificate
// is signerPEM, that this space knows that space, has not revoked it, and
// trusts it for direction. It returns the remote space. Every refusal is
// KindUntrusted and says what to do.
func (s *Service) Verify(ctx context.Context, spaceID int64, direction string, signerPEM []byte, payload, sig []byte) (domain.RemoteSpace, error) {
	return s.verify(ctx, spaceID, direction, signerPEM, payload, nil, sig)
}

// VerifySum is Verify for a payload whose SHA-256 (sum) was computed from
// these same bytes when its envelope was opened (envelope.Opened.Sum), so
// that an ECDSA signature is checked without hashing them again
// (signing.VerifySum).
func (s *Service) VerifySum(ctx context.Context, spaceID int64, direction string, signerPEM []byte, payload []byte, sum [32]byte, sig []byte) (domain.RemoteSpace, error) {
	return s.verify(ctx, spaceID, direction, signerPEM, payload, &sum, sig)
}

func (s *Service) verify(ctx context.Context, spaceID int64, direction string, signerPEM []byte, payload []byte, sum *[32]byte, sig []byte) (domain.RemoteSpace, error) {
	fp, err := fingerprintOf(signerPEM)
	if err != nil {
		return domain.RemoteSpace{}, err
	}
	r, err := s.remotes.GetByFingerprint(ctx, spaceID, fp)
	if errors.Is(err, domain.ErrNotFound) {
		return r, untrusted(domain.RuleSignerKnown, "it is signed by a space this space does not know (certificate fingerprint %s). If you expect it, compare that fingerprint with the sending space's owners and add it with `ferry remote-space add NAME --cert FILE --trust %s`", fp, direction)
	}
	if err != nil {
		return r, err
	}
	if r.Revoked() {
		return r, untrusted(domain.RuleSignerRevoked, "it is signed by remote space %q (fingerprint %s), which %s", r.Name, fp, r.RevocationText())
	}
	if !r.Trust.Has(direction) {
		return r, untrusted(domain.RuleSignerTrusted, "remote space %q is not trusted for %s here (its trust: %s). To accept %s from it: `ferry remote-space update %q --trust %s`", r.Name, direction, r.Trust.String(), direction, r.Name, domain.Trust(append(r.Trust, direction)).String())
	}
	cert, err := identity.ParseCertificate([]byte(r.CertPEM), s.now())
	if err != nil {
		return r, untrusted(domain.RuleSignature, "the stored certificate of remote space %q is no longer valid (%v); ask its owners for a new one and rotate it with `ferry remote-space update %q --cert FILE`", r.Name, err, r.Name)
	}
	if sum == nil {
		computed := sha256.Sum256(payload)
		sum = &computed
	}
	if err := signing.VerifySum(cert.X509, payload, *sum, sig); err != nil {
		return r, untrusted(domain.RuleSignature, "the signature of remote space %q does not match the contents: the file was altered or damaged after it was signed", r.Name)
	}
	return r, nil
}

func untrusted(rule, format string, args ...any) error {
	return domain.Refuse(domain.KindUntrusted, rule, format, args...)
}

// fingerprintOf fingerprints the certificate a document says signed it. Only
// the fingerprint is used: the signature is checked against this space's own
// stored copy of the certificate, never the one the document brought.
func fingerprintOf(certPEM []byte) (string, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return "", untrusted(domain.RuleSignerKnown, "the document does not carry its signer's certificate")
	}
	return identity.Fingerprint(block.Bytes), nil
}

func (s *Service) parseCert(pemText string) (*identity.Cert, error) {
	if pemText == "" {
		return nil, domain.Invalidf("no certificate given: pass the other space's certificate file with --cert FILE (`ferry space cert NAME --out FILE` on its server writes it)")
	}
	c, err := identity.ParseCertificate([]byte(pemText), s.now())
	if err != nil {
		return nil, domain.Invalidf("%v", err)
	}
	return c, nil
}

// validateURL accepts https anywhere and plain http only on loopback, where
// nothing crosses a network.
func validateURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return domain.Invalidf("URL %q is not a server address like https://ferry.example.com:8443", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
			return nil
		}
		return domain.Invalidf("URL %q uses plain http to another machine; use https (plain http is allowed only on loopback)", raw)
	}
	return domain.Invalidf("URL %q must start with https:// (or http:// on loopback)", raw)
}

// AgeKey returns a space's age secret key (AGE-SECRET-KEY-1...), for an
// administrator who wants to decrypt a bundle's secret by hand. Audited.
func (s *Service) AgeKey(ctx context.Context, space string) (string, error) {
	if err := access.Admin(ctx, "read a space's private key"); err != nil {
		return "", err
	}
	sp, err := s.spaces.Get(ctx, space)
	if err != nil {
		return "", err
	}
	id, err := s.Identity(ctx, sp.ID)
	if err != nil {
		return "", err
	}
	if err := s.audit.Record(ctx, sp.ID, "space.key-export", sp.Name, map[string]string{"key": "age"}); err != nil {
		return "", err
	}
	return id.Age.String(), nil
}
