package api

// NameRequest creates something that needs only a name.
type NameRequest struct {
	Name string `json:"name"`
}

// SetVariableRequest sets a project variable's value for exactly the
// scope Environments (none: unscoped), replacing the value of the same
// name and scope. A value becomes sensitive with Sensitive, and also when
// the name is a sensitive template or already has sensitive values.
type SetVariableRequest struct {
	Name         string   `json:"name"`
	Value        string   `json:"value"`
	Sensitive    bool     `json:"sensitive"`
	Environments []string `json:"environments"`
}

// CreateReleaseRequest creates a release; Packages are "ID:VERSION" of
// packages in the feed, pinned by their SHA-256.
type CreateReleaseRequest struct {
	Version  string   `json:"version"`
	Notes    string   `json:"notes,omitempty"`
	Channel  string   `json:"channel,omitempty"`
	Packages []string `json:"packages,omitempty"`
}

// DeployRequest deploys a release of a project to an environment.
type DeployRequest struct {
	Project     string `json:"project"`
	Version     string `json:"version"`
	Environment string `json:"environment"`
	Tenant      string `json:"tenant,omitempty"`
	// Targets limits the deployment to these targets; ExcludeTargets
	// leaves these out (at most one of the two).
	Targets        []string `json:"targets,omitempty"`
	ExcludeTargets []string `json:"excludeTargets,omitempty"`
}

// AddRemoteSpaceRequest adds another space by its certificate (PEM).
// Trust is a comma-separated list of directions (TrustReleases, ...);
// URL makes it connected; TLSFingerprint pins its server's certificate.
type AddRemoteSpaceRequest struct {
	Name           string `json:"name"`
	Certificate    string `json:"certificate"`
	URL            string `json:"url,omitempty"`
	Trust          string `json:"trust,omitempty"`
	TLSFingerprint string `json:"tlsFingerprint,omitempty"`
}

// UpdateRemoteSpaceRequest changes what it sets (nil: unchanged; "" clears
// the URL or the TLS pin). A new Certificate rotates the space's key.
type UpdateRemoteSpaceRequest struct {
	URL            *string `json:"url,omitempty"`
	Trust          *string `json:"trust,omitempty"`
	Certificate    *string `json:"certificate,omitempty"`
	TLSFingerprint *string `json:"tlsFingerprint,omitempty"`
}

// PromoteRequest promotes a release to the remote space To. With Deliver
// it is queued for a connected space (the answer is a Promotion);
// without, the answer is the signed bundle file. SchemaVersion 0 writes
// the newest the target is known to read.
type PromoteRequest struct {
	Project       string `json:"project"`
	Version       string `json:"version"`
	To            string `json:"to"`
	Deliver       bool   `json:"deliver,omitempty"`
	SchemaVersion int    `json:"schemaVersion,omitempty"`
}

// AddDelivererRequest allows the remote space Space to deliver a remote
// project too.
type AddDelivererRequest struct {
	Space string `json:"space"`
}

// ExportReceiptsRequest writes the receipts the remote space To has not
// been sent (All: every one again).
type ExportReceiptsRequest struct {
	To            string `json:"to"`
	All           bool   `json:"all,omitempty"`
	SchemaVersion int    `json:"schemaVersion,omitempty"`
}

// ExportPackagesRequest writes a package transfer file for the remote
// space To, leaving out what it holds: known from its receipts and from
// Inventory (the signed inventory file it wrote; base64 in JSON). Full
// carries everything.
type ExportPackagesRequest struct {
	To        string `json:"to"`
	Inventory []byte `json:"inventory,omitempty"`
	Full      bool   `json:"full,omitempty"`
	// SchemaVersion chooses the transfer file's schema (1 or 2); 0 writes
	// what the remote space is known to read.
	SchemaVersion int `json:"schemaVersion,omitempty"`
}

// CreateUserRequest creates a user; Admin makes a system administrator.
type CreateUserRequest struct {
	Name  string `json:"name"`
	Admin bool   `json:"admin,omitempty"`
}

// SetPasswordRequest sets a user's sign-in password (12 characters or more).
type SetPasswordRequest struct {
	Password string `json:"password"`
}

// PasswordSet answers SetPassword.
type PasswordSet struct {
	User     string `json:"user"`
	Password string `json:"password"` // "set"
}

// CreateKeyRequest creates a named API key.
type CreateKeyRequest struct {
	Name string `json:"name"`
}

// NewAPIKey answers CreateKey with the key itself, shown this once.
type NewAPIKey struct {
	User string `json:"user"`
	Name string `json:"name"`
	Key  string `json:"key"`
}

// RevokedKey answers RevokeKey: the id of the key revoked.
type RevokedKey struct {
	User    string `json:"user"`
	Revoked int64  `json:"revoked"`
}

// TeamRequest creates or changes a team; each field given (non-nil)
// replaces that part. Role is viewer, deployer, project-contributor or
// space-admin.
type TeamRequest struct {
	Name         string    `json:"name"`
	Role         *string   `json:"role,omitempty"`
	Members      *[]string `json:"members,omitempty"`
	Projects     *[]string `json:"projects,omitempty"`
	Environments *[]string `json:"environments,omitempty"`
}

// Query parameters: each field's query tag is its name, its doc tag its
// description in the OpenAPI document.

// Limit asks for at most Limit items (0: the server's default).
type Limit struct {
	Limit int `query:"limit" doc:"at most this many items (0 or none: the server's default)"`
}

// ApplyOptions are Apply's options: list every change and make none, and
// remove what the document does not list.
type ApplyOptions struct {
	DryRun bool `query:"dry-run" doc:"list every change Apply would make, and make none"`
	Prune  bool `query:"prune" doc:"also remove what the listed projects hold beyond the document"`
}

// DiffQuery compares From with To: release versions, or "current".
type DiffQuery struct {
	From string `query:"from" doc:"a release version, or current (the project as it is now)"`
	To   string `query:"to" doc:"a release version, or current (the project as it is now)"`
}

// DeploymentQuery filters deployments: of a project (and a release of
// it), in an environment, at most Limit. Where "here" leaves out other
// spaces' deployments, known from their receipts.
type DeploymentQuery struct {
	Project     string `query:"project" doc:"only this project's deployments"`
	Version     string `query:"version" doc:"only this release of project (needs project)"`
	Environment string `query:"environment" doc:"only deployments to this environment"`
	Where       string `query:"where" doc:"here: only this space's own deployments; omitted: also those of other spaces, known from their receipts"`
	Limit       int    `query:"limit" doc:"at most this many deployments"`
}

// TaskQuery lists at most Limit tasks, newest first.
type TaskQuery struct {
	Limit int `query:"limit" doc:"at most this many tasks"`
	// Waiting lists only the tasks waiting for a manual intervention.
	Waiting bool `query:"waiting" doc:"true: only the tasks waiting for a manual intervention"`
}

// DecisionRequest approves or aborts a manual intervention, with a note
// for the task log and the audit log.
type DecisionRequest struct {
	Note string `json:"note,omitempty"`
}

// LogQuery asks for the log lines after sequence number After. An answer
// holds at most 5000 lines: ask again after the last one for more.
type LogQuery struct {
	After int64 `query:"after" doc:"only the log lines after this sequence number (0: from the start); an answer holds at most 5000 lines, ask again after its last for more"`
}

// DeliveryQuery filters deliveries: to the remote space Remote, at most
// Limit, newest first.
type DeliveryQuery struct {
	Remote string `query:"remote" doc:"only deliveries to this remote space"`
	Limit  int    `query:"limit" doc:"at most this many deliveries"`
}

// BundleImportQuery imports a bundle: the uploaded file, or the pending
// bundle whose digest starts with Pending (then nothing is uploaded).
// Lifecycle is the remote project's, at its first import.
type BundleImportQuery struct {
	Pending   string `query:"pending" doc:"import the pending bundle whose digest starts with this (no body is sent)"`
	Lifecycle string `query:"lifecycle" doc:"the remote project's lifecycle, at its first import (needed when the space has several)"`
}

// DashboardQuery asks for one page of the dashboard, or one project.
type DashboardQuery struct {
	Project string `query:"project" doc:"only this project's row"`
	Offset  int    `query:"offset" doc:"skip this many projects (for paging)"`
	Limit   int    `query:"limit" doc:"at most this many projects (0: the server's default)"`
}

// PushQuery names the package an upload is.
type PushQuery struct {
	ID      string `query:"id" doc:"the package id (required)"`
	Version string `query:"version" doc:"the package version (required)"`
}

// PackageQuery filters the feed to one package id.
type PackageQuery struct {
	ID string `query:"id" doc:"only the versions of this package id"`
}

// DeleteVariableRequest chooses the values of a variable to delete: the
// one scoped to exactly Environments, or every value when none are given.
type DeleteVariableRequest struct {
	Environments []string `json:"environments,omitempty"`
}

// RetentionRequest runs retention now; with DryRun it lists what it would
// remove and removes nothing.
type RetentionRequest struct {
	DryRun bool `json:"dryRun"`
}
