package api

import (
	"net/http"

	wire "github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/retention"
)

// deleteRoutes binds the routes that delete things, and retention.
func (h *handler) deleteRoutes(rt *router, r wire.RouteSet) {
	handle(rt, r.DeleteSpace, func(w http.ResponseWriter, r *http.Request, _ wire.None) (retention.Deleted, error) {
		return h.s.Retention.DeleteSpace(r.Context(), r.PathValue("space"))
	})
	handle(rt, r.DeleteEnvironment, func(w http.ResponseWriter, r *http.Request, _ wire.None) (retention.Deleted, error) {
		return h.s.Retention.DeleteEnvironment(r.Context(), r.PathValue("space"), r.PathValue("name"))
	})
	handle(rt, r.DeleteLifecycle, func(w http.ResponseWriter, r *http.Request, _ wire.None) (retention.Deleted, error) {
		return h.s.Retention.DeleteLifecycle(r.Context(), r.PathValue("space"), r.PathValue("name"))
	})
	handle(rt, r.DeleteProject, func(w http.ResponseWriter, r *http.Request, _ wire.None) (retention.Deleted, error) {
		return h.s.Retention.DeleteProject(r.Context(), r.PathValue("space"), r.PathValue("project"))
	})
	handle(rt, r.DeleteVariable, h.deleteVariable)
	handle(rt, r.DeleteRelease, func(w http.ResponseWriter, r *http.Request, _ wire.None) (retention.Deleted, error) {
		return h.s.Retention.DeleteRelease(r.Context(), r.PathValue("space"), r.PathValue("project"), r.PathValue("version"))
	})
	handle(rt, r.DeletePackage, func(w http.ResponseWriter, r *http.Request, _ wire.None) (retention.Deleted, error) {
		return h.s.Retention.DeletePackage(r.Context(), r.PathValue("space"), r.PathValue("package"), "")
	})
	handle(rt, r.DeletePackageVersion, func(w http.ResponseWriter, r *http.Request, _ wire.None) (retention.Deleted, error) {
		return h.s.Retention.DeletePackage(r.Context(), r.PathValue("space"), r.PathValue("package"), r.PathValue("version"))
	})
	handle(rt, r.DeleteUser, func(w http.ResponseWriter, r *http.Request, _ wire.None) (retention.Deleted, error) {
		return h.s.Retention.DeleteUser(r.Context(), r.PathValue("name"))
	})
	handle(rt, r.DeleteTeam, func(w http.ResponseWriter, r *http.Request, _ wire.None) (retention.Deleted, error) {
		return h.s.Retention.DeleteTeam(r.Context(), r.PathValue("space"), r.PathValue("name"))
	})
	handle(rt, r.DeleteRemoteSpace, func(w http.ResponseWriter, r *http.Request, _ wire.None) (retention.Deleted, error) {
		return h.s.Retention.DeleteRemoteSpace(r.Context(), r.PathValue("space"), r.PathValue("name"))
	})
	handle(rt, r.RunRetention, func(w http.ResponseWriter, r *http.Request, req retentionRequest) (retention.Report, error) {
		return h.s.Retention.Run(r.Context(), req.DryRun)
	})
}

type retentionRequest struct {
	DryRun bool `json:"dryRun"`
}

type deleteVariableRequest struct {
	Environments []string `json:"environments,omitempty"`
}

func (h *handler) deleteVariable(w http.ResponseWriter, r *http.Request, req deleteVariableRequest) (retention.Deleted, error) {
	n, err := h.s.Catalog.DeleteVariable(r.Context(), r.PathValue("space"), r.PathValue("project"), r.PathValue("name"), req.Environments)
	return retention.Deleted{Kind: "variable", Name: r.PathValue("name"), Removed: domain.Removed{Variables: n}}, err
}
