package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

type users struct{ db *DB }

var _ store.Users = (*users)(nil)

const userColumns = `id, name, is_admin, created_at`

func scanUser(s scanner) (domain.User, error) {
	var u domain.User
	var created int64
	err := s.Scan(&u.ID, &u.Name, &u.IsAdmin, &created)
	u.CreatedAt = fromMicros(created)
	return u, err
}

// LockNames holds the lock on user names until the transaction ends.
func (s *users) LockNames(ctx context.Context) error {
	return wrap(s.db.lockName(ctx, "user names"), "lock user names")
}

func (s *users) Create(ctx context.Context, u *domain.User) error {
	u.CreatedAt = stamp(u.CreatedAt)
	err := s.db.queryRow(ctx, `INSERT INTO users (name, is_admin, created_at) VALUES (?, ?, ?) RETURNING id`,
		u.Name, u.IsAdmin, micros(u.CreatedAt)).Scan(&u.ID)
	if s.db.d.isUnique(err) {
		return domain.Conflictf("user %q already exists", u.Name)
	}
	return wrap(err, "create user %q", u.Name)
}

func (s *users) Get(ctx context.Context, name string) (domain.User, error) {
	u, err := one(s.db.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE name = ?`, name),
		scanUser, domain.NotFoundf("user %q not found", name))
	return u, wrap(err, "get user %q", name)
}

func (s *users) GetByID(ctx context.Context, id int64) (domain.User, error) {
	u, err := one(s.db.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id),
		scanUser, domain.NotFoundf("user %d not found", id))
	return u, wrap(err, "get user %d", id)
}

// List returns every user by name.
func (s *users) List(ctx context.Context) ([]domain.User, error) {
	rows, err := s.db.query(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, wrap(err, "list users")
	}
	list, err := collect(rows, scanUser)
	return list, wrap(err, "list users")
}

func (s *users) Count(ctx context.Context) (int, error) {
	var n int
	err := s.db.queryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, wrap(err, "count users")
}

// CreateKey stores a key; only its hash is kept. Hashes are unique.
func (s *users) CreateKey(ctx context.Context, k *domain.APIKey) error {
	k.CreatedAt = stamp(k.CreatedAt)
	k.LastUsed = stampPtr(k.LastUsed)
	k.RevokedAt = stampPtr(k.RevokedAt)
	err := s.db.queryRow(ctx, `INSERT INTO api_keys (user_id, name, hash, created_at, last_used, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		k.UserID, k.Name, k.Hash, micros(k.CreatedAt), nullMicros(k.LastUsed), nullMicros(k.RevokedAt)).Scan(&k.ID)
	if s.db.d.isUnique(err) {
		// The only unique column is the hash; the message does not echo it.
		return domain.Conflictf("API key %q clashes with an existing key", k.Name)
	}
	return wrap(err, "create API key %q", k.Name)
}

func (s *users) KeyByHash(ctx context.Context, hash string) (domain.APIKey, domain.User, error) {
	var k domain.APIKey
	var u domain.User
	var created, userCreated int64
	var lastUsed, revoked sql.NullInt64
	err := s.db.queryRow(ctx, `SELECT k.id, k.user_id, k.name, k.hash, k.created_at, k.last_used, k.revoked_at,
			u.id, u.name, u.is_admin, u.created_at
		FROM api_keys k JOIN users u ON u.id = k.user_id
		WHERE k.hash = ? AND k.revoked_at IS NULL`, hash).Scan(
		&k.ID, &k.UserID, &k.Name, &k.Hash, &created, &lastUsed, &revoked,
		&u.ID, &u.Name, &u.IsAdmin, &userCreated)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.APIKey{}, domain.User{}, domain.NotFoundf("API key not found or revoked")
	}
	if err != nil {
		return domain.APIKey{}, domain.User{}, wrap(err, "find API key")
	}
	k.CreatedAt, k.LastUsed, k.RevokedAt = fromMicros(created), timePtr(lastUsed), timePtr(revoked)
	u.CreatedAt = fromMicros(userCreated)
	return k, u, nil
}

func (s *users) TouchKey(ctx context.Context, keyID int64, at time.Time) error {
	err := s.db.execOne(ctx, domain.NotFoundf("API key %d not found", keyID),
		`UPDATE api_keys SET last_used = ? WHERE id = ?`, micros(at), keyID)
	return wrap(err, "touch API key %d", keyID)
}

func (s *users) ListKeys(ctx context.Context, userID int64) ([]domain.APIKey, error) {
	rows, err := s.db.query(ctx, `SELECT id, user_id, name, created_at, last_used, revoked_at FROM api_keys WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, wrap(err, "list API keys")
	}
	list, err := collect(rows, func(sc scanner) (domain.APIKey, error) {
		var k domain.APIKey
		var created int64
		var lastUsed, revoked sql.NullInt64
		err := sc.Scan(&k.ID, &k.UserID, &k.Name, &created, &lastUsed, &revoked)
		k.CreatedAt, k.LastUsed, k.RevokedAt = fromMicros(created), timePtr(lastUsed), timePtr(revoked)
		return k, err
	})
	return list, wrap(err, "list API keys")
}

func (s *users) RevokeKey(ctx context.Context, userID, keyID int64, at time.Time) error {
	err := s.db.execOne(ctx, domain.NotFoundf("API key %d of this user not found", keyID),
		`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND user_id = ?`, micros(at), keyID, userID)
	return wrap(err, "revoke API key %d", keyID)
}

func (s *users) SetPassword(ctx context.Context, userID int64, hash string) error {
	err := s.db.execOne(ctx, domain.NotFoundf("user %d not found", userID),
		`UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID)
	return wrap(err, "set password of user %d", userID)
}

func (s *users) PasswordHash(ctx context.Context, name string) (domain.User, string, error) {
	var u domain.User
	var created int64
	var hash string
	err := s.db.queryRow(ctx, `SELECT id, name, is_admin, created_at, password_hash FROM users WHERE name = ?`, name).
		Scan(&u.ID, &u.Name, &u.IsAdmin, &created, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return u, "", domain.NotFoundf("user %q not found", name)
	}
	u.CreatedAt = fromMicros(created)
	return u, hash, wrap(err, "get user %q", name)
}
