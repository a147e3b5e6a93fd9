package sqlstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

type teams struct{ db *DB }

var _ store.Teams = (*teams)(nil)

// Teams returns the teams resource.
func (db *DB) Teams() store.Teams { return &teams{db} }

const teamColumns = `t.id, t.space_id, t.name, t.role, t.projects, t.environments, t.created_at, t.updated_at`

func scanTeam(sc scanner) (domain.Team, error) {
	var t domain.Team
	var projects, envs string
	var created, updated int64
	if err := sc.Scan(&t.ID, &t.SpaceID, &t.Name, &t.Role, &projects, &envs, &created, &updated); err != nil {
		return t, err
	}
	t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
	if err := decodeJSON(projects, &t.Projects); err != nil {
		return t, fmt.Errorf("team projects: %w", err)
	}
	if err := decodeJSON(envs, &t.Environments); err != nil {
		return t, fmt.Errorf("team environments: %w", err)
	}
	return t, nil
}

// LockNames holds the lock on the team names of a space until the
// transaction ends.
func (s *teams) LockNames(ctx context.Context, spaceID int64) error {
	return wrap(s.db.lockName(ctx, fmt.Sprintf("team names of space %d", spaceID)), "lock team names")
}

// Put creates or replaces a team and its members (by user name).
func (s *teams) Put(ctx context.Context, t *domain.Team) error {
	projects, err := encodeJSON(nonNilStrings(t.Projects))
	if err != nil {
		return err
	}
	envs, err := encodeJSON(nonNilStrings(t.Environments))
	if err != nil {
		return err
	}
	t.CreatedAt, t.UpdatedAt = stamp(t.CreatedAt), stamp(t.UpdatedAt)
	var created int64
	err = s.db.queryRow(ctx, `INSERT INTO teams (space_id, name, role, projects, environments, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (space_id, name) DO UPDATE SET role = excluded.role, projects = excluded.projects,
			environments = excluded.environments, updated_at = excluded.updated_at
		RETURNING id, created_at`,
		t.SpaceID, t.Name, t.Role, projects, envs, micros(t.CreatedAt), micros(t.UpdatedAt)).Scan(&t.ID, &created)
	if err != nil {
		return wrap(err, "put team %q", t.Name)
	}
	t.CreatedAt = fromMicros(created)
	if _, err := s.db.exec(ctx, `DELETE FROM team_members WHERE team_id = ?`, t.ID); err != nil {
		return wrap(err, "put team %q", t.Name)
	}
	for _, name := range t.Members {
		u, err := (&users{s.db}).Get(ctx, name)
		if err != nil {
			return err
		}
		if _, err := s.db.exec(ctx, `INSERT INTO team_members (team_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, t.ID, u.ID); err != nil {
			return wrap(err, "add %q to team %q", name, t.Name)
		}
	}
	return nil
}

func (s *teams) Get(ctx context.Context, spaceID int64, name string) (domain.Team, error) {
	t, err := one(s.db.queryRow(ctx, `SELECT `+teamColumns+` FROM teams t WHERE t.space_id = ? AND t.name = ?`, spaceID, name),
		scanTeam, domain.NotFoundf("team %q not found in this space", name))
	if err != nil {
		return t, wrap(err, "get team %q", name)
	}
	return t, s.members(ctx, &t)
}

func (s *teams) List(ctx context.Context, spaceID int64) ([]domain.Team, error) {
	return s.list(ctx, `SELECT `+teamColumns+` FROM teams t WHERE t.space_id = ? ORDER BY t.name`, spaceID)
}

func (s *teams) OfUser(ctx context.Context, userID, spaceID int64) ([]domain.Team, error) {
	q := `SELECT ` + teamColumns + ` FROM teams t JOIN team_members m ON m.team_id = t.id WHERE m.user_id = ?`
	args := []any{userID}
	if spaceID != 0 {
		q += ` AND t.space_id = ?`
		args = append(args, spaceID)
	}
	return s.list(ctx, q+` ORDER BY t.name`, args...)
}

func (s *teams) list(ctx context.Context, q string, args ...any) ([]domain.Team, error) {
	rows, err := s.db.query(ctx, q, args...)
	if err != nil {
		return nil, wrap(err, "list teams")
	}
	list, err := collect(rows, scanTeam)
	if err != nil {
		return nil, wrap(err, "list teams")
	}
	for i := range list {
		if err := s.members(ctx, &list[i]); err != nil {
			return nil, err
		}
	}
	return list, nil
}

func (s *teams) members(ctx context.Context, t *domain.Team) error {
	rows, err := s.db.query(ctx, `SELECT u.name FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = ?`, t.ID)
	if err != nil {
		return wrap(err, "list members of team %q", t.Name)
	}
	names, err := collect(rows, scanString)
	if err != nil {
		return wrap(err, "list members of team %q", t.Name)
	}
	slices.Sort(names)
	t.Members = names
	return nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
