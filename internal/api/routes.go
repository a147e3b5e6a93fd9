package api

import (
	"net/http"

	wire "github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/catalog"
	"github.com/ferrydeploy/ferry/internal/config"
	"github.com/ferrydeploy/ferry/internal/dashboard"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/release"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/trigger"
)

// routes binds a handler to every declared route (wire.Routes); a route
// without one, or one bound twice, fails TestContract.
func (h *handler) routes() *router {
	rt := &router{h: h, mux: http.NewServeMux()}
	r := wire.Routes()
	handle(rt, r.Health, h.health)
	handle(rt, r.OpenAPI, h.openAPI)
	h.transferRoutes(rt, r) // authorised by signatures, not API keys

	handle(rt, r.ListSpaces, h.listSpaces)
	handle(rt, r.CreateSpace, h.createSpace)
	handle(rt, r.GetSpace, h.getSpace)
	handle(rt, r.ListAllAudit, h.listAllAudit)
	handle(rt, r.ListAudit, h.listAudit)
	handle(rt, r.Dashboard, h.dashboard)
	handle(rt, r.Apply, h.apply)
	handle(rt, r.Export, h.export)
	handle(rt, r.ListLifecycles, h.listLifecycles)
	handle(rt, r.ListEnvironments, h.listEnvironments)
	handle(rt, r.CreateEnvironment, h.createEnvironment)

	handle(rt, r.ListProjects, h.listProjects)
	handle(rt, r.GetProject, h.getProject)
	handle(rt, r.ListVariables, h.listVariables)
	handle(rt, r.SetVariable, h.setVariable)
	handle(rt, r.ListReleases, h.listReleases)
	handle(rt, r.CreateRelease, h.createRelease)
	handle(rt, r.GetRelease, h.getRelease)
	handle(rt, r.ShowRelease, h.showRelease)
	handle(rt, r.DiffReleases, h.diffReleases)

	handle(rt, r.Deploy, h.deploy)
	handle(rt, r.ListDeployments, h.listDeployments)
	handle(rt, r.ListTasks, h.listTasks)
	handle(rt, r.GetTask, h.getTask)
	handle(rt, r.TaskLog, h.taskLog)
	handle(rt, r.CancelTask, h.cancelTask)
	handle(rt, r.ApproveTask, h.approveTask)
	handle(rt, r.AbortTask, h.abortTask)
	handle(rt, r.ListTriggers, h.listTriggers)

	h.trustRoutes(rt, r)
	h.bundleRoutes(rt, r)
	h.packageRoutes(rt, r)
	h.targetRoutes(rt, r)
	h.tenantRoutes(rt, r)
	h.userRoutes(rt, r)
	h.deleteRoutes(rt, r)

	rt.mux.Handle("/api/", h.authenticated(func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, domain.NotFoundf("no API route %s %s", r.Method, r.URL.Path))
	}))
	return rt
}

// health is /api/health: this node and its store (wire.Health).
func (h *handler) health(w http.ResponseWriter, r *http.Request, _ wire.None) (any, error) {
	return h.s.Health(r.Context()), nil
}

// openAPI serves the declaration of every route as an OpenAPI 3
// document. It needs no API key: it says what the API is, never what a
// server holds.
func (h *handler) openAPI(w http.ResponseWriter, r *http.Request, _ wire.None) (file, error) {
	return file{body: h.doc}, nil
}

func (h *handler) listSpaces(w http.ResponseWriter, r *http.Request, _ wire.None) ([]domain.Space, error) {
	return h.s.Catalog.Spaces(r.Context())
}

func (h *handler) getSpace(w http.ResponseWriter, r *http.Request, _ wire.None) (domain.Space, error) {
	return h.s.Catalog.Space(r.Context(), r.PathValue("space"))
}

type nameRequest struct {
	Name string `json:"name"`
}

func (h *handler) createSpace(w http.ResponseWriter, r *http.Request, req nameRequest) (domain.Space, error) {
	return h.s.Catalog.CreateSpace(r.Context(), req.Name)
}

func (h *handler) listEnvironments(w http.ResponseWriter, r *http.Request, _ wire.None) ([]domain.Environment, error) {
	return h.s.Catalog.Environments(r.Context(), r.PathValue("space"))
}

func (h *handler) createEnvironment(w http.ResponseWriter, r *http.Request, req nameRequest) (domain.Environment, error) {
	return h.s.Catalog.CreateEnvironment(r.Context(), r.PathValue("space"), req.Name)
}

func (h *handler) listLifecycles(w http.ResponseWriter, r *http.Request, _ wire.None) ([]domain.Lifecycle, error) {
	return h.s.Catalog.Lifecycles(r.Context(), r.PathValue("space"))
}

// apply takes the YAML document itself as the body, so that errors can name
// lines of the user's file.
func (h *handler) apply(w http.ResponseWriter, r *http.Request, q wire.ApplyOptions) (catalog.ApplyResult, error) {
	body, err := readBody(w, r)
	if err != nil {
		return catalog.ApplyResult{}, err
	}
	doc, err := config.Parse(body)
	if err != nil {
		return catalog.ApplyResult{}, err
	}
	return h.s.Catalog.ApplyWith(r.Context(), r.PathValue("space"), doc, catalog.ApplyOptions{DryRun: q.DryRun, Prune: q.Prune})
}

func (h *handler) export(w http.ResponseWriter, r *http.Request, _ wire.None) (file, error) {
	doc, err := h.s.Catalog.Export(r.Context(), r.PathValue("space"))
	if err != nil {
		return file{}, err
	}
	out, err := doc.Marshal()
	return file{body: out}, err
}

func (h *handler) listProjects(w http.ResponseWriter, r *http.Request, _ wire.None) ([]domain.Project, error) {
	return h.s.Catalog.Projects(r.Context(), r.PathValue("space"))
}

func (h *handler) getProject(w http.ResponseWriter, r *http.Request, _ wire.None) (domain.Project, error) {
	return h.s.Catalog.Project(r.Context(), r.PathValue("space"), r.PathValue("project"))
}

type variableList struct {
	Variables []domain.Variable `json:"variables"`
	Templates []domain.Template `json:"templates"`
}

func (h *handler) listVariables(w http.ResponseWriter, r *http.Request, _ wire.None) (variableList, error) {
	p, err := h.s.Catalog.Project(r.Context(), r.PathValue("space"), r.PathValue("project"))
	return variableList{Variables: p.Variables, Templates: p.Templates}, err
}

func (h *handler) setVariable(w http.ResponseWriter, r *http.Request, req catalog.VariableChange) (variableList, error) {
	p, err := h.s.Catalog.SetVariable(r.Context(), r.PathValue("space"), r.PathValue("project"), req)
	return variableList{Variables: p.Variables, Templates: p.Templates}, err
}

func (h *handler) listReleases(w http.ResponseWriter, r *http.Request, _ wire.None) ([]domain.Release, error) {
	return h.s.Releases.List(r.Context(), r.PathValue("space"), r.PathValue("project"))
}

func (h *handler) createRelease(w http.ResponseWriter, r *http.Request, req release.CreateRequest) (domain.Release, error) {
	return h.s.Releases.Create(r.Context(), r.PathValue("space"), r.PathValue("project"), req)
}

func (h *handler) getRelease(w http.ResponseWriter, r *http.Request, _ wire.None) (domain.Release, error) {
	return h.s.Releases.Get(r.Context(), r.PathValue("space"), r.PathValue("project"), r.PathValue("version"))
}

// showRelease is a release with its snapshot digest and packages.
func (h *handler) showRelease(w http.ResponseWriter, r *http.Request, _ wire.None) (release.Detail, error) {
	return h.s.Releases.Show(r.Context(), r.PathValue("space"), r.PathValue("project"), r.PathValue("version"))
}

// diffReleases compares From with To; either may be "current", the
// project's unreleased state.
func (h *handler) diffReleases(w http.ResponseWriter, r *http.Request, q wire.DiffQuery) (release.Diff, error) {
	return h.s.Releases.Diff(r.Context(), r.PathValue("space"), r.PathValue("project"), q.From, q.To)
}

func (h *handler) deploy(w http.ResponseWriter, r *http.Request, req wire.DeployRequest) (domain.Deployment, error) {
	return h.s.Deploy.Deploy(r.Context(), r.PathValue("space"), deploy.Request{Project: req.Project, Version: req.Version, Environment: req.Environment,
		Tenant: req.Tenant, Targets: req.Targets, ExcludeTargets: req.ExcludeTargets})
}

func (h *handler) listDeployments(w http.ResponseWriter, r *http.Request, q wire.DeploymentQuery) ([]domain.Deployment, error) {
	space := r.PathValue("space")
	f := store.DeploymentFilter{Environment: q.Environment, Limit: q.Limit}
	if q.Project != "" {
		p, err := h.s.Catalog.Project(r.Context(), space, q.Project)
		if err != nil {
			return nil, err
		}
		f.ProjectID = p.ID
		if q.Version != "" {
			rel, err := h.s.Releases.Get(r.Context(), space, q.Project, q.Version)
			if err != nil {
				return nil, err
			}
			f.ReleaseID = rel.ID
		}
	} else if q.Version != "" {
		return nil, domain.Invalidf("a version names a release of a project: give project too")
	}
	here, err := h.s.Deploy.Deployments(r.Context(), space, f)
	if err != nil || q.Where == "here" {
		return here, err
	}
	// Deployments in other spaces, from the receipts this space holds.
	away, err := h.s.Dashboard.Elsewhere(r.Context(), space, dashboard.Query{Project: q.Project, Version: q.Version, Environment: f.Environment, Limit: q.Limit})
	if err != nil {
		return nil, err
	}
	return dashboard.Merge(here, away, q.Limit), nil
}

func (h *handler) listTasks(w http.ResponseWriter, r *http.Request, q wire.TaskQuery) ([]domain.Task, error) {
	if q.Waiting {
		return h.s.Deploy.Waiting(r.Context(), r.PathValue("space"), q.Limit)
	}
	return h.s.Deploy.Tasks(r.Context(), r.PathValue("space"), q.Limit)
}

type decisionRequest struct {
	Note string `json:"note,omitempty"`
}

func (h *handler) approveTask(w http.ResponseWriter, r *http.Request, req decisionRequest) (domain.Task, error) {
	return h.decide(r, deploy.Decision{Approve: true, Note: req.Note})
}

func (h *handler) abortTask(w http.ResponseWriter, r *http.Request, req decisionRequest) (domain.Task, error) {
	return h.decide(r, deploy.Decision{Note: req.Note})
}

func (h *handler) decide(r *http.Request, d deploy.Decision) (domain.Task, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return domain.Task{}, err
	}
	return h.s.Deploy.Decide(r.Context(), r.PathValue("space"), id, d)
}

func (h *handler) listTriggers(w http.ResponseWriter, r *http.Request, _ wire.None) ([]trigger.Status, error) {
	return h.s.Triggers.List(r.Context(), r.PathValue("space"), r.PathValue("project"))
}

func (h *handler) getTask(w http.ResponseWriter, r *http.Request, _ wire.None) (domain.Task, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return domain.Task{}, err
	}
	return h.s.Deploy.Task(r.Context(), r.PathValue("space"), id)
}

// taskLog is a task and a page of its log.
type taskLog struct {
	Task  domain.Task      `json:"task"`
	Lines []domain.LogLine `json:"lines"`
}

func (h *handler) taskLog(w http.ResponseWriter, r *http.Request, q wire.LogQuery) (taskLog, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return taskLog{}, err
	}
	t, lines, err := h.s.Deploy.Log(r.Context(), r.PathValue("space"), id, q.After)
	if lines == nil {
		lines = []domain.LogLine{}
	}
	return taskLog{Task: t, Lines: lines}, err
}

func (h *handler) cancelTask(w http.ResponseWriter, r *http.Request, _ wire.None) (domain.Task, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return domain.Task{}, err
	}
	return h.s.Deploy.Cancel(r.Context(), r.PathValue("space"), id)
}

func (h *handler) listAudit(w http.ResponseWriter, r *http.Request, q wire.Limit) ([]domain.AuditEvent, error) {
	return h.s.Catalog.Audit(r.Context(), r.PathValue("space"), q.Limit)
}

func (h *handler) listAllAudit(w http.ResponseWriter, r *http.Request, q wire.Limit) ([]domain.AuditEvent, error) {
	return h.s.Audit.List(r.Context(), store.AuditFilter{Limit: q.Limit})
}

// dashboard serves one page of projects (limit 0: dashboard.DefaultLimit,
// at most dashboard.MaxLimit).
func (h *handler) dashboard(w http.ResponseWriter, r *http.Request, q wire.DashboardQuery) (dashboard.Dashboard, error) {
	return h.s.Dashboard.Get(r.Context(), r.PathValue("space"), q.Project, dashboard.Page{Offset: q.Offset, Limit: q.Limit})
}

func (h *handler) listTeams(w http.ResponseWriter, r *http.Request, _ wire.None) ([]domain.Team, error) {
	return h.s.Teams.List(r.Context(), r.PathValue("space"))
}

func (h *handler) createTeam(w http.ResponseWriter, r *http.Request, req access.TeamRequest) (domain.Team, error) {
	return h.s.Teams.Put(r.Context(), r.PathValue("space"), req, true)
}

func (h *handler) updateTeam(w http.ResponseWriter, r *http.Request, req access.TeamRequest) (domain.Team, error) {
	req.Name = r.PathValue("name")
	return h.s.Teams.Put(r.Context(), r.PathValue("space"), req, false)
}
