package api

import (
	"net/http"
)

// releaseRoutes registers the release detail and diff endpoints.
func (h *handler) releaseRoutes(route func(pattern string, fn func(w http.ResponseWriter, r *http.Request) (any, error))) {
	route("GET /api/spaces/{space}/projects/{project}/releases/{version}/detail", h.releaseDetail)
	route("GET /api/spaces/{space}/projects/{project}/diff", h.releaseDiff)
}

// releaseDetail is a release with its snapshot digest and packages.
func (h *handler) releaseDetail(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.s.Releases.Show(r.Context(), r.PathValue("space"), r.PathValue("project"), r.PathValue("version"))
}

// releaseDiff compares ?from=V1 with ?to=V2; either may be "current", the
// project's unreleased state.
func (h *handler) releaseDiff(w http.ResponseWriter, r *http.Request) (any, error) {
	q := r.URL.Query()
	return h.s.Releases.Diff(r.Context(), r.PathValue("space"), r.PathValue("project"), q.Get("from"), q.Get("to"))
}
