package api

import (
	"net/http"

	wire "github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/targets"
)

func (h *handler) targetRoutes(rt *router, r wire.RouteSet) {
	handle(rt, r.ListTargets, h.listTargets)
	handle(rt, r.AddTarget, h.addTarget)
	handle(rt, r.GetTarget, h.getTarget)
	handle(rt, r.CheckTarget, h.checkTarget)
	handle(rt, r.DisableTarget, h.disableTarget)
	handle(rt, r.EnableTarget, h.enableTarget)
	handle(rt, r.DeleteTarget, h.deleteTarget)
	handle(rt, r.AgentTrust, h.agentTrust)
	handle(rt, r.RotateIdentity, h.rotateIdentity)
}

func (h *handler) listTargets(w http.ResponseWriter, r *http.Request, _ wire.None) ([]domain.Target, error) {
	return h.s.Targets.List(r.Context(), r.PathValue("space"))
}

// addTarget answers 201 when the target is new, 200 when it was
// registered alike already.
func (h *handler) addTarget(w http.ResponseWriter, r *http.Request, req targets.AddRequest) (reply[targets.Added], error) {
	added, err := h.s.Targets.Add(r.Context(), r.PathValue("space"), req)
	out := reply[targets.Added]{v: added}
	if !added.Created {
		out.status = http.StatusOK
	}
	return out, err
}

func (h *handler) getTarget(w http.ResponseWriter, r *http.Request, _ wire.None) (domain.Target, error) {
	return h.s.Targets.Show(r.Context(), r.PathValue("space"), r.PathValue("name"))
}

func (h *handler) checkTarget(w http.ResponseWriter, r *http.Request, _ wire.None) (targets.Checked, error) {
	return h.s.Targets.Check(r.Context(), r.PathValue("space"), r.PathValue("name"))
}

func (h *handler) disableTarget(w http.ResponseWriter, r *http.Request, _ wire.None) (domain.Target, error) {
	return h.s.Targets.SetDisabled(r.Context(), r.PathValue("space"), r.PathValue("name"), true)
}

func (h *handler) enableTarget(w http.ResponseWriter, r *http.Request, _ wire.None) (domain.Target, error) {
	return h.s.Targets.SetDisabled(r.Context(), r.PathValue("space"), r.PathValue("name"), false)
}

func (h *handler) deleteTarget(w http.ResponseWriter, r *http.Request, _ wire.None) (domain.Target, error) {
	return h.s.Targets.Delete(r.Context(), r.PathValue("space"), r.PathValue("name"))
}

func (h *handler) agentTrust(w http.ResponseWriter, r *http.Request, _ wire.None) (targets.TrustInfo, error) {
	return h.s.Targets.TrustInfo(r.Context())
}

type rotateRequest struct {
	Activate bool `json:"activate,omitempty"`
}

func (h *handler) rotateIdentity(w http.ResponseWriter, r *http.Request, req rotateRequest) (targets.TrustInfo, error) {
	return h.s.Targets.Rotate(r.Context(), req.Activate)
}
