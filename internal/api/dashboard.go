package api

import "net/http"

func (h *handler) dashboardRoutes(route routeFunc) {
	route("GET /api/spaces/{space}/dashboard", h.dashboard)
}

func (h *handler) dashboard(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.s.Dashboard.Get(r.Context(), r.PathValue("space"), r.URL.Query().Get("project"))
}
