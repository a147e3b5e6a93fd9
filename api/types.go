package api

import (
	"encoding/json"
	"time"
)

// Space is an isolated tenant of a server, with its own identity: a key
// pair and a self-signed X.509 certificate whose SHA-256 fingerprint
// (colon-separated upper-case hex) names it to other spaces.
type Space struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
}

// Environment is a stage a release is deployed to. A remote environment
// stands for an environment another space owns: its Name is
// "<remote space>: <environment>" and RemoteSpace names that space.
type Environment struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	RemoteSpace string    `json:"remoteSpace,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
}

// IsRemote reports whether the environment belongs to another space.
func (e Environment) IsRemote() bool { return e.RemoteSpace != "" }

// Lifecycle is an ordered list of phases a release moves through.
type Lifecycle struct {
	ID     int64   `json:"id"`
	Name   string  `json:"name"`
	Phases []Phase `json:"phases"`
}

// Phase lists the environments of one stage of a lifecycle: local ones,
// remote ones ("Prod Space: Production") or a whole remote space. As in
// Octopus, a release must succeed in all of them before the next phase
// opens, or in MinimumEnvironmentsBeforePromotion of them when that is
// set (> 0); an Optional phase may be skipped.
type Phase struct {
	Name                               string   `json:"name"`
	Environments                       []string `json:"environments"`
	MinimumEnvironmentsBeforePromotion int      `json:"minimumEnvironmentsBeforePromotion,omitempty"`
	Optional                           bool     `json:"optional,omitempty"`
	// Retention, when set, keeps only the newest KeepReleases releases
	// deployed to the phase (never one current in an environment, or with
	// a task that has not finished).
	Retention *Retention `json:"retention,omitempty"`
}

// Retention is a phase's release retention policy.
type Retention struct {
	KeepReleases int `json:"keepReleases"`
}

// Step is one action of a deployment process (type "script" or
// "deploy-package"), run in every environment unless Environments scopes
// it.
type Step struct {
	Name         string   `json:"name"`
	Type         string   `json:"type"`
	Environments []string `json:"environments,omitempty"`
	// Tenants and TenantTags ("SET/TAG") limit the step to some tenants.
	Tenants    []string `json:"tenants,omitempty"`
	TenantTags []string `json:"tenantTags,omitempty"`
	Script     string   `json:"script,omitempty"`
	// TimeoutSeconds bounds the step's run time; 0 means the server's default.
	TimeoutSeconds int `json:"timeoutSeconds,omitempty"`
	// Roles choose the deployment targets the step runs on (none: the
	// server's built-in worker), at most MaxParallelism at once (0: all);
	// SkipUnavailableTargets skips an offline target instead of failing.
	Roles                  []string `json:"roles,omitempty"`
	MaxParallelism         int      `json:"maxParallelism,omitempty"`
	SkipUnavailableTargets bool     `json:"skipUnavailableTargets,omitempty"`
	// A deploy-package step's package id, the folder it is extracted to,
	// the files whose #{...} are substituted, and scripts run before and
	// after it is put in place.
	Package     string   `json:"package,omitempty"`
	Destination string   `json:"destination,omitempty"`
	Substitute  []string `json:"substitute,omitempty"`
	PreDeploy   string   `json:"preDeploy,omitempty"`
	PostDeploy  string   `json:"postDeploy,omitempty"`
	// A manual-intervention step waits for a member of ResponsibleTeams
	// (or a space admin) to approve or abort after reading Instructions;
	// PreventSelfApproval keeps the deployer from approving; a wait longer
	// than TimeoutMinutes (> 0) is aborted.
	Instructions        string   `json:"instructions,omitempty"`
	ResponsibleTeams    []string `json:"responsibleTeams,omitempty"`
	PreventSelfApproval bool     `json:"preventSelfApproval,omitempty"`
	TimeoutMinutes      int      `json:"timeoutMinutes,omitempty"`
}

// Variable is one value of a project variable, for the environments it
// is scoped to (none: every one). A sensitive value is never answered:
// Value is then empty and IsSet says whether there is one.
type Variable struct {
	Name         string   `json:"name"`
	Value        string   `json:"value,omitempty"`
	Sensitive    bool     `json:"sensitive,omitempty"`
	IsSet        bool     `json:"isSet,omitempty"`
	Environments []string `json:"environments,omitempty"`
	// Tenants and TenantTags ("SET/TAG") limit the value to some tenants.
	Tenants    []string `json:"tenants,omitempty"`
	TenantTags []string `json:"tenantTags,omitempty"`
}

// MarshalJSON writes a variable as a server does: a plain one with its
// value (even ""), a sensitive one without a value but with isSet.
func (v Variable) MarshalJSON() ([]byte, error) {
	if !v.Sensitive {
		return json.Marshal(struct {
			Name         string   `json:"name"`
			Value        string   `json:"value"`
			Environments []string `json:"environments,omitempty"`
			Tenants      []string `json:"tenants,omitempty"`
			TenantTags   []string `json:"tenantTags,omitempty"`
		}{v.Name, v.Value, v.Environments, v.Tenants, v.TenantTags})
	}
	return json.Marshal(struct {
		Name         string   `json:"name"`
		Sensitive    bool     `json:"sensitive"`
		IsSet        bool     `json:"isSet"`
		Environments []string `json:"environments,omitempty"`
		Tenants      []string `json:"tenants,omitempty"`
		TenantTags   []string `json:"tenantTags,omitempty"`
	}{v.Name, true, v.IsSet, v.Environments, v.Tenants, v.TenantTags})
}

// HasValue reports whether the variable has a value, shown or not.
func (v Variable) HasValue() bool { return v.Value != "" || v.IsSet }

// Template declares a value a project needs per environment. Type is
// text, sensitive, bool, select (one of Options) or multiline.
type Template struct {
	Name     string   `json:"name"`
	Label    string   `json:"label,omitempty"`
	Help     string   `json:"help,omitempty"`
	Type     string   `json:"type"`
	Required bool     `json:"required,omitempty"`
	Default  string   `json:"default,omitempty"`
	Options  []string `json:"options,omitempty"`
}

// Project is a deployment process, its variables and templates, and the
// lifecycle its releases follow. A remote project (imported from another
// space's bundle, named "<origin space>: <project>") has an Origin.
type Project struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Lifecycle string     `json:"lifecycle"`
	Process   []Step     `json:"process"`
	Variables []Variable `json:"variables"`
	Templates []Template `json:"templates"`
	Channels  []Channel  `json:"channels,omitempty"`
	Triggers  []Trigger  `json:"triggers,omitempty"`
	// TenantedDeployments is untenanted, tenanted or both ("": not set,
	// which deploys untenanted or for tenants).
	TenantedDeployments string         `json:"tenantedDeployments,omitempty"`
	Origin              *ProjectOrigin `json:"origin,omitempty"`
	CreatedAt           time.Time      `json:"createdAt"`
	UpdatedAt           time.Time      `json:"updatedAt"`
}

// Channel sorts a project's releases: those in it follow Lifecycle (""
// the project's), and the package versions they pin keep its Rules.
type Channel struct {
	Name      string        `json:"name"`
	Lifecycle string        `json:"lifecycle,omitempty"`
	Default   bool          `json:"default,omitempty"`
	Rules     []ChannelRule `json:"rules,omitempty"`
}

// ChannelRule constrains one package's version: VersionRange in NuGet's
// notation ("[1.0,2.0)"), Tag a .NET regular expression on its
// pre-release tag ("^$": none).
type ChannelRule struct {
	Package      string `json:"package"`
	VersionRange string `json:"versionRange,omitempty"`
	Tag          string `json:"tag,omitempty"`
}

// Trigger deploys on its own: type "schedule" (Cron in Timezone, the
// latest release that succeeded in SourceEnvironment to Environment) or
// "on-arrival" (each release of a remote project that arrives, to
// Environment).
type Trigger struct {
	Name              string `json:"name"`
	Type              string `json:"type"`
	Cron              string `json:"cron,omitempty"`
	Timezone          string `json:"timezone,omitempty"`
	SourceEnvironment string `json:"sourceEnvironment,omitempty"`
	Environment       string `json:"environment"`
	// SetBy is the user who last set the trigger with apply; its
	// deployments are made on that user's behalf (four eyes).
	SetBy string `json:"setBy,omitempty"`
}

// TriggerFiring is what a trigger did when it last fired.
type TriggerFiring struct {
	At      time.Time  `json:"at"`
	Due     *time.Time `json:"due,omitempty"`
	OK      bool       `json:"ok"`
	Version string     `json:"version,omitempty"`
	TaskID  int64      `json:"taskId,omitempty"`
	Result  string     `json:"result"`
}

// TriggerStatus is a trigger, when it is next due (schedules), what it
// did last, and the state of the task it queued then.
type TriggerStatus struct {
	Trigger
	NextDue   *time.Time     `json:"nextDue,omitempty"`
	Last      *TriggerFiring `json:"last,omitempty"`
	TaskState TaskState      `json:"taskState,omitempty"`
}

// ProjectOrigin is where a remote project comes from.
type ProjectOrigin struct {
	Space       string `json:"space"`
	Project     string `json:"project"`
	Fingerprint string `json:"fingerprint"`
}

// VariableList is a project's variables and templates.
type VariableList struct {
	Variables []Variable `json:"variables"`
	Templates []Template `json:"templates"`
}

// Snapshot is what a release froze when it was created.
type Snapshot struct {
	Process   []Step       `json:"process"`
	Variables []Variable   `json:"variables"`
	Templates []Template   `json:"templates"`
	Packages  []PackageRef `json:"packages,omitempty"`
	// Spaces names, in a release imported from a bundle, the spaces its
	// "<space>: <environment>" scopes mean (pinned by fingerprint).
	Spaces []SpaceRef `json:"spaces,omitempty"`
	// Forward are sensitive values for spaces further along, sealed to
	// them (age): this space cannot read them and passes them on.
	Forward []ForwardValue `json:"forward,omitempty"`
}

// PackageRef is a package version pinned by content: SHA-256 in hex, size
// in bytes.
type PackageRef struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
}

// SpaceRef names a space and pins its certificate's fingerprint.
type SpaceRef struct {
	Space       string `json:"space"`
	Fingerprint string `json:"fingerprint"`
}

// ForwardValue is a sensitive value sealed to the space with fingerprint
// For.
type ForwardValue struct {
	Name         string   `json:"name"`
	For          string   `json:"for"`
	Environments []string `json:"environments"`
	Sealed       string   `json:"sealed"`
}

// Release is an immutable version of a project.
type Release struct {
	ID       int64    `json:"id"`
	Project  string   `json:"project"`
	Version  string   `json:"version"`
	Notes    string   `json:"notes,omitempty"`
	Channel  string   `json:"channel,omitempty"`
	Snapshot Snapshot `json:"snapshot"`
	// SnapshotDigest is "sha256:<hex>" over the canonical snapshot
	// (docs/snapshots.md) as the creating space froze it.
	SnapshotDigest string `json:"snapshotDigest"`
	// Provenance is set on a release imported from a bundle.
	Provenance *Provenance `json:"provenance,omitempty"`
	CreatedAt  time.Time   `json:"createdAt"`
	CreatedBy  string      `json:"createdBy"`
}

// Provenance says where an imported release came from.
type Provenance struct {
	BundleDigest      string              `json:"bundleDigest"`
	SourceSpace       string              `json:"sourceSpace"`
	SourceFingerprint string              `json:"sourceFingerprint"`
	TargetName        string              `json:"targetName"`
	ImportedAt        time.Time           `json:"importedAt"`
	ImportedBy        string              `json:"importedBy"`
	History           []DeploymentSummary `json:"history,omitempty"`
}

// DeploymentSummary is a deployment done in another space, as a bundle
// carries it.
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

// TaskState is where a task (and so a deployment) is in its life.
type TaskState string

const (
	TaskQueued    TaskState = "Queued"
	TaskExecuting TaskState = "Executing"
	TaskWaiting   TaskState = "Waiting" // for a manual intervention
	TaskSuccess   TaskState = "Success"
	TaskFailed    TaskState = "Failed"
	TaskCancelled TaskState = "Cancelled"
)

// Done reports whether the state is final.
func (s TaskState) Done() bool {
	return s == TaskSuccess || s == TaskFailed || s == TaskCancelled
}

// Task is a unit of background work with a log; deployments run as tasks.
type Task struct {
	ID              int64     `json:"id"`
	Space           string    `json:"space"`
	Kind            string    `json:"kind"`
	Description     string    `json:"description"`
	State           TaskState `json:"state"`
	Error           string    `json:"error,omitempty"`
	DeploymentID    int64     `json:"deploymentId,omitempty"`
	Project         string    `json:"project,omitempty"`
	CancelRequested bool      `json:"cancelRequested,omitempty"`
	// CancelRequestedAt is when a cancel was first requested.
	CancelRequestedAt *time.Time `json:"cancelRequestedAt,omitempty"`
	QueuedAt          time.Time  `json:"queuedAt"`
	StartedAt         *time.Time `json:"startedAt,omitempty"`
	FinishedAt        *time.Time `json:"finishedAt,omitempty"`
	Node              string     `json:"node,omitempty"`
	// Note says what the state alone does not: "Cancellation was requested
	// at T but the task had already finished its last step; it ended
	// Success" for a cancel that came too late.
	Note string `json:"note,omitempty"`
	// Intervention is what a Waiting task waits for.
	Intervention *Intervention `json:"intervention,omitempty"`
}

// Intervention is a manual-intervention step a deployment reached: what it
// asks of whom, since when, until when, and what was decided.
type Intervention struct {
	ID                  int64      `json:"id"`
	TaskID              int64      `json:"taskId"`
	StepIndex           int        `json:"stepIndex"`
	Step                string     `json:"step"`
	Instructions        string     `json:"instructions"`
	ResponsibleTeams    []string   `json:"responsibleTeams"`
	PreventSelfApproval bool       `json:"preventSelfApproval,omitempty"`
	Deployer            string     `json:"deployer"`
	Since               time.Time  `json:"since"`
	TimeoutAt           *time.Time `json:"timeoutAt,omitempty"`
	Decision            string     `json:"decision,omitempty"`
	DecidedBy           string     `json:"decidedBy,omitempty"`
	DecidedAt           *time.Time `json:"decidedAt,omitempty"`
	Note                string     `json:"note,omitempty"`
}

// LogLine is one line of a task's log (secrets masked); Level is "info"
// or "error".
type LogLine struct {
	Seq   int64     `json:"seq"`
	At    time.Time `json:"at"`
	Level string    `json:"level"`
	Text  string    `json:"text"`
}

// TaskLog is a task and the lines of its log after the one asked for.
type TaskLog struct {
	Task  Task      `json:"task"`
	Lines []LogLine `json:"lines"`
}

// Deployment is a release deployed to one environment, run as a task. A
// deployment in another space, known from its receipt, has Space (that
// space, as this one names it) and ReceivedFrom (who handed the receipt
// over).
type Deployment struct {
	ID          int64      `json:"id"`
	Project     string     `json:"project"`
	Version     string     `json:"version"`
	Environment string     `json:"environment"`
	Tenant      string     `json:"tenant,omitempty"`
	TaskID      int64      `json:"taskId"`
	State       TaskState  `json:"state"`
	CreatedAt   time.Time  `json:"createdAt"`
	StartedAt   *time.Time `json:"startedAt,omitempty"`
	FinishedAt  *time.Time `json:"finishedAt,omitempty"`
	CreatedBy   string     `json:"createdBy"`
	// Targets and ExcludeTargets limit the deployment to some targets;
	// Machines counts the targets that ran a step of it (across a manual
	// intervention, the larger of the counts before and after it).
	Targets        []string `json:"targets,omitempty"`
	ExcludeTargets []string `json:"excludeTargets,omitempty"`
	Machines       int      `json:"machines,omitempty"`
	// OnBehalfOf: for a deployment a trigger made, who set the trigger.
	OnBehalfOf   string `json:"onBehalfOf,omitempty"`
	Space        string `json:"space,omitempty"`
	ReceivedFrom string `json:"receivedFrom,omitempty"`
}

// AuditEvent records who changed what, when.
type AuditEvent struct {
	ID      int64             `json:"id"`
	Space   string            `json:"space,omitempty"`
	At      time.Time         `json:"at"`
	Actor   string            `json:"actor"`
	Action  string            `json:"action"`
	Subject string            `json:"subject"`
	Project string            `json:"project,omitempty"`
	Details map[string]string `json:"details,omitempty"`
}

// User is a person or a script that calls the API.
type User struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	IsAdmin   bool      `json:"isAdmin"`
	CreatedAt time.Time `json:"createdAt"`
}

// APIKey is a named, revocable credential of a user (never the key).
type APIKey struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"createdAt"`
	LastUsed  *time.Time `json:"lastUsed,omitempty"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
}

// Team grants one role in a space to its members, optionally limited to
// some projects and environments (empty: all).
type Team struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	Projects     []string  `json:"projects"`
	Environments []string  `json:"environments"`
	Members      []string  `json:"members"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// Deleted is the answer of a delete: the thing and what went with it.
type Deleted struct {
	Kind    string  `json:"kind"` // environment, lifecycle, project, release, package, variable, user, team, space, remote-space
	Name    string  `json:"name"`
	Removed Removal `json:"removed"`
}

// Removal counts what a delete or a retention run removed; zero counts
// are left out.
type Removal struct {
	Projects          int   `json:"projects,omitempty"`
	Releases          int   `json:"releases,omitempty"`
	Deployments       int   `json:"deployments,omitempty"`
	Tasks             int   `json:"tasks,omitempty"`
	LogLines          int   `json:"logLines,omitempty"`
	Receipts          int   `json:"receipts,omitempty"`
	Environments      int   `json:"environments,omitempty"`
	Packages          int   `json:"packages,omitempty"`          // package versions
	Variables         int   `json:"variables,omitempty"`         // variable values
	TenantConnections int   `json:"tenantConnections,omitempty"` // a tenant connected to a project in an environment
	Deliveries        int   `json:"deliveries,omitempty"`        // queued deliveries dropped
	Chunks            int   `json:"chunks,omitempty"`
	ChunkBytes        int64 `json:"chunkBytes,omitempty"`
}

// RetentionReport is what a retention run removed (with DryRun, would
// remove; chunks are counted only when removed).
type RetentionReport struct {
	DryRun   bool             `json:"dryRun"`
	Releases []RemovedRelease `json:"releases"`
	Packages []RemovedPackage `json:"packages"`
	Removed  Removal          `json:"removed"`
	// Kept counts releases a policy lets go that stay: current in an
	// environment, with a task not finished, or on their way to a space.
	Kept int `json:"kept"`
}

// RemovedRelease is a release a retention run removed.
type RemovedRelease struct {
	Space   string `json:"space"`
	Project string `json:"project"`
	Version string `json:"version"`
}

// RemovedPackage is a package version a retention run removed.
type RemovedPackage struct {
	Space   string `json:"space"`
	ID      string `json:"id"`
	Version string `json:"version"`
}
