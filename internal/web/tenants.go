package web

import (
	"net/http"
	"sort"

	"github.com/ferrydeploy/ferry/internal/dashboard"
	"github.com/ferrydeploy/ferry/internal/domain"
)

// tenantsPage is a space's tenants (SPEC §6): tags and projects, as
// `ferry tenant list` shows them.
type tenantsPage struct {
	Space   string
	Tenants []domain.Tenant
}

func (p tenantsPage) title() string { return p.Space + " — tenants" }

func (h *Handler) tenants(w http.ResponseWriter, r *http.Request) error {
	space := r.PathValue("space")
	list, err := h.s.Tenants.List(r.Context(), space)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "tenants", tenantsPage{Space: space, Tenants: list})
	return nil
}

// tenantPage is one tenant: its projects and environments, and its values
// (a sensitive one only as set).
type tenantPage struct {
	Space    string
	Tenant   domain.Tenant
	Projects []string
}

func (p tenantPage) title() string { return p.Tenant.Name + " — tenant" }

func (h *Handler) tenant(w http.ResponseWriter, r *http.Request) error {
	space := r.PathValue("space")
	t, err := h.s.Tenants.Show(r.Context(), space, r.PathValue("tenant"))
	if err != nil {
		return err
	}
	pg := tenantPage{Space: space, Tenant: t}
	for p := range t.Projects {
		pg.Projects = append(pg.Projects, p)
	}
	sort.Strings(pg.Projects)
	h.render(w, r, http.StatusOK, "tenant", pg)
	return nil
}

// tenantDashboardPage is one project's dashboard by tenant.
type tenantDashboardPage struct {
	Space string
	dashboard.ByTenant
}

func (p tenantDashboardPage) title() string { return p.Project + " — by tenant" }

func (h *Handler) tenantDashboard(w http.ResponseWriter, r *http.Request) error {
	space := r.PathValue("space")
	d, err := h.s.Dashboard.ByTenant(r.Context(), space, r.PathValue("project"))
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "tenantdashboard", tenantDashboardPage{Space: space, ByTenant: d})
	return nil
}
