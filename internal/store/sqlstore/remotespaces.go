package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

type remoteSpaces struct{ db *DB }

var _ store.RemoteSpaces = (*remoteSpaces)(nil)

// RemoteSpaces returns the remote spaces resource.
func (db *DB) RemoteSpaces() store.RemoteSpaces { return &remoteSpaces{db} }

const remoteSpaceColumns = `id, space_id, name, cert_pem, fingerprint, url, trust, created_at, updated_at, revoked_at, tls_fingerprint, revoked_by, schema_version, deleted_at`

func scanRemoteSpace(s scanner) (domain.RemoteSpace, error) {
	var r domain.RemoteSpace
	var trust string
	var created, updated int64
	var revoked, deleted sql.NullInt64
	err := s.Scan(&r.ID, &r.SpaceID, &r.Name, &r.CertPEM, &r.Fingerprint, &r.URL, &trust, &created, &updated, &revoked, &r.TLSFingerprint, &r.RevokedBy, &r.SchemaVersion, &deleted)
	r.CreatedAt, r.UpdatedAt, r.RevokedAt, r.DeletedAt = fromMicros(created), fromMicros(updated), timePtr(revoked), timePtr(deleted)
	r.Trust = domain.Trust{}
	if trust != "" {
		r.Trust = strings.Split(trust, ",")
	}
	return r, err
}

func trustText(t domain.Trust) string { return strings.Join(t, ",") }

func (s *remoteSpaces) Create(ctx context.Context, r *domain.RemoteSpace) error {
	r.CreatedAt = stamp(r.CreatedAt)
	r.UpdatedAt = r.CreatedAt
	err := s.db.queryRow(ctx, `INSERT INTO remote_spaces (space_id, name, cert_pem, fingerprint, url, trust, created_at, updated_at, revoked_at, tls_fingerprint, revoked_by, schema_version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.SpaceID, r.Name, r.CertPEM, r.Fingerprint, r.URL, trustText(r.Trust), micros(r.CreatedAt), micros(r.UpdatedAt), nullMicros(r.RevokedAt), r.TLSFingerprint,
		r.RevokedBy, r.SchemaVersion).Scan(&r.ID)
	if s.db.d.isUnique(err) {
		return domain.Conflictf("remote space %q, or one with fingerprint %s, already exists in this space", r.Name, r.Fingerprint)
	}
	return wrap(err, "create remote space %q", r.Name)
}

func (s *remoteSpaces) Update(ctx context.Context, r *domain.RemoteSpace) error {
	r.UpdatedAt = stamp(r.UpdatedAt)
	err := s.db.execOne(ctx, domain.NotFoundf("remote space %q not found", r.Name),
		`UPDATE remote_spaces SET cert_pem = ?, fingerprint = ?, url = ?, trust = ?, updated_at = ?, revoked_at = ?, tls_fingerprint = ?, revoked_by = ? WHERE id = ?`,
		r.CertPEM, r.Fingerprint, r.URL, trustText(r.Trust), micros(r.UpdatedAt), nullMicros(r.RevokedAt), r.TLSFingerprint, r.RevokedBy, r.ID)
	if s.db.d.isUnique(err) {
		return domain.Conflictf("another remote space of this space has fingerprint %s", r.Fingerprint)
	}
	return wrap(err, "update remote space %q", r.Name)
}

func (s *remoteSpaces) Get(ctx context.Context, spaceID int64, name string) (domain.RemoteSpace, error) {
	r, err := one(s.db.queryRow(ctx, `SELECT `+remoteSpaceColumns+` FROM remote_spaces WHERE space_id = ? AND name = ?`, spaceID, name),
		scanRemoteSpace, domain.NotFoundf("remote space %q not found in this space; add it with `ferry remote-space add %q --cert FILE`", name, name))
	return r, wrap(err, "get remote space %q", name)
}

func (s *remoteSpaces) GetByFingerprint(ctx context.Context, spaceID int64, fingerprint string) (domain.RemoteSpace, error) {
	r, err := one(s.db.queryRow(ctx, `SELECT `+remoteSpaceColumns+` FROM remote_spaces WHERE space_id = ? AND fingerprint = ?`, spaceID, fingerprint),
		scanRemoteSpace, domain.NotFoundf("no remote space with fingerprint %s in this space", fingerprint))
	return r, wrap(err, "get remote space by fingerprint")
}

func (s *remoteSpaces) List(ctx context.Context, spaceID int64) ([]domain.RemoteSpace, error) {
	rows, err := s.db.query(ctx, `SELECT `+remoteSpaceColumns+` FROM remote_spaces WHERE space_id = ? AND deleted_at IS NULL ORDER BY name`, spaceID)
	if err != nil {
		return nil, wrap(err, "list remote spaces")
	}
	list, err := collect(rows, scanRemoteSpace)
	return list, wrap(err, "list remote spaces")
}

func (s *remoteSpaces) SetSchemaVersion(ctx context.Context, id int64, version int, raise bool) error {
	q, args := `UPDATE remote_spaces SET schema_version = ? WHERE id = ?`, []any{version, id}
	if raise {
		q, args = q+` AND schema_version < ?`, append(args, version)
	}
	_, err := s.db.exec(ctx, q, args...)
	return wrap(err, "record the schema version of remote space %d", id)
}
