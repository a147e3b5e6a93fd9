package api

import (
	"net/http"

	"github.com/ferrydeploy/ferry/internal/catalog"
	"github.com/ferrydeploy/ferry/internal/config"
	"github.com/ferrydeploy/ferry/internal/dashboard"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/release"
	"github.com/ferrydeploy/ferry/internal/store"
)

type nameRequest struct {
	Name string `json:"name"`
}

func (h *handler) listSpaces(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.s.Catalog.Spaces(r.Context())
}

func (h *handler) getSpace(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.s.Catalog.Space(r.Context(), r.PathValue("space"))
}

func (h *handler) createSpace(w http.ResponseWriter, r *http.Request) (any, error) {
	var req nameRequest
	if err := decode(w, r, &req); err != nil {
		return nil, err
	}
	return asCreated(h.s.Catalog.CreateSpace(r.Context(), req.Name))
}

func (h *handler) listEnvironments(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.s.Catalog.Environments(r.Context(), r.PathValue("space"))
}

func (h *handler) createEnvironment(w http.ResponseWriter, r *http.Request) (any, error) {
	var req nameRequest
	if err := decode(w, r, &req); err != nil {
		return nil, err
	}
	return asCreated(h.s.Catalog.CreateEnvironment(r.Context(), r.PathValue("space"), req.Name))
}

func (h *handler) listLifecycles(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.s.Catalog.Lifecycles(r.Context(), r.PathValue("space"))
}

// apply takes the YAML document itself as the body, so that errors can name
// lines of the user's file; ?dry-run=true and ?prune=true are the options.
func (h *handler) apply(w http.ResponseWriter, r *http.Request) (any, error) {
	body, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	doc, err := config.Parse(body)
	if err != nil {
		return nil, err
	}
	var opts catalog.ApplyOptions
	if opts.DryRun, err = queryBool(r, "dry-run"); err != nil {
		return nil, err
	}
	if opts.Prune, err = queryBool(r, "prune"); err != nil {
		return nil, err
	}
	return h.s.Catalog.ApplyWith(r.Context(), r.PathValue("space"), doc, opts)
}

func (h *handler) export(w http.ResponseWriter, r *http.Request) (any, error) {
	doc, err := h.s.Catalog.Export(r.Context(), r.PathValue("space"))
	if err != nil {
		return nil, err
	}
	out, err := doc.Marshal()
	if err != nil {
		return nil, err
	}
	return raw{contentType: "application/yaml", body: out}, nil
}

func (h *handler) listProjects(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.s.Catalog.Projects(r.Context(), r.PathValue("space"))
}

func (h *handler) getProject(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.s.Catalog.Project(r.Context(), r.PathValue("space"), r.PathValue("project"))
}

func (h *handler) listVariables(w http.ResponseWriter, r *http.Request) (any, error) {
	p, err := h.s.Catalog.Project(r.Context(), r.PathValue("space"), r.PathValue("project"))
	if err != nil {
		return nil, err
	}
	return variableList{Variables: p.Variables, Templates: p.Templates}, nil
}

type variableList struct {
	Variables []domain.Variable `json:"variables"`
	Templates []domain.Template `json:"templates"`
}

func (h *handler) setVariable(w http.ResponseWriter, r *http.Request) (any, error) {
	var req catalog.VariableChange
	if err := decode(w, r, &req); err != nil {
		return nil, err
	}
	p, err := h.s.Catalog.SetVariable(r.Context(), r.PathValue("space"), r.PathValue("project"), req)
	if err != nil {
		return nil, err
	}
	return variableList{Variables: p.Variables, Templates: p.Templates}, nil
}

func (h *handler) listReleases(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.s.Releases.List(r.Context(), r.PathValue("space"), r.PathValue("project"))
}

func (h *handler) createRelease(w http.ResponseWriter, r *http.Request) (any, error) {
	var req release.CreateRequest
	if err := decode(w, r, &req); err != nil {
		return nil, err
	}
	return asCreated(h.s.Releases.Create(r.Context(), r.PathValue("space"), r.PathValue("project"), req))
}

func (h *handler) getRelease(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.s.Releases.Get(r.Context(), r.PathValue("space"), r.PathValue("project"), r.PathValue("version"))
}

func (h *handler) deploy(w http.ResponseWriter, r *http.Request) (any, error) {
	var req deploy.Request
	if err := decode(w, r, &req); err != nil {
		return nil, err
	}
	return asCreated(h.s.Deploy.Deploy(r.Context(), r.PathValue("space"), req))
}

func (h *handler) listDeployments(w http.ResponseWriter, r *http.Request) (any, error) {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	space, project, version := r.PathValue("space"), q.Get("project"), q.Get("version")
	f := store.DeploymentFilter{Environment: q.Get("environment"), Limit: int(limit)}
	if project != "" {
		p, err := h.s.Catalog.Project(r.Context(), space, project)
		if err != nil {
			return nil, err
		}
		f.ProjectID = p.ID
		if version != "" {
			rel, err := h.s.Releases.Get(r.Context(), space, project, version)
			if err != nil {
				return nil, err
			}
			f.ReleaseID = rel.ID
		}
	} else if version != "" {
		return nil, domain.Invalidf("a version names a release of a project: give project too")
	}
	here, err := h.s.Deploy.Deployments(r.Context(), space, f)
	if err != nil || q.Get("where") == "here" {
		return here, err
	}
	// Deployments in other spaces, from the receipts this space holds.
	away, err := h.s.Dashboard.Elsewhere(r.Context(), space, dashboard.Query{Project: project, Version: version, Environment: f.Environment, Limit: int(limit)})
	if err != nil {
		return nil, err
	}
	return dashboard.Merge(here, away, int(limit)), nil
}

func (h *handler) listTasks(w http.ResponseWriter, r *http.Request) (any, error) {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return nil, err
	}
	return h.s.Deploy.Tasks(r.Context(), r.PathValue("space"), int(limit))
}

func (h *handler) getTask(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	return h.s.Deploy.Task(r.Context(), r.PathValue("space"), id)
}

// TaskLog is a task and a page of its log.
type TaskLog struct {
	Task  domain.Task      `json:"task"`
	Lines []domain.LogLine `json:"lines"`
}

func (h *handler) taskLog(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	after, err := queryInt(r, "after")
	if err != nil {
		return nil, err
	}
	t, lines, err := h.s.Deploy.Log(r.Context(), r.PathValue("space"), id, after)
	if err != nil {
		return nil, err
	}
	if lines == nil {
		lines = []domain.LogLine{}
	}
	return TaskLog{Task: t, Lines: lines}, nil
}

func (h *handler) cancelTask(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	return h.s.Deploy.Cancel(r.Context(), r.PathValue("space"), id)
}

func (h *handler) listAudit(w http.ResponseWriter, r *http.Request) (any, error) {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return nil, err
	}
	return h.s.Catalog.Audit(r.Context(), r.PathValue("space"), int(limit))
}

func (h *handler) listAllAudit(w http.ResponseWriter, r *http.Request) (any, error) {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return nil, err
	}
	return h.s.Audit.List(r.Context(), store.AuditFilter{Limit: int(limit)})
}

// asCreated marks a successful result as created.
func asCreated[T any](v T, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return created{v}, nil
}
