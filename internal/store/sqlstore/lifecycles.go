package sqlstore

import (
	"context"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

type lifecycles struct{ db *DB }

var _ store.Lifecycles = (*lifecycles)(nil)

const lifecycleColumns = `id, space_id, name, phases`

func scanLifecycle(s scanner) (domain.Lifecycle, error) {
	var l domain.Lifecycle
	var phases string
	if err := s.Scan(&l.ID, &l.SpaceID, &l.Name, &phases); err != nil {
		return l, err
	}
	return l, decodeJSON(phases, &l.Phases)
}

// Put creates the lifecycle or replaces the phases of the one with its name,
// keeping that one's ID.
func (s *lifecycles) Put(ctx context.Context, l *domain.Lifecycle) error {
	phases, err := encodeJSON(l.Phases)
	if err != nil {
		return wrap(err, "put lifecycle %q", l.Name)
	}
	err = s.db.queryRow(ctx, `INSERT INTO lifecycles (space_id, name, phases) VALUES (?, ?, ?)
		ON CONFLICT (space_id, name) DO UPDATE SET phases = excluded.phases
		RETURNING id`,
		l.SpaceID, l.Name, phases).Scan(&l.ID)
	return wrap(err, "put lifecycle %q", l.Name)
}

func (s *lifecycles) Get(ctx context.Context, spaceID int64, name string) (domain.Lifecycle, error) {
	l, err := one(s.db.queryRow(ctx, `SELECT `+lifecycleColumns+` FROM lifecycles WHERE space_id = ? AND name = ?`, spaceID, name),
		scanLifecycle, domain.NotFoundf("lifecycle %q not found in this space", name))
	return l, wrap(err, "get lifecycle %q", name)
}

// List returns the space's lifecycles by name.
func (s *lifecycles) List(ctx context.Context, spaceID int64) ([]domain.Lifecycle, error) {
	rows, err := s.db.query(ctx, `SELECT `+lifecycleColumns+` FROM lifecycles WHERE space_id = ? ORDER BY name`, spaceID)
	if err != nil {
		return nil, wrap(err, "list lifecycles")
	}
	list, err := collect(rows, scanLifecycle)
	return list, wrap(err, "list lifecycles")
}
