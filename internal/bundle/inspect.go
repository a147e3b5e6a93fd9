package bundle

import (
	"context"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/identity"
)

// Inspection is what a person sees of a bundle before importing it. It never
// holds a secret: sensitive variables show only that they are encrypted.
type Inspection struct {
	SchemaVersion  int                        `json:"schemaVersion"`
	Digest         string                     `json:"digest"`
	Signer         SignerInfo                 `json:"signer"`
	Source         SpaceRef                   `json:"source"`
	Target         SpaceRef                   `json:"target"`
	Origin         Origin                     `json:"origin"`
	Project        string                     `json:"project"` // its name once imported
	Release        ReleaseInfo                `json:"release"`
	Process        []domain.Step              `json:"process"`
	Variables      []InspectedVariable        `json:"variables"`
	Templates      []domain.Template          `json:"templates"`
	Packages       []Package                  `json:"packages"`
	History        []domain.DeploymentSummary `json:"history"`
	SnapshotDigest string                     `json:"snapshotDigest"`
	// TargetSnapshotDigest is the digest of what this space would store,
	// which import recomputes; SnapshotDigest is the origin's, as the
	// signer claims it.
	TargetSnapshotDigest string `json:"targetSnapshotDigest"`
	// Downstream are the spaces after this one the bundle carries things
	// for, and the values sealed to them (names only).
	Downstream  []DownstreamSpace `json:"downstream,omitempty"`
	CreatedAt   string            `json:"createdAt"`
	CreatedBy   string            `json:"createdBy"`
	Verified    bool              `json:"verified"`
	Problem     string            `json:"problem,omitempty"`
	ProblemKind domain.Kind       `json:"problemKind,omitempty"`
	// ProblemRule names the rule the bundle fails (domain.Refuse), if any.
	ProblemRule string `json:"problemRule,omitempty"`
}

// DownstreamSpace is a space after the target that a bundle carries
// values for, sealed to it: this space cannot read them and passes them on.
type DownstreamSpace struct {
	Space       string   `json:"space"`
	Fingerprint string   `json:"fingerprint"`
	KnownAs     string   `json:"knownAs,omitempty"`
	Sealed      []string `json:"sealed,omitempty"` // names of the values sealed to it
}

// SignerInfo describes the certificate that signed the bundle.
type SignerInfo struct {
	Space       string `json:"space"`
	Fingerprint string `json:"fingerprint"`
	// KnownAs is the remote space this space knows the signer as, if any.
	KnownAs string `json:"knownAs,omitempty"`
}

// InspectedVariable is a variable as shown before import.
type InspectedVariable struct {
	Name         string   `json:"name"`
	Value        string   `json:"value,omitempty"`
	Sensitive    bool     `json:"sensitive,omitempty"`
	Encrypted    bool     `json:"encrypted,omitempty"`
	Environments []string `json:"environments,omitempty"`
}

// Inspect reads a bundle and runs every check an import would, without
// writing anything. A bundle that is structurally broken is an error; one
// that fails verification is reported with Verified false and the reason.
func (s *Service) Inspect(ctx context.Context, space string, data []byte) (Inspection, error) {
	sp, err := s.access.Space(ctx, space, domain.PermView, "", "")
	if err != nil {
		return Inspection{}, err
	}
	p, err := Parse(data)
	if err != nil {
		return Inspection{}, err
	}
	pl := p.Payload
	in := Inspection{
		SchemaVersion: p.Envelope.SchemaVersion, Digest: p.Envelope.Digest,
		Source: pl.Source, Target: pl.Target, Origin: pl.Origin,
		Project: domain.RemoteName(pl.Origin.Space, pl.Origin.Project),
		Release: pl.Release, Process: pl.Process, Templates: pl.Templates, Packages: pl.Packages, History: pl.History,
		SnapshotDigest: pl.SnapshotDigest, CreatedAt: pl.CreatedAt.Format("2006-01-02 15:04:05 MST"), CreatedBy: pl.CreatedBy,
	}
	if c, err := identity.ParseCertificate([]byte(p.Envelope.Signer), s.now()); err == nil {
		in.Signer = SignerInfo{Space: c.SpaceName, Fingerprint: c.Fingerprint}
	}
	for _, v := range pl.Variables {
		in.Variables = append(in.Variables, InspectedVariable{Name: v.Name, Value: v.Value, Sensitive: v.Sensitive, Encrypted: v.Sealed != "", Environments: v.Environments})
	}
	if r, err := s.remotes.GetByFingerprint(ctx, sp.ID, in.Signer.Fingerprint); err == nil {
		in.Signer.KnownAs = r.Name
	}
	in.TargetSnapshotDigest = pl.TargetSnapshotDigest
	if d := pl.Downstream; d != nil {
		for _, ref := range d.Spaces {
			ds := DownstreamSpace{Space: ref.Space, Fingerprint: ref.Fingerprint}
			if r, err := s.remotes.GetByFingerprint(ctx, sp.ID, ref.Fingerprint); err == nil {
				ds.KnownAs = r.Name
			}
			for _, v := range d.Sealed {
				if v.For == ref.Fingerprint {
					ds.Sealed = append(ds.Sealed, v.Name)
				}
			}
			in.Downstream = append(in.Downstream, ds)
		}
	}
	if _, err := s.verify(ctx, sp, p); err != nil {
		in.Problem, in.ProblemKind = domain.Message(err), domain.KindOf(err)
		in.ProblemRule, _ = domain.RefusalOf(err)
		return in, nil
	}
	in.Verified = true
	return in, nil
}
