package receipt

import (
	"context"
	"errors"
	"fmt"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/envelope"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/signing"
)

// ImportResult counts what an import did.
type ImportResult struct {
	From       string `json:"from"`
	Imported   int    `json:"imported"`
	Duplicates int    `json:"duplicates"`
}

// Import verifies a receipt file completely — the exporter is trusted for
// receipts, the file is for this space, every receipt's own signature holds
// and its signer is acceptable, every receipt names a release this space
// has — and then stores the new receipts in one transaction. Receipts
// already held are skipped, so importing a file twice changes nothing.
func (s *Service) Import(ctx context.Context, space string, data []byte) (ImportResult, error) {
	// Who may import is decided before the file is even read.
	if _, err := access.Space(ctx, s.store, space, domain.PermAdminSpace, "", ""); err != nil {
		return ImportResult{}, err
	}
	o, err := envelope.Open(data, FileFormat, SchemaVersion, MaxFileSize, "receipt file")
	if err != nil {
		return ImportResult{}, err
	}
	var body FileBody
	if err := envelope.Strict(o.Body, &body); err != nil {
		return ImportResult{}, domain.Invalidf("refused: the receipt file's contents are malformed: %v", err)
	}
	if err := o.CheckExact(); err != nil {
		return ImportResult{}, err
	}
	var res ImportResult
	err = s.store.WithTx(ctx, func(ctx context.Context) error {
		sp, err := access.Space(ctx, s.store, space, domain.PermAdminSpace, "", "")
		if err != nil {
			return err
		}
		exporter, err := s.trust.Verify(ctx, sp.ID, domain.TrustReceipts, []byte(o.Envelope.Signer), o.Body, o.Signature)
		if err != nil {
			return err
		}
		if body.Kind != FileKind || body.SchemaVersion != SchemaVersion {
			return domain.Invalidf("refused: the signed document is a %q (schema %d), not a receipt file", body.Kind, body.SchemaVersion)
		}
		if body.Destination.Fingerprint != sp.Fingerprint {
			return domain.Invalidf("refused: this receipt file is for space %q (fingerprint %s), not for space %q", body.Destination.Space, body.Destination.Fingerprint, sp.Name)
		}
		if body.Exporter.Fingerprint != exporter.Fingerprint {
			return domain.Errorf(domain.KindUntrusted, "refused: the file says it comes from %q but is signed by remote space %q", body.Exporter.Space, exporter.Name)
		}
		var receipts []domain.Receipt
		for i, sg := range body.Receipts {
			pl, err := s.check(ctx, sp, exporter, sg)
			if err != nil {
				return fmt.Errorf("receipt %d of %d: %w", i+1, len(body.Receipts), err)
			}
			receipts = append(receipts, toReceipt(sp.ID, pl, sg, exporter.Name, s.now()))
		}
		res.From = exporter.Name
		var fresh []domain.Receipt
		for i := range receipts {
			created, err := s.store.Receipts().Create(ctx, &receipts[i])
			if err != nil {
				return err
			}
			if created {
				res.Imported++
				fresh = append(fresh, receipts[i])
			} else {
				res.Duplicates++
			}
		}
		if err := s.queueBack(ctx, sp, fresh); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "receipt.import", exporter.Name, map[string]string{
			"imported": fmt.Sprint(res.Imported), "duplicates": fmt.Sprint(res.Duplicates), "fingerprint": exporter.Fingerprint,
		})
	})
	s.queued(err)
	return res, err
}

// check verifies one receipt: its signature against the signer's
// certificate — this space's stored copy when it knows the signer, else the
// copy the trusted exporter relayed (trust in a relayed receipt comes from
// the exporter, which this space trusts for receipts) — that a known signer
// is not revoked, and that the receipt names a release this space has.
func (s *Service) check(ctx context.Context, sp domain.Space, exporter domain.RemoteSpace, sg Signed) (Payload, error) {
	var pl Payload
	if err := envelope.Strict(sg.Payload, &pl); err != nil {
		return pl, domain.Invalidf("refused: malformed receipt: %v", err)
	}
	if pl.Kind != ReceiptKind || pl.SchemaVersion != SchemaVersion {
		return pl, domain.Invalidf("refused: a %q of schema version %d is not a receipt this server reads (schema version %d)", pl.Kind, pl.SchemaVersion, SchemaVersion)
	}
	certPEM := sg.Signer
	known, err := s.store.RemoteSpaces().GetByFingerprint(ctx, sp.ID, pl.Deploying.Fingerprint)
	switch {
	case err == nil && known.Revoked():
		return pl, domain.Errorf(domain.KindUntrusted, "refused: receipt signed by remote space %q, which was revoked", known.Name)
	case err == nil:
		certPEM = known.CertPEM
	case !errors.Is(err, domain.ErrNotFound):
		return pl, err
	}
	cert, err := identity.ParseCertificate([]byte(certPEM), s.now())
	if err != nil {
		return pl, domain.Errorf(domain.KindUntrusted, "refused: the receipt's signer certificate is not usable: %v", err)
	}
	if cert.Fingerprint != pl.Deploying.Fingerprint {
		return pl, domain.Errorf(domain.KindUntrusted, "refused: the receipt says it was signed by %s but carries certificate %s", pl.Deploying.Fingerprint, cert.Fingerprint)
	}
	if err := signing.Verify(cert.X509, sg.Payload, sg.Signature); err != nil {
		return pl, domain.Errorf(domain.KindUntrusted, "refused: the signature of a receipt from %q does not match its contents: it was altered", pl.Deploying.Space)
	}
	if err := s.knowsRelease(ctx, sp, pl); err != nil {
		return pl, err
	}
	return pl, nil
}

// knowsRelease refuses receipts for releases this space does not have: its
// own (it is the origin) or one it imported and passed on.
func (s *Service) knowsRelease(ctx context.Context, sp domain.Space, pl Payload) error {
	name := pl.Origin.Project
	if pl.Origin.Fingerprint != sp.Fingerprint {
		name = domain.RemoteName(pl.Origin.Space, pl.Origin.Project)
	}
	p, err := s.store.Projects().Get(ctx, sp.ID, name)
	if err == nil {
		if p.IsRemote() != (pl.Origin.Fingerprint != sp.Fingerprint) || (p.IsRemote() && p.Origin.Fingerprint != pl.Origin.Fingerprint) {
			err = domain.ErrNotFound
		} else {
			_, err = s.store.Releases().Get(ctx, p.ID, pl.Version)
		}
	}
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Invalidf("refused: a receipt for release %s of %q, which this space does not have", pl.Version, name)
	}
	return err
}
