package sqlstore

import (
	"context"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

type packages struct{ db *DB }

var _ store.Packages = (*packages)(nil)

// Packages returns the package feed resource.
func (db *DB) Packages() store.Packages { return &packages{db} }

const packageColumns = `id, space_id, package_id, version, sha256, size, format, note, chunks, source, created_at, created_by`

func scanPackage(s scanner, withManifest bool) (domain.Package, error) {
	var p domain.Package
	var created int64
	var manifest string
	dest := []any{&p.RowID, &p.SpaceID, &p.ID, &p.Version, &p.SHA256, &p.Size, &p.Format, &p.Note, &p.Chunks, &p.Source, &created, &p.CreatedBy}
	if withManifest {
		dest = append(dest, &manifest)
	}
	err := s.Scan(dest...)
	p.CreatedAt = fromMicros(created)
	if withManifest {
		p.Manifest = []byte(manifest)
	}
	return p, err
}

func (s *packages) Create(ctx context.Context, p *domain.Package) error {
	p.CreatedAt = stamp(p.CreatedAt)
	err := s.db.queryRow(ctx, `INSERT INTO packages (space_id, package_id, version, sha256, size, format, note, chunks, manifest, source, created_at, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		p.SpaceID, p.ID, p.Version, p.SHA256, p.Size, p.Format, p.Note, p.Chunks, string(p.Manifest), p.Source, micros(p.CreatedAt), p.CreatedBy).Scan(&p.RowID)
	if s.db.d.isUnique(err) {
		return domain.Conflictf("package %s %s is already in this feed", p.ID, p.Version)
	}
	return wrap(err, "store package %s %s", p.ID, p.Version)
}

func (s *packages) Get(ctx context.Context, spaceID int64, id, version string) (domain.Package, error) {
	p, err := one(s.db.queryRow(ctx, `SELECT `+packageColumns+`, manifest FROM packages WHERE space_id = ? AND package_id = ? AND version = ?`, spaceID, id, version),
		func(sc scanner) (domain.Package, error) { return scanPackage(sc, true) },
		domain.NotFoundf("package %s %s is not in this space's feed", id, version))
	return p, wrap(err, "get package %s %s", id, version)
}

func (s *packages) List(ctx context.Context, spaceID int64, id string) ([]domain.Package, error) {
	q := `SELECT ` + packageColumns + ` FROM packages WHERE space_id = ?`
	args := []any{spaceID}
	if id != "" {
		q += ` AND package_id = ?`
		args = append(args, id)
	}
	rows, err := s.db.query(ctx, q+` ORDER BY package_id, id DESC`, args...)
	if err != nil {
		return nil, wrap(err, "list packages")
	}
	list, err := collect(rows, func(sc scanner) (domain.Package, error) { return scanPackage(sc, false) })
	return list, wrap(err, "list packages")
}

func (s *packages) BySHA256(ctx context.Context, spaceID int64, sha256 string) ([]domain.Package, error) {
	rows, err := s.db.query(ctx, `SELECT `+packageColumns+`, manifest FROM packages WHERE space_id = ? AND sha256 = ? ORDER BY id`, spaceID, sha256)
	if err != nil {
		return nil, wrap(err, "find package %s", sha256)
	}
	list, err := collect(rows, func(sc scanner) (domain.Package, error) { return scanPackage(sc, true) })
	return list, wrap(err, "find package %s", sha256)
}
