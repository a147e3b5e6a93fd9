package dashboard

import (
	"context"
	"slices"
	"strings"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// ByTenant is one project's dashboard by tenant: tenants × environments.
// Rows are this space's tenants connected to the project (with or without
// deployments), then tenants of other spaces that their receipts name (a
// tenant never leaves its space: it shows here by the name the receipt
// carries, with the space that deployed it), then untenanted deployments.
type ByTenant struct {
	Space        string      `json:"space"`
	Project      string      `json:"project"`
	Environments []string    `json:"environments"` // in lifecycle order, local and remote
	Tenants      []TenantRow `json:"tenants"`
}

// TenantRow is one tenant's line: Tenant "" is untenanted; Space is set
// for another space's tenant, known from receipts.
type TenantRow struct {
	Tenant string `json:"tenant"`
	Space  string `json:"space,omitempty"`
	Cells  []Cell `json:"cells"` // one per environment, in order
}

type tenantKey struct{ space, tenant string }

// ByTenant builds the dashboard of project by tenant.
func (s *Service) ByTenant(ctx context.Context, space, project string) (ByTenant, error) {
	sp, err := s.access.Space(ctx, space, domain.PermView, project, "")
	if err != nil {
		return ByTenant{}, err
	}
	if project == "" {
		return ByTenant{}, domain.Invalidf("say which project: ?project=NAME (ferry dashboard PROJECT --by-tenant)")
	}
	p, err := s.projects.Get(ctx, sp.ID, project)
	if err != nil {
		return ByTenant{}, err
	}
	lc, err := s.lifecycles.Get(ctx, sp.ID, p.Lifecycle)
	if err != nil {
		return ByTenant{}, err
	}
	tenants, err := s.tenants.List(ctx, sp.ID)
	if err != nil {
		return ByTenant{}, err
	}
	cells, err := s.tenantCells(ctx, sp, p)
	if err != nil {
		return ByTenant{}, err
	}
	var known []string
	rows := map[tenantKey]bool{}
	for k := range cells {
		if !slices.Contains(known, k.env) {
			known = append(known, k.env)
		}
		rows[tenantKey{k.space, k.tenant}] = true
	}
	out := ByTenant{Space: sp.Name, Project: p.Name, Environments: columns(lc, known), Tenants: []TenantRow{}}
	now := s.now()
	for _, k := range tenantOrder(tenants, p.Name, rows) {
		row := TenantRow{Tenant: k.tenant, Space: k.space, Cells: make([]Cell, 0, len(out.Environments))}
		for _, env := range out.Environments {
			c, ok := cells[tenantCellKey{k.space, k.tenant, env}]
			if !ok {
				c = Cell{Environment: env}
			}
			c.Remote = strings.Contains(env, ": ")
			if c.At != nil {
				c.AgeSeconds = int64(now.Sub(*c.At).Seconds())
			}
			row.Cells = append(row.Cells, c)
		}
		out.Tenants = append(out.Tenants, row)
	}
	return out, nil
}

// tenantOrder: this space's tenants connected to the project or deployed
// for, by name; then other spaces' tenants by space and name; then
// untenanted.
func tenantOrder(tenants []domain.Tenant, project string, rows map[tenantKey]bool) []tenantKey {
	var out []tenantKey
	for _, t := range tenants {
		k := tenantKey{"", t.Name}
		if len(t.Projects[project]) > 0 || rows[k] {
			out = append(out, k)
			delete(rows, k)
		}
	}
	untenanted := rows[tenantKey{}]
	delete(rows, tenantKey{})
	var rest []tenantKey
	for k := range rows {
		rest = append(rest, k)
	}
	slices.SortFunc(rest, func(a, b tenantKey) int {
		return strings.Compare(a.space+"\x00"+a.tenant, b.space+"\x00"+b.tenant)
	})
	out = append(out, rest...)
	if untenanted {
		out = append(out, tenantKey{})
	}
	return out
}

type tenantCellKey struct{ space, tenant, env string }

// tenantCells gathers the latest deployment of the project for each tenant
// in each local environment, and the latest receipt for each tenant in each
// other space's environment.
func (s *Service) tenantCells(ctx context.Context, sp domain.Space, p domain.Project) (map[tenantCellKey]Cell, error) {
	out := map[tenantCellKey]Cell{}
	latest, err := s.deployments.LatestByTenant(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	for _, d := range latest {
		at := d.FinishedAt
		if at == nil {
			at = d.StartedAt
		}
		if at == nil {
			at = &d.CreatedAt
		}
		out[tenantCellKey{"", d.Tenant, d.Environment}] = Cell{Environment: d.Environment, Version: d.Version, State: d.State, At: at, DeployedBy: d.CreatedBy, From: "deployment"}
	}
	f := store.ReceiptFilter{OriginFingerprint: sp.Fingerprint, OriginProject: p.Name}
	if p.IsRemote() {
		f.OriginFingerprint, f.OriginProject = p.Origin.Fingerprint, p.Origin.Project
	}
	receipts, err := s.receipts.List(ctx, sp.ID, f)
	if err != nil {
		return nil, err
	}
	signers, err := s.signers(ctx, sp)
	if err != nil {
		return nil, err
	}
	for _, r := range receipts { // oldest first: the latest wins
		if !signers.speaksFor(r.SignerFingerprint, r.Environment) {
			continue
		}
		at := r.FinishedAt
		if at == nil {
			at = r.StartedAt
		}
		space := ""
		if r.Tenant != "" {
			space, _, _ = strings.Cut(r.Environment, ": ")
		}
		out[tenantCellKey{space, r.Tenant, r.Environment}] = Cell{Environment: r.Environment, Version: r.Version, State: r.State, At: at, DeployedBy: r.DeployedBy, From: "receipt from " + r.DeployingSpace}
	}
	return out, nil
}
