package sqlstore

import (
	"context"
	"errors"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

type releases struct{ db *DB }

var _ store.Releases = (*releases)(nil)

// The project's name comes from a join, so it is never stale.
const releaseSelect = `SELECT r.id, r.project_id, p.name, r.version, r.notes, r.channel, r.snapshot,
		r.snapshot_digest, r.provenance, r.created_at, r.created_by
	FROM releases r JOIN projects p ON p.id = r.project_id`

func (s *releases) scan(sc scanner) (domain.Release, error) {
	var r domain.Release
	var snapshot, provenance string
	var created int64
	err := sc.Scan(&r.ID, &r.ProjectID, &r.Project, &r.Version, &r.Notes, &r.Channel, &snapshot,
		&r.SnapshotDigest, &provenance, &created, &r.CreatedBy)
	if err != nil {
		return domain.Release{}, err
	}
	if provenance != "" {
		r.Provenance = new(domain.Provenance)
		if err := decodeJSON(provenance, r.Provenance); err != nil {
			return domain.Release{}, err
		}
	}
	r.CreatedAt = fromMicros(created)
	if r.Snapshot, err = s.db.decodeSnapshot(snapshot); err != nil {
		return domain.Release{}, err
	}
	return r, nil
}

// Create stores a new release and fills in its ID, CreatedAt and Project.
// A release of the same version of the project is a conflict: releases are
// never replaced. Snapshot values that must be sensitive are marked so
// (domain.MarkSensitive) and sealed.
func (s *releases) Create(ctx context.Context, r *domain.Release) error {
	project, err := (&projects{s.db}).name(ctx, r.ProjectID)
	if err != nil {
		return wrap(err, "create release %q", r.Version)
	}
	r.Project = project
	domain.MarkSensitive(r.Snapshot.Variables, r.Snapshot.Templates)
	snapshot, err := s.db.encodeSnapshot(r.Snapshot)
	if err != nil {
		return wrap(err, "create release %q of project %q", r.Version, project)
	}
	provenance := ""
	if r.Provenance != nil {
		if provenance, err = encodeJSON(r.Provenance); err != nil {
			return wrap(err, "create release %q of project %q", r.Version, project)
		}
	}
	r.CreatedAt = stamp(r.CreatedAt)
	err = s.db.queryRow(ctx, `INSERT INTO releases (project_id, version, notes, channel, snapshot, snapshot_digest, provenance, created_at, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.ProjectID, r.Version, r.Notes, r.Channel, snapshot, r.SnapshotDigest, provenance, micros(r.CreatedAt), r.CreatedBy).Scan(&r.ID)
	if s.db.d.isUnique(err) {
		return domain.Conflictf("release %q of project %q already exists", r.Version, project)
	}
	if err == nil {
		err = s.db.pinPackages(ctx, r.ID, r.ProjectID, r.Snapshot.Packages)
	}
	return wrap(err, "create release %q of project %q", r.Version, project)
}

func (s *releases) Get(ctx context.Context, projectID int64, version string) (domain.Release, error) {
	r, err := one(s.db.queryRow(ctx, releaseSelect+` WHERE r.project_id = ? AND r.version = ?`, projectID, version),
		s.scan, domain.ErrNotFound)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Release{}, s.notFound(ctx, projectID, version)
	}
	return r, wrap(err, "get release %q", version)
}

// notFound names the missing release's project, or reports that the project
// is missing too.
func (s *releases) notFound(ctx context.Context, projectID int64, version string) error {
	project, err := (&projects{s.db}).name(ctx, projectID)
	if err != nil {
		return err
	}
	return domain.NotFoundf("release %q of project %q not found", version, project)
}

func (s *releases) GetByID(ctx context.Context, id int64) (domain.Release, error) {
	r, err := one(s.db.queryRow(ctx, releaseSelect+` WHERE r.id = ?`, id),
		s.scan, domain.NotFoundf("release %d not found", id))
	return r, wrap(err, "get release %d", id)
}

// List returns the project's releases, newest first.
func (s *releases) List(ctx context.Context, projectID int64) ([]domain.Release, error) {
	rows, err := s.db.query(ctx, releaseSelect+` WHERE r.project_id = ? ORDER BY r.id DESC`, projectID)
	if err != nil {
		return nil, wrap(err, "list releases")
	}
	list, err := collect(rows, s.scan)
	return list, wrap(err, "list releases")
}

func (s *releases) WasDeleted(ctx context.Context, projectID int64, version string) (bool, error) {
	var n int
	err := s.db.queryRow(ctx, `SELECT COUNT(*) FROM deleted_releases WHERE project_id = ? AND version = ?`, projectID, version).Scan(&n)
	return n > 0, wrap(err, "look up deleted release %q", version)
}
