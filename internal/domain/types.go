package domain

import (
	"encoding/json"
	"fmt"
	"time"
)

// DefaultSpace is the space every new server starts with.
const DefaultSpace = "Default"

// Space is an isolated tenant of a server.
type Space struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
}

// Environment is a stage a release is deployed to. A remote environment is a
// placeholder for an environment owned by another space; its Name is
// "<remote space>: <environment>".
type Environment struct {
	ID          int64     `json:"id"`
	SpaceID     int64     `json:"-"`
	Name        string    `json:"name"`
	RemoteSpace string    `json:"remoteSpace,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
}

// IsRemote reports whether the environment belongs to another space.
func (e Environment) IsRemote() bool { return e.RemoteSpace != "" }

// Lifecycle is an ordered list of phases a release moves through.
type Lifecycle struct {
	ID      int64   `json:"id"`
	SpaceID int64   `json:"-"`
	Name    string  `json:"name"`
	Phases  []Phase `json:"phases"`
}

// Phase lists the environments of one stage of a lifecycle, and what
// opens the next stage (Octopus's rules; see Lifecycle.Blocker).
type Phase struct {
	Name         string   `json:"name" yaml:"name"`
	Environments []string `json:"environments" yaml:"environments"`
	// Retention, when set, limits how many releases deployed to the
	// phase are kept (internal/retention).
	Retention *Retention `json:"retention,omitempty" yaml:"retention,omitempty"`
	// MinimumEnvironmentsBeforePromotion is how many of the phase's
	// environments a release must succeed in before the next phase opens;
	// 0 means all of them (Octopus's default).
	MinimumEnvironmentsBeforePromotion int `json:"minimumEnvironmentsBeforePromotion,omitempty" yaml:"minimumEnvironmentsBeforePromotion,omitempty"`
	// Optional lets a release skip the phase: it never blocks a later one.
	Optional bool `json:"optional,omitempty" yaml:"optional,omitempty"`
}

// Required is how many of the phase's entries must succeed before the next
// phase opens.
func (ph Phase) Required() int {
	if n := ph.MinimumEnvironmentsBeforePromotion; n > 0 && n < len(ph.Environments) {
		return n
	}
	return len(ph.Environments)
}

// Pending lists the phase's entries that have not succeeded, in order.
func (ph Phase) Pending(succeeded func(entry string) bool) []string {
	var out []string
	for _, e := range ph.Environments {
		if !succeeded(e) {
			out = append(out, e)
		}
	}
	return out
}

// PhaseOf returns the index of the phase that holds env, or -1.
func (l Lifecycle) PhaseOf(env string) int {
	for i, p := range l.Phases {
		for _, e := range p.Environments {
			if e == env {
				return i
			}
		}
	}
	return -1
}

// Step types.
const (
	StepScript             = "script"
	StepDeployPackage      = "deploy-package"
	StepManualIntervention = "manual-intervention"
)

// Step is one action of a deployment process.
type Step struct {
	Name         string   `json:"name" yaml:"name"`
	Type         string   `json:"type" yaml:"type"`
	Environments []string `json:"environments,omitempty" yaml:"environments,omitempty"`
	// Tenants and TenantTags ("SET/TAG") limit the step to some tenants'
	// deployments (SPEC §6); a step scoped so never runs untenanted.
	Tenants    []string `json:"tenants,omitempty" yaml:"tenants,omitempty"`
	TenantTags []string `json:"tenantTags,omitempty" yaml:"tenantTags,omitempty"`
	Script     string   `json:"script,omitempty" yaml:"script,omitempty"`
	// TimeoutSeconds bounds the step's run time; 0 means the server default.
	TimeoutSeconds int `json:"timeoutSeconds,omitempty" yaml:"timeoutSeconds,omitempty"`

	// Roles choose the deployment targets the step runs on (SPEC §5): every
	// enabled target of the environment with one of them, at most
	// MaxParallelism at once (0: all); none runs it on the built-in worker.
	// SkipUnavailableTargets skips an offline target instead of failing.
	Roles                  []string `json:"roles,omitempty" yaml:"roles,omitempty"`
	MaxParallelism         int      `json:"maxParallelism,omitempty" yaml:"maxParallelism,omitempty"`
	SkipUnavailableTargets bool     `json:"skipUnavailableTargets,omitempty" yaml:"skipUnavailableTargets,omitempty"`

	// A deploy-package step fetches Package (an id; the release pins its
	// version) from the space's feed, extracts it to Destination
	// (substituted), substitutes variables in the Substitute files, and runs
	// PreDeploy before activating it and PostDeploy after, in the folder.
	Package     string   `json:"package,omitempty" yaml:"package,omitempty"`
	Destination string   `json:"destination,omitempty" yaml:"destination,omitempty"`
	Substitute  []string `json:"substitute,omitempty" yaml:"substitute,omitempty"`
	PreDeploy   string   `json:"preDeploy,omitempty" yaml:"preDeploy,omitempty"`
	PostDeploy  string   `json:"postDeploy,omitempty" yaml:"postDeploy,omitempty"`

	// A manual-intervention step waits for a person: a member of one of
	// ResponsibleTeams (teams of the deploying space; none: anyone who may
	// deploy the project there) or a space admin approves or aborts, after
	// reading Instructions. With PreventSelfApproval the person who started
	// the deployment may not approve it; TimeoutMinutes > 0 aborts a wait
	// nobody answered.
	Instructions        string   `json:"instructions,omitempty" yaml:"instructions,omitempty"`
	ResponsibleTeams    []string `json:"responsibleTeams,omitempty" yaml:"responsibleTeams,omitempty"`
	PreventSelfApproval bool     `json:"preventSelfApproval,omitempty" yaml:"preventSelfApproval,omitempty"`
	TimeoutMinutes      int      `json:"timeoutMinutes,omitempty" yaml:"timeoutMinutes,omitempty"`
}

// AppliesTo reports whether the step runs in env (unscoped steps run everywhere).
func (s Step) AppliesTo(env string) bool { return scopeMatches(s.Environments, env) }

// TenantScope is the step's scope of tenants.
func (s Step) TenantScope() TenantScope {
	return TenantScope{Tenants: s.Tenants, TenantTags: s.TenantTags}
}

// TenantScoped reports whether the variable is limited to tenants by name
// (such values stay behind when a release is promoted).
func (v Variable) TenantScoped() bool { return len(v.Tenants) > 0 }

// Variable is one value of a project variable. Sensitive values are held in
// plaintext only in memory: the store seals them, and JSON encoding leaves
// them out (see MarshalJSON), so no API response can carry one.
type Variable struct {
	Name         string   `json:"name" yaml:"name"`
	Value        string   `json:"value" yaml:"value"`
	Sensitive    bool     `json:"sensitive,omitempty" yaml:"sensitive,omitempty"`
	Environments []string `json:"environments,omitempty" yaml:"environments,omitempty"`
	// Tenants and TenantTags ("SET/TAG") limit the value to some tenants'
	// deployments (SPEC §6): one dimension, as in Octopus.
	Tenants    []string `json:"tenants,omitempty" yaml:"tenants,omitempty"`
	TenantTags []string `json:"tenantTags,omitempty" yaml:"tenantTags,omitempty"`

	// hiddenSet records, for a sensitive variable decoded from JSON, that the
	// writer had a value it did not send.
	hiddenSet bool
}

// HasValue reports whether the variable has a value, including a sensitive
// value that was withheld from the JSON it was read from.
func (v Variable) HasValue() bool { return v.Value != "" || v.hiddenSet }

// MarshalJSON hides the value of a sensitive variable. This is the single
// guard that keeps secrets out of every JSON document ferry writes for
// people (API responses, CLI output); stores use their own encoding.
func (v Variable) MarshalJSON() ([]byte, error) {
	type plain Variable
	if !v.Sensitive {
		return json.Marshal(plain(v))
	}
	return json.Marshal(struct {
		Name         string   `json:"name"`
		Sensitive    bool     `json:"sensitive"`
		IsSet        bool     `json:"isSet"`
		Environments []string `json:"environments,omitempty"`
		Tenants      []string `json:"tenants,omitempty"`
		TenantTags   []string `json:"tenantTags,omitempty"`
	}{v.Name, true, v.HasValue(), v.Environments, v.Tenants, v.TenantTags})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (v *Variable) UnmarshalJSON(data []byte) error {
	type plain Variable
	var in struct {
		plain
		IsSet bool `json:"isSet"`
	}
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	*v = Variable(in.plain)
	v.hiddenSet = in.Sensitive && in.IsSet
	return nil
}

// Template types.
const (
	TemplateText      = "text"
	TemplateSensitive = "sensitive"
	TemplateBool      = "bool"
	TemplateSelect    = "select"
	TemplateMultiline = "multiline"
)

// Template declares a value a project needs per environment.
type Template struct {
	Name     string   `json:"name" yaml:"name"`
	Label    string   `json:"label,omitempty" yaml:"label,omitempty"`
	Help     string   `json:"help,omitempty" yaml:"help,omitempty"`
	Type     string   `json:"type" yaml:"type"`
	Required bool     `json:"required,omitempty" yaml:"required,omitempty"`
	Default  string   `json:"default,omitempty" yaml:"default,omitempty"`
	Options  []string `json:"options,omitempty" yaml:"options,omitempty"`
}

// Project is a deployment process, its variables and templates, and the
// lifecycle its releases follow.
type Project struct {
	ID        int64      `json:"id"`
	SpaceID   int64      `json:"-"`
	Name      string     `json:"name"`
	Lifecycle string     `json:"lifecycle"`
	Process   []Step     `json:"process"`
	Variables []Variable `json:"variables"`
	Templates []Template `json:"templates"`
	// TenantedDeployments says whether the project deploys untenanted
	// (""/untenanted, as before tenants), only for tenants, or both.
	TenantedDeployments string `json:"tenantedDeployments,omitempty"`
	// Channels sort releases (none: every release is in the project's
	// implicit default channel); Triggers deploy on their own. Both are
	// this space's settings and never travel in bundles.
	Channels []Channel `json:"channels,omitempty"`
	Triggers []Trigger `json:"triggers,omitempty"`
	// Origin is set on remote projects, created by importing a bundle.
	Origin    *ProjectOrigin `json:"origin,omitempty"`
	CreatedAt time.Time      `json:"createdAt"`
	UpdatedAt time.Time      `json:"updatedAt"`
}

// IsRemote reports whether the project was imported from another space.
func (p Project) IsRemote() bool { return p.Origin != nil }

// LifecycleOf is the lifecycle a release in channel follows: the channel's
// when the project has a channel of that name with a lifecycle, else the
// project's.
func (p Project) LifecycleOf(channel string) string {
	if ch, ok := p.Channel(channel); ok && ch.Lifecycle != "" {
		return ch.Lifecycle
	}
	return p.Lifecycle
}

// Channel finds a channel by name.
func (p Project) Channel(name string) (Channel, bool) {
	for _, ch := range p.Channels {
		if ch.Name == name {
			return ch, true
		}
	}
	return Channel{}, false
}

// DefaultChannel is the channel a release goes to when none is named; ok
// is false for a project without channels.
func (p Project) DefaultChannel() (Channel, bool) {
	for _, ch := range p.Channels {
		if ch.Default {
			return ch, true
		}
	}
	return Channel{}, false
}

// Channel is Octopus's channel: releases in it follow Lifecycle (empty:
// the project's), and the package versions a release pins must satisfy
// its Rules. One channel of a project that has channels is the Default.
type Channel struct {
	Name      string        `json:"name" yaml:"name"`
	Lifecycle string        `json:"lifecycle,omitempty" yaml:"lifecycle,omitempty"`
	Default   bool          `json:"default,omitempty" yaml:"default,omitempty"`
	Rules     []ChannelRule `json:"rules,omitempty" yaml:"rules,omitempty"`
}

// ChannelRule constrains the version of one package a release pins:
// VersionRange in NuGet's interval notation ("[1.0,2.0)", "1.0" meaning at
// least 1.0), Tag a regular expression (.NET syntax, as Octopus's) on the
// version's pre-release tag and metadata ("^$": a plain release).
type ChannelRule struct {
	Package      string `json:"package" yaml:"package"`
	VersionRange string `json:"versionRange,omitempty" yaml:"versionRange,omitempty"`
	Tag          string `json:"tag,omitempty" yaml:"tag,omitempty"`
}

// Trigger types.
const (
	TriggerSchedule  = "schedule"
	TriggerOnArrival = "on-arrival"
)

// Trigger deploys on its own. A schedule trigger deploys, at each time its
// Cron names in Timezone, the latest release that succeeded in
// SourceEnvironment to Environment; an on-arrival trigger deploys each
// release of a remote project that arrives from another space (connected
// delivery or bundle import) to Environment.
type Trigger struct {
	Name              string `json:"name" yaml:"name"`
	Type              string `json:"type" yaml:"type"`
	Cron              string `json:"cron,omitempty" yaml:"cron,omitempty"`
	Timezone          string `json:"timezone,omitempty" yaml:"timezone,omitempty"`
	SourceEnvironment string `json:"sourceEnvironment,omitempty" yaml:"sourceEnvironment,omitempty"`
	Environment       string `json:"environment" yaml:"environment"`
	// SetBy is the user who last set the trigger (added or changed it)
	// with apply: its deployments are made on that user's behalf, and
	// four eyes keep them from approving them. The server stamps it;
	// documents neither carry nor set it.
	SetBy string `json:"setBy,omitempty" yaml:"-"`
}

// TriggerFiring is what a trigger did the last time it fired: deployed
// Version (a deployment queued as TaskID), or not, and why (Result).
type TriggerFiring struct {
	At      time.Time  `json:"at"`
	Due     *time.Time `json:"due,omitempty"` // the due time a schedule trigger fired for
	OK      bool       `json:"ok"`
	Version string     `json:"version,omitempty"`
	TaskID  int64      `json:"taskId,omitempty"`
	Result  string     `json:"result"`
}

// TriggerActor is the actor a trigger's firing acts as: the deployment's
// creator and the audit events name it, on behalf of the user who set it.
func TriggerActor(tr Trigger) Actor {
	return Actor{Name: "trigger:" + tr.Name, IsAdmin: true, OnBehalfOf: tr.SetBy}
}

// Snapshot is what a release freezes at creation: the process, variables and
// templates exactly as they were.
type Snapshot struct {
	Process   []Step     `json:"process"`
	Variables []Variable `json:"variables"`
	Templates []Template `json:"templates"`
	// Packages are the package versions the release deploys, chosen when
	// it is created (release create --package ID:VERSION).
	Packages []PackageRef `json:"packages,omitempty"`

	// Spaces says, in a release imported from a bundle, which space each
	// "<space>: <environment>" scope names (by fingerprint, since names are
	// each space's own): the spaces the release may travel on to. Empty
	// for a space's own releases, whose scopes use its remote spaces' names.
	Spaces []SpaceRef `json:"spaces,omitempty"`
	// Forward are sensitive values for those spaces, sealed to each by the
	// space that promoted the release: this space cannot read them, and
	// passes them on unchanged.
	Forward []ForwardValue `json:"forward,omitempty"`
}

// SpaceRef names a space and pins its certificate's fingerprint.
type SpaceRef struct {
	Space       string `json:"space"`
	Fingerprint string `json:"fingerprint"`
}

// ForwardValue is a sensitive value a release carries for a space further
// along its path, age-encrypted to that space (For, a fingerprint).
type ForwardValue struct {
	Name         string   `json:"name"`
	For          string   `json:"for"`
	Environments []string `json:"environments"`
	Sealed       string   `json:"sealed"`
}

// Release is an immutable version of a project.
type Release struct {
	ID        int64    `json:"id"`
	ProjectID int64    `json:"-"`
	Project   string   `json:"project"`
	Version   string   `json:"version"`
	Notes     string   `json:"notes,omitempty"`
	Channel   string   `json:"channel,omitempty"`
	Snapshot  Snapshot `json:"snapshot"`
	// SnapshotDigest identifies the snapshot as it was frozen in the space
	// that created the release; an imported release carries its origin's.
	SnapshotDigest string `json:"snapshotDigest"`
	// Provenance is set on releases imported from a bundle.
	Provenance *Provenance `json:"provenance,omitempty"`
	CreatedAt  time.Time   `json:"createdAt"`
	CreatedBy  string      `json:"createdBy"`
}

// TaskState is where a task is in its life.
type TaskState string

const (
	TaskQueued    TaskState = "Queued"
	TaskExecuting TaskState = "Executing"
	// TaskWaiting: a manual intervention waits for a person; no worker
	// holds the task meanwhile.
	TaskWaiting   TaskState = "Waiting"
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
	ID           int64     `json:"id"`
	SpaceID      int64     `json:"-"`
	Space        string    `json:"space"`
	Kind         string    `json:"kind"`
	Description  string    `json:"description"`
	State        TaskState `json:"state"`
	Error        string    `json:"error,omitempty"`
	DeploymentID int64     `json:"deploymentId,omitempty"`
	// Project is the project a deployment task deploys ("" for other tasks).
	Project         string `json:"project,omitempty"`
	CancelRequested bool   `json:"cancelRequested,omitempty"`
	// CancelRequestedAt is when a cancel was first requested (nil: never,
	// or before ferry recorded it).
	CancelRequestedAt *time.Time `json:"cancelRequestedAt,omitempty"`
	QueuedAt          time.Time  `json:"queuedAt"`
	StartedAt         *time.Time `json:"startedAt,omitempty"`
	FinishedAt        *time.Time `json:"finishedAt,omitempty"`
	Node              string     `json:"node,omitempty"`
	// Note says what the state alone does not: that a cancel came too late
	// (LateCancel). It is derived when the task is read, never stored.
	Note string `json:"note,omitempty"`
	// Intervention is what a Waiting task waits for.
	Intervention *Intervention `json:"intervention,omitempty"`
}

// LateCancel is, for a task that ended other than Cancelled although a
// person requested a cancel (CancelRequestedAt is set), the sentence that
// says so — the cancel arrived as its last step finished, after it could
// take effect, as Octopus reports a cancellation that came too late — and
// "" otherwise. (A task failed because its node died is flagged for
// cancellation without a time: it gets no note.)
func (t Task) LateCancel() string {
	if !t.CancelRequested || t.CancelRequestedAt == nil || !t.State.Done() || t.State == TaskCancelled {
		return ""
	}
	at := t.CancelRequestedAt.UTC().Format(time.RFC3339)
	if t.State == TaskSuccess {
		return fmt.Sprintf("Cancellation was requested at %s but the task had already finished its last step; it ended Success", at)
	}
	return fmt.Sprintf("Cancellation was requested at %s but the task failed before the cancel took effect; it ended %s", at, t.State)
}

// Intervention is a manual-intervention step reached by a deployment: what
// it asks, of whom, and what was decided.
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
	Decision            string     `json:"decision,omitempty"` // "" while it waits; see Decision*
	DecidedBy           string     `json:"decidedBy,omitempty"`
	DecidedAt           *time.Time `json:"decidedAt,omitempty"`
	Note                string     `json:"note,omitempty"`
}

// What became of a manual intervention.
const (
	DecisionApproved  = "approved"
	DecisionAborted   = "aborted"
	DecisionTimedOut  = "timed-out"
	DecisionCancelled = "cancelled"
)

// Task kinds.
const TaskDeploy = "deploy"

// LogLine is one line of a task's log.
type LogLine struct {
	Seq   int64     `json:"seq"`
	At    time.Time `json:"at"`
	Level string    `json:"level"`
	Text  string    `json:"text"`
}

// Deployment is a release deployed to one environment, run as a task.
type Deployment struct {
	ID          int64      `json:"id"`
	SpaceID     int64      `json:"-"`
	ProjectID   int64      `json:"-"`
	Project     string     `json:"project"`
	ReleaseID   int64      `json:"-"`
	Version     string     `json:"version"`
	Environment string     `json:"environment"`
	Tenant      string     `json:"tenant,omitempty"`
	TaskID      int64      `json:"taskId"`
	State       TaskState  `json:"state"`
	CreatedAt   time.Time  `json:"createdAt"`
	StartedAt   *time.Time `json:"startedAt,omitempty"`
	FinishedAt  *time.Time `json:"finishedAt,omitempty"`
	CreatedBy   string     `json:"createdBy"`
	// Targets and ExcludeTargets limit the deployment to some targets
	// (deploy --target, --exclude-target); Machines counts the targets
	// that ran a step of it (across a manual intervention, the larger of
	// the counts before and after it: which ran before is not kept).
	Targets        []string `json:"targets,omitempty"`
	ExcludeTargets []string `json:"excludeTargets,omitempty"`
	Machines       int      `json:"machines,omitempty"`
	// OnBehalfOf is, for a deployment a trigger made (CreatedBy
	// "trigger:<name>"), the user who set the trigger.
	OnBehalfOf string `json:"onBehalfOf,omitempty"`
	// Space is set on a deployment in another space, which this space
	// knows from a receipt: that space, as this space names it (Environment
	// is then "<Space>: <its environment>"). ReceivedFrom names the space
	// that handed the receipt over (the same one, or a relay).
	Space        string `json:"space,omitempty"`
	ReceivedFrom string `json:"receivedFrom,omitempty"`
}

// User is a person or a script that calls the API.
type User struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	IsAdmin   bool      `json:"isAdmin"`
	CreatedAt time.Time `json:"createdAt"`
}

// APIKey is a named, revocable credential of a user. Only its hash is stored.
type APIKey struct {
	ID        int64      `json:"id"`
	UserID    int64      `json:"-"`
	Name      string     `json:"name"`
	Hash      string     `json:"-"`
	CreatedAt time.Time  `json:"createdAt"`
	LastUsed  *time.Time `json:"lastUsed,omitempty"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
}

// AuditEvent records who changed what, when.
type AuditEvent struct {
	ID      int64     `json:"id"`
	SpaceID int64     `json:"-"`
	Space   string    `json:"space,omitempty"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	Subject string    `json:"subject"`
	// Project is the project the event is about, "" for space-wide and
	// system-wide events: only those who may view it see the event.
	Project string            `json:"project,omitempty"`
	Details map[string]string `json:"details,omitempty"`
}

func scopeMatches(scope []string, env string) bool {
	if len(scope) == 0 {
		return true
	}
	for _, e := range scope {
		if e == env {
			return true
		}
	}
	return false
}

// Blocker returns the first phase before phase idx that keeps a release
// out of it, if any: as Octopus has it, a phase that is not optional and in
// fewer of whose entries (environments, remote environments, whole remote
// spaces) the release succeeded than it requires — all of them, unless
// MinimumEnvironmentsBeforePromotion says fewer. An optional phase never
// blocks. (A release already succeeded in an environment may go there
// again whatever this says: deploy.Progress.Gate.)
func (l Lifecycle) Blocker(idx int, succeeded func(entry string) bool) (Phase, bool) {
	for _, ph := range l.Phases[:idx] {
		if ph.Optional {
			continue
		}
		if len(ph.Environments)-len(ph.Pending(succeeded)) < ph.Required() {
			return ph, true
		}
	}
	return Phase{}, false
}
