package sqlstore

import (
	"context"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

type environments struct{ db *DB }

var _ store.Environments = (*environments)(nil)

const environmentColumns = `id, space_id, name, remote_space, created_at`

func scanEnvironment(s scanner) (domain.Environment, error) {
	var e domain.Environment
	var created int64
	err := s.Scan(&e.ID, &e.SpaceID, &e.Name, &e.RemoteSpace, &created)
	e.CreatedAt = fromMicros(created)
	return e, err
}

func (s *environments) Create(ctx context.Context, e *domain.Environment) error {
	e.CreatedAt = stamp(e.CreatedAt)
	err := s.db.queryRow(ctx, `INSERT INTO environments (space_id, name, remote_space, created_at)
		VALUES (?, ?, ?, ?) RETURNING id`,
		e.SpaceID, e.Name, e.RemoteSpace, micros(e.CreatedAt)).Scan(&e.ID)
	if s.db.d.isUnique(err) {
		return domain.Conflictf("environment %q already exists in this space", e.Name)
	}
	return wrap(err, "create environment %q", e.Name)
}

func (s *environments) Get(ctx context.Context, spaceID int64, name string) (domain.Environment, error) {
	e, err := one(s.db.queryRow(ctx, `SELECT `+environmentColumns+` FROM environments WHERE space_id = ? AND name = ?`, spaceID, name),
		scanEnvironment, domain.NotFoundf("environment %q not found in this space", name))
	return e, wrap(err, "get environment %q", name)
}

// List returns the space's environments in the order they were created.
func (s *environments) List(ctx context.Context, spaceID int64) ([]domain.Environment, error) {
	rows, err := s.db.query(ctx, `SELECT `+environmentColumns+` FROM environments WHERE space_id = ? ORDER BY id`, spaceID)
	if err != nil {
		return nil, wrap(err, "list environments")
	}
	list, err := collect(rows, scanEnvironment)
	return list, wrap(err, "list environments")
}
