package api

import "time"

// Trust directions of a remote space.
const (
	TrustReleases = "releases" // accept release bundles signed by it
	TrustReceipts = "receipts" // accept deployment receipts signed by it
	TrustPromote  = "promote"  // promote releases to it
)

// RemoteSpace is another space this space knows by its certificate (PEM),
// with the trust directions it has, and its server's URL when connected.
type RemoteSpace struct {
	ID             int64      `json:"id"`
	Name           string     `json:"name"`
	Certificate    string     `json:"certificate"`
	Fingerprint    string     `json:"fingerprint"`
	URL            string     `json:"url,omitempty"`
	TLSFingerprint string     `json:"tlsFingerprint,omitempty"`
	Trust          []string   `json:"trust"`
	CreatedAt      time.Time  `json:"createdAt"`
	UpdatedAt      time.Time  `json:"updatedAt"`
	RevokedAt      *time.Time `json:"revokedAt,omitempty"`
	RevokedBy      string     `json:"revokedBy,omitempty"`
	// SchemaVersion is the newest schema version it is known to read (0:
	// not known yet).
	SchemaVersion int `json:"schemaVersion,omitempty"`
}

// Revoked reports whether the remote space was revoked.
func (r RemoteSpace) Revoked() bool { return r.RevokedAt != nil }

// RemoteSpaceStatus is a remote space with a summary of what is delivered
// to it.
type RemoteSpaceStatus struct {
	RemoteSpace
	Delivery DeliverySummary `json:"delivery"`
}

// DeliverySummary counts a remote space's deliveries by state.
type DeliverySummary struct {
	Queued      int        `json:"queued"`
	InFlight    int        `json:"inFlight"`
	Delivered   int        `json:"delivered"`
	Failed      int        `json:"failed"`
	LastError   string     `json:"lastError,omitempty"`
	LastErrorAt *time.Time `json:"lastErrorAt,omitempty"`
}

// AddedRemoteSpace answers AddRemoteSpace: Created is false when the
// space was already known with that certificate (nothing changed).
type AddedRemoteSpace struct {
	Created     bool        `json:"created"`
	RemoteSpace RemoteSpace `json:"remoteSpace"`
}

// Delivery states.
const (
	DeliveryQueued    = "queued"    // waiting for its next attempt
	DeliveryInFlight  = "in-flight" // being sent now
	DeliveryDelivered = "delivered" // the remote space acknowledged it
	DeliveryFailed    = "failed"    // the remote space refused it; a person must act
)

// Delivery is one item of the outbox to a connected space: a bundle, or a
// sweep of receipts or packages. Kind is "bundle", "receipts" or
// "packages".
type Delivery struct {
	ID            int64      `json:"id"`
	RemoteSpace   string     `json:"remoteSpace"`
	Kind          string     `json:"kind"`
	Ref           string     `json:"ref,omitempty"`
	Summary       string     `json:"summary,omitempty"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt time.Time  `json:"nextAttemptAt"`
	LastAttemptAt *time.Time `json:"lastAttemptAt,omitempty"`
	LastError     string     `json:"lastError,omitempty"`
	Result        string     `json:"result,omitempty"`
	CreatedAt     time.Time  `json:"createdAt"`
	CreatedBy     string     `json:"createdBy"`
	DeliveredAt   *time.Time `json:"deliveredAt,omitempty"`
}

// RetryResult answers RetryDeliveries.
type RetryResult struct {
	RemoteSpace string `json:"remoteSpace"`
	Requeued    int    `json:"requeued"`
	Receipts    bool   `json:"receipts"`
	Packages    bool   `json:"packages"`
}

// Bundle directions and states.
const (
	BundleIn       = "in"       // received by this space
	BundleOut      = "out"      // written or sent by this space
	BundleImported = "imported" // imported here
	BundlePending  = "pending"  // verified, waiting for a person to import it
	BundleWritten  = "written"  // written to a file
	BundleSent     = "sent"     // queued for a connected space
)

// BundleRecord is a bundle this space wrote, sent or received.
type BundleRecord struct {
	ID          int64      `json:"id"`
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

// BundleStatus is a bundle with its delivery, when it was sent.
type BundleStatus struct {
	BundleRecord
	Delivery *Delivery `json:"delivery,omitempty"`
}

// Promotion answers Promote to a connected space: the bundle, queued for
// delivery (and its packages, when it deploys any).
type Promotion struct {
	Bundle        BundleRecord `json:"bundle"`
	Delivery      Delivery     `json:"delivery"`
	Packages      *Delivery    `json:"packages,omitempty"`
	URL           string       `json:"url"`
	SchemaVersion int          `json:"schemaVersion"`
	Notes         []string     `json:"notes,omitempty"`
}

// BundleInspection is what a bundle holds and whether this space would
// import it (Verified; otherwise Problem and ProblemKind say why not).
// Secret values are never shown.
type BundleInspection struct {
	SchemaVersion        int                 `json:"schemaVersion"`
	Digest               string              `json:"digest"`
	Signer               BundleSigner        `json:"signer"`
	Source               SpaceRef            `json:"source"`
	Target               SpaceRef            `json:"target"`
	Origin               BundleOrigin        `json:"origin"`
	Project              string              `json:"project"`
	Release              BundleRelease       `json:"release"`
	Process              []Step              `json:"process"`
	Variables            []BundleVariable    `json:"variables"`
	Templates            []Template          `json:"templates"`
	Packages             []PackageRef        `json:"packages"`
	History              []DeploymentSummary `json:"history"`
	SnapshotDigest       string              `json:"snapshotDigest"`
	TargetSnapshotDigest string              `json:"targetSnapshotDigest"`
	Downstream           []DownstreamSpace   `json:"downstream,omitempty"`
	CreatedAt            string              `json:"createdAt"`
	CreatedBy            string              `json:"createdBy"`
	Verified             bool                `json:"verified"`
	Problem              string              `json:"problem,omitempty"`
	ProblemKind          Kind                `json:"problemKind,omitempty"`
	// ProblemRule names the rule the bundle fails ("signer-known", ...;
	// see ErrorBody), when it fails one.
	ProblemRule string `json:"problemRule,omitempty"`
}

// BundleSigner is the certificate that signed a bundle; KnownAs is the
// remote space this space knows it as, if any.
type BundleSigner struct {
	Space       string `json:"space"`
	Fingerprint string `json:"fingerprint"`
	KnownAs     string `json:"knownAs,omitempty"`
}

// BundleOrigin is the space and project a release was made in.
type BundleOrigin struct {
	Space       string `json:"space"`
	Fingerprint string `json:"fingerprint"`
	Project     string `json:"project"`
}

// BundleRelease is the release a bundle carries.
type BundleRelease struct {
	Version   string    `json:"version"`
	Notes     string    `json:"notes,omitempty"`
	Channel   string    `json:"channel,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy"`
}

// BundleVariable is a variable as a bundle carries it; an Encrypted value
// is sealed to the target space and not shown.
type BundleVariable struct {
	Name         string   `json:"name"`
	Value        string   `json:"value,omitempty"`
	Sensitive    bool     `json:"sensitive,omitempty"`
	Encrypted    bool     `json:"encrypted,omitempty"`
	Environments []string `json:"environments,omitempty"`
}

// DownstreamSpace is a space after the target that a bundle carries
// values for (the names in Sealed, sealed to it).
type DownstreamSpace struct {
	Space       string   `json:"space"`
	Fingerprint string   `json:"fingerprint"`
	KnownAs     string   `json:"knownAs,omitempty"`
	Sealed      []string `json:"sealed,omitempty"`
}

// BundleImport answers ImportBundle.
type BundleImport struct {
	Project         string          `json:"project"`
	Version         string          `json:"version"`
	Lifecycle       string          `json:"lifecycle"`
	Source          string          `json:"source"`
	Fingerprint     string          `json:"fingerprint"`
	AlreadyImported bool            `json:"alreadyImported"`
	Missing         []MissingValues `json:"missing,omitempty"`
	Warnings        []string        `json:"warnings,omitempty"`
	MissingPackages []PackageRef    `json:"missingPackages,omitempty"`
}

// MissingValues are the template values an environment needs before the
// imported release can be deployed there, with the commands that set them.
type MissingValues struct {
	Environment string   `json:"environment"`
	Variables   []string `json:"variables"`
	Commands    []string `json:"commands,omitempty"`
}

// ProjectDeliverers says which spaces may deliver releases of a remote
// project: its origin always, and Deliverers.
type ProjectDeliverers struct {
	Project    string      `json:"project"`
	Origin     SpaceRef    `json:"origin"`
	Deliverers []Deliverer `json:"deliverers"`
}

// Deliverer is a space allowed to deliver a remote project.
type Deliverer struct {
	Fingerprint string    `json:"fingerprint"`
	Space       string    `json:"space"`
	AddedAt     time.Time `json:"addedAt"`
	AddedBy     string    `json:"addedBy,omitempty"`
}

// ReceiptImport answers ImportReceipts: how many receipts the file (from
// the space From) held that were new, and how many were already here.
type ReceiptImport struct {
	From       string `json:"from"`
	Imported   int    `json:"imported"`
	Duplicates int    `json:"duplicates"`
	// OfDeleted counts receipts about releases this space deleted:
	// verified, then skipped.
	OfDeleted int `json:"ofDeleted,omitempty"`
}

// BundleReceived answers a connected space's bundle delivery: imported,
// or pending until a person chooses its lifecycle (Reason says why).
type BundleReceived struct {
	Digest          string `json:"digest"`
	State           string `json:"state"`
	Project         string `json:"project"`
	Version         string `json:"version"`
	Lifecycle       string `json:"lifecycle,omitempty"`
	AlreadyReceived bool   `json:"alreadyReceived,omitempty"`
	Reason          string `json:"reason,omitempty"`
}

// MissingChunks answers a chunk query: the chunk hashes (hex SHA-256)
// the target lacks.
type MissingChunks struct {
	Missing []string `json:"missing"`
}

// Handshake says which schema versions a server reads, oldest first.
type Handshake struct {
	Reads []int `json:"reads"`
}
