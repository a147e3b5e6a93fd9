package client

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strconv"

	"github.com/ferrydeploy/ferry/api"
)

// One method per route of api.RouteSet, named as the route; the
// connected-space transfer routes are servers' business and have none.

// Health says whether the server's node and store answer.
func (c *Client) Health(ctx context.Context) (api.Health, error) {
	return call(ctx, c, c.routes.Health, api.None{})
}

// OpenAPI writes the server's OpenAPI 3 document to w.
func (c *Client) OpenAPI(ctx context.Context, w io.Writer) error {
	_, err := download(ctx, c, c.routes.OpenAPI, api.None{}, w)
	return err
}

// ListSpaces lists the spaces the caller may see.
func (c *Client) ListSpaces(ctx context.Context) ([]api.Space, error) {
	return call(ctx, c, c.routes.ListSpaces, api.None{})
}

// CreateSpace creates a space (administrators).
func (c *Client) CreateSpace(ctx context.Context, name string) (api.Space, error) {
	return call(ctx, c, c.routes.CreateSpace, api.NameRequest{Name: name})
}

// GetSpace shows a space and its fingerprint.
func (c *Client) GetSpace(ctx context.Context, space string) (api.Space, error) {
	return call(ctx, c, c.routes.GetSpace, api.None{}, space)
}

// Certificate returns the space's certificate (PEM).
func (c *Client) Certificate(ctx context.Context, space string) ([]byte, error) {
	pem, _, err := fetch(ctx, c, c.routes.Certificate, api.None{}, space)
	return pem, err
}

// AgeKey returns the space's age secret key (administrators; audited).
func (c *Client) AgeKey(ctx context.Context, space string) ([]byte, error) {
	key, _, err := fetch(ctx, c, c.routes.AgeKey, api.None{}, space)
	return key, err
}

// ListAllAudit lists the audit events of every space (administrators).
func (c *Client) ListAllAudit(ctx context.Context, limit int) ([]api.AuditEvent, error) {
	return call(ctx, c, c.routes.ListAllAudit, api.Limit{Limit: limit})
}

// ListAudit lists a space's audit events, newest first.
func (c *Client) ListAudit(ctx context.Context, space string, limit int) ([]api.AuditEvent, error) {
	return call(ctx, c, c.routes.ListAudit, api.Limit{Limit: limit}, space)
}

// Dashboard returns one page of the space's dashboard.
func (c *Client) Dashboard(ctx context.Context, space string, q api.DashboardQuery) (api.Dashboard, error) {
	return call(ctx, c, c.routes.Dashboard, q, space)
}

// Apply makes the space match the YAML document doc.
func (c *Client) Apply(ctx context.Context, space string, doc []byte, opts api.ApplyOptions) (api.ApplyResult, error) {
	return upload(ctx, c, c.routes.Apply, opts, bytesReader(doc), int64(len(doc)), space)
}

// Export returns the space's configuration as YAML that Apply accepts.
func (c *Client) Export(ctx context.Context, space string) ([]byte, error) {
	doc, _, err := fetch(ctx, c, c.routes.Export, api.None{}, space)
	return doc, err
}

// ListLifecycles lists the space's lifecycles.
func (c *Client) ListLifecycles(ctx context.Context, space string) ([]api.Lifecycle, error) {
	return call(ctx, c, c.routes.ListLifecycles, api.None{}, space)
}

// ListEnvironments lists the space's environments, local and remote.
func (c *Client) ListEnvironments(ctx context.Context, space string) ([]api.Environment, error) {
	return call(ctx, c, c.routes.ListEnvironments, api.None{}, space)
}

// CreateEnvironment creates an environment.
func (c *Client) CreateEnvironment(ctx context.Context, space, name string) (api.Environment, error) {
	return call(ctx, c, c.routes.CreateEnvironment, api.NameRequest{Name: name}, space)
}

// ListProjects lists the space's projects.
func (c *Client) ListProjects(ctx context.Context, space string) ([]api.Project, error) {
	return call(ctx, c, c.routes.ListProjects, api.None{}, space)
}

// GetProject shows a project.
func (c *Client) GetProject(ctx context.Context, space, project string) (api.Project, error) {
	return call(ctx, c, c.routes.GetProject, api.None{}, space, project)
}

// ListVariables returns a project's variables and templates.
func (c *Client) ListVariables(ctx context.Context, space, project string) (api.VariableList, error) {
	return call(ctx, c, c.routes.ListVariables, api.None{}, space, project)
}

// SetVariable sets a variable's value for a scope.
func (c *Client) SetVariable(ctx context.Context, space, project string, req api.SetVariableRequest) (api.VariableList, error) {
	return call(ctx, c, c.routes.SetVariable, req, space, project)
}

// ListReleases lists a project's releases, newest first.
func (c *Client) ListReleases(ctx context.Context, space, project string) ([]api.Release, error) {
	return call(ctx, c, c.routes.ListReleases, api.None{}, space, project)
}

// CreateRelease creates a release of a project.
func (c *Client) CreateRelease(ctx context.Context, space, project string, req api.CreateReleaseRequest) (api.Release, error) {
	return call(ctx, c, c.routes.CreateRelease, req, space, project)
}

// GetRelease shows a release.
func (c *Client) GetRelease(ctx context.Context, space, project, version string) (api.Release, error) {
	return call(ctx, c, c.routes.GetRelease, api.None{}, space, project, version)
}

// ShowRelease shows a release with its packages and snapshot digests.
func (c *Client) ShowRelease(ctx context.Context, space, project, version string) (api.ReleaseDetail, error) {
	return call(ctx, c, c.routes.ShowRelease, api.None{}, space, project, version)
}

// DiffReleases says what changed from release from to release to
// (either may be "current").
func (c *Client) DiffReleases(ctx context.Context, space, project, from, to string) (api.ReleaseDiff, error) {
	return call(ctx, c, c.routes.DiffReleases, api.DiffQuery{From: from, To: to}, space, project)
}

// Deploy queues a deployment.
func (c *Client) Deploy(ctx context.Context, space string, req api.DeployRequest) (api.Deployment, error) {
	return call(ctx, c, c.routes.Deploy, req, space)
}

// ListDeployments lists deployments here and, from receipts, elsewhere.
func (c *Client) ListDeployments(ctx context.Context, space string, q api.DeploymentQuery) ([]api.Deployment, error) {
	return call(ctx, c, c.routes.ListDeployments, q, space)
}

// ListTasks lists the space's tasks, newest first.
func (c *Client) ListTasks(ctx context.Context, space string, limit int) ([]api.Task, error) {
	return call(ctx, c, c.routes.ListTasks, api.TaskQuery{Limit: limit}, space)
}

// ListWaiting lists the space's tasks waiting for a manual intervention,
// each with what it waits for.
func (c *Client) ListWaiting(ctx context.Context, space string, limit int) ([]api.Task, error) {
	return call(ctx, c, c.routes.ListTasks, api.TaskQuery{Limit: limit, Waiting: true}, space)
}

// ApproveTask approves the manual intervention a task waits for.
func (c *Client) ApproveTask(ctx context.Context, space string, id int64, note string) (api.Task, error) {
	return call(ctx, c, c.routes.ApproveTask, api.DecisionRequest{Note: note}, space, itoa(id))
}

// AbortTask aborts the manual intervention a task waits for.
func (c *Client) AbortTask(ctx context.Context, space string, id int64, note string) (api.Task, error) {
	return call(ctx, c, c.routes.AbortTask, api.DecisionRequest{Note: note}, space, itoa(id))
}

// ListTriggers lists a project's triggers with what each did last.
func (c *Client) ListTriggers(ctx context.Context, space, project string) ([]api.TriggerStatus, error) {
	return call(ctx, c, c.routes.ListTriggers, api.None{}, space, project)
}

// GetTask shows a task.
func (c *Client) GetTask(ctx context.Context, space string, id int64) (api.Task, error) {
	return call(ctx, c, c.routes.GetTask, api.None{}, space, itoa(id))
}

// TaskLog returns a task and its log lines after sequence number after.
func (c *Client) TaskLog(ctx context.Context, space string, id, after int64) (api.TaskLog, error) {
	return call(ctx, c, c.routes.TaskLog, api.LogQuery{After: after}, space, itoa(id))
}

// CancelTask asks a queued or running task to stop.
func (c *Client) CancelTask(ctx context.Context, space string, id int64) (api.Task, error) {
	return call(ctx, c, c.routes.CancelTask, api.None{}, space, itoa(id))
}

// ListRemoteSpaces lists the remote spaces this space knows.
func (c *Client) ListRemoteSpaces(ctx context.Context, space string) ([]api.RemoteSpaceStatus, error) {
	return call(ctx, c, c.routes.ListRemoteSpaces, api.None{}, space)
}

// AddRemoteSpace adds another space by its certificate.
func (c *Client) AddRemoteSpace(ctx context.Context, space string, req api.AddRemoteSpaceRequest) (api.AddedRemoteSpace, error) {
	return call(ctx, c, c.routes.AddRemoteSpace, req, space)
}

// UpdateRemoteSpace changes a remote space.
func (c *Client) UpdateRemoteSpace(ctx context.Context, space, name string, req api.UpdateRemoteSpaceRequest) (api.RemoteSpace, error) {
	return call(ctx, c, c.routes.UpdateRemoteSpace, req, space, name)
}

// RevokeRemoteSpace revokes a remote space.
func (c *Client) RevokeRemoteSpace(ctx context.Context, space, name string) (api.RemoteSpace, error) {
	return call(ctx, c, c.routes.RevokeRemoteSpace, api.None{}, space, name)
}

// RetryDeliveries queues again what a remote space refused.
func (c *Client) RetryDeliveries(ctx context.Context, space, name string) (api.RetryResult, error) {
	return call(ctx, c, c.routes.RetryDeliveries, api.None{}, space, name)
}

// ListDeliveries lists deliveries to connected spaces.
func (c *Client) ListDeliveries(ctx context.Context, space string, q api.DeliveryQuery) ([]api.Delivery, error) {
	return call(ctx, c, c.routes.ListDeliveries, q, space)
}

// GetDelivery shows a delivery.
func (c *Client) GetDelivery(ctx context.Context, space string, id int64) (api.Delivery, error) {
	return call(ctx, c, c.routes.GetDelivery, api.None{}, space, itoa(id))
}

// Promote queues the release's bundle for delivery to a connected space.
// PromoteToFile writes the bundle for a disconnected one.
func (c *Client) Promote(ctx context.Context, space string, req api.PromoteRequest) (api.Promotion, error) {
	req.Deliver = true
	return call(ctx, c, c.routes.Promote, req, space)
}

// BundleFile is a signed release bundle (docs/bundle-format.md) and what
// the server noted about it.
type BundleFile struct {
	Data   []byte
	Digest string
	Notes  []string
}

// PromoteToFile promotes a release to a remote space by writing its
// signed bundle, to carry there by hand.
func (c *Client) PromoteToFile(ctx context.Context, space string, req api.PromoteRequest) (BundleFile, error) {
	req.Deliver = false
	r := c.routes.Promote
	data, h, err := fetch(ctx, c, api.Route[api.PromoteRequest, api.File](r), req, space)
	return BundleFile{Data: data, Digest: h.Get(api.HeaderBundleDigest), Notes: h.Values(api.HeaderNote)}, err
}

// ListBundles lists the bundles of the space.
func (c *Client) ListBundles(ctx context.Context, space string) ([]api.BundleStatus, error) {
	return call(ctx, c, c.routes.ListBundles, api.None{}, space)
}

// InspectBundle shows what a bundle file holds and whether the space
// would import it.
func (c *Client) InspectBundle(ctx context.Context, space string, bundle []byte) (api.BundleInspection, error) {
	return upload(ctx, c, c.routes.InspectBundle, api.None{}, bytesReader(bundle), int64(len(bundle)), space)
}

// ImportBundle imports a bundle file, or with q.Pending a pending bundle
// (bundle nil).
func (c *Client) ImportBundle(ctx context.Context, space string, bundle []byte, q api.BundleImportQuery) (api.BundleImport, error) {
	return upload(ctx, c, c.routes.ImportBundle, q, bytesReader(bundle), int64(len(bundle)), space)
}

// Deliverers says which spaces may deliver a remote project.
func (c *Client) Deliverers(ctx context.Context, space, project string) (api.ProjectDeliverers, error) {
	return call(ctx, c, c.routes.Deliverers, api.None{}, space, project)
}

// AddDeliverer allows the remote space remote to deliver a remote project.
func (c *Client) AddDeliverer(ctx context.Context, space, project, remote string) (api.ProjectDeliverers, error) {
	return call(ctx, c, c.routes.AddDeliverer, api.AddDelivererRequest{Space: remote}, space, project)
}

// ReceiptFile is a signed receipt file, and how many receipts it holds
// and leaves waiting.
type ReceiptFile struct {
	Data     []byte
	Receipts int
	Waiting  int
	Note     string
}

// ExportReceipts writes the receipts a remote space has not been sent.
func (c *Client) ExportReceipts(ctx context.Context, space string, req api.ExportReceiptsRequest) (ReceiptFile, error) {
	data, h, err := fetch(ctx, c, c.routes.ExportReceipts, req, space)
	if err != nil {
		return ReceiptFile{}, err
	}
	n, _ := strconv.Atoi(h.Get(api.HeaderReceipts))
	waiting, _ := strconv.Atoi(h.Get(api.HeaderReceiptsWaiting))
	return ReceiptFile{Data: data, Receipts: n, Waiting: waiting, Note: h.Get(api.HeaderNote)}, nil
}

// ImportReceipts imports a receipt file.
func (c *Client) ImportReceipts(ctx context.Context, space string, file []byte) (api.ReceiptImport, error) {
	return upload(ctx, c, c.routes.ImportReceipts, api.None{}, bytesReader(file), int64(len(file)), space)
}

// PushPackage streams a package file of size bytes to the feed.
func (c *Client) PushPackage(ctx context.Context, space string, q api.PushQuery, body io.Reader, size int64) (api.PushResult, error) {
	return upload(ctx, c, c.routes.PushPackage, q, body, size, space)
}

// ListPackages lists the feed's packages (of one id, unless "").
func (c *Client) ListPackages(ctx context.Context, space, id string) ([]api.Package, error) {
	return call(ctx, c, c.routes.ListPackages, api.PackageQuery{ID: id}, space)
}

// ShowPackage shows a package version.
func (c *Client) ShowPackage(ctx context.Context, space, id, version string) (api.PackageDetail, error) {
	return call(ctx, c, c.routes.ShowPackage, api.None{}, space, id, version)
}

// DownloadPackage writes a package version's file to w as it arrives.
func (c *Client) DownloadPackage(ctx context.Context, space, id, version string, w io.Writer) error {
	_, err := download(ctx, c, c.routes.DownloadPackage, api.None{}, w, space, id, version)
	return err
}

// PackageInventory returns the space's signed package inventory.
func (c *Client) PackageInventory(ctx context.Context, space string) ([]byte, error) {
	data, _, err := fetch(ctx, c, c.routes.PackageInventory, api.None{}, space)
	return data, err
}

// ExportPackages writes a package transfer file to w as it arrives and
// says what it carries (FileBytes: the bytes written).
func (c *Client) ExportPackages(ctx context.Context, space string, req api.ExportPackagesRequest, w io.Writer) (api.TransferSummary, error) {
	cw := &countingWriter{w: w}
	h, err := download(ctx, c, c.routes.ExportPackages, req, cw, space)
	var sum api.TransferSummary
	if h != nil {
		json.Unmarshal([]byte(h.Get(api.HeaderTransfer)), &sum)
	}
	sum.FileBytes = cw.n
	return sum, err
}

// ImportPackages streams a package transfer file of size bytes to the
// space.
func (c *Client) ImportPackages(ctx context.Context, space string, body io.Reader, size int64) (api.PackageImport, error) {
	return upload(ctx, c, c.routes.ImportPackages, api.None{}, body, size, space)
}

// ListUsers lists users (administrators).
func (c *Client) ListUsers(ctx context.Context) ([]api.User, error) {
	return call(ctx, c, c.routes.ListUsers, api.None{})
}

// CreateUser creates a user (administrators).
func (c *Client) CreateUser(ctx context.Context, req api.CreateUserRequest) (api.User, error) {
	return call(ctx, c, c.routes.CreateUser, req)
}

// SetPassword sets a user's sign-in password.
func (c *Client) SetPassword(ctx context.Context, user, password string) (api.PasswordSet, error) {
	return call(ctx, c, c.routes.SetPassword, api.SetPasswordRequest{Password: password}, user)
}

// ListKeys lists a user's API keys.
func (c *Client) ListKeys(ctx context.Context, user string) ([]api.APIKey, error) {
	return call(ctx, c, c.routes.ListKeys, api.None{}, user)
}

// CreateKey creates an API key for a user; the answer is the only time
// the key is shown.
func (c *Client) CreateKey(ctx context.Context, user, name string) (api.NewAPIKey, error) {
	return call(ctx, c, c.routes.CreateKey, api.CreateKeyRequest{Name: name}, user)
}

// RevokeKey revokes one of a user's API keys.
func (c *Client) RevokeKey(ctx context.Context, user string, id int64) (api.RevokedKey, error) {
	return call(ctx, c, c.routes.RevokeKey, api.None{}, user, itoa(id))
}

// ListTeams lists the space's teams.
func (c *Client) ListTeams(ctx context.Context, space string) ([]api.Team, error) {
	return call(ctx, c, c.routes.ListTeams, api.None{}, space)
}

// CreateTeam creates a team.
func (c *Client) CreateTeam(ctx context.Context, space string, req api.TeamRequest) (api.Team, error) {
	return call(ctx, c, c.routes.CreateTeam, req, space)
}

// UpdateTeam changes a team.
func (c *Client) UpdateTeam(ctx context.Context, space, name string, req api.TeamRequest) (api.Team, error) {
	return call(ctx, c, c.routes.UpdateTeam, req, space, name)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
