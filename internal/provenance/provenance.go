// Package provenance holds the rules about where things from other spaces
// come from, in one place for every caller: which receipts speak for their
// signer (receipt import, and deploy.Progress, which decides lifecycle gates
// with them), which spaces may deliver a remote project (bundle import),
// and whether an imported release may still be deployed or promoted
// onward once a space it came from was revoked. The rules are listed, by
// name, in docs/trust.md; each refusal names its rule (domain.Rule*).
package provenance

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/release"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/trust"
)

// Rules applies the provenance rules to what this space knows: its remote
// spaces, its projects and their deliverers, and the bundles it promoted.
// It only reads.
type Rules struct {
	remotes  store.RemoteSpaces
	projects store.Projects
	bundles  store.Bundles
}

// New returns the rules over the remote spaces, projects and bundles tables.
func New(remotes store.RemoteSpaces, projects store.Projects, bundles store.Bundles) *Rules {
	return &Rules{remotes: remotes, projects: projects, bundles: bundles}
}

// Deliverable refuses an imported release that came from a revoked space:
// delivered by one, or originating in one this space knows. Revocation
// means everything signed by that space is refused from then on, and that
// includes releases already imported (docs/trust.md). Local releases
// always pass.
func (rs *Rules) Deliverable(ctx context.Context, sp domain.Space, p domain.Project, rel domain.Release) error {
	if !p.IsRemote() {
		return nil
	}
	if pv := rel.Provenance; pv != nil {
		r, err := rs.remote(ctx, sp.ID, pv.SourceFingerprint, pv.SourceSpace)
		if err != nil {
			return err
		}
		if r != nil && r.Revoked() {
			return domain.Refuse(domain.KindUntrusted, domain.RuleReleaseRevoked,
				"release %s of %q was delivered by remote space %q (fingerprint %s), which %s: nothing it delivered is deployed or promoted any more. If the release should still go out, have a space you trust promote it here again",
				rel.Version, p.Name, r.Name, r.Fingerprint, r.RevocationText())
		}
	}
	r, err := rs.remote(ctx, sp.ID, p.Origin.Fingerprint, "")
	if err != nil {
		return err
	}
	if r != nil && r.Revoked() {
		return domain.Refuse(domain.KindUntrusted, domain.RuleReleaseRevoked,
			"release %s of %q originates in remote space %q (fingerprint %s), which %s: none of its releases is deployed or promoted any more",
			rel.Version, p.Name, r.Name, r.Fingerprint, r.RevocationText())
	}
	return nil
}

// remote finds a remote space by fingerprint, else (a certificate rotated
// since) by name; nil when neither is known.
func (rs *Rules) remote(ctx context.Context, spaceID int64, fingerprint, name string) (*domain.RemoteSpace, error) {
	r, err := rs.remotes.GetByFingerprint(ctx, spaceID, fingerprint)
	if errors.Is(err, domain.ErrNotFound) && name != "" {
		r, err = rs.remotes.Get(ctx, spaceID, name)
	}
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return &r, nil
}

// Origin is where a bundle says its release was made.
type Origin struct {
	Space       string
	Fingerprint string
	Project     string
}

// Binding is what a bundle's origin and signer mean for the remote project
// it would import into.
type Binding struct {
	// Project is the remote project of that origin, if it exists here.
	Project *domain.Project
	// NewDeliverer is set when the signer must be recorded as allowed to
	// deliver the project: it is the first to deliver it, and not its
	// origin.
	NewDeliverer bool
}

// Bind checks a bundle's origin and signer against what this space knows,
// writing nothing:
//
//   - the origin is not this space, and not a remote space revoked here
//     (bundle-origin);
//   - no space this space knows — itself, a remote space, the origin of a
//     remote project — goes by the origin's name, however spelt, with
//     another fingerprint, and the origin's projects came here under that
//     name (bundle-origin-name): a space cannot pass itself off as one this
//     space knows;
//   - the project's name does not read like another project's here
//     (bundle-project);
//   - the remote project "<origin>: <project>", if it exists, is a remote
//     project of that same origin (bundle-project, bundle-origin), and the
//     signer is its origin or a space allowed to deliver it
//     (bundle-deliverer).
//
// A project's first delivery binds it to its signer.
func (rs *Rules) Bind(ctx context.Context, sp domain.Space, o Origin, signer domain.RemoteSpace) (Binding, error) {
	var b Binding
	if fp, err := trust.ParseFingerprint(o.Fingerprint); err != nil || fp != o.Fingerprint {
		return b, domain.Refuse(domain.KindInvalid, domain.RuleBundleOrigin, "the bundle's origin fingerprint %q is not a certificate fingerprint as ferry writes them", o.Fingerprint)
	}
	if o.Fingerprint == sp.Fingerprint {
		return b, domain.Refuse(domain.KindUntrusted, domain.RuleBundleOrigin,
			"the bundle says its release was made in space %q itself (fingerprint %s); a space imports only other spaces' releases", sp.Name, sp.Fingerprint)
	}
	known, err := rs.remote(ctx, sp.ID, o.Fingerprint, "")
	if err != nil {
		return b, err
	}
	if known != nil && known.Revoked() {
		return b, domain.Refuse(domain.KindUntrusted, domain.RuleBundleOrigin,
			"the release originates in remote space %q (fingerprint %s), which %s", known.Name, known.Fingerprint, known.RevocationText())
	}
	projects, err := rs.projects.Summaries(ctx, sp.ID)
	if err != nil {
		return b, err
	}
	if err := rs.checkOriginName(ctx, sp, o, signer, projects); err != nil {
		return b, err
	}
	name := domain.RemoteName(o.Space, o.Project)
	exists := slices.ContainsFunc(projects, func(p store.ProjectSummary) bool { return p.Name == name })
	for _, p := range projects {
		if !exists && domain.NameKey(p.Name) == domain.NameKey(name) {
			return b, domain.Refuse(domain.KindUntrusted, domain.RuleBundleProject,
				"the bundle (signed by %q) would import project %q, which reads like project %q of this space: it is not that project. Nothing was imported; ask %q's owners what they sent",
				signer.Name, name, p.Name, signer.Name)
		}
	}
	p, err := rs.projects.Get(ctx, sp.ID, name)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		b.NewDeliverer = signer.Fingerprint != o.Fingerprint
		return b, nil
	case err != nil:
		return b, err
	case p.Origin == nil:
		return b, domain.Refuse(domain.KindConflict, domain.RuleBundleProject,
			"project %q of this space is its own, not a remote project; a bundle cannot replace it", name)
	case p.Origin.Fingerprint != o.Fingerprint:
		return b, domain.Refuse(domain.KindUntrusted, domain.RuleBundleOrigin,
			"remote project %q here comes from origin fingerprint %s, but this bundle (signed by %q) says its origin has fingerprint %s", name, p.Origin.Fingerprint, signer.Name, o.Fingerprint)
	}
	b.Project = &p
	if signer.Fingerprint == o.Fingerprint {
		return b, nil
	}
	ds, err := rs.projects.Deliverers(ctx, p.ID)
	if err != nil {
		return b, err
	}
	var names []string
	for _, d := range ds {
		if d.Fingerprint == signer.Fingerprint {
			return b, nil
		}
		names = append(names, quote(d.Space)+" ("+d.Fingerprint+")")
	}
	from := "its origin " + quote(o.Space)
	if len(names) > 0 {
		from = strings.Join(names, ", ") + " or " + from
	}
	return b, domain.Refuse(domain.KindUntrusted, domain.RuleBundleDeliverer,
		"remote project %q is delivered here by %s (fingerprint %s); this bundle is signed by remote space %q (fingerprint %s), which may not deliver it. If %q should deliver %q from now on, allow it: `ferry project deliverers %q --add %q`",
		name, from, o.Fingerprint, signer.Name, signer.Fingerprint, signer.Name, name, name, signer.Name)
}

// checkOriginName refuses an origin that goes by the name of a space this
// space knows — itself, a remote space, the origin of a remote project here
// — with another fingerprint, however the name is spelt (domain.NameKey:
// case, width, spaces, invisible characters), so that no space passes for
// one this space knows (bundle-origin-name); and an origin whose projects
// came here under another name (one origin goes by one name). An origin
// may share this space's own name only when a person added it as a remote
// space (two servers whose spaces are both called "Default", say).
func (rs *Rules) checkOriginName(ctx context.Context, sp domain.Space, o Origin, signer domain.RemoteSpace, projects []store.ProjectSummary) error {
	remotes, err := rs.remotes.List(ctx, sp.ID)
	if err != nil {
		return err
	}
	for _, p := range projects {
		if p.Origin != nil && p.Origin.Fingerprint == o.Fingerprint && p.Origin.Space != o.Space {
			// One origin, one name: the same origin's projects all go by
			// the name they first came with.
			return domain.Refuse(domain.KindUntrusted, domain.RuleBundleOriginName,
				"the bundle (signed by %q) names its origin %q, but releases of that origin (fingerprint %s) came here as %q (project %q)", signer.Name, o.Space, o.Fingerprint, p.Origin.Space, p.Name)
		}
	}
	for _, r := range remotes {
		if r.Name == o.Space && r.Fingerprint != o.Fingerprint {
			return domain.Refuse(domain.KindUntrusted, domain.RuleBundleOriginName,
				"the bundle (signed by %q) says its release was made in space %q with fingerprint %s, but the remote space %q known here has fingerprint %s: it is not that space. Nothing was imported; ask %q's owners what they sent",
				signer.Name, o.Space, o.Fingerprint, r.Name, r.Fingerprint, signer.Name)
		}
	}
	if slices.ContainsFunc(projects, func(p store.ProjectSummary) bool {
		return p.Origin != nil && p.Origin.Fingerprint == o.Fingerprint && p.Origin.Space == o.Space
	}) {
		// An origin whose releases came here under this name before (an
		// earlier version of ferry compared names exactly) keeps it.
		return nil
	}
	key := domain.NameKey(o.Space)
	if domain.NameKey(sp.Name) == key && !slices.ContainsFunc(remotes, func(r domain.RemoteSpace) bool {
		return r.Fingerprint == o.Fingerprint
	}) {
		return domain.Refuse(domain.KindUntrusted, domain.RuleBundleOriginName,
			"the bundle (signed by %q) says its release was made in space %q with fingerprint %s, a name that reads as this space's own (%q, fingerprint %s): it is not this space. Nothing was imported; ask %q's owners what they sent",
			signer.Name, o.Space, o.Fingerprint, sp.Name, sp.Fingerprint, signer.Name)
	}
	for _, r := range remotes {
		if domain.NameKey(r.Name) == key && r.Fingerprint != o.Fingerprint {
			return domain.Refuse(domain.KindUntrusted, domain.RuleBundleOriginName,
				"the bundle (signed by %q) says its release was made in space %q with fingerprint %s, but the remote space %q known here has fingerprint %s: it is not that space. Nothing was imported; ask %q's owners what they sent",
				signer.Name, o.Space, o.Fingerprint, r.Name, r.Fingerprint, signer.Name)
		}
	}
	for _, p := range projects {
		if p.Origin != nil && p.Origin.Fingerprint != o.Fingerprint && domain.NameKey(p.Origin.Space) == key {
			// One name, one origin.
			return domain.Refuse(domain.KindUntrusted, domain.RuleBundleOriginName,
				"the bundle (signed by %q) says its release was made in space %q with fingerprint %s, but releases of %q (project %q) came here from fingerprint %s: it is not that space. Nothing was imported; ask %q's owners what they sent",
				signer.Name, o.Space, o.Fingerprint, p.Origin.Space, p.Name, p.Origin.Fingerprint, signer.Name)
		}
	}
	return nil
}

func quote(s string) string { return `"` + s + `"` }

// Receipts decides which receipts count: the rules every receipt must
// satisfy, checked against what this space knows now. Build one per
// release with ForRelease; it reads what it needs once.
type Receipts struct {
	remotes store.RemoteSpaces
	sp      domain.Space
	p       domain.Project
	rel     domain.Release
	targets []domain.BundleRecord // this release's bundles written or sent from here
	byFP    map[string]*domain.RemoteSpace
	byName  map[string]*domain.RemoteSpace
}

// ForRelease returns the receipt rules for one release of a project here.
func (rs *Rules) ForRelease(ctx context.Context, sp domain.Space, p domain.Project, rel domain.Release) (*Receipts, error) {
	out, err := rs.bundles.Promoted(ctx, sp.ID, p.Name, rel.Version)
	if err != nil {
		return nil, err
	}
	return &Receipts{remotes: rs.remotes, sp: sp, p: p, rel: rel, targets: out,
		byFP: map[string]*domain.RemoteSpace{}, byName: map[string]*domain.RemoteSpace{}}, nil
}

// Claim is what a receipt says, as the rules need it.
type Claim struct {
	Signer           string // the fingerprint of the space that signed it
	SignerName       string // what the receipt calls that space, for messages
	LocalEnvironment string // the signer's own name for the environment
	SnapshotDigest   string
}

// Check applies the rules a receipt must satisfy to count here: its signer
// is a remote space known here by fingerprint — never believed because a
// relayed certificate carries a known name — not revoked, and not this
// space (receipt-signer); it speaks for one of the signer's own
// environments, which this space calls "<its name for the signer>:
// <environment>" (receipt-environment); the release was promoted from here
// toward the signer, or toward via, the space that relayed it
// (receipt-path); and it carries the release's snapshot digest
// (receipt-digest). via is the remote space that handed the receipt over
// (the signer itself when it did). It returns the signer and the
// environment the receipt speaks for.
func (rr *Receipts) Check(ctx context.Context, c Claim, via domain.RemoteSpace) (domain.RemoteSpace, string, error) {
	if c.Signer == rr.sp.Fingerprint {
		return domain.RemoteSpace{}, "", domain.Refuse(domain.KindUntrusted, domain.RuleReceiptSigner,
			"a receipt claims to be signed by space %q itself; this space's own deployments are not taken from receipts", rr.sp.Name)
	}
	signer, err := rr.byFingerprint(ctx, c.Signer)
	if err != nil {
		return domain.RemoteSpace{}, "", err
	}
	if signer == nil {
		return domain.RemoteSpace{}, "", domain.Refuse(domain.KindUntrusted, domain.RuleReceiptSigner,
			"a receipt is signed by a space this space does not know (it calls itself %q, fingerprint %s). A relayed receipt is believed only from a space known here by fingerprint: compare that fingerprint with its owners and add its certificate with `ferry remote-space add NAME --cert FILE` (no trust is needed), then import again",
			c.SignerName, c.Signer)
	}
	if signer.Revoked() {
		return *signer, "", domain.Refuse(domain.KindUntrusted, domain.RuleReceiptSigner,
			"a receipt is signed by remote space %q (fingerprint %s), which %s", signer.Name, signer.Fingerprint, signer.RevocationText())
	}
	if err := domain.ValidateName("environment", c.LocalEnvironment); err != nil {
		return *signer, "", domain.Refuse(domain.KindInvalid, domain.RuleReceiptEnvironment,
			"a receipt signed by %q names environment %q, which is not an environment of its own: %s", signer.Name, c.LocalEnvironment, domain.Message(err))
	}
	env := signer.Name + ": " + c.LocalEnvironment
	relayed := via.ID != signer.ID
	if !rr.promotedTo(signer.Name) && (!relayed || via.Revoked() || !rr.promotedTo(via.Name)) {
		toward := quote(signer.Name)
		if relayed {
			toward += " or to " + quote(via.Name) + ", which relayed it"
		}
		return *signer, env, domain.Refuse(domain.KindUntrusted, domain.RuleReceiptPath,
			"a receipt from %q reports release %s of %q in %q, but this space never promoted that release to %s",
			signer.Name, rr.rel.Version, rr.p.Name, env, toward)
	}
	want := rr.rel.SnapshotDigest
	if want == "" {
		want = release.Digest(rr.rel.Snapshot)
	}
	if c.SnapshotDigest != want {
		return *signer, env, domain.Refuse(domain.KindUntrusted, domain.RuleReceiptDigest,
			"a receipt from %q for release %s of %q has snapshot digest %s, but the release's is %s: it is not a receipt of this release",
			signer.Name, rr.rel.Version, rr.p.Name, c.SnapshotDigest, want)
	}
	return *signer, env, nil
}

// promotedTo reports whether this release was promoted from here to the
// remote space called name (names of remote spaces never change).
func (rr *Receipts) promotedTo(name string) bool {
	return slices.ContainsFunc(rr.targets, func(b domain.BundleRecord) bool { return b.TargetSpace == name })
}

func (rr *Receipts) byFingerprint(ctx context.Context, fp string) (*domain.RemoteSpace, error) {
	if r, ok := rr.byFP[fp]; ok {
		return r, nil
	}
	r, err := rr.remotes.GetByFingerprint(ctx, rr.sp.ID, fp)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		rr.byFP[fp] = nil
		return nil, nil
	case err != nil:
		return nil, err
	}
	rr.byFP[fp], rr.byName[r.Name] = &r, &r
	return &r, nil
}

func (rr *Receipts) named(ctx context.Context, name string) (*domain.RemoteSpace, error) {
	if r, ok := rr.byName[name]; ok {
		return r, nil
	}
	r, err := rr.remotes.Get(ctx, rr.sp.ID, name)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		rr.byName[name] = nil
		return nil, nil
	case err != nil:
		return nil, err
	}
	rr.byName[name], rr.byFP[r.Fingerprint] = &r, &r
	return &r, nil
}

// Counting returns the stored receipts of the release that satisfy the
// rules now, each with the environment it speaks for recomputed from its
// signed contents — so receipts stored by an earlier version, or whose
// signer was revoked since, open no lifecycle gate. Receipts this space
// signed itself are left out: its own deployments count as deployments.
func (rr *Receipts) Counting(ctx context.Context, list []domain.Receipt) ([]domain.Receipt, error) {
	var out []domain.Receipt
	for _, r := range list {
		if r.SignerFingerprint == rr.sp.Fingerprint || r.ReceivedFrom == "" {
			continue
		}
		var signed struct {
			Deploying struct {
				Fingerprint string `json:"fingerprint"`
			} `json:"deploying"`
			LocalEnvironment string `json:"localEnvironment"`
			SnapshotDigest   string `json:"snapshotDigest"`
		}
		if json.Unmarshal(r.Payload, &signed) != nil || signed.Deploying.Fingerprint != r.SignerFingerprint {
			continue
		}
		via, err := rr.named(ctx, r.ReceivedFrom)
		if err != nil {
			return nil, err
		}
		if via == nil {
			continue
		}
		_, env, err := rr.Check(ctx, Claim{Signer: r.SignerFingerprint, LocalEnvironment: signed.LocalEnvironment, SnapshotDigest: signed.SnapshotDigest}, *via)
		switch {
		case err == nil:
			r.Environment = env
			out = append(out, r)
		case domain.KindOf(err) == domain.KindInternal:
			return nil, err
		}
	}
	return out, nil
}
