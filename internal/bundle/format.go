// Package bundle promotes releases between spaces: it writes a release
// bundle — everything a target space needs to deploy a release, signed by the
// source space, secrets encrypted to the target — and imports one only after
// verifying all of it. The file format is in docs/bundle-format.md.
package bundle

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ferrydeploy/ferry/internal/compat"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/envelope"
)

// Format names a release bundle file; SchemaVersion is the version this
// server writes by default. It reads that and the previous one, and writes
// for each target the newest it is known to read (internal/compat); a
// bundle of another version is refused with the versions named.
const (
	Format        = "ferry-release-bundle"
	SchemaVersion = compat.Current
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

	// Downstream (schema 2) is what the spaces the release may travel on
	// to from the target need; nil when there are none.
	Downstream *Downstream `json:"downstream,omitempty"`

	// TenantedDeployments is the project's (untenanted, tenanted, both;
	// "" not set): a new remote project starts with it, and the target
	// space may change it.
	TenantedDeployments string `json:"tenantedDeployments,omitempty"`
}

// Downstream describes the spaces after the target on the release's path.
type Downstream struct {
	// Spaces are the spaces that scopes "<space>: <environment>" in this
	// bundle name, with their fingerprints: names are each space's own, so
	// the target knows them by fingerprint.
	Spaces []SpaceRef `json:"spaces"`
	// Sealed are sensitive values scoped to those spaces' environments,
	// each age-encrypted to its space: the target cannot read them, stores
	// them, and passes them on unchanged.
	Sealed []SealedValue `json:"sealed"`
}

// SealedValue is a sensitive value for a space after the target.
type SealedValue struct {
	Name         string   `json:"name"`
	For          string   `json:"for"` // the fingerprint of the space it is sealed to
	Environments []string `json:"environments"`
	Sealed       string   `json:"sealed"`
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
	// TenantTags ("SET/TAG") travel: a tag the target lacks matches
	// nothing there. Tenants never travel (SPEC §6).
	TenantTags []string `json:"tenantTags,omitempty"`
}

// Package is a package the release deploys: identity and hash, not bytes.
type Package struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
}

// Snapshot is what the payload rebuilds into on its target: the release's
// snapshot there, whose digest the source signed (TargetSnapshotDigest).
// open gives each sensitive value in clear; without it (nil) a sensitive
// value is only marked as set, which is all its digest depends on.
func (p *Payload) Snapshot(open func(Variable) (string, error)) (domain.Snapshot, error) {
	snap := domain.Snapshot{Process: p.Process, Templates: p.Templates, Packages: fromBundlePackages(p.Packages)}
	if d := p.Downstream; d != nil {
		for _, ref := range d.Spaces {
			snap.Spaces = append(snap.Spaces, domain.SpaceRef{Space: ref.Space, Fingerprint: ref.Fingerprint})
		}
		for _, v := range d.Sealed {
			snap.Forward = append(snap.Forward, domain.ForwardValue{Name: v.Name, For: v.For, Environments: v.Environments, Sealed: v.Sealed})
		}
	}
	for _, v := range p.Variables {
		dv := domain.Variable{Name: v.Name, Value: v.Value, Sensitive: v.Sensitive, Environments: v.Environments, TenantTags: v.TenantTags}
		if v.Sensitive {
			dv.Value = "set"
			if open != nil {
				plain, err := open(v)
				if err != nil {
					return domain.Snapshot{}, err
				}
				dv.Value = plain
			}
		}
		snap.Variables = append(snap.Variables, dv)
	}
	return snap, nil
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
	// Sum is the SHA-256 of Body (envelope.Opened.Sum), for
	// trust.Service.VerifySum.
	Sum     [32]byte
	Payload Payload
}

// Open reads only a bundle file's envelope: its size, format, schema
// version, and that the payload matches its digest. A receiver checks the
// signature on it before anything reads the payload (Parse).
func Open(data []byte) (*envelope.Opened, error) {
	return envelope.OpenVersions(data, Format, compat.Previous, compat.Current, MaxSize, what)
}

// what names a bundle file in messages.
const what = "release bundle"

// Parse reads a bundle file and checks everything that needs no keys: size,
// format, schema version, that the digest matches the payload, and that the
// payload is well formed. It never trusts what it reads; Verify does that.
func Parse(data []byte) (*Parsed, error) {
	var payload Payload
	o, err := envelope.OpenVersionsAnd(data, Format, compat.Previous, compat.Current, MaxSize, what, func(body []byte) error {
		return readPayload(body, &payload)
	})
	if err != nil {
		return nil, err
	}
	return parsed(o, payload)
}

// ParseOpened is Parse for a file whose envelope Open has read, for a
// caller that checks the signature before the payload is read.
func ParseOpened(o *envelope.Opened) (*Parsed, error) {
	var payload Payload
	if err := readPayload(o.Body, &payload); err != nil {
		return nil, err
	}
	return parsed(o, payload)
}

// readPayload decodes a payload, refusing one that is not exactly what
// ferry writes.
func readPayload(body []byte, p *Payload) error {
	if err := decodePayload(body, p); err != nil {
		return domain.Refuse(domain.KindInvalid, domain.RuleExact, "the bundle's payload is malformed or not exactly what ferry writes: %v", err)
	}
	return nil
}

// parsed checks a decoded payload's own structure, then that the file is
// byte for byte what ferry writes.
func parsed(o *envelope.Opened, payload Payload) (*Parsed, error) {
	p := &Parsed{Envelope: o.Envelope, Body: o.Body, Signature: o.Signature, Sum: o.Sum, Payload: payload}
	if err := p.Payload.check(o.Envelope.SchemaVersion); err != nil {
		return nil, err
	}
	if err := o.CheckExact(); err != nil {
		return nil, err
	}
	return p, nil
}

// check validates the payload's own structure.
func (p *Payload) check(envelopeVersion int) error {
	switch {
	case p.Kind != PayloadKind:
		return domain.Refuse(domain.KindInvalid, domain.RuleBundleKind, "the signed document is a %q, not a release bundle", p.Kind)
	case p.SchemaVersion != envelopeVersion:
		return domain.Refuse(domain.KindInvalid, domain.RuleBundleKind, "the bundle's payload has schema version %d but its envelope says %d", p.SchemaVersion, envelopeVersion)
	case p.SchemaVersion < 2 && p.Downstream != nil:
		return domain.Refuse(domain.KindInvalid, domain.RuleExact, "a bundle of schema version %d carries %q, which that version does not have", p.SchemaVersion, "downstream")
	case p.Source.Fingerprint == "" || p.Target.Fingerprint == "" || p.Origin.Fingerprint == "":
		return domain.Refuse(domain.KindInvalid, domain.RuleBundleKind, "the bundle does not name its source, target and origin spaces")
	case p.Origin.Project == "" || p.Release.Version == "":
		return domain.Refuse(domain.KindInvalid, domain.RuleBundleProject, "the bundle names no project or release version")
	}
	for _, pk := range p.Packages {
		// A size a standard JSON tool would round (past 2^53) shows a
		// person another number than ferry reads.
		if pk.Size < 0 || pk.Size > 1<<53 {
			return domain.Refuse(domain.KindInvalid, domain.RuleExact, "package %s %s has size %d, which no JSON tool reads exactly", pk.ID, pk.Version, pk.Size)
		}
	}
	for _, v := range p.Variables {
		if v.Sensitive && v.Value != "" {
			return domain.Refuse(domain.KindInvalid, domain.RuleBundleSecrets, "the bundle carries sensitive variable %q in plaintext; refusing it", v.Name)
		}
		if v.Sensitive && v.Sealed == "" {
			return domain.Refuse(domain.KindInvalid, domain.RuleBundleSecrets, "sensitive variable %q carries no encrypted value", v.Name)
		}
		if !v.Sensitive && v.Sealed != "" {
			return domain.Refuse(domain.KindInvalid, domain.RuleBundleSecrets, "variable %q carries an encrypted value but is not marked sensitive", v.Name)
		}
	}
	return nil
}
