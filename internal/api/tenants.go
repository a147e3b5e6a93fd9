package api

import (
	"net/http"

	wire "github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/dashboard"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/tenants"
)

func (h *handler) tenantRoutes(rt *router, r wire.RouteSet) {
	handle(rt, r.ListTenants, h.listTenants)
	handle(rt, r.CreateTenant, h.createTenant)
	handle(rt, r.GetTenant, h.getTenant)
	handle(rt, r.DeleteTenant, h.deleteTenant)
	handle(rt, r.ConnectTenant, h.connectTenant)
	handle(rt, r.SetTenantValue, h.setTenantValue)
	handle(rt, r.DeployTenants, h.deployTenants)
	handle(rt, r.TenantDashboard, h.tenantDashboard)
}

func (h *handler) listTenants(w http.ResponseWriter, r *http.Request, _ wire.None) ([]domain.Tenant, error) {
	return h.s.Tenants.List(r.Context(), r.PathValue("space"))
}

func (h *handler) createTenant(w http.ResponseWriter, r *http.Request, req tenants.CreateRequest) (domain.Tenant, error) {
	return h.s.Tenants.Create(r.Context(), r.PathValue("space"), req)
}

func (h *handler) getTenant(w http.ResponseWriter, r *http.Request, _ wire.None) (domain.Tenant, error) {
	return h.s.Tenants.Show(r.Context(), r.PathValue("space"), r.PathValue("name"))
}

func (h *handler) deleteTenant(w http.ResponseWriter, r *http.Request, _ wire.None) (domain.Tenant, error) {
	return h.s.Tenants.Delete(r.Context(), r.PathValue("space"), r.PathValue("name"))
}

func (h *handler) connectTenant(w http.ResponseWriter, r *http.Request, req tenants.ConnectRequest) (domain.Tenant, error) {
	return h.s.Tenants.Connect(r.Context(), r.PathValue("space"), r.PathValue("name"), req)
}

func (h *handler) setTenantValue(w http.ResponseWriter, r *http.Request, req tenants.ValueRequest) (domain.Tenant, error) {
	return h.s.Tenants.SetValue(r.Context(), r.PathValue("space"), r.PathValue("name"), req)
}

func (h *handler) deployTenants(w http.ResponseWriter, r *http.Request, req deploy.Request) ([]domain.Deployment, error) {
	return h.s.Deploy.DeployTenants(r.Context(), r.PathValue("space"), req)
}

func (h *handler) tenantDashboard(w http.ResponseWriter, r *http.Request, q wire.TenantDashboardQuery) (dashboard.ByTenant, error) {
	return h.s.Dashboard.ByTenant(r.Context(), r.PathValue("space"), q.Project)
}
