package api

import "net/http"

// Media types of files the API takes and answers.
const (
	MediaJSON   = "application/json"
	MediaYAML   = "application/yaml"
	MediaPEM    = "application/x-pem-file"
	MediaText   = "text/plain"
	MediaBinary = "application/octet-stream"
	MediaTar    = "application/x-tar"
)

// Headers of answers and transfer requests.
const (
	HeaderNote            = "X-Ferry-Note"
	HeaderBundleDigest    = "X-Ferry-Bundle-Digest"
	HeaderReceipts        = "X-Ferry-Receipts"
	HeaderReceiptsWaiting = "X-Ferry-Receipts-Waiting"
	HeaderPackages        = "X-Ferry-Packages"
	HeaderTransfer        = "X-Ferry-Transfer"
	HeaderSchema          = "X-Ferry-Schema"
	HeaderSender          = "X-Ferry-Sender"
	HeaderTarget          = "X-Ferry-Target"
)

// RouteSet is every route of ferry's HTTP API. The server's router, the
// OpenAPI document served at /api/openapi.json and the client package
// are all built from it.
type RouteSet struct {
	Health  Route[None, Health]
	OpenAPI Route[None, File]

	ListSpaces     Route[None, []Space]
	CreateSpace    Route[NameRequest, Space]
	GetSpace       Route[None, Space]
	Certificate    Route[None, File]
	AgeKey         Route[None, File]
	ListAllAudit   Route[Limit, []AuditEvent]
	ListAudit      Route[Limit, []AuditEvent]
	Dashboard      Route[DashboardQuery, Dashboard]
	Apply          Route[ApplyOptions, ApplyResult]
	Export         Route[None, File]
	ListLifecycles Route[None, []Lifecycle]

	ListEnvironments  Route[None, []Environment]
	CreateEnvironment Route[NameRequest, Environment]

	ListProjects  Route[None, []Project]
	GetProject    Route[None, Project]
	ListVariables Route[None, VariableList]
	SetVariable   Route[SetVariableRequest, VariableList]

	ListReleases  Route[None, []Release]
	CreateRelease Route[CreateReleaseRequest, Release]
	GetRelease    Route[None, Release]
	ShowRelease   Route[None, ReleaseDetail]
	DiffReleases  Route[DiffQuery, ReleaseDiff]

	Deploy          Route[DeployRequest, Deployment]
	ListDeployments Route[DeploymentQuery, []Deployment]
	ListTasks       Route[TaskQuery, []Task]
	GetTask         Route[None, Task]
	TaskLog         Route[LogQuery, TaskLog]
	CancelTask      Route[None, Task]
	ApproveTask     Route[DecisionRequest, Task]
	AbortTask       Route[DecisionRequest, Task]
	ListTriggers    Route[None, []TriggerStatus]

	ListRemoteSpaces  Route[None, []RemoteSpaceStatus]
	AddRemoteSpace    Route[AddRemoteSpaceRequest, AddedRemoteSpace]
	UpdateRemoteSpace Route[UpdateRemoteSpaceRequest, RemoteSpace]
	RevokeRemoteSpace Route[None, RemoteSpace]
	RetryDeliveries   Route[None, RetryResult]
	ListDeliveries    Route[DeliveryQuery, []Delivery]
	GetDelivery       Route[None, Delivery]

	Promote        Route[PromoteRequest, Promotion]
	ListBundles    Route[None, []BundleStatus]
	InspectBundle  Route[None, BundleInspection]
	ImportBundle   Route[BundleImportQuery, BundleImport]
	Deliverers     Route[None, ProjectDeliverers]
	AddDeliverer   Route[AddDelivererRequest, ProjectDeliverers]
	ExportReceipts Route[ExportReceiptsRequest, File]
	ImportReceipts Route[None, ReceiptImport]

	PushPackage      Route[PushQuery, PushResult]
	ListPackages     Route[PackageQuery, []Package]
	ShowPackage      Route[None, PackageDetail]
	DownloadPackage  Route[None, File]
	PackageInventory Route[None, File]
	ExportPackages   Route[ExportPackagesRequest, File]
	ImportPackages   Route[None, PackageImport]

	ListTargets    Route[None, []Target]
	AddTarget      Route[AddTargetRequest, AddedTarget]
	GetTarget      Route[None, Target]
	CheckTarget    Route[None, TargetCheck]
	DisableTarget  Route[None, Target]
	EnableTarget   Route[None, Target]
	DeleteTarget   Route[None, Target]
	AgentTrust     Route[None, AgentTrust]
	RotateIdentity Route[RotateRequest, AgentTrust]

	ListTenants     Route[None, []Tenant]
	CreateTenant    Route[CreateTenantRequest, Tenant]
	GetTenant       Route[None, Tenant]
	DeleteTenant    Route[None, Tenant]
	ConnectTenant   Route[ConnectTenantRequest, Tenant]
	SetTenantValue  Route[TenantValueRequest, Tenant]
	DeployTenants   Route[DeployTenantsRequest, []Deployment]
	TenantDashboard Route[TenantDashboardQuery, TenantDashboard]

	ListUsers   Route[None, []User]
	CreateUser  Route[CreateUserRequest, User]
	SetPassword Route[SetPasswordRequest, PasswordSet]
	ListKeys    Route[None, []APIKey]
	CreateKey   Route[CreateKeyRequest, NewAPIKey]
	RevokeKey   Route[None, RevokedKey]
	ListTeams   Route[None, []Team]
	CreateTeam  Route[TeamRequest, Team]
	UpdateTeam  Route[TeamRequest, Team]

	// The connected-space protocol (docs/architecture.md): servers send
	// these to each other, authorised by the signature on the body.
	TransferBundle   Route[None, BundleReceived]
	TransferReceipts Route[None, ReceiptImport]
	TransferChunks   Route[None, MissingChunks]
	TransferPackages Route[None, PackageImport]
	TransferSchema   Route[None, Handshake]

	// Deleting things (SPEC §7): each is refused, naming every referrer,
	// while something still uses the thing.
	DeleteSpace          Route[None, Deleted]
	DeleteEnvironment    Route[None, Deleted]
	DeleteLifecycle      Route[None, Deleted]
	DeleteProject        Route[None, Deleted]
	DeleteVariable       Route[DeleteVariableRequest, Deleted]
	DeleteRelease        Route[None, Deleted]
	DeletePackage        Route[None, Deleted]
	DeletePackageVersion Route[None, Deleted]
	DeleteUser           Route[None, Deleted]
	DeleteTeam           Route[None, Deleted]
	DeleteRemoteSpace    Route[None, Deleted]
	RunRetention         Route[RetentionRequest, RetentionReport]
}

const (
	get   = http.MethodGet
	post  = http.MethodPost
	patch = http.MethodPatch
	del   = http.MethodDelete
	made  = http.StatusCreated

	sp = "/api/spaces/{space}"
	pj = sp + "/projects/{project}"
)

// Routes returns the declaration of every route.
func Routes() RouteSet {
	var r RouteSet
	r.basics()
	r.projects()
	r.deployments()
	r.crossSpace()
	r.packageRoutes()
	r.targetRoutes()
	r.tenantRoutes()
	r.people()
	r.transfer()
	r.deletes()
	r.named()
	return r
}

// basics declares the routes of the server, its spaces and their configuration.
func (r *RouteSet) basics() {
	r.Health = Route[None, Health]{Op{Method: get, Path: "/api/health", Permission: PermAnyone, Summary: "Whether this node and its store answer"}}
	r.OpenAPI = Route[None, File]{Op{Method: get, Path: "/api/openapi.json", Permission: PermAnyone, Download: MediaJSON, Summary: "This API described as an OpenAPI 3 document"}}

	r.ListSpaces = Route[None, []Space]{Op{Method: get, Path: "/api/spaces", Permission: PermUser, Summary: "List the spaces the caller may see"}}
	r.CreateSpace = Route[NameRequest, Space]{Op{Method: post, Path: "/api/spaces", Permission: PermAdmin, Status: made, Summary: "Create a space with its own identity"}}
	r.GetSpace = Route[None, Space]{Op{Method: get, Path: sp, Permission: PermView, Summary: "Show a space and its fingerprint"}}
	r.Certificate = Route[None, File]{Op{Method: get, Path: sp + "/certificate", Permission: PermView, Download: MediaPEM, Summary: "The space's X.509 certificate, to give to other spaces"}}
	r.AgeKey = Route[None, File]{Op{Method: get, Path: sp + "/age-key", Permission: PermAdmin, Download: MediaText, Summary: "The space's age secret key, to decrypt a bundle's secrets by hand (audited)"}}
	r.ListAllAudit = Route[Limit, []AuditEvent]{Op{Method: get, Path: "/api/audit", Permission: PermAdmin, Summary: "The audit log of every space and the server, newest first"}}
	r.ListAudit = Route[Limit, []AuditEvent]{Op{Method: get, Path: sp + "/audit", Permission: PermAdministerSpace, Summary: "The space's audit log, newest first"}}
	r.Dashboard = Route[DashboardQuery, Dashboard]{Op{Method: get, Path: sp + "/dashboard", Permission: PermView, Summary: "Projects × environments with the latest release and state of each"}}
	r.Apply = Route[ApplyOptions, ApplyResult]{Op{Method: post, Path: sp + "/apply", Permission: PermView, Upload: MediaYAML, Summary: "Make the space match a YAML document (more permissions by what it changes)"}}
	r.Export = Route[None, File]{Op{Method: get, Path: sp + "/export", Permission: PermAdministerSpace, Download: MediaYAML, Summary: "The space's configuration as YAML that Apply accepts"}}
	r.ListLifecycles = Route[None, []Lifecycle]{Op{Method: get, Path: sp + "/lifecycles", Permission: PermView, Summary: "List lifecycles and their phases"}}

	r.ListEnvironments = Route[None, []Environment]{Op{Method: get, Path: sp + "/environments", Permission: PermView, Summary: "List environments, local and remote"}}
	r.CreateEnvironment = Route[NameRequest, Environment]{Op{Method: post, Path: sp + "/environments", Permission: PermAdministerSpace, Status: made, Summary: "Create an environment"}}
}

// projects declares the routes of projects, their variables and releases.
func (r *RouteSet) projects() {
	r.ListProjects = Route[None, []Project]{Op{Method: get, Path: sp + "/projects", Permission: PermView, Summary: "List projects"}}
	r.GetProject = Route[None, Project]{Op{Method: get, Path: pj, Permission: PermView, Summary: "Show a project"}}
	r.ListVariables = Route[None, VariableList]{Op{Method: get, Path: pj + "/variables", Permission: PermView, Summary: "A project's variables and templates (secrets never shown)"}}
	r.SetVariable = Route[SetVariableRequest, VariableList]{Op{Method: post, Path: pj + "/variables", Permission: PermEditProject, Summary: "Set a variable's value for a scope"}}

	r.ListReleases = Route[None, []Release]{Op{Method: get, Path: pj + "/releases", Permission: PermView, Summary: "List a project's releases, newest first"}}
	r.CreateRelease = Route[CreateReleaseRequest, Release]{Op{Method: post, Path: pj + "/releases", Permission: PermCreateRelease, Status: made, Summary: "Create a release: freeze the process and variables"}}
	r.GetRelease = Route[None, Release]{Op{Method: get, Path: pj + "/releases/{version}", Permission: PermView, Summary: "Show a release"}}
	r.ShowRelease = Route[None, ReleaseDetail]{Op{Method: get, Path: pj + "/releases/{version}/detail", Permission: PermView, Summary: "Show a release with its packages and snapshot digests"}}
	r.DiffReleases = Route[DiffQuery, ReleaseDiff]{Op{Method: get, Path: pj + "/diff", Permission: PermView, Summary: "What changed between two releases, or a release and the project now"}}
}

// deployments declares the routes of deployments and the tasks that run them.
func (r *RouteSet) deployments() {
	r.Deploy = Route[DeployRequest, Deployment]{Op{Method: post, Path: sp + "/deployments", Permission: PermDeploy, Status: made, Summary: "Deploy a release to an environment (queued as a task)"}}
	r.ListDeployments = Route[DeploymentQuery, []Deployment]{Op{Method: get, Path: sp + "/deployments", Permission: PermView, Summary: "Deployments here and, from receipts, in other spaces"}}
	r.ListTasks = Route[TaskQuery, []Task]{Op{Method: get, Path: sp + "/tasks", Permission: PermView, Summary: "List tasks, newest first (waiting: only those waiting for a manual intervention)"}}
	r.GetTask = Route[None, Task]{Op{Method: get, Path: sp + "/tasks/{id}", Permission: PermView, Summary: "Show a task"}}
	r.TaskLog = Route[LogQuery, TaskLog]{Op{Method: get, Path: sp + "/tasks/{id}/log", Permission: PermView, Summary: "A task and its log lines after a sequence number, at most 5000 (ask again after the last; poll to follow)"}}
	r.CancelTask = Route[None, Task]{Op{Method: post, Path: sp + "/tasks/{id}/cancel", Permission: PermDeploy, Summary: "Cancel a queued, running or waiting task"}}
	r.ApproveTask = Route[DecisionRequest, Task]{Op{Method: post, Path: sp + "/tasks/{id}/approve", Permission: PermView, Summary: "Approve the manual intervention a task waits for (a responsible team's member or a space admin; not the deployer when four eyes are asked)"}}
	r.AbortTask = Route[DecisionRequest, Task]{Op{Method: post, Path: sp + "/tasks/{id}/abort", Permission: PermView, Summary: "Abort the manual intervention a task waits for: the deployment fails there"}}
	r.ListTriggers = Route[None, []TriggerStatus]{Op{Method: get, Path: pj + "/triggers", Permission: PermView, Summary: "A project's triggers, when each is next due and what it did last"}}
}

// crossSpace declares the routes of remote spaces, promotions, bundles and receipts.
func (r *RouteSet) crossSpace() {
	r.ListRemoteSpaces = Route[None, []RemoteSpaceStatus]{Op{Method: get, Path: sp + "/remote-spaces", Permission: PermView, Summary: "Remote spaces with fingerprints, trust and deliveries"}}
	r.AddRemoteSpace = Route[AddRemoteSpaceRequest, AddedRemoteSpace]{Op{Method: post, Path: sp + "/remote-spaces", Permission: PermAdministerSpace, Status: made, Summary: "Add another space by its certificate",
		Also: []Answer{{http.StatusOK, MediaJSON, "already known with this certificate; nothing changed", false}}}}
	r.UpdateRemoteSpace = Route[UpdateRemoteSpaceRequest, RemoteSpace]{Op{Method: patch, Path: sp + "/remote-spaces/{name}", Permission: PermAdministerSpace, Summary: "Change a remote space's URL, trust, TLS pin or certificate"}}
	r.RevokeRemoteSpace = Route[None, RemoteSpace]{Op{Method: post, Path: sp + "/remote-spaces/{name}/revoke", Permission: PermAdministerSpace, Summary: "Revoke a remote space: refuse everything it signs"}}
	r.RetryDeliveries = Route[None, RetryResult]{Op{Method: post, Path: sp + "/remote-spaces/{name}/retry", Permission: PermPromote, Summary: "Send again what a remote space refused"}}
	r.ListDeliveries = Route[DeliveryQuery, []Delivery]{Op{Method: get, Path: sp + "/deliveries", Permission: PermView, Summary: "Deliveries to connected spaces, newest first"}}
	r.GetDelivery = Route[None, Delivery]{Op{Method: get, Path: sp + "/deliveries/{id}", Permission: PermView, Summary: "Show a delivery"}}

	r.Promote = Route[PromoteRequest, Promotion]{Op{Method: post, Path: sp + "/promotions", Permission: PermPromote, Status: made, Summary: "Promote a release to a remote space: queue its delivery, or answer the bundle file",
		Headers: []Header{{HeaderBundleDigest, "the bundle's digest (bundle file answers)"}, {HeaderNote, "a note about what the bundle leaves out (repeated)"}},
		Also:    []Answer{{http.StatusOK, MediaJSON, "deliver false: the signed release bundle file (docs/bundle-format.md)", true}}}}
	r.ListBundles = Route[None, []BundleStatus]{Op{Method: get, Path: sp + "/bundles", Permission: PermView, Summary: "Bundles imported, written, sent or pending here"}}
	r.InspectBundle = Route[None, BundleInspection]{Op{Method: post, Path: sp + "/bundles/inspect", Permission: PermView, Upload: MediaJSON, Summary: "What a bundle file holds, and whether this space would import it (imports nothing)"}}
	r.ImportBundle = Route[BundleImportQuery, BundleImport]{Op{Method: post, Path: sp + "/bundles/import", Permission: PermAdministerSpace, Upload: MediaJSON, Summary: "Import a bundle file (or a pending bundle) as a release of a remote project"}}
	r.Deliverers = Route[None, ProjectDeliverers]{Op{Method: get, Path: pj + "/deliverers", Permission: PermView, Summary: "The spaces allowed to deliver a remote project"}}
	r.AddDeliverer = Route[AddDelivererRequest, ProjectDeliverers]{Op{Method: post, Path: pj + "/deliverers", Permission: PermAdministerSpace, Summary: "Allow another remote space to deliver a remote project"}}
	r.ExportReceipts = Route[ExportReceiptsRequest, File]{Op{Method: post, Path: sp + "/receipts/export", Permission: PermDeploy, Download: MediaJSON, Summary: "A signed file of the receipts a remote space has not been sent",
		Headers: []Header{{HeaderReceipts, "how many receipts the file holds"}, {HeaderReceiptsWaiting, "receipts left out until that space reads their schema version"}, {HeaderNote, "a note for people"}}}}
	r.ImportReceipts = Route[None, ReceiptImport]{Op{Method: post, Path: sp + "/receipts/import", Permission: PermAdministerSpace, Upload: MediaJSON, Summary: "Import a receipt file (verified first)"}}
}

// packageRoutes declares the routes of the package feed and package transfer files.
func (r *RouteSet) packageRoutes() {
	r.PushPackage = Route[PushQuery, PushResult]{Op{Method: post, Path: sp + "/packages", Permission: PermCreateRelease, Status: made, Upload: MediaBinary, Summary: "Upload a package to the feed (streamed)", Also: []Answer{{http.StatusOK, MediaJSON, "already in the feed with this content", false}}}}
	r.ListPackages = Route[PackageQuery, []Package]{Op{Method: get, Path: sp + "/packages", Permission: PermView, Summary: "The feed's packages, newest version first"}}
	r.ShowPackage = Route[None, PackageDetail]{Op{Method: get, Path: sp + "/packages/{package}/{version}", Permission: PermView, Summary: "A package version and how it is stored"}}
	r.DownloadPackage = Route[None, File]{Op{Method: get, Path: sp + "/packages/{package}/{version}/file", Permission: PermView, Download: MediaBinary, Summary: "The package file, rebuilt and verified (streamed)"}}
	r.PackageInventory = Route[None, File]{Op{Method: post, Path: sp + "/packages/inventory", Permission: PermDeploy, Download: MediaJSON, Summary: "The space's signed package inventory, for a source space",
		Headers: []Header{{HeaderPackages, "how many package versions it lists"}}}}
	r.ExportPackages = Route[ExportPackagesRequest, File]{Op{Method: post, Path: sp + "/packages/export", Permission: PermPromote, Download: MediaTar, Summary: "A package transfer file with what a remote space lacks (streamed)",
		Headers: []Header{{HeaderTransfer, "what the file carries: a TransferSummary as JSON"}}}}
	r.ImportPackages = Route[None, PackageImport]{Op{Method: post, Path: sp + "/packages/import", Permission: PermAdministerSpace, Upload: MediaTar, Summary: "Import a package transfer file (streamed, verified before use)"}}
}

// targetRoutes declares the routes of deployment targets and the server's
// identity towards their agents.
func (r *RouteSet) targetRoutes() {
	tg := sp + "/targets/{name}"
	r.ListTargets = Route[None, []Target]{Op{Method: get, Path: sp + "/targets", Permission: PermView, Summary: "Deployment targets with their roles, mode and health"}}
	r.AddTarget = Route[AddTargetRequest, AddedTarget]{Op{Method: post, Path: sp + "/targets", Permission: PermAdministerSpace, Status: made, Summary: "Register a deployment target by its agent's fingerprint (checked in the background)",
		Also: []Answer{{http.StatusOK, MediaJSON, "already registered alike; nothing changed", false}}}}
	r.GetTarget = Route[None, Target]{Op{Method: get, Path: tg, Permission: PermView, Summary: "Show a deployment target"}}
	r.CheckTarget = Route[None, TargetCheck]{Op{Method: post, Path: tg + "/check", Permission: PermDeploy, Summary: "Check a target's health now"}}
	r.DisableTarget = Route[None, Target]{Op{Method: post, Path: tg + "/disable", Permission: PermAdministerSpace, Summary: "Disable a target: steps no longer choose it"}}
	r.EnableTarget = Route[None, Target]{Op{Method: post, Path: tg + "/enable", Permission: PermAdministerSpace, Summary: "Enable a target again (and check it)"}}
	r.DeleteTarget = Route[None, Target]{Op{Method: http.MethodDelete, Path: tg, Permission: PermAdministerSpace, Summary: "Delete a target: its agent's certificate is refused from then on"}}
	r.AgentTrust = Route[None, AgentTrust]{Op{Method: get, Path: "/api/agent-identity", Permission: PermUser, Summary: "The fingerprint agents trust this server by, and where polling agents connect"}}
	r.RotateIdentity = Route[RotateRequest, AgentTrust]{Op{Method: post, Path: "/api/agent-identity/rotate", Permission: PermAdmin, Summary: "Stage a new agent identity (agents learn it when checked), or activate the staged one"}}
}

// tenantRoutes declares the routes of tenants (SPEC §6).
func (r *RouteSet) tenantRoutes() {
	tn := sp + "/tenants/{name}"
	r.ListTenants = Route[None, []Tenant]{Op{Method: get, Path: sp + "/tenants", Permission: PermView, Summary: "The space's tenants with their tags, projects and values (secrets never)"}}
	r.CreateTenant = Route[CreateTenantRequest, Tenant]{Op{Method: post, Path: sp + "/tenants", Permission: PermAdministerSpace, Status: made, Summary: "Create a tenant with tags (SET/TAG)"}}
	r.GetTenant = Route[None, Tenant]{Op{Method: get, Path: tn, Permission: PermView, Summary: "Show a tenant"}}
	r.DeleteTenant = Route[None, Tenant]{Op{Method: http.MethodDelete, Path: tn, Permission: PermAdministerSpace, Summary: "Delete a tenant and its values"}}
	r.ConnectTenant = Route[ConnectTenantRequest, Tenant]{Op{Method: post, Path: tn + "/projects", Permission: PermEditProject, Summary: "Connect a tenant to a project (local or remote) in environments of this space"}}
	r.SetTenantValue = Route[TenantValueRequest, Tenant]{Op{Method: post, Path: tn + "/values", Permission: PermEditProject, Summary: "Set a project template's value for a tenant in one environment"}}
	r.DeployTenants = Route[DeployTenantsRequest, []Deployment]{Op{Method: post, Path: sp + "/deployments/tenants", Permission: PermDeploy, Status: made, Summary: "Deploy a release for tenants: one task each, nothing queued unless every check passes"}}
	r.TenantDashboard = Route[TenantDashboardQuery, TenantDashboard]{Op{Method: get, Path: sp + "/dashboard/tenants", Permission: PermView, Summary: "One project's tenants × environments, other spaces' tenants from receipts"}}
}

// people declares the routes of users, their keys, and teams.
func (r *RouteSet) people() {
	r.ListUsers = Route[None, []User]{Op{Method: get, Path: "/api/users", Permission: PermAdmin, Summary: "List users"}}
	r.CreateUser = Route[CreateUserRequest, User]{Op{Method: post, Path: "/api/users", Permission: PermAdmin, Status: made, Summary: "Create a user"}}
	r.SetPassword = Route[SetPasswordRequest, PasswordSet]{Op{Method: post, Path: "/api/users/{name}/password", Permission: PermSelf, Summary: "Set a user's sign-in password (ends their web sessions)"}}
	r.ListKeys = Route[None, []APIKey]{Op{Method: get, Path: "/api/users/{name}/keys", Permission: PermSelf, Summary: "A user's API keys (never the keys themselves)"}}
	r.CreateKey = Route[CreateKeyRequest, NewAPIKey]{Op{Method: post, Path: "/api/users/{name}/keys", Permission: PermSelf, Status: made, Summary: "Create an API key; the answer is the only time it is shown"}}
	r.RevokeKey = Route[None, RevokedKey]{Op{Method: post, Path: "/api/users/{name}/keys/{id}/revoke", Permission: PermSelf, Summary: "Revoke an API key"}}
	r.ListTeams = Route[None, []Team]{Op{Method: get, Path: sp + "/teams", Permission: PermView, Summary: "List the space's teams"}}
	r.CreateTeam = Route[TeamRequest, Team]{Op{Method: post, Path: sp + "/teams", Permission: PermAdministerSpace, Status: made, Summary: "Create a team"}}
	r.UpdateTeam = Route[TeamRequest, Team]{Op{Method: patch, Path: sp + "/teams/{name}", Permission: PermAdministerSpace, Summary: "Change a team: each part given replaces that part"}}
}

// transfer declares the routes of the connected-space protocol: servers send these to each other, authorised by the signature on the body.
func (r *RouteSet) transfer() {
	// What every connected-space transfer request names, and every answer
	// of a transfer endpoint says.
	transferHeaders := []Header{
		{HeaderSender, "SHA-256 fingerprint of the sending space's certificate"},
		{HeaderTarget, "SHA-256 fingerprint of the space the payload is for"},
	}
	schemaHeader := []Header{{HeaderSchema, "the newest schema version the answering server reads"}}
	r.TransferBundle = Route[None, BundleReceived]{Op{Method: post, Path: "/api/v1/transfer/bundles", Permission: PermSignature, Upload: MediaJSON, Summary: "A connected space delivers a release bundle",
		RequestHeaders: transferHeaders, Headers: schemaHeader}}
	r.TransferReceipts = Route[None, ReceiptImport]{Op{Method: post, Path: "/api/v1/transfer/receipts", Permission: PermSignature, Upload: MediaJSON, Summary: "A connected space delivers a receipt file",
		RequestHeaders: transferHeaders, Headers: schemaHeader}}
	r.TransferChunks = Route[None, MissingChunks]{Op{Method: post, Path: "/api/v1/transfer/chunks/missing", Permission: PermSignature, Upload: MediaJSON, Summary: "A connected space asks which chunks the target lacks (a signed chunk query)",
		RequestHeaders: transferHeaders, Headers: schemaHeader}}
	r.TransferPackages = Route[None, PackageImport]{Op{Method: post, Path: "/api/v1/transfer/packages", Permission: PermSignature, Upload: MediaTar, Summary: "A connected space delivers a package transfer file (streamed; Content-Length may be absent)",
		RequestHeaders: transferHeaders, Headers: schemaHeader}}
	r.TransferSchema = Route[None, Handshake]{Op{Method: get, Path: "/api/v1/transfer/schema", Permission: PermAnyone, Summary: "The connected handshake: the schema versions this server reads", Headers: schemaHeader}}
}

// deletes declares the routes that delete things, and retention.
func (r *RouteSet) deletes() {
	const refused = "; refused (409, rule in-use) naming every referrer while something uses it"
	r.DeleteSpace = Route[None, Deleted]{Op{Method: del, Path: sp, Permission: PermAdmin, Summary: "Delete a space and everything in it (its audit events stay, as the server's)" + refused}}
	r.DeleteEnvironment = Route[None, Deleted]{Op{Method: del, Path: sp + "/environments/{name}", Permission: PermAdministerSpace, Summary: "Delete an environment with its deployments and their task logs" + refused}}
	r.DeleteLifecycle = Route[None, Deleted]{Op{Method: del, Path: sp + "/lifecycles/{name}", Permission: PermAdministerSpace, Summary: "Delete a lifecycle" + refused}}
	r.DeleteProject = Route[None, Deleted]{Op{Method: del, Path: pj, Permission: PermAdministerSpace, Summary: "Delete a project with its releases, deployments and task logs" + refused}}
	r.DeleteVariable = Route[DeleteVariableRequest, Deleted]{Op{Method: del, Path: pj + "/variables/{name}", Permission: PermEditProject, Summary: "Delete a variable's value for one scope, or all its values"}}
	r.DeleteRelease = Route[None, Deleted]{Op{Method: del, Path: pj + "/releases/{version}", Permission: PermAdministerSpace, Summary: "Delete a release with its deployments and task logs" + refused}}
	r.DeletePackage = Route[None, Deleted]{Op{Method: del, Path: sp + "/packages/{package}", Permission: PermAdministerSpace, Summary: "Delete every version of a package from the feed" + refused}}
	r.DeletePackageVersion = Route[None, Deleted]{Op{Method: del, Path: sp + "/packages/{package}/{version}", Permission: PermAdministerSpace, Summary: "Delete a package version from the feed" + refused}}
	r.DeleteUser = Route[None, Deleted]{Op{Method: del, Path: "/api/users/{name}", Permission: PermAdmin, Summary: "Delete a user with their API keys; never the last administrator"}}
	r.DeleteTeam = Route[None, Deleted]{Op{Method: del, Path: sp + "/teams/{name}", Permission: PermAdministerSpace, Summary: "Delete a team"}}
	r.DeleteRemoteSpace = Route[None, Deleted]{Op{Method: del, Path: sp + "/remote-spaces/{name}", Permission: PermAdministerSpace, Summary: "Revoke a remote space, then delete it: its imports stay readable and never deploy again" + refused}}
	r.RunRetention = Route[RetentionRequest, RetentionReport]{Op{Method: post, Path: "/api/retention", Permission: PermAdmin, Summary: "Run retention now: releases, task logs, package versions and chunks the policies let go"}}
}
