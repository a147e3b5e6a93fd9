package bundle

import (
	"context"
	"errors"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// Delivery says which spaces may deliver releases of a remote project: its
// origin always, and the deliverers bound to it (the first space that
// delivered it, and any a person allowed since).
type Delivery struct {
	Project    string             `json:"project"`
	Origin     domain.SpaceRef    `json:"origin"`
	Deliverers []domain.Deliverer `json:"deliverers"`
}

// Deliverers lists who may deliver releases of a remote project.
func (s *Service) Deliverers(ctx context.Context, space, project string) (Delivery, error) {
	sp, err := s.access.Space(ctx, space, domain.PermView, project, "")
	if err != nil {
		return Delivery{}, err
	}
	return s.delivery(ctx, sp, project)
}

func (s *Service) delivery(ctx context.Context, sp domain.Space, project string) (Delivery, error) {
	p, err := s.projects.Get(ctx, sp.ID, project)
	if err != nil {
		return Delivery{}, err
	}
	if !p.IsRemote() {
		return Delivery{}, domain.Invalidf("%q is a project of space %q itself; only remote projects (imported from bundles) have deliverers", p.Name, sp.Name)
	}
	ds, err := s.projects.Deliverers(ctx, p.ID)
	if err != nil {
		return Delivery{}, err
	}
	return Delivery{Project: p.Name, Origin: domain.SpaceRef{Space: p.Origin.Space, Fingerprint: p.Origin.Fingerprint}, Deliverers: ds}, nil
}

// AllowDeliverer lets another remote space deliver releases of a remote
// project: a release travels a new path (say QA now relays what DevTest
// delivered directly). Space admins only; audited.
func (s *Service) AllowDeliverer(ctx context.Context, space, project, remote string) (Delivery, error) {
	var out Delivery
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		// Who delivers a project decides whose code it runs: only those who
		// administer that project may change it.
		sp, err := s.access.Space(ctx, space, domain.PermAdminSpace, project, "")
		if err != nil {
			return err
		}
		d, err := s.delivery(ctx, sp, project)
		if err != nil {
			return err
		}
		r, err := s.trust.Get(ctx, sp.ID, remote)
		if err != nil {
			return err
		}
		if r.Revoked() {
			return domain.Conflictf("remote space %q %s; it cannot deliver anything", r.Name, r.RevocationText())
		}
		p, err := s.projects.Get(ctx, sp.ID, project)
		if err != nil {
			return err
		}
		if err := s.projects.AddDeliverer(ctx, p.ID, domain.Deliverer{
			Fingerprint: r.Fingerprint, Space: r.Name, AddedAt: s.now(), AddedBy: domain.ActorName(ctx),
		}); err != nil {
			return err
		}
		if err := s.audit.Record(ctx, sp.ID, "project.deliverer-add", p.Name, map[string]string{"space": r.Name, "fingerprint": r.Fingerprint}); err != nil {
			return err
		}
		out, err = s.delivery(ctx, sp, d.Project)
		return err
	})
	return out, err
}

// Sendable refuses to send on the bundle with this digest, promoted from
// sp, when its release came from a space revoked since it was promoted
// (provenance.Rules.Deliverable): what a revoked space delivered goes
// nowhere, however long it waited in the outbox.
func (s *Service) Sendable(ctx context.Context, sp domain.Space, digest string) error {
	rec, err := s.bundles.Get(ctx, sp.ID, domain.BundleOut, digest)
	if errors.Is(err, domain.ErrNotFound) {
		return nil // nothing recorded to check it against
	} else if err != nil {
		return err
	}
	p, err := s.projects.Get(ctx, sp.ID, rec.Project)
	if err != nil {
		return err
	}
	rel, err := s.releases.Get(ctx, p.ID, rec.Version)
	if err != nil {
		return err
	}
	return s.provenance.Deliverable(ctx, sp, p, rel)
}
