package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

type bundles struct{ db *DB }

var _ store.Bundles = (*bundles)(nil)

// Bundles returns the bundle records resource.
func (db *DB) Bundles() store.Bundles { return &bundles{db} }

const bundleColumns = `id, space_id, direction, digest, source_space, target_space, project, version, state, created_at, created_by, imported_at`

func scanBundle(s scanner) (domain.BundleRecord, error) {
	var b domain.BundleRecord
	var created int64
	var imported sql.NullInt64
	err := s.Scan(&b.ID, &b.SpaceID, &b.Direction, &b.Digest, &b.SourceSpace, &b.TargetSpace, &b.Project, &b.Version, &b.State, &created, &b.CreatedBy, &imported)
	b.CreatedAt, b.ImportedAt = fromMicros(created), timePtr(imported)
	return b, err
}

func (s *bundles) Create(ctx context.Context, b *domain.BundleRecord) error {
	b.CreatedAt = stamp(b.CreatedAt)
	err := s.db.queryRow(ctx, `INSERT INTO bundles (space_id, direction, digest, source_space, target_space, project, version, state, created_at, created_by, imported_at, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		b.SpaceID, b.Direction, b.Digest, b.SourceSpace, b.TargetSpace, b.Project, b.Version, b.State, micros(b.CreatedAt), b.CreatedBy, nullMicros(b.ImportedAt), string(b.Data)).Scan(&b.ID)
	if s.db.d.isUnique(err) {
		return domain.Conflictf("bundle %s is already recorded in this space", b.Digest)
	}
	return wrap(err, "record bundle %s", b.Digest)
}

func (s *bundles) Get(ctx context.Context, spaceID int64, direction, digest string) (domain.BundleRecord, error) {
	b, err := one(s.db.queryRow(ctx, `SELECT `+bundleColumns+`, data FROM bundles WHERE space_id = ? AND direction = ? AND digest = ?`, spaceID, direction, digest),
		scanBundleWithData, domain.NotFoundf("bundle %s not found in this space", digest))
	return b, wrap(err, "get bundle %s", digest)
}

// scanBundleWithData reads a record followed by its data column; only a
// pending bundle keeps its file.
func scanBundleWithData(s scanner) (domain.BundleRecord, error) {
	var data string
	b, err := scanBundle(extraScanner{s, &data})
	if len(data) > 0 {
		b.Data = []byte(data)
	}
	return b, err
}

// extraScanner appends destinations to every Scan, for a query that reads
// a few more columns than the shared scan function knows.
type extraScanner struct {
	scanner
	extra *string
}

func (e extraScanner) Scan(dest ...any) error { return e.scanner.Scan(append(dest, e.extra)...) }

func (s *bundles) MarkImported(ctx context.Context, id int64, at time.Time, by string) error {
	err := s.db.execOne(ctx, domain.NotFoundf("bundle %d not found", id),
		`UPDATE bundles SET state = ?, imported_at = ?, created_by = ?, data = '' WHERE id = ?`, domain.BundleImported, micros(at), by, id)
	return wrap(err, "mark bundle %d imported", id)
}

func (s *bundles) List(ctx context.Context, spaceID int64, limit int) ([]domain.BundleRecord, error) {
	q := `SELECT ` + bundleColumns + ` FROM bundles WHERE space_id = ? ORDER BY id DESC`
	args := []any{spaceID}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.db.query(ctx, q, args...)
	if err != nil {
		return nil, wrap(err, "list bundles")
	}
	list, err := collect(rows, scanBundle)
	return list, wrap(err, "list bundles")
}

func (s *bundles) Promoted(ctx context.Context, spaceID int64, project, version string) ([]domain.BundleRecord, error) {
	rows, err := s.db.query(ctx, `SELECT `+bundleColumns+` FROM bundles
		WHERE space_id = ? AND direction = ? AND project = ? AND version = ? ORDER BY id`, spaceID, domain.BundleOut, project, version)
	if err != nil {
		return nil, wrap(err, "list promotions of %s %s", project, version)
	}
	list, err := collect(rows, scanBundle)
	return list, wrap(err, "list promotions of %s %s", project, version)
}
