package api

import "time"

// ReleaseDetail is a release with its packages and snapshot digests.
// SnapshotDigest is the origin's digest when the origin itself signed the
// bundle, and otherwise the digest computed here (DigestHere); OriginDigest
// then says whose claim the origin's digest is.
type ReleaseDetail struct {
	Release
	Packages     []PackageRef  `json:"packages"`
	DigestHere   string        `json:"digestHere"`
	OriginDigest *OriginDigest `json:"originDigest,omitempty"`
}

// OriginDigest is the digest an imported release has in its origin space,
// and who says so: the origin itself (ByOrigin) or a space that relayed it
// (not verified here).
type OriginDigest struct {
	Digest   string `json:"digest"`
	SignedBy string `json:"signedBy"`
	ByOrigin bool   `json:"byOrigin"`
	Note     string `json:"note"`
}

// Change kinds in a ReleaseDiff.
const (
	Added   = "added"
	Removed = "removed"
	Changed = "changed"
	Moved   = "moved" // only the step's place in the process changed
)

// ReleaseDiff is what changed in a project from one release (or the
// project's current state, "current") to another. Identical means no
// difference at all, secrets included.
type ReleaseDiff struct {
	Project   string           `json:"project"`
	From      DiffSide         `json:"from"`
	To        DiffSide         `json:"to"`
	Identical bool             `json:"identical"`
	Steps     []StepChange     `json:"steps"`
	Variables []VariableChange `json:"variables"`
	Templates []TemplateChange `json:"templates"`
	Packages  []PackageChange  `json:"packages,omitempty"`
}

// DiffSide is one side of a diff.
type DiffSide struct {
	Version        string `json:"version"`
	SnapshotDigest string `json:"snapshotDigest"`
}

// StepChange is a step added, removed, changed or moved; positions are
// 1-based (0 where the step does not exist).
type StepChange struct {
	Name        string        `json:"name"`
	Change      string        `json:"change"`
	OldPosition int           `json:"oldPosition,omitempty"`
	NewPosition int           `json:"newPosition,omitempty"`
	Moved       bool          `json:"moved,omitempty"`
	Step        *Step         `json:"step,omitempty"`
	Fields      []FieldChange `json:"fields,omitempty"`
	ScriptDiff  string        `json:"scriptDiff,omitempty"`
}

// FieldChange is one field's old and new value (any JSON value); Hidden is
// set, and neither is shown, when the value is a secret.
type FieldChange struct {
	Field  string `json:"field"`
	Old    any    `json:"old,omitempty"`
	New    any    `json:"new,omitempty"`
	Hidden bool   `json:"hidden,omitempty"`
}

// VariableChange is a variable value (by name and scope) added, removed or
// changed; a value is shown only on a side where it is not sensitive.
type VariableChange struct {
	Name         string   `json:"name"`
	Environments []string `json:"environments,omitempty"`
	Change       string   `json:"change"`
	OldValue     *string  `json:"oldValue,omitempty"`
	NewValue     *string  `json:"newValue,omitempty"`
	OldSensitive bool     `json:"oldSensitive,omitempty"`
	NewSensitive bool     `json:"newSensitive,omitempty"`
}

// TemplateChange is a template added, removed or changed.
type TemplateChange struct {
	Name     string        `json:"name"`
	Change   string        `json:"change"`
	Type     string        `json:"type"`
	Required bool          `json:"required,omitempty"`
	Fields   []FieldChange `json:"fields,omitempty"`
}

// PackageChange is a package of the release added, removed or changed.
type PackageChange struct {
	ID     string      `json:"id"`
	Change string      `json:"change"`
	Old    *PackageRef `json:"old,omitempty"`
	New    *PackageRef `json:"new,omitempty"`
}

// Dashboard is one page of projects × environments, local and other
// spaces', each cell the latest release there and its state.
type Dashboard struct {
	Space        string         `json:"space"`
	Environments []string       `json:"environments"`
	Projects     []DashboardRow `json:"projects"`
	Total        int            `json:"total"`
	Offset       int            `json:"offset"`
	Limit        int            `json:"limit"`
}

// DashboardRow is a project's environments, in lifecycle order.
type DashboardRow struct {
	Project   string          `json:"project"`
	Lifecycle string          `json:"lifecycle"`
	Remote    bool            `json:"remote,omitempty"`
	Cells     []DashboardCell `json:"cells"`
}

// DashboardCell is the latest release in one environment (Version ""
// when none); From names the space whose receipt says so, for another
// space's environment.
type DashboardCell struct {
	Environment string     `json:"environment"`
	Remote      bool       `json:"remote,omitempty"`
	Version     string     `json:"version,omitempty"`
	State       TaskState  `json:"state,omitempty"`
	At          *time.Time `json:"at,omitempty"`
	AgeSeconds  int64      `json:"ageSeconds,omitempty"`
	DeployedBy  string     `json:"deployedBy,omitempty"`
	From        string     `json:"from,omitempty"`
	// Machines counts the deployment targets that ran it; absent when
	// not known (a receipt of a schema version before 3).
	Machines *int `json:"machines,omitempty"`
}

// Apply actions.
const (
	ActionRemove = "remove"
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionKeep   = "keep"
)

// ApplyResult answers Apply: every change (removals first), what was kept
// because the document did not mention it, and counts.
type ApplyResult struct {
	DryRun    bool     `json:"dryRun,omitempty"`
	Changes   []Change `json:"changes"`
	Kept      []Change `json:"kept,omitempty"`
	Created   []string `json:"created"`
	Updated   []string `json:"updated"`
	Unchanged int      `json:"unchanged"`
	Warnings  []string `json:"warnings,omitempty"`
}

// Change is one change apply makes (or would make). Kind is environment,
// remote environment, lifecycle, project, step, template or variable.
type Change struct {
	Action  string `json:"action"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Project string `json:"project,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// String reads as a sentence: `create step "Deploy" of project "Shop"`.
func (c Change) String() string {
	s := c.Action + " " + c.Kind + " " + c.Name
	if c.Project != "" {
		s += " of project \"" + c.Project + "\""
	}
	if c.Detail != "" {
		s += " (" + c.Detail + ")"
	}
	return s
}

// Package is a package version in a space's feed. Format is zip, nupkg,
// tar, tar.gz or file; Source is "push" or "transfer from <space>".
type Package struct {
	ID        string    `json:"id"`
	Version   string    `json:"version"`
	SHA256    string    `json:"sha256"`
	Size      int64     `json:"size"`
	Format    string    `json:"format"`
	Note      string    `json:"note,omitempty"`
	Chunks    int       `json:"chunks"`
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy"`
}

// PackageDetail is a package version and how it is stored.
type PackageDetail struct {
	Package
	Chunker      string `json:"chunker"`
	StoredBytes  int64  `json:"storedBytes"`
	Rebuild      string `json:"rebuild"`
	SharedChunks int    `json:"sharedChunks"`
	SharedBytes  int64  `json:"sharedBytes"`
}

// PushResult answers PushPackage: the package, and what storing it cost.
type PushResult struct {
	Package
	NewChunks       int   `json:"newChunks"`
	NewBytes        int64 `json:"newBytes"`
	AlreadyInFeed   bool  `json:"alreadyInFeed,omitempty"`
	StoredFromBytes int64 `json:"storedFromBytes"`
}

// PackageImport answers ImportPackages: what a transfer file brought.
type PackageImport struct {
	From          string       `json:"from"`
	Imported      []PackageRef `json:"imported"`
	AlreadyInFeed []PackageRef `json:"alreadyInFeed"`
	Chunks        int          `json:"chunks"`
	NewChunks     int          `json:"newChunks"`
	Bytes         int64        `json:"bytes"`
	Deltas        int          `json:"deltas"`     // packages rebuilt from deltas
	DeltaBytes    int64        `json:"deltaBytes"` // bytes of deltas carried
}

// TransferSummary says what a package transfer file carries (the
// X-Ferry-Transfer header of ExportPackages): sizes in bytes, chunk
// counts, the packages the target is assumed to hold and why.
type TransferSummary struct {
	To           string       `json:"to"`
	Packages     []PackageRef `json:"packages"`
	PackageBytes int64        `json:"packageBytes"`
	Chunks       int          `json:"chunks"`
	TotalChunks  int          `json:"totalChunks"`
	ChunkBytes   int64        `json:"chunkBytes"`
	Assumed      []PackageRef `json:"assumed"`
	Basis        string       `json:"basis"`
	// FileBytes is the size of the file written; a client fills it in.
	FileBytes int64 `json:"fileBytes,omitempty"`
	// SchemaVersion is the file's schema; Deltas counts the packages
	// carried as deltas, DeltaBytes their size.
	SchemaVersion int   `json:"schemaVersion"`
	Deltas        int   `json:"deltas"`
	DeltaBytes    int64 `json:"deltaBytes"`
}

// Health is a node's state: "ok", or "degraded" when its store does not
// answer (Error says so).
type Health struct {
	Status    string       `json:"status"`
	Version   string       `json:"version,omitempty"` // the server binary's (ferry version)
	Node      string       `json:"node,omitempty"`
	Store     string       `json:"store,omitempty"`
	Sandbox   string       `json:"sandbox,omitempty"`
	Exclusive []string     `json:"exclusive,omitempty"`
	Queue     *HealthQueue `json:"queue,omitempty"`
	Nodes     []HealthNode `json:"nodes,omitempty"`
	Error     string       `json:"error,omitempty"`
}

// HealthQueue counts tasks across all nodes.
type HealthQueue struct {
	Queued    int `json:"queued"`
	Executing int `json:"executing"`
}

// HealthNode is a server node that is alive.
type HealthNode struct {
	Name      string    `json:"name"`
	StartedAt time.Time `json:"startedAt"`
	SeenAt    time.Time `json:"seenAt"`
}
