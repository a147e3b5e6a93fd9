package api

import "time"

// Tenant is a customer a space deploys releases to (SPEC §6): tags
// ("SET/TAG"), the projects it is connected to and in which environments,
// and its values of those projects' templates. Tenants belong to the space
// that deploys and never travel between spaces.
type Tenant struct {
	ID        int64               `json:"id"`
	Name      string              `json:"name"`
	Tags      []string            `json:"tags"`
	Projects  map[string][]string `json:"projects"`
	Values    []TenantValue       `json:"values"`
	CreatedAt time.Time           `json:"createdAt"`
	UpdatedAt time.Time           `json:"updatedAt"`
}

// TenantValue is a project template's value for a tenant in one
// environment. A sensitive value is never sent: Value is left out and
// IsSet says whether there is one.
type TenantValue struct {
	Project     string `json:"project"`
	Environment string `json:"environment"`
	Name        string `json:"name"`
	Value       string `json:"value,omitempty"`
	Sensitive   bool   `json:"sensitive,omitempty"`
	IsSet       bool   `json:"isSet,omitempty"`
}

// CreateTenantRequest creates a tenant; tags are "SET/TAG", a tag set and
// its tags are created on first use.
type CreateTenantRequest struct {
	Name string   `json:"name"`
	Tags []string `json:"tags,omitempty"`
}

// ConnectTenantRequest connects a tenant to a project (local or remote) in
// environments of this space.
type ConnectTenantRequest struct {
	Project      string   `json:"project"`
	Environments []string `json:"environments"`
}

// TenantValueRequest sets a project template's value for a tenant in one
// environment; a sensitive template's value is sealed whatever Sensitive says.
type TenantValueRequest struct {
	Project     string `json:"project"`
	Name        string `json:"name"`
	Value       string `json:"value"`
	Environment string `json:"environment"`
	Sensitive   bool   `json:"sensitive,omitempty"`
}

// DeployTenantsRequest deploys a release for tenants: those named and every
// tenant with one of the tags that is connected to the project there; one
// task each. Nothing is queued if any check fails for any of them.
type DeployTenantsRequest struct {
	Project        string   `json:"project"`
	Version        string   `json:"version"`
	Environment    string   `json:"environment"`
	Tenant         string   `json:"tenant,omitempty"`
	Tenants        []string `json:"tenants,omitempty"`
	TenantTags     []string `json:"tenantTags,omitempty"`
	Targets        []string `json:"targets,omitempty"`
	ExcludeTargets []string `json:"excludeTargets,omitempty"`
}

// TenantDashboardQuery names the project of a dashboard by tenant.
type TenantDashboardQuery struct {
	Project string `query:"project" doc:"the project (required)"`
}

// TenantDashboard is one project's tenants × environments: this space's
// tenants connected to it, other spaces' tenants as their receipts name
// them (Space set), and untenanted deployments (Tenant "").
type TenantDashboard struct {
	Space        string      `json:"space"`
	Project      string      `json:"project"`
	Environments []string    `json:"environments"`
	Tenants      []TenantRow `json:"tenants"`
}

// TenantRow is one tenant's cells, one per environment in order.
type TenantRow struct {
	Tenant string          `json:"tenant"`
	Space  string          `json:"space,omitempty"`
	Cells  []DashboardCell `json:"cells"`
}
