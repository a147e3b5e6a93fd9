package bundle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ferrydeploy/ferry/internal/compat"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/provenance"
	"github.com/ferrydeploy/ferry/internal/release"
	"github.com/ferrydeploy/ferry/internal/seal"
	"github.com/ferrydeploy/ferry/internal/variables"
)

// verified is a bundle that passed every check for one space: its secrets
// are decrypted and its snapshot rebuilt, ready to store.
type verified struct {
	parsed   *Parsed
	space    domain.Space
	signer   domain.RemoteSpace
	snapshot domain.Snapshot
	binding  provenance.Binding
}

// verify runs every check an import needs, writing nothing: signature and
// trust (releases) of the signer, that the signer is the bundle's source,
// that this space is the target, that every secret opens with this space's
// key, and that the rebuilt snapshot is the one the source signed.
func (s *Service) verify(ctx context.Context, sp domain.Space, p *Parsed) (*verified, error) {
	signer, err := s.trust.VerifySum(ctx, sp.ID, domain.TrustReleases, []byte(p.Envelope.Signer), p.Body, p.Sum, p.Signature)
	if err != nil {
		return nil, err
	}
	pl := p.Payload
	if pl.Source.Fingerprint != signer.Fingerprint {
		return nil, domain.Refuse(domain.KindUntrusted, domain.RuleBundleSource, "the bundle says it comes from %q (fingerprint %s) but is signed by remote space %q (fingerprint %s)",
			pl.Source.Space, pl.Source.Fingerprint, signer.Name, signer.Fingerprint)
	}
	if pl.Target.Fingerprint != sp.Fingerprint {
		return nil, domain.Refuse(domain.KindInvalid, domain.RuleBundleTarget, "this bundle is for space %q (fingerprint %s), not for space %q (fingerprint %s)",
			pl.Target.Space, pl.Target.Fingerprint, sp.Name, sp.Fingerprint)
	}
	id, err := s.trust.Identity(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	if err := validateScopes(&pl, sp.Fingerprint); err != nil {
		return nil, err
	}
	if err := validateTenants(&pl); err != nil {
		return nil, err
	}
	snap, err := pl.Snapshot(func(v Variable) (string, error) {
		plain, err := seal.Open(id.Age, v.Sealed)
		if err != nil {
			return "", domain.Refuse(domain.KindInvalid, domain.RuleBundleSecrets, "the secret %q in the bundle does not decrypt with space %q's key: %v", v.Name, sp.Name, err)
		}
		return string(plain), nil
	})
	if err != nil {
		return nil, err
	}
	if got := release.Digest(snap); got != pl.TargetSnapshotDigest {
		return nil, domain.Refuse(domain.KindInvalid, domain.RuleBundleSnapshot, "the bundle's snapshot does not match the digest its source signed (%s, computed %s)", pl.TargetSnapshotDigest, got)
	}
	// A value of a sensitive template is sensitive here even if the source
	// sent it plain (an older version did); the store seals it.
	domain.MarkSensitive(snap.Variables, snap.Templates)
	check := domain.Project{Name: "bundle", Lifecycle: "-", Process: snap.Process, Variables: snap.Variables, Templates: snap.Templates}
	if err := check.Validate(func(string) bool { return true }); err != nil {
		return nil, domain.Refuse(domain.KindInvalid, domain.RuleBundleProject, "the bundle's release is not valid here: %s", domain.Message(err))
	}
	if err := domain.ValidateName("space", pl.Origin.Space); err != nil {
		return nil, domain.Refuse(domain.KindInvalid, domain.RuleBundleOrigin, "the bundle's origin space name is not usable: %s", domain.Message(err))
	}
	if err := domain.ValidateName("project", pl.Origin.Project); err != nil {
		return nil, domain.Refuse(domain.KindInvalid, domain.RuleBundleProject, "the bundle's project name is not usable: %s", domain.Message(err))
	}
	binding, err := s.provenance.Bind(ctx, sp, provenance.Origin{Space: pl.Origin.Space, Fingerprint: pl.Origin.Fingerprint, Project: pl.Origin.Project}, signer)
	if err != nil {
		return nil, err
	}
	return &verified{parsed: p, space: sp, signer: signer, snapshot: snap, binding: binding}, nil
}

// ImportResult says what an import did and what is still needed to deploy.
type ImportResult struct {
	Project         string          `json:"project"`
	Version         string          `json:"version"`
	Lifecycle       string          `json:"lifecycle"`
	Source          string          `json:"source"`
	Fingerprint     string          `json:"fingerprint"`
	AlreadyImported bool            `json:"alreadyImported"`
	Missing         []MissingValues `json:"missing,omitempty"`
	Warnings        []string        `json:"warnings,omitempty"`
	// MissingPackages are packages the release deploys that this space's
	// feed does not hold yet: bring them with a transfer file.
	MissingPackages []domain.PackageRef `json:"missingPackages,omitempty"`
}

// MissingValues are required template values an environment still lacks.
type MissingValues struct {
	Environment string   `json:"environment"`
	Variables   []string `json:"variables"`
	// Commands set them, one per variable (sensitive ones read from
	// standard input, with --sensitive).
	Commands []string `json:"commands,omitempty"`
}

// Import verifies a bundle completely and then, in one transaction, creates
// or updates the remote project "<origin space>: <project>" and the release
// with its frozen snapshot. Importing the same bundle again changes nothing.
func (s *Service) Import(ctx context.Context, space string, data []byte, lifecycle string) (ImportResult, error) {
	// Who may import is decided before the file is even read.
	if _, err := s.access.Space(ctx, space, domain.PermAdminSpace, "", ""); err != nil {
		return ImportResult{}, err
	}
	parsed, err := Parse(data)
	if err != nil {
		return ImportResult{}, err
	}
	var res ImportResult
	err = s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.Space(ctx, space, domain.PermAdminSpace, "", "")
		if err != nil {
			return err
		}
		v, err := s.verify(ctx, sp, parsed)
		if err != nil {
			return err
		}
		// A space admin limited to some projects imports only into those.
		if err := s.access.Require(ctx, sp, domain.PermAdminSpace, domain.RemoteName(parsed.Payload.Origin.Space, parsed.Payload.Origin.Project), ""); err != nil {
			return err
		}
		res, err = s.write(ctx, v, lifecycle)
		return err
	})
	return res, err
}

// write stores a verified bundle in the caller's transaction — the
// remote project, its release, the bundle record and an audit event — and
// says what is still needed to deploy the release. A bundle imported
// before changes nothing.
func (s *Service) write(ctx context.Context, v *verified, lifecycle string) (ImportResult, error) {
	pl, sp := v.parsed.Payload, v.space
	name := domain.RemoteName(pl.Origin.Space, pl.Origin.Project)
	res := ImportResult{Project: name, Version: pl.Release.Version, Source: v.signer.Name, Fingerprint: v.signer.Fingerprint}

	if prev, err := s.bundles.Get(ctx, sp.ID, domain.BundleIn, v.parsed.Envelope.Digest); err == nil && prev.State == domain.BundleImported {
		p, err := s.projects.Get(ctx, sp.ID, name)
		if err != nil {
			return res, err
		}
		res.AlreadyImported, res.Lifecycle = true, p.Lifecycle
		return res, nil
	} else if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return res, err
	}

	now := s.now()
	p, err := s.writeProject(ctx, v, name, lifecycle, now)
	if err != nil {
		return res, err
	}
	rel, existed, err := s.writeRelease(ctx, v, p, now)
	if err != nil {
		return res, err
	}
	// A channel of the release's name here chooses its lifecycle.
	res.Lifecycle, res.AlreadyImported = p.LifecycleOf(rel.Channel), existed
	rec := domain.BundleRecord{
		SpaceID: sp.ID, Direction: domain.BundleIn, Digest: v.parsed.Envelope.Digest,
		SourceSpace: v.signer.Name, TargetSpace: sp.Name, Project: name, Version: rel.Version,
		State: domain.BundleImported, CreatedAt: now, CreatedBy: domain.ActorName(ctx), ImportedAt: &now,
	}
	if err := s.record(ctx, &rec); err != nil {
		return res, err
	}
	if err := s.audit.Record(ctx, sp.ID, "bundle.import", name+" "+rel.Version, map[string]string{
		"project": name, "from": v.signer.Name, "fingerprint": v.signer.Fingerprint, "bundle": rec.Digest, "lifecycle": p.Lifecycle,
	}); err != nil {
		return res, err
	}
	res.Missing, res.Warnings, err = s.needs(ctx, sp, p, rel)
	if err == nil {
		res.MissingPackages, err = s.missingPackages(ctx, sp, rel)
	}
	if err == nil && !existed {
		err = s.arrivals.Arrived(ctx, sp, p, rel)
	}
	return res, err
}

// writeProject creates or updates the remote project "<origin>: <project>"
// of a verified bundle: in lifecycle (when given or new; else it keeps
// its own), bound to its origin, showing the bundle's process and
// templates (its own variables are this space's and stay). The first space
// other than the origin to deliver it is recorded as its deliverer, and
// what the signer signed shows what it reads.
func (s *Service) writeProject(ctx context.Context, v *verified, name, lifecycle string, now time.Time) (domain.Project, error) {
	pl, sp := v.parsed.Payload, v.space
	var p domain.Project
	exists := v.binding.Project != nil
	if exists {
		p = *v.binding.Project
	}
	if lifecycle != "" || !exists {
		var err error
		if lifecycle, err = s.chooseLifecycle(ctx, sp, lifecycle); err != nil {
			return p, err
		}
	} else {
		lifecycle = p.Lifecycle
	}
	if !exists {
		p = domain.Project{SpaceID: sp.ID, Name: name, CreatedAt: now, TenantedDeployments: pl.TenantedDeployments}
	}
	p.Lifecycle = lifecycle
	p.Origin = &domain.ProjectOrigin{Space: pl.Origin.Space, Project: pl.Origin.Project, Fingerprint: pl.Origin.Fingerprint}
	p.Process, p.Templates, p.UpdatedAt = v.snapshot.Process, v.snapshot.Templates, now
	if err := s.projects.Put(ctx, &p); err != nil {
		return p, err
	}
	if v.binding.NewDeliverer {
		// The first space to deliver a remote project (other than its
		// origin) is the one allowed to deliver it from now on.
		if err := s.projects.AddDeliverer(ctx, p.ID, domain.Deliverer{
			Fingerprint: v.signer.Fingerprint, Space: v.signer.Name, AddedAt: now, AddedBy: domain.ActorName(ctx),
		}); err != nil {
			return p, err
		}
	}
	return p, compat.Learn(ctx, s.remotes, v.signer, v.parsed.Envelope.SchemaVersion)
}

// writeRelease creates the bundle's release of p, with its provenance; a
// release of that version already here must be the same one (existed).
func (s *Service) writeRelease(ctx context.Context, v *verified, p domain.Project, now time.Time) (rel domain.Release, existed bool, err error) {
	pl := v.parsed.Payload
	rel, err = s.releases.Get(ctx, p.ID, pl.Release.Version)
	switch {
	case err == nil:
		if rel.SnapshotDigest != pl.SnapshotDigest || release.Digest(rel.Snapshot) != release.Digest(v.snapshot) {
			return rel, true, domain.Refuse(domain.KindConflict, domain.RuleReleaseImmutable, "release %s of %q was already imported with different contents; releases never change. Promote a new version instead", pl.Release.Version, p.Name)
		}
		return rel, true, nil
	case !errors.Is(err, domain.ErrNotFound):
		return rel, false, err
	}
	rel = domain.Release{
		ProjectID: p.ID, Project: p.Name, Version: pl.Release.Version, Notes: pl.Release.Notes, Channel: pl.Release.Channel,
		Snapshot: v.snapshot, SnapshotDigest: pl.SnapshotDigest, CreatedAt: now, CreatedBy: pl.Release.CreatedBy,
		Provenance: &domain.Provenance{
			BundleDigest: v.parsed.Envelope.Digest, SourceSpace: v.signer.Name, SourceFingerprint: v.signer.Fingerprint, TargetName: pl.Target.Space,
			ImportedAt: now, ImportedBy: domain.ActorName(ctx), History: untenanted(pl.History),
		},
	}
	return rel, false, s.releases.Create(ctx, &rel)
}

// chooseLifecycle picks the remote project's lifecycle: the one asked for,
// or the space's only one.
func (s *Service) chooseLifecycle(ctx context.Context, sp domain.Space, asked string) (string, error) {
	lcs, err := s.lifecycles.List(ctx, sp.ID)
	if err != nil {
		return "", err
	}
	var names []string
	for _, l := range lcs {
		names = append(names, l.Name)
	}
	switch {
	case asked != "" && slices.Contains(names, asked):
		return asked, nil
	case asked != "":
		return "", domain.NotFoundf("lifecycle %q not found in space %q (its lifecycles: %s)", asked, sp.Name, listOrNone(names))
	case len(names) == 1:
		return names[0], nil
	case len(names) == 0:
		return "", domain.Invalidf("space %q has no lifecycle for the imported project; create one (with its environments) using `ferry apply`, then import again", sp.Name)
	}
	return "", domain.Invalidf("space %q has several lifecycles; choose one for the imported project with --lifecycle (one of: %s)", sp.Name, strings.Join(names, ", "))
}

// needs lists, per environment of the project's lifecycle, the required
// template values still missing, and warns about scopes naming environments
// this space does not have.
func (s *Service) needs(ctx context.Context, sp domain.Space, p domain.Project, rel domain.Release) ([]MissingValues, []string, error) {
	lc, err := s.lifecycles.Get(ctx, sp.ID, p.LifecycleOf(rel.Channel))
	if err != nil {
		return nil, nil, err
	}
	envs, err := s.environments.List(ctx, sp.ID)
	if err != nil {
		return nil, nil, err
	}
	local := map[string]bool{}
	for _, e := range envs {
		if !e.IsRemote() {
			local[e.Name] = true
		}
	}
	var missing []MissingValues
	cands := deploy.Candidates(rel, p)
	for _, ph := range lc.Phases {
		for _, e := range ph.Environments {
			if !local[e] {
				continue
			}
			if names := deploy.MissingTemplates(rel.Snapshot.Templates, cands, variables.Context{Environment: e}); len(names) > 0 {
				missing = append(missing, MissingValues{Environment: e, Variables: names, Commands: deploy.SetCommands(p.Name, e, names, rel.Snapshot.Templates)})
			}
		}
	}
	var warnings []string
	for _, st := range rel.Snapshot.Process {
		for _, e := range st.Environments {
			if !local[e] && !strings.Contains(e, ": ") { // another space's: it travels on
				warnings = append(warnings, fmt.Sprintf("step %q runs only in environment %q, which space %q does not have", st.Name, e, sp.Name))
			}
		}
	}
	return missing, warnings, nil
}

// List lists a space's bundles of projects the caller may view, newest first.
func (s *Service) List(ctx context.Context, space string) ([]domain.BundleRecord, error) {
	sp, err := s.access.Space(ctx, space, domain.PermView, "", "")
	if err != nil {
		return nil, err
	}
	v, err := s.access.Viewable(ctx, sp)
	if err != nil {
		return nil, err
	}
	list, err := s.bundles.List(ctx, sp.ID, 500)
	return slices.DeleteFunc(list, func(b domain.BundleRecord) bool { return !v.Has(b.Project) }), err
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
