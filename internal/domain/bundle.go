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

// Deliverer is a space allowed to deliver releases of a remote project,
// besides its origin (which always may): the space that delivered its first
// release, and any a person allowed since. A bundle of the project from any
// other space is refused, so a space trusted for releases cannot put its
// code into another origin's project.
type Deliverer struct {
	Fingerprint string    `json:"fingerprint"`
	Space       string    `json:"space"` // its name here when it was added
	AddedAt     time.Time `json:"addedAt"`
	AddedBy     string    `json:"addedBy,omitempty"`
}

// Provenance says where an imported release came from.
type Provenance struct {
	BundleDigest      string `json:"bundleDigest"`
	SourceSpace       string `json:"sourceSpace"`
	SourceFingerprint string `json:"sourceFingerprint"`
	// TargetName is what the source space calls this space; receipts name
	// environments "<TargetName>: <environment>" so the source recognises them.
	TargetName string              `json:"targetName"`
	ImportedAt time.Time           `json:"importedAt"`
	ImportedBy string              `json:"importedBy"`
	History    []DeploymentSummary `json:"history,omitempty"`
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
	BundleSent     = "sent"    // an outgoing bundle queued for a connected space
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
	// Data is a pending bundle's file, kept until a person imports it.
	Data []byte `json:"-"`
}

// Receipt is a signed record that a space deployed a release of a remote
// project, kept by the deploying space and by every space it travels back
// through. Environment is named as the origin's side names it:
// "<deploying space>: <environment>".
type Receipt struct {
	ID                int64      `json:"id"`
	SpaceID           int64      `json:"-"`
	Digest            string     `json:"digest"` // sha256 of the signed payload
	DeployingSpace    string     `json:"deployingSpace"`
	SignerFingerprint string     `json:"signerFingerprint"`
	OriginSpace       string     `json:"originSpace"`
	OriginFingerprint string     `json:"originFingerprint"`
	OriginProject     string     `json:"originProject"`
	Version           string     `json:"version"`
	SnapshotDigest    string     `json:"snapshotDigest"`
	Environment       string     `json:"environment"`
	Tenant            string     `json:"tenant,omitempty"`
	State             TaskState  `json:"state"`
	StartedAt         *time.Time `json:"startedAt,omitempty"`
	FinishedAt        *time.Time `json:"finishedAt,omitempty"`
	DeployedBy        string     `json:"deployedBy"`
	// Machines counts the deployment targets that ran the deployment; nil
	// when the receipt is of a schema version before 3, which did not say.
	Machines *int `json:"machines,omitempty"`
	// ReceivedFrom names the remote space that handed this receipt over
	// ("" for receipts this space signed itself).
	ReceivedFrom string    `json:"receivedFrom,omitempty"`
	ReceivedAt   time.Time `json:"receivedAt"`
	// DeploymentID is the deployment of this space the receipt records;
	// 0 for receipts signed elsewhere.
	DeploymentID int64 `json:"-"`
	// Payload, Signature and SignerPEM are the receipt as signed, kept so it
	// can be relayed on with its original signature.
	Payload   []byte `json:"-"`
	Signature []byte `json:"-"`
	SignerPEM string `json:"-"`
}
