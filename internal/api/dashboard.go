package api

import (
	"net/http"

	"github.com/ferrydeploy/ferry/internal/dashboard"
)

func (h *handler) dashboardRoutes(route routeFunc) {
	route("GET /api/spaces/{space}/dashboard", h.dashboard)
}

// dashboard serves one page of projects: ?offset=&limit= (limit 0 or
// absent: dashboard.DefaultLimit, at most dashboard.MaxLimit).
func (h *handler) dashboard(w http.ResponseWriter, r *http.Request) (any, error) {
	offset, err := queryInt(r, "offset")
	if err != nil {
		return nil, err
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return nil, err
	}
	return h.s.Dashboard.Get(r.Context(), r.PathValue("space"), r.URL.Query().Get("project"),
		dashboard.Page{Offset: int(offset), Limit: int(limit)})
}
