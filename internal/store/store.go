// Package store declares how ferry persists its nouns. Implementations live
// in subpackages (sqlstore for SQLite, and PostgreSQL beside it); nothing
// outside this tree knows which database is underneath.
package store

import (
	"context"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// Transactor runs a function in one transaction. The transaction travels
// in the context fn receives, so every sub-store of the same Store called
// with that context joins it: a service takes a Transactor and the few
// sub-stores it uses, never the whole Store.
type Transactor interface {
	// WithTx runs fn in one transaction: all of fn's writes land, or none.
	// Inside another WithTx, fn joins the outer transaction.
	WithTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Store is a database of ferry's state. Every method takes a context; when
// the context carries a transaction started by WithTx, the method runs inside
// it. Lookups of missing rows return an error that matches domain.ErrNotFound;
// unique-name clashes return one that matches domain.ErrConflict.
//
// Only the wiring (internal/services, internal/server) and the store's own
// tests see a Store; services receive its parts.
type Store interface {
	Transactor

	Spaces() Spaces
	Users() Users
	Environments() Environments
	Lifecycles() Lifecycles
	Projects() Projects
	Releases() Releases
	Deployments() Deployments
	Tasks() Tasks
	Audit() Audit
	RemoteSpaces() RemoteSpaces
	Bundles() Bundles
	Receipts() Receipts
	Packages() Packages
	Outbox() Outbox
	ReceivedChunks() ReceivedChunks
	Teams() Teams
	Targets() Targets
	Tenants() Tenants
	AgentIdentities() AgentIdentities
	AgentJobs() AgentJobs
	// Removal deletes things and answers what deleting and retention ask.
	Removal() Removal
	Interventions() Interventions
	TriggerStates() TriggerStates
	Sessions() Sessions
	Figures() Figures

	// Nodes, Locks and ListenTasks let several server nodes share the
	// store; a store that only one node can open implements them trivially.
	Nodes() Nodes
	Locks() Locks
	// ListenTasks calls wake soon after any node sharing the store queues a
	// task, until ctx ends (it then returns nil) or the connection it listens
	// on fails (it returns the error; call it again to resume, since
	// notifications sent meanwhile are lost). A store only one node can open
	// just waits for ctx to end.
	ListenTasks(ctx context.Context, wake func()) error

	// Kind names the database ("sqlite", "postgres") for health reports.
	Kind() string
	Close() error
}

// Spaces are isolated tenants of the server.
type Spaces interface {
	Create(ctx context.Context, s *domain.Space) error // sets ID, CreatedAt
	Get(ctx context.Context, name string) (domain.Space, error)
	GetByID(ctx context.Context, id int64) (domain.Space, error)
	List(ctx context.Context) ([]domain.Space, error)
	// SetIdentity stores a space's certificate and its private keys; the
	// implementation seals the private part at rest.
	SetIdentity(ctx context.Context, id int64, certPEM []byte, fingerprint string, private []byte) error
	// Identity returns what SetIdentity stored (NotFound if nothing yet).
	Identity(ctx context.Context, id int64) (certPEM, private []byte, err error)
}

// RemoteSpaces are the other spaces a space knows and trusts.
type RemoteSpaces interface {
	Create(ctx context.Context, r *domain.RemoteSpace) error // conflict on a name or fingerprint clash
	// Update stores URL, certificate, fingerprint, trust and revocation of r (found by ID).
	Update(ctx context.Context, r *domain.RemoteSpace) error
	Get(ctx context.Context, spaceID int64, name string) (domain.RemoteSpace, error)
	GetByFingerprint(ctx context.Context, spaceID int64, fingerprint string) (domain.RemoteSpace, error)
	List(ctx context.Context, spaceID int64) ([]domain.RemoteSpace, error) // by name, without deleted ones
	// SetSchemaVersion records the newest schema version the remote space
	// reads; with raise, only a higher version than the one recorded.
	SetSchemaVersion(ctx context.Context, id int64, version int, raise bool) error
}

// Users and their API keys.
type Users interface {
	// LockNames holds a lock on user names until the transaction of ctx
	// ends: a transaction that checks a new name against the others
	// (domain.LookAlike) takes it first, so two such checks take turns
	// and the second sees the first's user.
	LockNames(ctx context.Context) error
	Create(ctx context.Context, u *domain.User) error
	Get(ctx context.Context, name string) (domain.User, error)
	GetByID(ctx context.Context, id int64) (domain.User, error)
	List(ctx context.Context) ([]domain.User, error)
	Count(ctx context.Context) (int, error)

	CreateKey(ctx context.Context, k *domain.APIKey) error
	// KeyByHash finds an unrevoked key by the hash of its secret.
	KeyByHash(ctx context.Context, hash string) (domain.APIKey, domain.User, error)
	TouchKey(ctx context.Context, keyID int64, at time.Time) error
	ListKeys(ctx context.Context, userID int64) ([]domain.APIKey, error) // revoked ones too
	RevokeKey(ctx context.Context, userID, keyID int64, at time.Time) error
	SetPassword(ctx context.Context, userID int64, hash string) error
	// PasswordHash returns the user and its password hash ("" if none set).
	PasswordHash(ctx context.Context, name string) (domain.User, string, error)
}

// Teams grant roles in a space to users.
type Teams interface {
	// LockNames is Users.LockNames for the team names of one space.
	LockNames(ctx context.Context, spaceID int64) error
	// Put creates the team or replaces the one with its name, members included.
	Put(ctx context.Context, t *domain.Team) error
	Get(ctx context.Context, spaceID int64, name string) (domain.Team, error)
	List(ctx context.Context, spaceID int64) ([]domain.Team, error) // by name
	// OfUser returns the teams of a space (every space with spaceID 0) the user belongs to.
	OfUser(ctx context.Context, userID, spaceID int64) ([]domain.Team, error)
}

// Environments of a space, local and remote.
type Environments interface {
	Create(ctx context.Context, e *domain.Environment) error
	Get(ctx context.Context, spaceID int64, name string) (domain.Environment, error)
	List(ctx context.Context, spaceID int64) ([]domain.Environment, error) // in creation order
}

// Lifecycles of a space.
type Lifecycles interface {
	// Put creates the lifecycle or replaces the one with the same name.
	Put(ctx context.Context, l *domain.Lifecycle) error
	Get(ctx context.Context, spaceID int64, name string) (domain.Lifecycle, error)
	List(ctx context.Context, spaceID int64) ([]domain.Lifecycle, error) // by name
}

// Projects of a space, with their process, variables and templates. Sensitive
// variable values are sealed at rest by the implementation.
type Projects interface {
	// Put creates the project or replaces the one with the same name.
	Put(ctx context.Context, p *domain.Project) error
	Get(ctx context.Context, spaceID int64, name string) (domain.Project, error)
	GetByID(ctx context.Context, id int64) (domain.Project, error)
	List(ctx context.Context, spaceID int64) ([]domain.Project, error) // by name
	// Deliverers lists the spaces besides its origin that may deliver
	// releases of a remote project, oldest first.
	Deliverers(ctx context.Context, projectID int64) ([]domain.Deliverer, error)
	// AddDeliverer allows a space to deliver releases of a remote project;
	// one already allowed is left as it is.
	AddDeliverer(ctx context.Context, projectID int64, d domain.Deliverer) error
	// Summaries lists the space's projects by name without their process,
	// variables and templates: cheap enough for a list of every project.
	Summaries(ctx context.Context, spaceID int64) ([]ProjectSummary, error)
	// SummaryPage returns Summaries[offset:offset+limit] (fewer at the
	// end) and len(Summaries), reading only the page's rows.
	SummaryPage(ctx context.Context, spaceID int64, offset, limit int) ([]ProjectSummary, int, error)
	// Triggered lists the projects of every space that have triggers,
	// without their process, variables and templates.
	Triggered(ctx context.Context) ([]TriggeredProject, error)
}

// TriggeredProject is what the scheduler needs of a project with triggers.
type TriggeredProject struct {
	ID, SpaceID int64
	Name        string
	UpdatedAt   time.Time
	Triggers    []domain.Trigger
}

// ProjectSummary is what lists of projects (the dashboard) need of one.
type ProjectSummary struct {
	ID        int64
	Name      string
	Lifecycle string
	Origin    *domain.ProjectOrigin // nil for the space's own projects
}

// IsRemote reports whether the project was imported from another space.
func (p ProjectSummary) IsRemote() bool { return p.Origin != nil }

// Releases are immutable once created.
type Releases interface {
	Create(ctx context.Context, r *domain.Release) error // conflict when the version exists
	Get(ctx context.Context, projectID int64, version string) (domain.Release, error)
	GetByID(ctx context.Context, id int64) (domain.Release, error)
	List(ctx context.Context, projectID int64) ([]domain.Release, error) // newest first
	// WasDeleted reports whether a release of the project with that
	// version existed and was deleted (Removal.DeleteReleases).
	WasDeleted(ctx context.Context, projectID int64, version string) (bool, error)
}

// DeploymentFilter narrows Deployments.List; zero fields match everything.
type DeploymentFilter struct {
	SpaceID     int64
	ProjectID   int64
	ReleaseID   int64
	Environment string
	// Projects, when not nil, keeps only deployments of projects so named
	// (none when empty): what the caller may view (access.Viewable.Names).
	Projects []string
	Limit    int
}

// TaskFilter narrows Tasks.List; zero fields match everything.
type TaskFilter struct {
	SpaceID int64            // 0: every space
	State   domain.TaskState // "": every state
	// Projects, when not nil, keeps only tasks of no project and tasks
	// deploying projects so named.
	Projects []string
	Limit    int // 0: all
}

// AuditFilter narrows Audit.List; zero fields match everything.
type AuditFilter struct {
	SpaceID int64 // 0: every space and system-wide events
	// Projects, when not nil, keeps only events of no project and events
	// of projects so named.
	Projects []string
	Limit    int // 0: all
}

// DeploymentCell is what the dashboard shows of a project's newest
// deployment in one environment: the release and author, fixed once the
// deployment is written, and its task's state and times as they are now.
type DeploymentCell struct {
	ProjectID             int64
	Environment           string
	Version               string
	State                 domain.TaskState // "" when the deployment has no task
	CreatedAt             time.Time
	StartedAt, FinishedAt *time.Time
	CreatedBy             string
}

// Deployments record which release went where; their state is their task's.
type Deployments interface {
	Create(ctx context.Context, d *domain.Deployment) error
	Get(ctx context.Context, id int64) (domain.Deployment, error)
	List(ctx context.Context, f DeploymentFilter) ([]domain.Deployment, error) // newest first
	// LatestOf returns what a dashboard cell shows of the newest
	// deployment of each of the projects in each environment, by project
	// id and environment; its cost follows the number of those projects'
	// environments, not the length of their history.
	LatestOf(ctx context.Context, spaceID int64, projectIDs []int64) ([]DeploymentCell, error)
	// LatestByTenant returns the newest deployment of a project in each
	// environment for each tenant ("" for untenanted ones).
	LatestByTenant(ctx context.Context, projectID int64) ([]domain.Deployment, error)
	// SetMachines records how many targets ran a deployment.
	SetMachines(ctx context.Context, id int64, n int) error
}

// Tasks are the server's queue of background work.
type Tasks interface {
	Create(ctx context.Context, t *domain.Task) error
	Get(ctx context.Context, id int64) (domain.Task, error)
	List(ctx context.Context, f TaskFilter) ([]domain.Task, error) // newest first
	// SetDeployment links a task to the deployment it runs.
	SetDeployment(ctx context.Context, taskID, deploymentID int64) error
	// Claim moves the oldest queued task to Executing on node and returns it;
	// it returns domain.ErrNotFound when nothing is queued. Two callers never
	// claim the same task.
	Claim(ctx context.Context, node string, now time.Time) (domain.Task, error)
	// Finish records a final state; it is a no-op for a task already final.
	Finish(ctx context.Context, id int64, state domain.TaskState, errMsg string, now time.Time) error
	// RequestCancel flags an unfinished task to stop, recording when the
	// first request came; a no-op for a task already final.
	RequestCancel(ctx context.Context, id int64, at time.Time) error
	// FailExecuting marks every task still Executing on node as Failed with
	// reason; used at start-up after a crash. It returns their ids.
	FailExecuting(ctx context.Context, node, reason string, now time.Time) ([]int64, error)
	AppendLog(ctx context.Context, taskID int64, lines []domain.LogLine) error // assigns Seq
	// Log returns lines with Seq > after, oldest first, at most limit (0: all).
	Log(ctx context.Context, taskID int64, after int64, limit int) ([]domain.LogLine, error)
	// Pending counts the tasks waiting to run and running, on every node.
	Pending(ctx context.Context) (queued, executing int, err error)
}

// Node is a server process sharing the store with others.
type Node struct {
	Name      string
	StartedAt time.Time // when it first heartbeat since it last left
	SeenAt    time.Time // its last heartbeat
}

// Nodes records which server nodes are alive, so that the tasks of one that
// died are not left Executing for ever. Times come from the nodes' clocks,
// which must agree to well within a node timeout.
type Nodes interface {
	// Heartbeat records that node is alive at now.
	Heartbeat(ctx context.Context, node string, now time.Time) error
	// Leave forgets node; a node that stops cleanly calls it last.
	Leave(ctx context.Context, node string) error
	// ListAlive returns the nodes whose last heartbeat is at or after since,
	// by name.
	ListAlive(ctx context.Context, since time.Time) ([]Node, error)
	// FailTasksOfDeadNodes marks Failed, with reason, every task Executing
	// since before since on a node that has not heartbeat since then (or
	// has left), and flags it for cancellation in case that node is only
	// slow rather than dead. It returns the failed tasks' ids by node.
	FailTasksOfDeadNodes(ctx context.Context, since time.Time, reason string, now time.Time) (map[string][]int64, error)
}

// Locks are named locks shared by every node of the store: work that must
// run on one node at a time (outbox delivery, retention, reaping dead
// nodes' tasks) runs while holding one. A lock is held by a database
// session, so when its node dies the database releases it.
type Locks interface {
	// TryLock takes the lock name if no one holds it; ok is false, with a
	// nil Lock, when someone does.
	TryLock(ctx context.Context, name string) (l Lock, ok bool, err error)
}

// Lock is a held lock.
type Lock interface {
	// Lost is closed when the lock is lost before Unlock: the connection
	// that held it failed, so another node may hold it now.
	Lost() <-chan struct{}
	Unlock() error
}

// Audit is the append-only record of who did what.
type Audit interface {
	Append(ctx context.Context, e *domain.AuditEvent) error
	// List returns the events f matches, newest first.
	List(ctx context.Context, f AuditFilter) ([]domain.AuditEvent, error)
}

// Bundles record the release bundles a space received or produced; a
// received bundle's digest is what makes a second import a no-op.
type Bundles interface {
	Create(ctx context.Context, b *domain.BundleRecord) error // conflict on the same space, direction and digest
	// Get returns a bundle record, with Data for a pending one.
	Get(ctx context.Context, spaceID int64, direction, digest string) (domain.BundleRecord, error)
	// MarkImported moves a pending bundle to imported and drops its Data.
	MarkImported(ctx context.Context, id int64, at time.Time, by string) error
	List(ctx context.Context, spaceID int64, limit int) ([]domain.BundleRecord, error) // newest first; limit 0: all
	// Promoted lists the bundles the space wrote or sent of one release of
	// one of its projects (by the project's name here), oldest first.
	Promoted(ctx context.Context, spaceID int64, project, version string) ([]domain.BundleRecord, error)
}

// ReceiptFilter narrows Receipts.List; zero fields match everything.
type ReceiptFilter struct {
	OriginFingerprint string
	OriginProject     string
	Version           string
}

// Receipts are signed deployment records a space made or received.
type Receipts interface {
	// Create stores a receipt; it reports false (and stores nothing) when
	// the space already holds one with the same digest.
	Create(ctx context.Context, r *domain.Receipt) (bool, error)
	List(ctx context.Context, spaceID int64, f ReceiptFilter) ([]domain.Receipt, error) // oldest first
	// Unsent lists receipts not yet exported to the remote space.
	Unsent(ctx context.Context, spaceID, remoteSpaceID int64) ([]domain.Receipt, error)
	MarkSent(ctx context.Context, remoteSpaceID int64, receiptIDs []int64, at time.Time) error
	// LatestOf returns what a dashboard cell shows of the newest receipt
	// of each of the origin projects in each environment, in no
	// particular order.
	LatestOf(ctx context.Context, spaceID int64, projects []OriginProject) ([]ReceiptCell, error)
	// Unrecorded returns the ids of the finished deployment tasks of remote
	// projects that have no receipt their space signed (by
	// Receipt.DeploymentID), oldest first, in every space — but not those
	// a later deployment of the same project, environment and tenant with
	// a receipt superseded: a receipt signed now for them would arrive after
	// the newer one and read as the latest.
	Unrecorded(ctx context.Context) ([]int64, error)
}

// ReceiptCell is what the dashboard shows of a receipt, and what it needs
// to check the receipt speaks for its signer.
type ReceiptCell struct {
	OriginFingerprint, OriginProject string
	Environment                      string // as this space calls it: "Prod Space: Live"
	Version                          string
	State                            domain.TaskState
	StartedAt, FinishedAt            *time.Time
	DeployedBy                       string
	Machines                         *int // nil when the receipt does not say
	DeployingSpace                   string
	SignerFingerprint                string
}

// OriginProject names a project the way receipts do: by its origin space's
// fingerprint and its name there.
type OriginProject struct {
	Fingerprint string
	Project     string
}

// ReceivedChunks are the package chunks (hex SHA-256) a space received, each
// verified against a signed transfer of a space it trusts: they count as the
// space's own, and a transfer cut off midway resumes without them.
type ReceivedChunks interface {
	// Add records chunks as received by the space; a chunk already
	// recorded is left as it is.
	Add(ctx context.Context, spaceID int64, hashes []string, at time.Time) error
	// List returns every chunk the space received.
	List(ctx context.Context, spaceID int64) ([]string, error)
}

// OutboxFilter narrows Outbox.List; zero fields match everything.
type OutboxFilter struct {
	RemoteSpaceID int64
	Kind          string
	Ref           string
	Limit         int
}

// Outbox is the durable queue of items a space delivers to connected remote
// spaces. An item is stored before any attempt, moves queued → in-flight →
// delivered (or back to queued with a later attempt time, or to failed),
// and reaches delivered at most once.
type Outbox interface {
	// Enqueue stores a queued item (sets ID, CreatedAt). An item with an
	// empty Ref is a sweep: when one of its kind is already queued for the
	// remote space, Enqueue stores nothing and reports false.
	Enqueue(ctx context.Context, it *domain.OutboxItem) (bool, error)
	Get(ctx context.Context, id int64) (domain.OutboxItem, error) // with Body
	// Due lists queued items whose next attempt time is at or before now,
	// oldest first, with their bodies.
	Due(ctx context.Context, now time.Time, limit int) ([]domain.OutboxItem, error)
	// Start moves a queued item in flight and counts the attempt; ok is
	// false when the item was not queued.
	Start(ctx context.Context, id int64, now time.Time) (ok bool, err error)
	// Delivered moves an in-flight item to delivered, records the remote
	// space's answer and drops the body; ok is false when it was not in
	// flight, so an item is marked delivered once.
	Delivered(ctx context.Context, id int64, result string, now time.Time) (ok bool, err error)
	// Retry moves an in-flight item back to queued, due at next.
	Retry(ctx context.Context, id int64, errMsg string, next, now time.Time) error
	// Fail moves an in-flight item to failed: the remote space refused it.
	Fail(ctx context.Context, id int64, errMsg string, now time.Time) error
	// Postpone makes the remote space's queued items due no sooner than until.
	Postpone(ctx context.Context, remoteSpaceID int64, until time.Time) error
	// Requeue moves the remote space's failed items back to queued, due at
	// now, and returns how many.
	Requeue(ctx context.Context, remoteSpaceID int64, now time.Time) (int, error)
	// ResetInFlight moves every in-flight item back to queued: the loop
	// that was sending them stopped. It returns how many.
	ResetInFlight(ctx context.Context, now time.Time) (int, error)
	// List lists a space's items without bodies, newest first.
	List(ctx context.Context, spaceID int64, f OutboxFilter) ([]domain.OutboxItem, error)
	// Summaries counts a space's items by remote space and state.
	Summaries(ctx context.Context, spaceID int64) (map[int64]domain.DeliverySummary, error)
}

// Packages are the package versions in spaces' built-in feeds. The bytes are
// not here: Manifest lists the chunks that rebuild each file.
type Packages interface {
	Create(ctx context.Context, p *domain.Package) error // conflict when the id and version exist
	// Get returns one package version with its manifest.
	Get(ctx context.Context, spaceID int64, id, version string) (domain.Package, error)
	// List returns a space's packages without manifests, by id then newest
	// first; id "" lists every package.
	List(ctx context.Context, spaceID int64, id string) ([]domain.Package, error)
	// BySHA256 returns the space's packages with that content, with manifests.
	BySHA256(ctx context.Context, spaceID int64, sha256 string) ([]domain.Package, error)
}

// Targets are the machines spaces deploy to (SPEC §5).
type Targets interface {
	// Create stores a target (sets ID, CreatedAt); conflict when its space
	// has a target of that name or thumbprint.
	Create(ctx context.Context, t *domain.Target) error
	// Update stores the registration of t (found by ID): environments,
	// roles, mode, URL, thumbprint, disabled, and its health fields.
	Update(ctx context.Context, t *domain.Target) error
	Get(ctx context.Context, spaceID int64, name string) (domain.Target, error)
	GetByID(ctx context.Context, id int64) (domain.Target, error)
	// List returns a space's targets by name; spaceID 0 lists every
	// space's.
	List(ctx context.Context, spaceID int64) ([]domain.Target, error)
	// ByThumbprint returns the targets of every space registered with an
	// agent's fingerprint.
	ByThumbprint(ctx context.Context, thumbprint string) ([]domain.Target, error)
	// UnfinishedJobs lists the jobs of a target that are queued or
	// running, oldest first (payload and result left out).
	UnfinishedJobs(ctx context.Context, targetID int64) ([]domain.AgentJob, error)
	Delete(ctx context.Context, id int64) error
	// SetHealth records a check of a target.
	SetHealth(ctx context.Context, id int64, h TargetHealth) error
	// Seen records that the polling agent with thumbprint is connected to
	// node and answered at at (every target registered with it).
	Seen(ctx context.Context, thumbprint, node string, at time.Time, version string) error
	// Left records that the polling agent left node, if it was there.
	Left(ctx context.Context, thumbprint, node string) error
}

// Tenants are the customers a space deploys to (SPEC §6), with their tags,
// the projects and environments they are connected to, and their template
// values (sensitive ones sealed at rest).
type Tenants interface {
	// Create stores a new tenant (sets ID, CreatedAt, UpdatedAt); conflict
	// when its space has a tenant of that name.
	Create(ctx context.Context, t *domain.Tenant) error
	// Update stores t's tags, projects and values (found by ID).
	Update(ctx context.Context, t *domain.Tenant) error
	Get(ctx context.Context, spaceID int64, name string) (domain.Tenant, error)
	// List returns a space's tenants by name.
	List(ctx context.Context, spaceID int64) ([]domain.Tenant, error)
	Delete(ctx context.Context, id int64) error
}

// TargetHealth is what one check of a target found.
type TargetHealth struct {
	Health    domain.Health
	Reason    string
	CheckedAt time.Time
	// Answered says the agent answered (LastSeen becomes CheckedAt, and
	// Version its version).
	Answered bool
	Version  string
}

// AgentIdentities hold the server's identity towards agents: one current,
// and while it rotates one next. Keys are sealed at rest.
type AgentIdentities interface {
	// Create stores an identity; conflict when one in its state exists.
	Create(ctx context.Context, id *domain.AgentIdentity) error
	// List returns the identities that are not retired, keys opened.
	List(ctx context.Context) ([]domain.AgentIdentity, error)
	// Activate retires the current identity and makes the next one
	// current; NotFound when there is no next one.
	Activate(ctx context.Context, at time.Time) error
}

// AgentJobs are the durable work for targets: a step for one target,
// queued by a node's runner and run by a node that reaches the agent.
// Payload and Result are sealed at rest.
type AgentJobs interface {
	// Create queues a job (sets ID, CreatedAt, State queued).
	Create(ctx context.Context, j *domain.AgentJob) error
	// Get returns a job, payload and result opened.
	Get(ctx context.Context, id int64) (domain.AgentJob, error)
	// Claim moves queued jobs node may run to running on node and returns
	// them: those of listening targets that node queued, and those of
	// the polling agents in thumbprints (connected to it). Two nodes never
	// claim one job.
	Claim(ctx context.Context, node string, thumbprints []string, now time.Time, limit int) ([]domain.AgentJob, error)
	// Beat records node's heartbeat on its running jobs, and returns
	// those to stop: their cancel was requested or their task has ended.
	Beat(ctx context.Context, node string, now time.Time) (stop []int64, err error)
	// Finish moves a job that is not final to state with result or
	// errMsg; it reports false when the job had already ended.
	Finish(ctx context.Context, id int64, state domain.JobState, result []byte, errMsg string, now time.Time) (bool, error)
	RequestCancel(ctx context.Context, id int64) error
	Delete(ctx context.Context, id int64) error
	// FailNode fails the unfinished jobs node queued or ran, with reason:
	// it stopped, and with it their streams and tasks.
	FailNode(ctx context.Context, node, reason string, now time.Time) (int, error)
}

// Removal deletes what people delete and retention removes, and answers
// the questions deleting asks: what still uses a thing, and which releases
// must stay. Every Delete* runs in the caller's transaction and removes
// what belongs to the thing with it (a release's deployments, their tasks
// and task logs); it reports what it removed.
type Removal interface {
	// ActiveTasks lists the tasks of f that have not finished (queued,
	// executing, waiting: any state that is not final), oldest first.
	ActiveTasks(ctx context.Context, f ActiveFilter) ([]ActiveTask, error)
	// Pins lists the releases of a space that pin package id (any version
	// when version is ""), by project and version.
	Pins(ctx context.Context, spaceID int64, id, version string) ([]PackagePin, error)
	// Uses returns every release of a project, newest first, with where it
	// was deployed and whether it must stay (current somewhere, a task not
	// finished). It locks the project's releases until the transaction
	// ends: a deployment of one that another transaction is making is
	// waited for (and seen), and one started later waits for the caller
	// to commit, then fails with NotFound when its release is gone.
	Uses(ctx context.Context, projectID int64) ([]ReleaseUse, error)
	// RemoteUses returns what receipts say of a project's releases in
	// other spaces, by the project's origin (fingerprint and name there).
	RemoteUses(ctx context.Context, spaceID int64, originFingerprint, originProject string) ([]RemoteUse, error)
	// Undelivered lists the bundles of a project's releases whose delivery
	// to a connected space is queued or in flight.
	Undelivered(ctx context.Context, spaceID int64, project string) ([]Undelivered, error)
	// Unpinned lists the package versions of a space that no release pins,
	// pushed or received before before, oldest first.
	Unpinned(ctx context.Context, spaceID int64, before time.Time) ([]domain.PackageRef, error)

	// DeleteReleases removes releases with their deployments, tasks and
	// task logs.
	DeleteReleases(ctx context.Context, ids []int64) (domain.Removed, error)
	// DeleteReceipts removes the receipts a space holds of an origin
	// project's versions (every version when versions is nil).
	DeleteReceipts(ctx context.Context, spaceID int64, originFingerprint, originProject string, versions []string) (int, error)
	// DeleteProject removes a project with its releases (as
	// DeleteReleases) and deliverers.
	DeleteProject(ctx context.Context, id int64) (domain.Removed, error)
	// DeleteEnvironment removes an environment with its deployments,
	// their tasks and task logs.
	DeleteEnvironment(ctx context.Context, spaceID int64, name string) (domain.Removed, error)
	DeleteLifecycle(ctx context.Context, spaceID int64, name string) error
	// DeletePackages removes package versions of a space's feed (the
	// chunks stay until chunk collection finds them unused).
	DeletePackages(ctx context.Context, spaceID int64, refs []domain.PackageRef) (int, error)
	// DeleteUser refuses (in-use) to delete the last system
	// administrator, deciding under a lock on the administrators' rows so
	// that two deletes at once cannot remove the last two.
	DeleteUser(ctx context.Context, id int64) error
	DeleteTeam(ctx context.Context, spaceID int64, name string) error
	// DeleteSpace removes a space and everything in it; its audit events
	// stay, as events of the server whose subject names the space.
	DeleteSpace(ctx context.Context, id int64) (domain.Removed, error)
	// DeleteRemoteSpace marks a (revoked) remote space deleted, drops the
	// items queued to it and removes its remote environments; the row
	// stays so that its revocation goes on counting.
	DeleteRemoteSpace(ctx context.Context, r domain.RemoteSpace, at time.Time) (domain.Removed, error)
	// ExpireReceived forgets chunks spaces received before before: a
	// transfer cut off earlier than that is not resumed.
	ExpireReceived(ctx context.Context, before time.Time) (int, error)
	// ChunkUses calls fn with the manifest of every package version of
	// every space, then with every chunk a space received (hex SHA-256):
	// all the chunks the server must keep.
	ChunkUses(ctx context.Context, manifest func([]byte) error, received func(string) error) error
	// Forget makes what was deleted unrecoverable from the database's own
	// files where the database allows it (SQLite: deleted content is
	// overwritten, and the write-ahead log, which may still hold it, is
	// folded into the file and emptied).
	Forget(ctx context.Context) error
}

// ActiveFilter chooses the tasks ActiveTasks lists; zero fields match
// everything, and at least one must be set.
type ActiveFilter struct {
	SpaceID     int64
	ProjectID   int64
	ReleaseID   int64
	Environment string
	Tenant      string // deploying for this tenant
}

// ActiveTask is a task that has not finished, with what it deploys.
type ActiveTask struct {
	ID          int64
	State       domain.TaskState
	Project     string // "" for a task that deploys nothing
	Version     string
	Environment string
}

// PackagePin is a release that pins a package version.
type PackagePin struct {
	Project string
	Version string // the release's
	Package domain.PackageRef
}

// ReleaseUse is a release as retention sees it.
type ReleaseUse struct {
	ID        int64
	Version   string
	CreatedAt time.Time
	// Environments it was deployed to here (any outcome).
	Environments []string
	// Current names the environments (and tenants: "Production (tenant
	// Acme)") where it is the latest deployment or the latest successful
	// one.
	Current []string
	// Active is set when one of its tasks has not finished.
	Active bool
}

// RemoteUse is what a receipt says of a release in another space.
type RemoteUse struct {
	Version     string
	Environment string // "<space>: <environment>", as lifecycles name it
	Tenant      string
	State       domain.TaskState
	ID          int64 // newer receipts have higher ids
}

// Undelivered is a promotion still on its way.
type Undelivered struct {
	Version     string
	RemoteSpace string
	State       string
	DeliveryID  int64
}

// Interventions are the manual-intervention steps deployments reached.
// While one is undecided its task is Waiting, and no worker holds it.
type Interventions interface {
	// Open records iv (sets ID) and moves its task from Executing to
	// Waiting, in one transaction; Conflict when the task is not Executing
	// or its cancellation was asked for.
	Open(ctx context.Context, iv *domain.Intervention) error
	// List returns a task's interventions in step order.
	List(ctx context.Context, taskID int64) ([]domain.Intervention, error)
	// Pending returns the task's undecided intervention; NotFound if none.
	Pending(ctx context.Context, taskID int64) (domain.Intervention, error)
	// Decide records a decision on an undecided intervention and moves its
	// task from Waiting back to Queued (waking every node's runner), in one
	// transaction. ok is false, and nothing changes, when it was decided
	// already.
	Decide(ctx context.Context, id int64, decision, by, note string, at time.Time) (ok bool, err error)
	// Expired lists undecided interventions whose timeout is at or before now.
	Expired(ctx context.Context, now time.Time) ([]domain.Intervention, error)
	// Undecided lists the undecided interventions of spaceID's tasks, by id.
	Undecided(ctx context.Context, spaceID int64) ([]domain.Intervention, error)
}

// TriggerState is what a space remembers of one trigger of a project: the
// last due time it handled (schedule triggers) and its last firing.
type TriggerState struct {
	Name    string
	LastDue time.Time // zero: none yet
	Last    *domain.TriggerFiring
}

// TriggerStates remember what triggers did.
type TriggerStates interface {
	// Claim makes due the trigger's last due time if it is later than the
	// one recorded (or none is). ok is false when it is not: another node
	// fired for that due time already.
	Claim(ctx context.Context, projectID int64, name string, due time.Time) (ok bool, err error)
	// Record stores a trigger's last firing.
	Record(ctx context.Context, projectID int64, name string, f domain.TriggerFiring) error
	// List returns the states of a project's triggers, by name.
	List(ctx context.Context, projectID int64) ([]TriggerState, error)
}

// Sessions are the web pages' signed-in sessions, shared by every node.
// A session is found by the SHA-256 of its id (the id itself is only in
// the browser's cookie).
type Sessions interface {
	Create(ctx context.Context, s WebSession) error
	// Get returns the session; ErrNotFound when there is none.
	Get(ctx context.Context, idHash string) (WebSession, error)
	// Touch records a request at seen.
	Touch(ctx context.Context, idHash string, seen time.Time) error
	SetFlash(ctx context.Context, idHash, flash string) error
	// PopFlash returns the session's flash message and clears it.
	PopFlash(ctx context.Context, idHash string) (string, error)
	Delete(ctx context.Context, idHash string) error
	// DeleteExpired removes sessions last seen before seenBefore or created
	// before createdBefore.
	DeleteExpired(ctx context.Context, seenBefore, createdBefore time.Time) error
}

// WebSession is one stored session: who (and the stamp of the password
// it was made with), the CSRF token of its forms, a message for its next
// page, and when it began and was last used.
type WebSession struct {
	IDHash    string
	UserID    int64
	UserName  string
	Stamp     string
	CSRF      string
	Flash     string
	CreatedAt time.Time
	SeenAt    time.Time
}

// Figures are the counts /metrics reports, read from the store at scrape
// time so that every node reports the same figures for the whole server.
type Figures interface {
	// Tasks counts tasks by kind, state and whether they deploy, with the
	// run time (finished - started) of finished ones in cumulative
	// buckets of the given upper bounds in seconds.
	Tasks(ctx context.Context, bounds []float64) ([]TaskFigure, error)
	// Deliveries counts outbox items by kind and state, with their bodies'
	// bytes still waiting to be sent.
	Deliveries(ctx context.Context) ([]DeliveryFigure, error)
}

// TaskFigure is one group of tasks: Count of them, Seconds of run time in
// total over Finished of them, Buckets[i] finished within bounds[i].
type TaskFigure struct {
	Kind       string
	State      string
	Deployment bool
	Count      uint64
	Finished   uint64
	Seconds    float64
	Buckets    []uint64
}

// DeliveryFigure is one group of outbox items.
type DeliveryFigure struct {
	Kind  string
	State string
	Count uint64
	Bytes uint64
}
