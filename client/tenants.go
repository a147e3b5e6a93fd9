package client

import (
	"context"

	"github.com/ferrydeploy/ferry/api"
)

// ListTenants lists a space's tenants.
func (c *Client) ListTenants(ctx context.Context, space string) ([]api.Tenant, error) {
	return call(ctx, c, c.routes.ListTenants, api.None{}, space)
}

// CreateTenant creates a tenant.
func (c *Client) CreateTenant(ctx context.Context, space string, req api.CreateTenantRequest) (api.Tenant, error) {
	return call(ctx, c, c.routes.CreateTenant, req, space)
}

// GetTenant shows a tenant.
func (c *Client) GetTenant(ctx context.Context, space, name string) (api.Tenant, error) {
	return call(ctx, c, c.routes.GetTenant, api.None{}, space, name)
}

// DeleteTenant deletes a tenant and its values.
func (c *Client) DeleteTenant(ctx context.Context, space, name string) (api.Tenant, error) {
	return call(ctx, c, c.routes.DeleteTenant, api.None{}, space, name)
}

// ConnectTenant connects a tenant to a project in environments.
func (c *Client) ConnectTenant(ctx context.Context, space, name string, req api.ConnectTenantRequest) (api.Tenant, error) {
	return call(ctx, c, c.routes.ConnectTenant, req, space, name)
}

// SetTenantValue sets a project template's value for a tenant in one environment.
func (c *Client) SetTenantValue(ctx context.Context, space, name string, req api.TenantValueRequest) (api.Tenant, error) {
	return call(ctx, c, c.routes.SetTenantValue, req, space, name)
}

// DeployTenants deploys a release for tenants, one task each.
func (c *Client) DeployTenants(ctx context.Context, space string, req api.DeployTenantsRequest) ([]api.Deployment, error) {
	return call(ctx, c, c.routes.DeployTenants, req, space)
}

// TenantDashboard is one project's dashboard by tenant.
func (c *Client) TenantDashboard(ctx context.Context, space, project string) (api.TenantDashboard, error) {
	return call(ctx, c, c.routes.TenantDashboard, api.TenantDashboardQuery{Project: project}, space)
}
