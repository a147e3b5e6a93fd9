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
	"github.com/ferrydeploy/ferry/internal/compat"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/provenance"
	"github.com/ferrydeploy/ferry/internal/release"
	"github.com/ferrydeploy/ferry/internal/seal"
	"github.com/ferrydeploy/ferry/internal/signing"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Service promotes releases out of a space and imports them into one.
type Service struct {
	tx           store.Transactor
	spaces       store.Spaces
	projects     store.Projects
	releases     store.Releases
	environments store.Environments
	lifecycles   store.Lifecycles
	bundles      store.Bundles
	remotes      store.RemoteSpaces
	packages     store.Packages
	deployments  store.Deployments
	access       access.Guard
	provenance   *provenance.Rules
	progress     *deploy.Progress
	trust        Trust
	audit        *audit.Log
	now          func() time.Time
}

// Trust is what bundles need of the trust capability (trust.Service): the
// remote spaces, this space's own identity, and the signature check.
type Trust interface {
	Get(ctx context.Context, spaceID int64, name string) (domain.RemoteSpace, error)
	Identity(ctx context.Context, spaceID int64) (*identity.Identity, error)
	Verify(ctx context.Context, spaceID int64, direction string, signerPEM []byte, payload, sig []byte) (domain.RemoteSpace, error)
}

// New returns a bundle service. It writes bundle records, remote projects
// (and their deliverers), their releases and what remote spaces read; it
// reads spaces, environments, lifecycles, the package feed and
// deployments to check and describe what it promotes and imports.
func New(tx store.Transactor, spaces store.Spaces, projects store.Projects, releases store.Releases, environments store.Environments, lifecycles store.Lifecycles,
	bundles store.Bundles, remotes store.RemoteSpaces, packages store.Packages, deployments store.Deployments,
	guard access.Guard, rules *provenance.Rules, progress *deploy.Progress, tr Trust, log *audit.Log, now func() time.Time) *Service {
	return &Service{tx: tx, spaces: spaces, projects: projects, releases: releases, environments: environments, lifecycles: lifecycles,
		bundles: bundles, remotes: remotes, packages: packages, deployments: deployments,
		access: guard, provenance: rules, progress: progress, trust: tr, audit: log, now: now}
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
	// SchemaVersion chooses the bundle's schema version by hand; 0 writes
	// the newest the target is known to read (internal/compat).
	SchemaVersion int `json:"schemaVersion,omitempty"`
}

// Promoted is a bundle written for a remote space.
type Promoted struct {
	Data          []byte
	Record        domain.BundleRecord
	SchemaVersion int
	// Notes tell people what they should know: an older schema version
	// chosen, values left behind because of it.
	Notes []string
}

// Promote writes a signed release bundle for the target space. It is refused
// unless the target is trusted for promotion, the release's lifecycle
// allows the target now, and no space the release came from was revoked.
func (s *Service) Promote(ctx context.Context, space string, req PromoteRequest) (Promoted, error) {
	var out Promoted
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.Space(ctx, space, domain.PermPromote, req.Project, "")
		if err != nil {
			return err
		}
		p, err := s.projects.Get(ctx, sp.ID, req.Project)
		if err != nil {
			return err
		}
		rel, err := s.releases.Get(ctx, p.ID, req.Version)
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
		envs, err := s.environments.List(ctx, sp.ID)
		if err != nil {
			return err
		}
		if err := s.provenance.Deliverable(ctx, sp, p, rel); err != nil {
			return err
		}
		if err := s.checkLifecycle(ctx, sp, p, rel, target.Name, envs); err != nil {
			return err
		}
		version, err := compat.Choose(target, req.SchemaVersion, compat.Current)
		if err != nil {
			return err
		}
		pr, err := s.payload(ctx, sp, p, rel, target, envs, version)
		if err != nil {
			return err
		}
		if req.SchemaVersion == 0 && target.SchemaVersion == 0 && pr.payload.Downstream == nil {
			// Nothing is known of what the target reads, and the previous
			// version says all this bundle carries: write that, which
			// every server of the last two releases reads.
			pr.payload.SchemaVersion = compat.Previous
		}
		id, err := s.trust.Identity(ctx, sp.ID)
		if err != nil {
			return err
		}
		data, err := Encode(pr.payload, id.CertPEM, func(b []byte) ([]byte, error) { return signing.Sign(id.Signer, b) })
		if err != nil {
			return err
		}
		parsed, err := Parse(data)
		if err != nil {
			return fmt.Errorf("check the bundle just written: %w", err)
		}
		rec := domain.BundleRecord{
			SpaceID: sp.ID, Direction: domain.BundleOut, Digest: parsed.Envelope.Digest,
			SourceSpace: sp.Name, TargetSpace: target.Name, Project: p.Name, Version: rel.Version,
			State: domain.BundleWritten, CreatedAt: s.now(), CreatedBy: domain.ActorName(ctx),
		}
		if req.Deliver {
			rec.State = domain.BundleSent
		}
		if err := s.bundles.Create(ctx, &rec); err != nil {
			return err
		}
		out = Promoted{Data: data, Record: rec, SchemaVersion: version, Notes: pr.notes}
		return s.audit.Record(ctx, sp.ID, "release.promote", p.Name+" "+rel.Version, map[string]string{
			"project": p.Name, "to": target.Name, "fingerprint": target.Fingerprint, "bundle": rec.Digest, "schemaVersion": fmt.Sprint(version),
		})
	})
	return out, err
}

// checkLifecycle finds the phase that holds the target space (one of its
// remote environments, or the space itself) and refuses if an earlier phase
// has not succeeded.
func (s *Service) checkLifecycle(ctx context.Context, sp domain.Space, p domain.Project, rel domain.Release, target string, envs []domain.Environment) error {
	lc, err := s.lifecycles.Get(ctx, sp.ID, p.Lifecycle)
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
	succeeded, err := s.progress.Of(ctx, sp, p, rel)
	if err != nil {
		return err
	}
	if ph, blocked := lc.Blocker(idx, succeeded); blocked {
		return domain.Invalidf("release %s of %q cannot be promoted to %q yet: lifecycle %q requires phase %q (%s) to succeed first",
			rel.Version, p.Name, target, lc.Name, ph.Name, strings.Join(ph.Environments, ", "))
	}
	return nil
}

// promotion is a bundle's payload and what people should know about it.
type promotion struct {
	payload *Payload
	notes   []string
}

// payload builds what the bundle carries, in schema version: the release's
// snapshot sliced for the target (see slicer) — scopes naming the target's
// environments renamed to its own names, things that only ever apply in
// other environments than the target's and its downstream spaces' left
// out — with sensitive values sealed to the space that needs them: the
// target's to the target, a downstream space's to that space (schema 2; a
// target that reads only schema 1 gets none of those).
func (s *Service) payload(ctx context.Context, sp domain.Space, p domain.Project, rel domain.Release, target domain.RemoteSpace, envs []domain.Environment, version int) (promotion, error) {
	var out promotion
	cert, err := identity.ParseCertificate([]byte(target.CertPEM), s.now())
	if err != nil {
		return out, domain.Invalidf("the certificate of remote space %q is not usable: %v", target.Name, err)
	}
	remotes, err := s.remotes.List(ctx, sp.ID)
	if err != nil {
		return out, err
	}
	byName, byFP := map[string]domain.RemoteSpace{}, map[string]domain.RemoteSpace{}
	for _, r := range remotes {
		if !r.Revoked() {
			byName[r.Name], byFP[r.Fingerprint] = r, r
		}
	}
	// Names in scopes mean the snapshot's own table first (an imported
	// release names spaces as its origin did), then this space's names.
	names := map[string]string{}
	for name, r := range byName {
		names[name] = r.Fingerprint
	}
	for _, ref := range rel.Snapshot.Spaces {
		names[ref.Space] = ref.Fingerprint
	}
	lc, err := s.lifecycles.Get(ctx, sp.ID, p.Lifecycle)
	if err != nil {
		return out, err
	}
	remoteOf := map[string]string{}
	for _, e := range envs {
		remoteOf[e.Name] = e.RemoteSpace
	}
	downstream := downstreamOf(lc, target.Name, remoteOf, func(name string) string { return byName[name].Fingerprint })
	delete(downstream, target.Fingerprint)
	delete(downstream, sp.Fingerprint)
	slice := newSlicer(target.Fingerprint, downstream, names)

	snap := domain.Snapshot{Templates: rel.Snapshot.Templates}
	used := map[string]bool{} // packages the steps that travel deploy
	for _, st := range rel.Snapshot.Process {
		scope, ok := slice.scope(st.Environments)
		if !ok {
			continue
		}
		st.Environments = scope
		snap.Process = append(snap.Process, st)
		used[st.Package] = st.Package != ""
	}
	for _, ref := range rel.Snapshot.Packages {
		if used[ref.ID] {
			snap.Packages = append(snap.Packages, ref)
		}
	}
	var vars []Variable
	var sealed []SealedValue
	left := 0
	for _, v := range rel.Snapshot.Variables {
		scope, ok := slice.scope(v.Environments)
		if !ok {
			continue
		}
		if !v.Sensitive {
			v.Environments = scope
			snap.Variables = append(snap.Variables, v)
			vars = append(vars, Variable{Name: v.Name, Value: v.Value, Environments: scope})
			continue
		}
		if slice.forTarget(scope) {
			// The target needs it; it passes it on (sealed again) itself.
			v.Environments = scope
			snap.Variables = append(snap.Variables, v)
			bv := Variable{Name: v.Name, Sensitive: true, Environments: scope}
			if bv.Sealed, err = seal.Seal(cert.AgeRecipient, []byte(v.Value)); err != nil {
				return out, fmt.Errorf("encrypt %q for %q: %w", v.Name, target.Name, err)
			}
			vars = append(vars, bv)
			continue
		}
		// Only downstream spaces need it: each gets it sealed to itself.
		if version < 2 {
			left++
			continue
		}
		for fp, envs := range slice.bySpace(scope) {
			to, err := identity.ParseCertificate([]byte(byFP[fp].CertPEM), s.now())
			if err != nil {
				return out, domain.Invalidf("the certificate of remote space %q is not usable: %v", byFP[fp].Name, err)
			}
			sv := SealedValue{Name: v.Name, For: fp, Environments: envs}
			if sv.Sealed, err = seal.Seal(to.AgeRecipient, []byte(v.Value)); err != nil {
				return out, fmt.Errorf("encrypt %q for %q: %w", v.Name, byFP[fp].Name, err)
			}
			sealed = append(sealed, sv)
		}
	}
	// Values sealed for spaces after this one travel on unchanged: as the
	// target's own when sealed to it, else to the spaces after it.
	for _, f := range rel.Snapshot.Forward {
		switch {
		case f.For == target.Fingerprint:
			scope, ok := slice.scope(f.Environments)
			if !ok {
				continue
			}
			// The digest counts only that a secret is set, never its value,
			// which this space cannot read.
			snap.Variables = append(snap.Variables, domain.Variable{Name: f.Name, Sensitive: true, Value: "(sealed)", Environments: scope})
			vars = append(vars, Variable{Name: f.Name, Sensitive: true, Sealed: f.Sealed, Environments: scope})
		case downstream[f.For] && version >= 2:
			scope, ok := slice.scope(f.Environments)
			if !ok {
				continue
			}
			sealed = append(sealed, SealedValue{Name: f.Name, For: f.For, Environments: scope, Sealed: f.Sealed})
		case downstream[f.For]:
			left++
		}
	}
	if left > 0 {
		out.notes = append(out.notes, fmt.Sprintf("%d sensitive value(s) for spaces after %q were left behind, since schema version %d cannot seal them to those spaces: %s",
			left, target.Name, version, compat.Note(target, version)))
	}
	var down *Downstream
	if table := slice.table(); version >= 2 && (len(table) > 0 || len(sealed) > 0) {
		down = &Downstream{Spaces: table, Sealed: nonNil(sealed)}
		for _, t := range table {
			snap.Spaces = append(snap.Spaces, domain.SpaceRef{Space: t.Space, Fingerprint: t.Fingerprint})
		}
		for _, v := range sealed {
			snap.Forward = append(snap.Forward, domain.ForwardValue{Name: v.Name, For: v.For, Environments: v.Environments, Sealed: v.Sealed})
		}
	}
	history, err := s.history(ctx, sp, rel)
	if err != nil {
		return out, err
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
	out.payload = &Payload{
		Kind:          PayloadKind,
		SchemaVersion: version,
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
		Packages:             toBundlePackages(snap.Packages),
		History:              history,
		SnapshotDigest:       digest,
		TargetSnapshotDigest: release.Digest(snap),
		Downstream:           down,
	}
	return out, nil
}

// history summarises the release's deployments in this space and, for an
// imported release, the spaces before it.
func (s *Service) history(ctx context.Context, sp domain.Space, rel domain.Release) ([]domain.DeploymentSummary, error) {
	var out []domain.DeploymentSummary
	if rel.Provenance != nil {
		out = append(out, rel.Provenance.History...)
	}
	ds, err := s.deployments.List(ctx, store.DeploymentFilter{ReleaseID: rel.ID})
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
