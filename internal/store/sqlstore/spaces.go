package sqlstore

import (
	"context"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

type spaces struct{ db *DB }

var _ store.Spaces = (*spaces)(nil)

const spaceColumns = `id, name, fingerprint, created_at`

func scanSpace(s scanner) (domain.Space, error) {
	var sp domain.Space
	var created int64
	err := s.Scan(&sp.ID, &sp.Name, &sp.Fingerprint, &created)
	sp.CreatedAt = fromMicros(created)
	return sp, err
}

func (s *spaces) Create(ctx context.Context, sp *domain.Space) error {
	sp.CreatedAt = stamp(sp.CreatedAt)
	err := s.db.queryRow(ctx, `INSERT INTO spaces (name, fingerprint, created_at) VALUES (?, ?, ?) RETURNING id`,
		sp.Name, sp.Fingerprint, micros(sp.CreatedAt)).Scan(&sp.ID)
	if s.db.d.isUnique(err) {
		return domain.Conflictf("space %q already exists", sp.Name)
	}
	return wrap(err, "create space %q", sp.Name)
}

func (s *spaces) Get(ctx context.Context, name string) (domain.Space, error) {
	sp, err := one(s.db.queryRow(ctx, `SELECT `+spaceColumns+` FROM spaces WHERE name = ?`, name),
		scanSpace, domain.NotFoundf("space %q not found", name))
	return sp, wrap(err, "get space %q", name)
}

func (s *spaces) GetByID(ctx context.Context, id int64) (domain.Space, error) {
	sp, err := one(s.db.queryRow(ctx, `SELECT `+spaceColumns+` FROM spaces WHERE id = ?`, id),
		scanSpace, domain.NotFoundf("space %d not found", id))
	return sp, wrap(err, "get space %d", id)
}

// List returns every space by name.
func (s *spaces) List(ctx context.Context) ([]domain.Space, error) {
	rows, err := s.db.query(ctx, `SELECT `+spaceColumns+` FROM spaces ORDER BY name`)
	if err != nil {
		return nil, wrap(err, "list spaces")
	}
	list, err := collect(rows, scanSpace)
	return list, wrap(err, "list spaces")
}
