package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

type projects struct{ db *DB }

var _ store.Projects = (*projects)(nil)

const projectColumns = `id, space_id, name, lifecycle, process, variables, templates, origin, created_at, updated_at, tenanted_deployments, channels, triggers`

func (s *projects) scan(sc scanner) (domain.Project, error) {
	var p domain.Project
	var process, variables, templates, origin, channels, triggers string
	var created, updated int64
	err := sc.Scan(&p.ID, &p.SpaceID, &p.Name, &p.Lifecycle, &process, &variables, &templates, &origin, &created, &updated, &p.TenantedDeployments, &channels, &triggers)
	if err != nil {
		return domain.Project{}, err
	}
	if err := decodeJSON(channels, &p.Channels); err != nil {
		return domain.Project{}, fmt.Errorf("channels: %w", err)
	}
	if err := decodeJSON(triggers, &p.Triggers); err != nil {
		return domain.Project{}, fmt.Errorf("triggers: %w", err)
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	if err := decodeJSON(process, &p.Process); err != nil {
		return domain.Project{}, fmt.Errorf("process: %w", err)
	}
	if err := decodeJSON(templates, &p.Templates); err != nil {
		return domain.Project{}, fmt.Errorf("templates: %w", err)
	}
	if p.Variables, err = s.db.decodeVariables(variables); err != nil {
		return domain.Project{}, err
	}
	if origin != "" {
		p.Origin = new(domain.ProjectOrigin)
		if err := decodeJSON(origin, p.Origin); err != nil {
			return domain.Project{}, fmt.Errorf("origin: %w", err)
		}
	}
	return p, nil
}

// Put creates the project or replaces the one with its name, keeping that
// one's ID and CreatedAt. UpdatedAt becomes now. Values that must be
// sensitive are marked so in p (domain.MarkSensitive), and sensitive
// values are sealed before they are written.
func (s *projects) Put(ctx context.Context, p *domain.Project) error {
	if err := s.put(ctx, p); err != nil {
		return wrap(err, "put project %q", p.Name)
	}
	return nil
}

func (s *projects) put(ctx context.Context, p *domain.Project) error {
	domain.MarkSensitive(p.Variables, p.Templates)
	process, err := encodeJSON(p.Process)
	if err != nil {
		return err
	}
	templates, err := encodeJSON(p.Templates)
	if err != nil {
		return err
	}
	variables, err := s.db.encodeVariables(p.Variables)
	if err != nil {
		return err
	}
	channels, err := encodeJSON(p.Channels)
	if err != nil {
		return err
	}
	triggers, err := encodeJSON(p.Triggers)
	if err != nil {
		return err
	}
	origin := ""
	if p.Origin != nil {
		if origin, err = encodeJSON(p.Origin); err != nil {
			return err
		}
	}
	now := stamp(time.Time{})
	var created int64
	err = s.db.queryRow(ctx, `INSERT INTO projects
			(space_id, name, lifecycle, process, variables, templates, origin, created_at, updated_at, tenanted_deployments, channels, triggers)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (space_id, name) DO UPDATE SET
			lifecycle = excluded.lifecycle, process = excluded.process, variables = excluded.variables,
			templates = excluded.templates, origin = excluded.origin, updated_at = excluded.updated_at,
			tenanted_deployments = excluded.tenanted_deployments, channels = excluded.channels, triggers = excluded.triggers
		RETURNING id, created_at`,
		p.SpaceID, p.Name, p.Lifecycle, process, variables, templates, origin,
		micros(stamp(p.CreatedAt)), micros(now), p.TenantedDeployments, channels, triggers).Scan(&p.ID, &created)
	if err != nil {
		return err
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), now
	return nil
}

func (s *projects) Get(ctx context.Context, spaceID int64, name string) (domain.Project, error) {
	p, err := one(s.db.queryRow(ctx, `SELECT `+projectColumns+` FROM projects WHERE space_id = ? AND name = ?`, spaceID, name),
		s.scan, domain.NotFoundf("project %q not found in this space", name))
	return p, wrap(err, "get project %q", name)
}

func (s *projects) GetByID(ctx context.Context, id int64) (domain.Project, error) {
	p, err := one(s.db.queryRow(ctx, `SELECT `+projectColumns+` FROM projects WHERE id = ?`, id),
		s.scan, domain.NotFoundf("project %d not found", id))
	return p, wrap(err, "get project %d", id)
}

// List returns the space's projects by name.
func (s *projects) List(ctx context.Context, spaceID int64) ([]domain.Project, error) {
	rows, err := s.db.query(ctx, `SELECT `+projectColumns+` FROM projects WHERE space_id = ? ORDER BY name`, spaceID)
	if err != nil {
		return nil, wrap(err, "list projects")
	}
	list, err := collect(rows, s.scan)
	return list, wrap(err, "list projects")
}

// name returns the name of project id, for messages and for releases.
func (s *projects) name(ctx context.Context, id int64) (string, error) {
	name, err := one(s.db.queryRow(ctx, `SELECT name FROM projects WHERE id = ?`, id),
		scanString, domain.NotFoundf("project %d not found", id))
	return name, wrap(err, "get project %d", id)
}

// Summaries returns the space's projects by name, reading neither their
// process and templates nor their (sealed) variables.
func (s *projects) Summaries(ctx context.Context, spaceID int64) ([]store.ProjectSummary, error) {
	rows, err := s.db.query(ctx, `SELECT id, name, lifecycle, origin FROM projects WHERE space_id = ? ORDER BY name`, spaceID)
	if err != nil {
		return nil, wrap(err, "list projects")
	}
	list, err := scanSummaries(rows)
	return list, wrap(err, "list projects")
}

// SummaryPage is Summaries from offset on, at most limit of them, and the
// number of the space's projects: a page reads only its own rows.
func (s *projects) SummaryPage(ctx context.Context, spaceID int64, offset, limit int) ([]store.ProjectSummary, int, error) {
	var total int
	if err := s.db.queryRow(ctx, `SELECT COUNT(*) FROM projects WHERE space_id = ?`, spaceID).Scan(&total); err != nil {
		return nil, 0, wrap(err, "count projects")
	}
	rows, err := s.db.query(ctx, `SELECT id, name, lifecycle, origin FROM projects WHERE space_id = ? ORDER BY name LIMIT ? OFFSET ?`,
		spaceID, limit, offset)
	if err != nil {
		return nil, 0, wrap(err, "list projects")
	}
	list, err := scanSummaries(rows)
	return list, total, wrap(err, "list projects")
}

// scanSummaries reads rows of (id, name, lifecycle, origin) into one set
// of holders for every row, and closes rows.
func scanSummaries(rows *sql.Rows) ([]store.ProjectSummary, error) {
	defer rows.Close()
	list := []store.ProjectSummary{}
	var p store.ProjectSummary
	var origin string
	dest := []any{&p.ID, &p.Name, &p.Lifecycle, &origin}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		p.Origin = nil
		if origin != "" {
			p.Origin = new(domain.ProjectOrigin)
			if err := decodeJSON(origin, p.Origin); err != nil {
				return nil, fmt.Errorf("origin: %w", err)
			}
		}
		list = append(list, p)
	}
	return list, rows.Err()
}

func (s *projects) Deliverers(ctx context.Context, projectID int64) ([]domain.Deliverer, error) {
	rows, err := s.db.query(ctx, `SELECT fingerprint, space, added_at, added_by FROM project_deliverers
		WHERE project_id = ? ORDER BY added_at, fingerprint`, projectID)
	if err != nil {
		return nil, wrap(err, "list deliverers of project %d", projectID)
	}
	list, err := collect(rows, func(sc scanner) (domain.Deliverer, error) {
		var d domain.Deliverer
		var added int64
		err := sc.Scan(&d.Fingerprint, &d.Space, &added, &d.AddedBy)
		d.AddedAt = fromMicros(added)
		return d, err
	})
	return list, wrap(err, "list deliverers of project %d", projectID)
}

func (s *projects) AddDeliverer(ctx context.Context, projectID int64, d domain.Deliverer) error {
	_, err := s.db.exec(ctx, `INSERT INTO project_deliverers (project_id, fingerprint, space, added_at, added_by)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (project_id, fingerprint) DO NOTHING`,
		projectID, d.Fingerprint, d.Space, micros(stamp(d.AddedAt)), d.AddedBy)
	return wrap(err, "allow %s to deliver project %d", d.Fingerprint, projectID)
}

// Triggered reads only the projects whose triggers column holds some.
func (s *projects) Triggered(ctx context.Context) ([]store.TriggeredProject, error) {
	rows, err := s.db.query(ctx, `SELECT id, space_id, name, updated_at, triggers FROM projects
		WHERE triggers NOT IN ('[]', 'null', '') ORDER BY id`)
	if err != nil {
		return nil, wrap(err, "list projects with triggers")
	}
	list, err := collect(rows, func(sc scanner) (store.TriggeredProject, error) {
		var p store.TriggeredProject
		var updated int64
		var triggers string
		if err := sc.Scan(&p.ID, &p.SpaceID, &p.Name, &updated, &triggers); err != nil {
			return p, err
		}
		p.UpdatedAt = fromMicros(updated)
		return p, decodeJSON(triggers, &p.Triggers)
	})
	return list, wrap(err, "list projects with triggers")
}
