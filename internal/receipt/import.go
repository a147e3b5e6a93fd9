package receipt

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ferrydeploy/ferry/internal/compat"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/envelope"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/provenance"
	"github.com/ferrydeploy/ferry/internal/signing"
)

// ImportResult counts what an import did.
type ImportResult struct {
	From       string `json:"from"`
	Imported   int    `json:"imported"`
	Duplicates int    `json:"duplicates"`
	// OfDeleted counts receipts about releases this space deleted: they
	// are verified, then skipped.
	OfDeleted int `json:"ofDeleted,omitempty"`
}

// Open reads a receipt file's envelope: size, format, a schema version this
// server reads (its own or the previous one), digest.
func Open(data []byte) (*envelope.Opened, error) {
	return envelope.OpenVersions(data, FileFormat, compat.Previous, compat.Current, MaxFileSize, "receipt file")
}

// Import verifies a receipt file completely — the exporter is trusted for
// receipts, the file is for this space, every receipt satisfies the receipt
// rules (its own signature checked against this space's stored certificate
// of its signer; see internal/provenance and docs/trust.md) — and then
// stores the new receipts in one transaction. Receipts already held are
// skipped, so importing a file twice changes nothing. A file with one
// receipt that breaks a rule is refused whole, naming the rule.
func (s *Service) Import(ctx context.Context, space string, data []byte) (ImportResult, error) {
	// Who may import is decided before the file is even read.
	if _, err := s.access.SpaceWide(ctx, space, domain.PermAdminSpace); err != nil {
		return ImportResult{}, err
	}
	o, body, err := openFile(data)
	if err != nil {
		return ImportResult{}, err
	}
	var res ImportResult
	err = s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.SpaceWide(ctx, space, domain.PermAdminSpace)
		if err != nil {
			return err
		}
		exporter, err := s.verifyFile(ctx, sp, o, body)
		if err != nil {
			return err
		}
		receipts, read, ofDeleted, err := s.checkAll(ctx, sp, exporter, body)
		if err != nil {
			return err
		}
		if res, err = s.storeNew(ctx, sp, exporter, receipts); err != nil {
			return err
		}
		res.OfDeleted = ofDeleted
		// What each signer signed shows what it reads (versions only rise).
		read[exporter.ID] = signerRead{exporter, max(read[exporter.ID].version, body.SchemaVersion)}
		for _, r := range read {
			if err := compat.Learn(ctx, s.remotes, r.signer, r.version); err != nil {
				return err
			}
		}
		return s.audit.Record(ctx, sp.ID, "receipt.import", exporter.Name, map[string]string{
			"imported": fmt.Sprint(res.Imported), "duplicates": fmt.Sprint(res.Duplicates), "fingerprint": exporter.Fingerprint,
			"of deleted releases": fmt.Sprint(res.OfDeleted),
		})
	})
	s.queued(err)
	return res, err
}

// openFile opens a receipt file and decodes its body exactly.
func openFile(data []byte) (*envelope.Opened, FileBody, error) {
	var body FileBody
	o, err := Open(data)
	if err != nil {
		return nil, body, err
	}
	if err := envelope.Strict(o.Body, &body); err != nil {
		return nil, body, domain.Refuse(domain.KindInvalid, domain.RuleExact, "the receipt file's contents are malformed or not exactly what ferry writes: %v", err)
	}
	if err := o.CheckExact(); err != nil {
		return nil, body, err
	}
	return o, body, nil
}

// verifyFile checks the file as a whole: signed by a remote space trusted
// for receipts, a receipt file, for this space, from the space that
// signed it. It returns that space.
func (s *Service) verifyFile(ctx context.Context, sp domain.Space, o *envelope.Opened, body FileBody) (domain.RemoteSpace, error) {
	exporter, err := s.trust.VerifySum(ctx, sp.ID, domain.TrustReceipts, []byte(o.Envelope.Signer), o.Body, o.Sum, o.Signature)
	if err != nil {
		return exporter, err
	}
	if body.Kind != FileKind || body.SchemaVersion != o.Envelope.SchemaVersion {
		return exporter, domain.Refuse(domain.KindInvalid, domain.RuleReceiptFile, "the signed document is a %q (schema %d), not a receipt file of schema %d", body.Kind, body.SchemaVersion, o.Envelope.SchemaVersion)
	}
	if body.Destination.Fingerprint != sp.Fingerprint {
		return exporter, domain.Refuse(domain.KindInvalid, domain.RuleReceiptFile, "this receipt file is for space %q (fingerprint %s), not for space %q", body.Destination.Space, body.Destination.Fingerprint, sp.Name)
	}
	if body.Exporter.Fingerprint != exporter.Fingerprint {
		return exporter, domain.Refuse(domain.KindUntrusted, domain.RuleReceiptFile, "the file says it comes from %q but is signed by remote space %q", body.Exporter.Space, exporter.Name)
	}
	return exporter, nil
}

// signerRead is the newest schema version a remote space was seen to sign.
type signerRead struct {
	signer  domain.RemoteSpace
	version int
}

// checkAll checks every receipt of the file (check) and returns them as
// this space stores them, with the newest schema version each signer
// signed. One receipt that breaks a rule refuses the file; one about a
// release this space deleted is skipped (counted in ofDeleted).
func (s *Service) checkAll(ctx context.Context, sp domain.Space, exporter domain.RemoteSpace, body FileBody) (receipts []domain.Receipt, read map[int64]signerRead, ofDeleted int, err error) {
	read = map[int64]signerRead{}
	for i, sg := range body.Receipts {
		pl, signer, env, err := s.check(ctx, sp, exporter, sg, body.SchemaVersion)
		if errors.Is(err, errDeletedRelease) {
			ofDeleted++
			continue
		}
		if err != nil {
			return nil, nil, 0, fmt.Errorf("receipt %d of %d: %w", i+1, len(body.Receipts), err)
		}
		r := toReceipt(sp.ID, pl, sg, exporter.Name, s.now())
		r.DeployingSpace, r.Environment = signer.Name, env
		receipts = append(receipts, r)
		read[signer.ID] = signerRead{signer, max(read[signer.ID].version, pl.SchemaVersion)}
	}
	return receipts, read, ofDeleted, nil
}

// errDeletedRelease is what check says of a correctly signed receipt
// about a release this space deleted.
var errDeletedRelease = errors.New("a receipt about a deleted release")

// storeNew stores the receipts this space does not hold yet and queues
// them back toward the spaces the releases came from.
func (s *Service) storeNew(ctx context.Context, sp domain.Space, exporter domain.RemoteSpace, receipts []domain.Receipt) (ImportResult, error) {
	res := ImportResult{From: exporter.Name}
	var fresh []domain.Receipt
	for i := range receipts {
		created, err := s.receipts.Create(ctx, &receipts[i])
		if err != nil {
			return res, err
		}
		if created {
			res.Imported++
			fresh = append(fresh, receipts[i])
		} else {
			res.Duplicates++
		}
	}
	return res, s.queueBack(ctx, sp, fresh)
}

// check verifies one receipt of a file of schema version fileVersion: it is
// decoded exactly and is of a kind and version this server reads; its
// signature verifies against this space's stored certificate of the signer
// it names — never against a certificate relayed with it; and it satisfies
// the receipt rules (provenance.Receipts.Check). It returns the receipt,
// its signer, and the environment it speaks for, as this space names it.
func (s *Service) check(ctx context.Context, sp domain.Space, exporter domain.RemoteSpace, sg Signed, fileVersion int) (Payload, domain.RemoteSpace, string, error) {
	var pl Payload
	var signer domain.RemoteSpace
	if err := envelope.Strict(sg.Payload, &pl); err != nil {
		return pl, signer, "", domain.Refuse(domain.KindInvalid, domain.RuleExact, "a receipt is malformed or not exactly what ferry writes: %v", err)
	}
	switch {
	case pl.Kind != ReceiptKind || !compat.Readable(pl.SchemaVersion) || pl.SchemaVersion > fileVersion:
		return pl, signer, "", domain.Refuse(domain.KindInvalid, domain.RuleReceiptState, "a %q of schema version %d in a file of version %d is not a receipt this server reads (schema versions %d to %d)",
			pl.Kind, pl.SchemaVersion, fileVersion, compat.Previous, compat.Current)
	case pl.SchemaVersion < 2 && pl.Bundle != "":
		return pl, signer, "", domain.Refuse(domain.KindInvalid, domain.RuleExact, "a receipt of schema version %d carries %q, which that version does not have", pl.SchemaVersion, "bundle")
	case pl.SchemaVersion < 3 && pl.Machines != nil:
		return pl, signer, "", domain.Refuse(domain.KindInvalid, domain.RuleExact, "a receipt of schema version %d carries %q, which that version does not have", pl.SchemaVersion, "machines")
	case pl.SchemaVersion >= 3 && (pl.Machines == nil || *pl.Machines < 0):
		return pl, signer, "", domain.Refuse(domain.KindInvalid, domain.RuleExact, "a receipt of schema version %d must say how many targets ran it (%q, 0 or more)", pl.SchemaVersion, "machines")
	case !pl.State.Done():
		return pl, signer, "", domain.Refuse(domain.KindInvalid, domain.RuleReceiptState, "a receipt reports state %q; receipts report how a deployment ended (Success, Failed or Cancelled)", pl.State)
	}
	// A signer known here by fingerprint is checked against this space's
	// stored certificate first; an unknown one is refused by the rules
	// below, naming the rule.
	known, err := s.remotes.GetByFingerprint(ctx, sp.ID, pl.Deploying.Fingerprint)
	switch {
	case errors.Is(err, domain.ErrNotFound):
	case err != nil:
		return pl, signer, "", err
	default:
		cert, err := identity.ParseCertificate([]byte(known.CertPEM), s.now())
		if err != nil {
			return pl, known, "", domain.Refuse(domain.KindUntrusted, domain.RuleSignature, "the stored certificate of remote space %q, which signed a receipt, is not usable: %v", known.Name, err)
		}
		if err := signing.Verify(cert.X509, sg.Payload, sg.Signature); err != nil {
			return pl, known, "", domain.Refuse(domain.KindUntrusted, domain.RuleSignature, "the signature of a receipt from %q does not match its contents: it was altered, or not signed by %q's key", known.Name, known.Name)
		}
	}
	p, rel, err := s.release(ctx, sp, pl)
	if err != nil {
		return pl, signer, "", err
	}
	rules, err := s.provenance.ForRelease(ctx, sp, p, rel)
	if err != nil {
		return pl, signer, "", err
	}
	signer, env, err := rules.Check(ctx, provenance.Claim{
		Signer: pl.Deploying.Fingerprint, SignerName: pl.Deploying.Space,
		LocalEnvironment: pl.LocalEnv, SnapshotDigest: pl.SnapshotDigest,
	}, exporter)
	if err != nil {
		return pl, signer, env, err
	}
	// The environment as signed must be the one the receipt speaks for:
	// "<name>: <its own environment>", and exactly this space's name for
	// the signer when the signer sent it here itself.
	want := ": " + pl.LocalEnv
	prefix, ok := strings.CutSuffix(pl.Environment, want)
	if !ok || domain.ValidateName("space", prefix) != nil || (exporter.ID == signer.ID && pl.Environment != env) {
		return pl, signer, env, domain.Refuse(domain.KindUntrusted, domain.RuleReceiptEnvironment,
			"a receipt signed by %q reports environment %q; a space may report only its own environments, which this space calls %q", signer.Name, pl.Environment, env)
	}
	// A tenant's name is the deploying space's, shown here as it is: it
	// must be the plain word that space could have deployed for.
	if pl.Tenant != "" && domain.ValidateSafeName("tenant", pl.Tenant) != nil {
		return pl, signer, env, domain.Refuse(domain.KindInvalid, domain.RuleReceiptEnvironment,
			"a receipt signed by %q names tenant %q, which is not a tenant name (letters, digits and . _ -)", signer.Name, pl.Tenant)
	}
	return pl, signer, env, nil
}

// release finds the release a receipt is for: this space's own (it is the
// origin) or one it imported from the receipt's origin (and so may relay
// further).
func (s *Service) release(ctx context.Context, sp domain.Space, pl Payload) (domain.Project, domain.Release, error) {
	name := projectName(sp, pl.Origin.Fingerprint, pl.Origin.Space, pl.Origin.Project)
	var rel domain.Release
	p, err := s.projects.Get(ctx, sp.ID, name)
	if err == nil {
		if p.IsRemote() != (pl.Origin.Fingerprint != sp.Fingerprint) || (p.IsRemote() && p.Origin.Fingerprint != pl.Origin.Fingerprint) {
			err = domain.ErrNotFound
		} else {
			rel, err = s.releases.Get(ctx, p.ID, pl.Version)
			if errors.Is(err, domain.ErrNotFound) {
				if gone, werr := s.releases.WasDeleted(ctx, p.ID, pl.Version); werr != nil || gone {
					return p, rel, cmp.Or(werr, errDeletedRelease)
				}
			}
		}
	}
	if errors.Is(err, domain.ErrNotFound) {
		return p, rel, domain.Refuse(domain.KindInvalid, domain.RuleReceiptRelease, "a receipt for release %s of %q, which this space does not have", pl.Version, name)
	}
	return p, rel, err
}
