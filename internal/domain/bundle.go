package domain

import "time"

// ProjectOrigin marks a remote project: one created by importing a release
// bundle. Its process and build-time variables come only from bundles.
type ProjectOrigin struct {
	Space       string `json:"space"`       // the space the project belongs to, as the bundle names it
	Project     string `json:"project"`     // its name there
	Fingerprint string `json:"fingerprint"` // the origin space's certificate fingerprint
}

// RemoteName is how a remote project is named in a space that imported it:
// "<origin space>: <project>".
func RemoteName(originSpace, project string) string { return originSpace + ": " + project }

// Provenance says where an imported release came from.
type Provenance struct {
	BundleDigest      string              `json:"bundleDigest"`
	SourceSpace       string              `json:"sourceSpace"`
	SourceFingerprint string              `json:"sourceFingerprint"`
	ImportedAt        time.Time           `json:"importedAt"`
	ImportedBy        string              `json:"importedBy"`
	History           []DeploymentSummary `json:"history,omitempty"`
}

// DeploymentSummary is a deployment as other spaces see it: where, what
// state, when — no logs, no variables.
type DeploymentSummary struct {
	Space       string     `json:"space"`
	Environment string     `json:"environment"`
	Version     string     `json:"version"`
	Tenant      string     `json:"tenant,omitempty"`
	State       TaskState  `json:"state"`
	StartedAt   *time.Time `json:"startedAt,omitempty"`
	FinishedAt  *time.Time `json:"finishedAt,omitempty"`
	DeployedBy  string     `json:"deployedBy,omitempty"`
}

// Bundle directions and states, for the bundle list.
const (
	BundleIn  = "in"  // received by this space
	BundleOut = "out" // written or sent by this space

	BundleImported = "imported"
	BundlePending  = "pending" // verified, waiting for a person to import
	BundleWritten  = "written" // an outgoing bundle written to a file
)

// BundleRecord is a bundle a space received or produced.
type BundleRecord struct {
	ID          int64      `json:"id"`
	SpaceID     int64      `json:"-"`
	Direction   string     `json:"direction"`
	Digest      string     `json:"digest"`
	SourceSpace string     `json:"sourceSpace"`
	TargetSpace string     `json:"targetSpace"`
	Project     string     `json:"project"`
	Version     string     `json:"version"`
	State       string     `json:"state"`
	CreatedAt   time.Time  `json:"createdAt"`
	CreatedBy   string     `json:"createdBy"`
	ImportedAt  *time.Time `json:"importedAt,omitempty"`
}
