// Package bundle promotes releases between spaces: it writes a release
// bundle — everything a target space needs to deploy a release, signed by the
// source space, secrets encrypted to the target — and imports one only after
// verifying all of it. The file format is in docs/bundle-format.md.
package bundle

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/envelope"
)

// Format names a release bundle file; SchemaVersion is the only version this
// server reads and writes. A bundle of another version is refused with both
// versions named.
const (
	Format        = "ferry-release-bundle"
	SchemaVersion = 1
	// MaxSize bounds a bundle file. Bundles carry no package bytes, so even
	// a release with ten thousand variables is a few megabytes.
	MaxSize = 64 << 20
)

// Envelope is the bundle file: the signed payload bytes and what is needed
// to check them (see internal/envelope).
type Envelope = envelope.Envelope

// Payload is what the source space signs.
type Payload struct {
	Kind          string    `json:"kind"` // always "ferry.release-bundle"
	SchemaVersion int       `json:"schemaVersion"`
	ID            string    `json:"id"` // random, unique per bundle
	CreatedAt     time.Time `json:"createdAt"`
	CreatedBy     string    `json:"createdBy"`

	Source SpaceRef `json:"source"` // the space that signed this bundle
	Target SpaceRef `json:"target"` // the only space that may import it
	Origin Origin   `json:"origin"` // the space and project the release was made in

	Release   ReleaseInfo                `json:"release"`
	Process   []domain.Step              `json:"process"`
	Variables []Variable                 `json:"variables"`
	Templates []domain.Template          `json:"templates"`
	Packages  []Package                  `json:"packages"`
	History   []domain.DeploymentSummary `json:"history"`

	// SnapshotDigest is the release's digest in its origin space.
	// TargetSnapshotDigest is the digest of the snapshot as the target
	// stores it (sliced and renamed for the target); import checks it.
	SnapshotDigest       string `json:"snapshotDigest"`
	TargetSnapshotDigest string `json:"targetSnapshotDigest"`
}

// PayloadKind is Payload.Kind; it keeps a signature over a bundle from being
// passed off as one over another kind of document (a receipt).
const PayloadKind = "ferry.release-bundle"

// SpaceRef names a space and pins its certificate.
type SpaceRef struct {
	Space       string `json:"space"`
	Fingerprint string `json:"fingerprint"`
}

// Origin is the project's home: its name there never changes as the release
// travels on, so every space calls it "<origin space>: <project>".
type Origin struct {
	Space       string `json:"space"`
	Fingerprint string `json:"fingerprint"`
	Project     string `json:"project"`
}

// ReleaseInfo is the release's own details.
type ReleaseInfo struct {
	Version   string    `json:"version"`
	Notes     string    `json:"notes,omitempty"`
	Channel   string    `json:"channel,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy"`
}

// Variable is a variable value in a bundle. A sensitive value is never in
// Value: Sealed holds it, age-encrypted (ASCII armor) to the target space.
type Variable struct {
	Name         string   `json:"name"`
	Value        string   `json:"value,omitempty"`
	Sensitive    bool     `json:"sensitive,omitempty"`
	Sealed       string   `json:"sealed,omitempty"`
	Environments []string `json:"environments,omitempty"`
}

// Package is a package the release deploys: identity and hash, not bytes.
type Package struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
}

// Encode builds the envelope for payload, signed by sign, as file bytes.
func Encode(p *Payload, signerPEM []byte, sign func([]byte) ([]byte, error)) ([]byte, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode bundle payload: %w", err)
	}
	return envelope.Seal(Format, p.SchemaVersion, body, signerPEM, sign)
}

// DigestOf is the digest notation used for payloads.
func DigestOf(b []byte) string { return envelope.Digest(b) }

// Parsed is a bundle file whose structure has been checked, but whose
// signature and trust have not.
type Parsed struct {
	Envelope  Envelope
	Body      []byte // the payload bytes, exactly as signed
	Signature []byte
	Payload   Payload
}

// Parse reads a bundle file and checks everything that needs no keys: size,
// format, schema version, that the digest matches the payload, and that the
// payload is well formed. It never trusts what it reads; Verify does that.
func Parse(data []byte) (*Parsed, error) {
	o, err := envelope.Open(data, Format, SchemaVersion, MaxSize, "release bundle")
	if err != nil {
		return nil, err
	}
	p := &Parsed{Envelope: o.Envelope, Body: o.Body, Signature: o.Signature}
	if err := envelope.Strict(o.Body, &p.Payload); err != nil {
		return nil, domain.Invalidf("refused: the bundle's payload is malformed: %v", err)
	}
	if err := p.Payload.check(); err != nil {
		return nil, err
	}
	if err := o.CheckExact(); err != nil {
		return nil, err
	}
	return p, nil
}

// check validates the payload's own structure.
func (p *Payload) check() error {
	switch {
	case p.Kind != PayloadKind:
		return domain.Invalidf("refused: the signed document is a %q, not a release bundle", p.Kind)
	case p.SchemaVersion != SchemaVersion:
		return domain.Invalidf("refused: the bundle's payload has schema version %d but its envelope says %d", p.SchemaVersion, SchemaVersion)
	case p.Source.Fingerprint == "" || p.Target.Fingerprint == "" || p.Origin.Fingerprint == "":
		return domain.Invalidf("refused: the bundle does not name its source, target and origin spaces")
	case p.Origin.Project == "" || p.Release.Version == "":
		return domain.Invalidf("refused: the bundle names no project or release version")
	}
	for _, v := range p.Variables {
		if v.Sensitive && v.Value != "" {
			return domain.Invalidf("refused: the bundle carries sensitive variable %q in plaintext; refusing it", v.Name)
		}
		if v.Sensitive && v.Sealed == "" {
			return domain.Invalidf("refused: sensitive variable %q carries no encrypted value", v.Name)
		}
	}
	return nil
}
