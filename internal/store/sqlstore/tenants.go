package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

type tenants struct{ db *DB }

var _ store.Tenants = (*tenants)(nil)

// Tenants returns the tenants resource.
func (db *DB) Tenants() store.Tenants { return &tenants{db} }

// tenantValueAAD binds a sealed tenant value to its tenant, project,
// environment and name, so a sealed value copied onto another row does not
// open.
const tenantValueAAD = "ferry:tenant-value:"

// storedTenantValue is a domain.TenantValue as the database holds it.
type storedTenantValue struct {
	Project     string `json:"project"`
	Environment string `json:"environment"`
	Name        string `json:"name"`
	Value       string `json:"value,omitempty"`
	Sealed      string `json:"sealed,omitempty"`
	Sensitive   bool   `json:"sensitive,omitempty"`
}

func valueAAD(tenant string, v domain.TenantValue) string {
	return fmt.Sprintf("%s%s\x00%s\x00%s\x00%s", tenantValueAAD, tenant, v.Project, v.Environment, v.Name)
}

const tenantColumns = `id, space_id, name, tags, projects, template_values, created_at, updated_at`

func (s *tenants) scan(sc scanner) (domain.Tenant, error) {
	var t domain.Tenant
	var tags, projects, values string
	var created, updated int64
	if err := sc.Scan(&t.ID, &t.SpaceID, &t.Name, &tags, &projects, &values, &created, &updated); err != nil {
		return t, err
	}
	t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
	if err := decodeJSON(tags, &t.Tags); err != nil {
		return t, fmt.Errorf("tenant tags: %w", err)
	}
	if err := decodeJSON(projects, &t.Projects); err != nil {
		return t, fmt.Errorf("tenant projects: %w", err)
	}
	var stored []storedTenantValue
	if err := decodeJSON(values, &stored); err != nil {
		return t, fmt.Errorf("tenant values: %w", err)
	}
	for _, sv := range stored {
		v := domain.TenantValue{Project: sv.Project, Environment: sv.Environment, Name: sv.Name, Value: sv.Value, Sensitive: sv.Sensitive}
		if sv.Sensitive {
			plain, err := s.db.sealer.Open(sv.Sealed, valueAAD(t.Name, v))
			if err != nil {
				return t, fmt.Errorf("open value %q of tenant %q: %w", sv.Name, t.Name, err)
			}
			v.Value = string(plain)
		}
		t.Values = append(t.Values, v)
	}
	return t, nil
}

// encode is the tags, projects and values columns of t, sensitive values sealed.
func (s *tenants) encode(t *domain.Tenant) (tags, projects, values string, err error) {
	if t.Tags == nil {
		t.Tags = []string{}
	}
	if t.Projects == nil {
		t.Projects = map[string][]string{}
	}
	stored := make([]storedTenantValue, 0, len(t.Values))
	for _, v := range t.Values {
		sv := storedTenantValue{Project: v.Project, Environment: v.Environment, Name: v.Name, Sensitive: v.Sensitive}
		if v.Sensitive {
			if sv.Sealed, err = s.db.sealer.Seal([]byte(v.Value), valueAAD(t.Name, v)); err != nil {
				return "", "", "", fmt.Errorf("seal value %q of tenant %q: %w", v.Name, t.Name, err)
			}
		} else {
			sv.Value = v.Value
		}
		stored = append(stored, sv)
	}
	if tags, err = encodeJSON(t.Tags); err != nil {
		return
	}
	if projects, err = encodeJSON(t.Projects); err != nil {
		return
	}
	values, err = encodeJSON(stored)
	return
}

func (s *tenants) Create(ctx context.Context, t *domain.Tenant) error {
	tags, projects, values, err := s.encode(t)
	if err != nil {
		return err
	}
	t.CreatedAt = stamp(t.CreatedAt)
	t.UpdatedAt = t.CreatedAt
	err = s.db.queryRow(ctx, `INSERT INTO tenants (space_id, name, tags, projects, template_values, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		t.SpaceID, t.Name, tags, projects, values, micros(t.CreatedAt), micros(t.UpdatedAt)).Scan(&t.ID)
	if s.db.d.isUnique(err) {
		return domain.Conflictf("this space already has a tenant named %q", t.Name)
	}
	return wrap(err, "create tenant %q", t.Name)
}

func (s *tenants) Update(ctx context.Context, t *domain.Tenant) error {
	tags, projects, values, err := s.encode(t)
	if err != nil {
		return err
	}
	t.UpdatedAt = stamp(time.Time{})
	err = s.db.execOne(ctx, domain.NotFoundf("tenant %q not found", t.Name),
		`UPDATE tenants SET tags = ?, projects = ?, template_values = ?, updated_at = ? WHERE id = ?`,
		tags, projects, values, micros(t.UpdatedAt), t.ID)
	return wrap(err, "update tenant %q", t.Name)
}

func (s *tenants) Get(ctx context.Context, spaceID int64, name string) (domain.Tenant, error) {
	t, err := one(s.db.queryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE space_id = ? AND name = ?`, spaceID, name),
		s.scan, domain.NotFoundf("tenant %q not found in this space (see `ferry tenant list`)", name))
	return t, wrap(err, "get tenant %q", name)
}

func (s *tenants) List(ctx context.Context, spaceID int64) ([]domain.Tenant, error) {
	rows, err := s.db.query(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE space_id = ? ORDER BY name`, spaceID)
	if err != nil {
		return nil, wrap(err, "list tenants")
	}
	list, err := collect(rows, s.scan)
	return list, wrap(err, "list tenants")
}

func (s *tenants) Delete(ctx context.Context, id int64) error {
	err := s.db.execOne(ctx, domain.NotFoundf("tenant %d not found", id), `DELETE FROM tenants WHERE id = ?`, id)
	return wrap(err, "delete tenant %d", id)
}
