package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

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
		scanSpace, domain.NoSpace(name))
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

// identityAAD binds a sealed identity to its space, so it cannot be moved to
// another space's row.
func identityAAD(id int64) string { return "ferry:space-identity:" + strconv.FormatInt(id, 10) }

func (s *spaces) SetIdentity(ctx context.Context, id int64, certPEM []byte, fingerprint string, private []byte) error {
	sealed, err := s.db.sealer.Seal(private, identityAAD(id))
	if err != nil {
		return wrap(err, "seal identity of space %d", id)
	}
	err = s.db.execOne(ctx, domain.NotFoundf("space %d not found", id),
		`UPDATE spaces SET cert_pem = ?, fingerprint = ?, identity_sealed = ? WHERE id = ?`,
		string(certPEM), fingerprint, sealed, id)
	return wrap(err, "set identity of space %d", id)
}

func (s *spaces) Identity(ctx context.Context, id int64) ([]byte, []byte, error) {
	var cert, sealed string
	err := s.db.queryRow(ctx, `SELECT cert_pem, identity_sealed FROM spaces WHERE id = ?`, id).Scan(&cert, &sealed)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && sealed == "") {
		return nil, nil, domain.NotFoundf("space %d has no identity", id)
	}
	if err != nil {
		return nil, nil, wrap(err, "get identity of space %d", id)
	}
	private, err := s.db.sealer.Open(sealed, identityAAD(id))
	if err != nil {
		return nil, nil, wrap(err, "open identity of space %d", id)
	}
	return []byte(cert), private, nil
}
