package bundle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/audit"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/release"
	"github.com/ferrydeploy/ferry/internal/seal"
	"github.com/ferrydeploy/ferry/internal/signing"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/trust"
)

// Service promotes releases out of a space and imports them into one.
type Service struct {
	store store.Store
	trust *trust.Service
	audit *audit.Log
	now   func() time.Time
}

// New returns a bundle service.
func New(st store.Store, tr *trust.Service, log *audit.Log, now func() time.Time) *Service {
	return &Service{store: st, trust: tr, audit: log, now: now}
}

// PromoteRequest asks for a release to be promoted to a remote space.
type PromoteRequest struct {
	Project string `json:"project"`
	Version string `json:"version"`
	To      string `json:"to"`
	// Deliver records the bundle as sent to a connected space rather than
	// written to a file; the caller queues its delivery in the same
	// transaction (see internal/outbox).
	Deliver bool `json:"deliver,omitempty"`
}

// Promote writes a signed release bundle for the target space. It is refused
// unless the target is trusted for promotion and the release's lifecycle
// allows the target now.
func (s *Service) Promote(ctx context.Context, space string, req PromoteRequest) ([]byte, domain.BundleRecord, error) {
	var data []byte
	var rec domain.BundleRecord
	err := s.store.WithTx(ctx, func(ctx context.Context) error {
		sp, err := access.Space(ctx, s.store, space, domain.PermPromote, req.Project, "")
		if err != nil {
			return err
		}
		p, err := s.store.Projects().Get(ctx, sp.ID, req.Project)
		if err != nil {
			return err
		}
		rel, err := s.store.Releases().Get(ctx, p.ID, req.Version)
		if err != nil {
			return err
		}
		target, err := s.trust.Get(ctx, sp.ID, req.To)
		if err != nil {
			return err
		}
		if target.Revoked() {
			return domain.Errorf(domain.KindForbidden, "remote space %q was revoked; nothing may be promoted to it", target.Name)
		}
		if !target.Trust.Has(domain.TrustPromote) {
			return domain.Errorf(domain.KindForbidden, "space %q does not trust remote space %q for promotion (its trust: %s). Allow it with `ferry remote-space update %q --trust %s`",
				space, target.Name, target.Trust, target.Name, domain.Trust(append(target.Trust, domain.TrustPromote)))
		}
		envs, err := s.store.Environments().List(ctx, sp.ID)
		if err != nil {
			return err
		}
		if err := s.checkLifecycle(ctx, sp, p, rel, target.Name, envs); err != nil {
			return err
		}
		payload, err := s.payload(ctx, sp, p, rel, target, envs)
		if err != nil {
			return err
		}
		id, err := s.trust.Identity(ctx, sp.ID)
		if err != nil {
			return err
		}
		data, err = Encode(payload, id.CertPEM, func(b []byte) ([]byte, error) { return signing.Sign(id.Signer, b) })
		if err != nil {
			return err
		}
		parsed, err := Parse(data)
		if err != nil {
			return fmt.Errorf("check the bundle just written: %w", err)
		}
		rec = domain.BundleRecord{
			SpaceID: sp.ID, Direction: domain.BundleOut, Digest: parsed.Envelope.Digest,
			SourceSpace: sp.Name, TargetSpace: target.Name, Project: p.Name, Version: rel.Version,
			State: domain.BundleWritten, CreatedAt: s.now(), CreatedBy: domain.ActorName(ctx),
		}
		if req.Deliver {
			rec.State = domain.BundleSent
		}
		if err := s.store.Bundles().Create(ctx, &rec); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "release.promote", p.Name+" "+rel.Version, map[string]string{
			"project": p.Name, "to": target.Name, "fingerprint": target.Fingerprint, "bundle": rec.Digest,
		})
	})
	return data, rec, err
}

// checkLifecycle finds the phase that holds the target space (one of its
// remote environments, or the space itself) and refuses if an earlier phase
// has not succeeded.
func (s *Service) checkLifecycle(ctx context.Context, sp domain.Space, p domain.Project, rel domain.Release, target string, envs []domain.Environment) error {
	lc, err := s.store.Lifecycles().Get(ctx, sp.ID, p.Lifecycle)
	if err != nil {
		return err
	}
	remoteOf := map[string]string{}
	for _, e := range envs {
		remoteOf[e.Name] = e.RemoteSpace
	}
	idx := -1
	for i, ph := range lc.Phases {
		for _, e := range ph.Environments {
			if e == target || remoteOf[e] == target {
				idx = i
			}
		}
		if idx >= 0 {
			break
		}
	}
	if idx < 0 {
		return domain.Invalidf("lifecycle %q of %q has no phase for space %q (its phases: %s); add a phase with %q or a remote environment %q",
			lc.Name, p.Name, target, deploy.PhaseList(lc), target, target+": <environment>")
	}
	succeeded, err := deploy.Progress(ctx, s.store, sp, p, rel)
	if err != nil {
		return err
	}
	if ph, blocked := lc.Blocker(idx, succeeded); blocked {
		return domain.Invalidf("release %s of %q cannot be promoted to %q yet: lifecycle %q requires phase %q (%s) to succeed first",
			rel.Version, p.Name, target, lc.Name, ph.Name, strings.Join(ph.Environments, ", "))
	}
	return nil
}

// payload builds what the bundle carries: the release's snapshot sliced for
// the target — scopes naming the target's environments renamed to the
// target's own names, things that only ever apply in other environments left
// out — with sensitive values sealed to the target's key.
func (s *Service) payload(ctx context.Context, sp domain.Space, p domain.Project, rel domain.Release, target domain.RemoteSpace, envs []domain.Environment) (*Payload, error) {
	cert, err := identity.ParseCertificate([]byte(target.CertPEM), s.now())
	if err != nil {
		return nil, domain.Invalidf("the certificate of remote space %q is not usable: %v", target.Name, err)
	}
	slice := newSlicer(target.Name)
	snap := domain.Snapshot{Templates: rel.Snapshot.Templates, Packages: rel.Snapshot.Packages}
	for _, st := range rel.Snapshot.Process {
		scope, ok := slice.scope(st.Environments)
		if !ok {
			continue
		}
		st.Environments = scope
		snap.Process = append(snap.Process, st)
	}
	var vars []Variable
	for _, v := range rel.Snapshot.Variables {
		scope, ok := slice.scope(v.Environments)
		if !ok {
			continue
		}
		v.Environments = scope
		snap.Variables = append(snap.Variables, v)
		bv := Variable{Name: v.Name, Sensitive: v.Sensitive, Environments: scope}
		if v.Sensitive {
			if bv.Sealed, err = seal.Seal(cert.AgeRecipient, []byte(v.Value)); err != nil {
				return nil, fmt.Errorf("encrypt %q for %q: %w", v.Name, target.Name, err)
			}
		} else {
			bv.Value = v.Value
		}
		vars = append(vars, bv)
	}
	history, err := s.history(ctx, sp, rel)
	if err != nil {
		return nil, err
	}
	// A release promoted onward keeps its origin's project identity, so it
	// is "<origin space>: <project>" in every space it reaches.
	origin := Origin{Space: sp.Name, Fingerprint: sp.Fingerprint, Project: p.Name}
	if p.IsRemote() {
		origin = Origin{Space: p.Origin.Space, Fingerprint: p.Origin.Fingerprint, Project: p.Origin.Project}
	}
	digest := rel.SnapshotDigest
	if digest == "" {
		digest = release.Digest(rel.Snapshot)
	}
	return &Payload{
		Kind:          PayloadKind,
		SchemaVersion: SchemaVersion,
		ID:            randomID(),
		CreatedAt:     s.now(),
		CreatedBy:     domain.ActorName(ctx),
		Source:        SpaceRef{Space: sp.Name, Fingerprint: sp.Fingerprint},
		Target:        SpaceRef{Space: target.Name, Fingerprint: target.Fingerprint},
		Origin:        origin,
		Release: ReleaseInfo{
			Version: rel.Version, Notes: rel.Notes, Channel: rel.Channel,
			CreatedAt: rel.CreatedAt, CreatedBy: rel.CreatedBy,
		},
		Process:              nonNil(snap.Process),
		Variables:            nonNil(vars),
		Templates:            nonNil(snap.Templates),
		Packages:             toBundlePackages(rel.Snapshot.Packages),
		History:              history,
		SnapshotDigest:       digest,
		TargetSnapshotDigest: release.Digest(snap),
	}, nil
}

// history summarises the release's deployments in this space and, for an
// imported release, the spaces before it.
func (s *Service) history(ctx context.Context, sp domain.Space, rel domain.Release) ([]domain.DeploymentSummary, error) {
	var out []domain.DeploymentSummary
	if rel.Provenance != nil {
		out = append(out, rel.Provenance.History...)
	}
	ds, err := s.store.Deployments().List(ctx, store.DeploymentFilter{ReleaseID: rel.ID})
	if err != nil {
		return nil, err
	}
	for i := len(ds) - 1; i >= 0; i-- { // oldest first
		d := ds[i]
		out = append(out, domain.DeploymentSummary{
			Space: sp.Name, Environment: d.Environment, Version: d.Version, Tenant: d.Tenant,
			State: d.State, StartedAt: d.StartedAt, FinishedAt: d.FinishedAt, DeployedBy: d.CreatedBy,
		})
	}
	if out == nil {
		out = []domain.DeploymentSummary{}
	}
	return out, nil
}

// slicer maps scopes from the source space's names to the target's. Local
// environment names never contain ':'; remote ones are "<space>: <env>".
type slicer struct {
	prefix string // "<target>: "
}

func newSlicer(target string) slicer { return slicer{prefix: target + ": "} }

// scope renames the target's environments to its own names, keeps other
// spaces' environments (the release may travel on to them), and drops the
// source's own. ok is false when a scoped item keeps no entry: it could
// never apply downstream and stays behind.
func (sl slicer) scope(scope []string) ([]string, bool) {
	if len(scope) == 0 {
		return nil, true
	}
	var out []string
	for _, e := range scope {
		switch {
		case strings.HasPrefix(e, sl.prefix):
			out = append(out, strings.TrimPrefix(e, sl.prefix))
		case strings.Contains(e, ": "):
			out = append(out, e)
		}
	}
	return out, len(out) > 0
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
