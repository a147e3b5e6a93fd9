// Package bundle promotes releases between spaces: it writes a release
// bundle — everything a target space needs to deploy a release, signed by the
// source space, secrets encrypted to the target — and imports one only after
// verifying all of it. The file format is in docs/bundle-format.md.
package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
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

// Envelope is the bundle file: the signed payload bytes, exactly as signed,
// and what is needed to check them.
type Envelope struct {
	Format        string `json:"format"`
	SchemaVersion int    `json:"schemaVersion"`
	// Digest is "sha256:" + hex SHA-256 of the payload bytes.
	Digest string `json:"digest"`
	// Payload is the base64 of the canonical payload JSON.
	Payload string `json:"payload"`
	// Signature is the base64 of the source space's ECDSA P-256 / SHA-256
	// signature (ASN.1 DER) over the payload bytes.
	Signature string `json:"signature"`
	// Signer is the source space's certificate (PEM). The receiver uses it
	// only to look up its own stored copy by fingerprint.
	Signer string `json:"signer"`
}

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
	sig, err := sign(body)
	if err != nil {
		return nil, fmt.Errorf("sign bundle: %w", err)
	}
	env := Envelope{
		Format:        Format,
		SchemaVersion: p.SchemaVersion,
		Digest:        DigestOf(body),
		Payload:       base64.StdEncoding.EncodeToString(body),
		Signature:     base64.StdEncoding.EncodeToString(sig),
		Signer:        string(signerPEM),
	}
	out, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode bundle: %w", err)
	}
	return append(out, '\n'), nil
}

// DigestOf is the digest notation used for payloads.
func DigestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

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
	if len(data) > MaxSize {
		return nil, domain.Invalidf("refused: the bundle is %d bytes; bundles are at most %d", len(data), MaxSize)
	}
	var env Envelope
	if err := strictJSON(data, &env); err != nil {
		return nil, domain.Invalidf("refused: not a readable ferry release bundle (%v); the file may be truncated or damaged", err)
	}
	if env.Format != Format {
		return nil, domain.Invalidf("refused: not a ferry release bundle: format is %q, expected %q", env.Format, Format)
	}
	if env.SchemaVersion != SchemaVersion {
		return nil, domain.Invalidf("refused: the bundle has schema version %d; this server reads schema version %d only. %s",
			env.SchemaVersion, SchemaVersion, versionAdvice(env.SchemaVersion))
	}
	body, err := base64.StdEncoding.Strict().DecodeString(env.Payload)
	if err != nil {
		return nil, domain.Invalidf("refused: the bundle's payload is damaged (bad base64): the file was altered or truncated")
	}
	if got := DigestOf(body); got != env.Digest {
		return nil, domain.Invalidf("refused: the bundle's digest does not match its contents (recorded %s, computed %s): the file was altered or damaged", env.Digest, got)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(env.Signature)
	if err != nil || len(sig) == 0 {
		return nil, domain.Invalidf("refused: the bundle's signature is damaged or missing")
	}
	p := &Parsed{Envelope: env, Body: body, Signature: sig}
	if err := strictJSON(body, &p.Payload); err != nil {
		return nil, domain.Invalidf("refused: the bundle's payload is malformed: %v", err)
	}
	if err := p.Payload.check(); err != nil {
		return nil, err
	}
	return p, nil
}

func versionAdvice(v int) string {
	if v > SchemaVersion {
		return "Upgrade ferry on this server to import it."
	}
	return "Promote the release again from an up-to-date source server."
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

// strictJSON decodes one JSON value, refusing unknown fields and trailing data.
func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON document")
	}
	return nil
}
