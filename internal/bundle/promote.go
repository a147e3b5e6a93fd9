package bundle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
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
	arrivals     Arrivals
	audit        *audit.Log
	now          func() time.Time
}

// Trust is what bundles need of the trust capability (trust.Service): the
// remote spaces, this space's own identity, and the signature check.
type Trust interface {
	Get(ctx context.Context, spaceID int64, name string) (domain.RemoteSpace, error)
	Identity(ctx context.Context, spaceID int64) (*identity.Identity, error)
	VerifySum(ctx context.Context, spaceID int64, direction string, signerPEM []byte, payload []byte, sum [32]byte, sig []byte) (domain.RemoteSpace, error)
}

// Arrivals is told, in the transaction that imports it, of each release
// that arrives (trigger.Service fires the remote project's on-arrival
// triggers).
type Arrivals interface {
	Arrived(ctx context.Context, sp domain.Space, p domain.Project, rel domain.Release) error
}

// New returns a bundle service. It writes bundle records, remote projects
// (and their deliverers), their releases and what remote spaces read; it
// reads spaces, environments, lifecycles, the package feed and
// deployments to check and describe what it promotes and imports, and
// tells arrivals of each release imported.
func New(tx store.Transactor, spaces store.Spaces, projects store.Projects, releases store.Releases, environments store.Environments, lifecycles store.Lifecycles,
	bundles store.Bundles, remotes store.RemoteSpaces, packages store.Packages, deployments store.Deployments,
	guard access.Guard, rules *provenance.Rules, progress *deploy.Progress, tr Trust, arrivals Arrivals, log *audit.Log, now func() time.Time) *Service {
	return &Service{tx: tx, spaces: spaces, projects: projects, releases: releases, environments: environments, lifecycles: lifecycles,
		bundles: bundles, remotes: remotes, packages: packages, deployments: deployments,
		access: guard, provenance: rules, progress: progress, trust: tr, arrivals: arrivals, audit: log, now: now}
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
		target, err := s.promotionTarget(ctx, sp, req.To)
		if err != nil {
			return err
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
		// While nothing is known of what the target reads, write the
		// oldest version that says all a bundle carries (downstream values
		// came with 2), which every server of the last two releases reads.
		version, err := compat.Choose(target, req.SchemaVersion, max(compat.Previous, 2))
		if err != nil {
			return err
		}
		pr, err := s.payload(ctx, sp, p, rel, target, envs, version)
		if err != nil {
			return err
		}
		if req.SchemaVersion == 0 {
			if n := compat.Unknown(target, version, "`ferry promote`"); n != "" {
				pr.notes = append(pr.notes, n)
			}
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

// promotionTarget is the remote space name of sp, refused unless it is
// trusted for promotion and not revoked.
func (s *Service) promotionTarget(ctx context.Context, sp domain.Space, name string) (domain.RemoteSpace, error) {
	target, err := s.trust.Get(ctx, sp.ID, name)
	if err != nil {
		return target, err
	}
	if target.Revoked() {
		return target, domain.Errorf(domain.KindForbidden, "remote space %q was revoked; nothing may be promoted to it", target.Name)
	}
	if !target.Trust.Has(domain.TrustPromote) {
		return target, domain.Errorf(domain.KindForbidden, "space %q does not trust remote space %q for promotion (its trust: %s). Allow it with `ferry remote-space update %q --trust %s`",
			sp.Name, target.Name, target.Trust, target.Name, domain.Trust(append(target.Trust, domain.TrustPromote)))
	}
	return target, nil
}

// checkLifecycle finds the phase of the release's lifecycle that holds
// the target space (one of its remote environments, or the space itself)
// and refuses unless deploy.Progress.Gate opens it.
func (s *Service) checkLifecycle(ctx context.Context, sp domain.Space, p domain.Project, rel domain.Release, target string, envs []domain.Environment) error {
	lc, err := s.lifecycles.Get(ctx, sp.ID, p.LifecycleOf(rel.Channel))
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
	g, err := s.progress.Gate(ctx, sp, p, rel, lc, target, idx)
	switch {
	case err != nil || g.Open:
		return err
	case idx < 0:
		return domain.Invalidf("lifecycle %q of %q has no phase for space %q (its phases: %s); add a phase with %q or a remote environment %q",
			lc.Name, p.Name, target, deploy.PhaseList(lc), target, target+": <environment>")
	}
	return domain.Invalidf("release %s of %q cannot be promoted to %q yet: lifecycle %q requires phase %q to succeed first: %s",
		rel.Version, p.Name, target, lc.Name, g.Blocker.Name, g.Need())
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
	c, err := s.newCut(ctx, sp, p, rel, target, envs, version)
	if err != nil {
		return out, err
	}
	c.steps(rel.Snapshot)
	if err := c.variables(rel.Snapshot); err != nil {
		return out, err
	}
	c.forwarded(rel.Snapshot)
	if c.left > 0 {
		out.notes = append(out.notes, fmt.Sprintf("%d sensitive value(s) for spaces after %q were left behind, since schema version %d cannot seal them to those spaces: %s",
			c.left, target.Name, version, compat.Note(target, version)))
	}
	down := c.downstreamTable()
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
		Process:              nonNil(c.snap.Process),
		Variables:            nonNil(c.vars),
		Templates:            nonNil(c.snap.Templates),
		Packages:             toBundlePackages(c.snap.Packages),
		History:              history,
		SnapshotDigest:       digest,
		TargetSnapshotDigest: release.Digest(c.snap),
		Downstream:           down,
		TenantedDeployments:  p.TenantedDeployments,
	}
	return out, nil
}

// cut is a release's snapshot being sliced for one target: what travels
// (snap, as the target's digest counts it, and vars, as the bundle carries
// them), what is sealed for the spaces after the target, and how many
// sensitive values had to stay behind.
type cut struct {
	target     domain.RemoteSpace
	cert       *identity.Cert // the target's
	byFP       map[string]domain.RemoteSpace
	downstream map[string]bool // fingerprints of the spaces after the target
	slice      *slicer
	version    int
	now        time.Time

	snap   domain.Snapshot
	vars   []Variable
	sealed []SealedValue
	left   int
}

// newCut reads what slicing rel's snapshot needs: the target's
// certificate, the remote spaces this space knows, and which of them come
// after the target in the release's lifecycle.
func (s *Service) newCut(ctx context.Context, sp domain.Space, p domain.Project, rel domain.Release, target domain.RemoteSpace, envs []domain.Environment, version int) (*cut, error) {
	snap := rel.Snapshot
	c := &cut{target: target, version: version, now: s.now(), byFP: map[string]domain.RemoteSpace{}}
	c.snap.Templates = snap.Templates
	var err error
	if c.cert, err = identity.ParseCertificate([]byte(target.CertPEM), c.now); err != nil {
		return nil, domain.Invalidf("the certificate of remote space %q is not usable: %v", target.Name, err)
	}
	remotes, err := s.remotes.List(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	byName := map[string]domain.RemoteSpace{}
	for _, r := range remotes {
		if !r.Revoked() {
			byName[r.Name], c.byFP[r.Fingerprint] = r, r
		}
	}
	lc, err := s.lifecycles.Get(ctx, sp.ID, p.LifecycleOf(rel.Channel))
	if err != nil {
		return nil, err
	}
	remoteOf := map[string]string{}
	for _, e := range envs {
		remoteOf[e.Name] = e.RemoteSpace
	}
	c.downstream = downstreamOf(lc, target.Name, remoteOf, func(name string) string { return byName[name].Fingerprint })
	delete(c.downstream, target.Fingerprint)
	delete(c.downstream, sp.Fingerprint)
	// Names in scopes mean the snapshot's own table first (an imported
	// release names spaces as its origin did), then this space's names.
	names := map[string]string{}
	for name, r := range byName {
		names[name] = r.Fingerprint
	}
	for _, ref := range snap.Spaces {
		names[ref.Space] = ref.Fingerprint
	}
	c.slice = newSlicer(target.Fingerprint, c.downstream, names)
	return c, nil
}

// steps keeps the steps that apply to the target or a space after it, and
// the packages those steps deploy.
func (c *cut) steps(snap domain.Snapshot) {
	used := map[string]bool{}
	for _, st := range snap.Process {
		scope, ok := c.slice.scope(st.Environments)
		if !ok || !travels(&st.Tenants, st.TenantTags) {
			continue
		}
		st.Environments = scope
		c.snap.Process = append(c.snap.Process, st)
		used[st.Package] = st.Package != ""
	}
	for _, ref := range snap.Packages {
		if used[ref.ID] {
			c.snap.Packages = append(c.snap.Packages, ref)
		}
	}
}

// variables keeps the variables that apply to the target or a space after
// it: plain values as they are, sensitive ones the target needs sealed to
// the target, and those only later spaces need sealed to each of them
// (schema 2; with schema 1 they stay behind).
func (c *cut) variables(snap domain.Snapshot) error {
	for _, v := range snap.Variables {
		scope, ok := c.slice.scope(v.Environments)
		if !ok || !travels(&v.Tenants, v.TenantTags) {
			continue
		}
		if !v.Sensitive {
			v.Environments = scope
			c.snap.Variables = append(c.snap.Variables, v)
			c.vars = append(c.vars, Variable{Name: v.Name, Value: v.Value, Environments: scope, TenantTags: v.TenantTags})
			continue
		}
		if c.slice.forTarget(scope) {
			// The target needs it; it passes it on (sealed again) itself.
			v.Environments = scope
			c.snap.Variables = append(c.snap.Variables, v)
			bv := Variable{Name: v.Name, Sensitive: true, Environments: scope, TenantTags: v.TenantTags}
			var err error
			if bv.Sealed, err = seal.Seal(c.cert.AgeRecipient, []byte(v.Value)); err != nil {
				return fmt.Errorf("encrypt %q for %q: %w", v.Name, c.target.Name, err)
			}
			c.vars = append(c.vars, bv)
			continue
		}
		// Only downstream spaces need it: each gets it sealed to itself.
		if c.version < 2 {
			c.left++
			continue
		}
		if err := c.sealDownstream(v, scope); err != nil {
			return err
		}
	}
	return nil
}

// sealDownstream seals a sensitive value to each space after the target
// that its scope names.
func (c *cut) sealDownstream(v domain.Variable, scope []string) error {
	for fp, envs := range c.slice.bySpace(scope) {
		to, err := identity.ParseCertificate([]byte(c.byFP[fp].CertPEM), c.now)
		if err != nil {
			return domain.Invalidf("the certificate of remote space %q is not usable: %v", c.byFP[fp].Name, err)
		}
		sv := SealedValue{Name: v.Name, For: fp, Environments: envs}
		if sv.Sealed, err = seal.Seal(to.AgeRecipient, []byte(v.Value)); err != nil {
			return fmt.Errorf("encrypt %q for %q: %w", v.Name, c.byFP[fp].Name, err)
		}
		c.sealed = append(c.sealed, sv)
	}
	return nil
}

// forwarded passes on values this space holds sealed for spaces after it,
// unchanged: as the target's own when sealed to it, else to the spaces
// after it.
func (c *cut) forwarded(snap domain.Snapshot) {
	for _, f := range snap.Forward {
		switch {
		case f.For == c.target.Fingerprint:
			scope, ok := c.slice.scope(f.Environments)
			if !ok {
				continue
			}
			// The digest counts only that a secret is set, never its value,
			// which this space cannot read.
			c.snap.Variables = append(c.snap.Variables, domain.Variable{Name: f.Name, Sensitive: true, Value: "(sealed)", Environments: scope})
			c.vars = append(c.vars, Variable{Name: f.Name, Sensitive: true, Sealed: f.Sealed, Environments: scope})
		case c.downstream[f.For] && c.version >= 2:
			scope, ok := c.slice.scope(f.Environments)
			if !ok {
				continue
			}
			c.sealed = append(c.sealed, SealedValue{Name: f.Name, For: f.For, Environments: scope, Sealed: f.Sealed})
		case c.downstream[f.For]:
			c.left++
		}
	}
}

// downstreamTable is what the bundle says of the spaces after the target
// (schema 2): their names and fingerprints, and the values sealed to
// them, also recorded in the target's snapshot.
func (c *cut) downstreamTable() *Downstream {
	table := c.slice.table()
	if c.version < 2 || (len(table) == 0 && len(c.sealed) == 0) {
		return nil
	}
	for _, t := range table {
		c.snap.Spaces = append(c.snap.Spaces, domain.SpaceRef{Space: t.Space, Fingerprint: t.Fingerprint})
	}
	for _, v := range c.sealed {
		c.snap.Forward = append(c.snap.Forward, domain.ForwardValue{Name: v.Name, For: v.For, Environments: v.Environments, Sealed: v.Sealed})
	}
	return &Downstream{Spaces: table, Sealed: nonNil(c.sealed)}
}

// history summarises the release's deployments in this space and, for an
// imported release, the spaces before it.
func (s *Service) history(ctx context.Context, sp domain.Space, rel domain.Release) ([]domain.DeploymentSummary, error) {
	var out []domain.DeploymentSummary
	if rel.Provenance != nil {
		out = append(out, untenanted(rel.Provenance.History)...)
	}
	ds, err := s.deployments.List(ctx, store.DeploymentFilter{ReleaseID: rel.ID})
	if err != nil {
		return nil, err
	}
	for i := len(ds) - 1; i >= 0; i-- { // oldest first
		d := ds[i]
		out = append(out, domain.DeploymentSummary{
			Space: sp.Name, Environment: d.Environment, Version: d.Version, // never the tenant (SPEC §6)
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

// travels decides what a tenant scope leaves of a step or value in a
// bundle (SPEC §6: tenants never cross spaces): scoped to tenants by name
// only, it stays behind; scoped to tags too, it travels with its tags and
// without the names (cleared in tenants).
func travels(tenants *[]string, tags []string) bool {
	if len(*tenants) == 0 {
		return true
	}
	*tenants = nil
	return len(tags) > 0
}

// untenanted is history without tenants' names: tenants never cross spaces,
// so a bundle neither carries nor keeps them (those an older source sent
// are dropped on import).
func untenanted(history []domain.DeploymentSummary) []domain.DeploymentSummary {
	out := make([]domain.DeploymentSummary, len(history))
	for i, h := range history {
		h.Tenant = ""
		out[i] = h
	}
	return out
}
