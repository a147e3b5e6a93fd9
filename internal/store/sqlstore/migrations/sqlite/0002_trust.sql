-- Space identities and trust between spaces.
-- A space's private keys are sealed with the master key (identity_sealed).

ALTER TABLE spaces ADD COLUMN cert_pem TEXT NOT NULL DEFAULT '';
ALTER TABLE spaces ADD COLUMN identity_sealed TEXT NOT NULL DEFAULT '';

CREATE TABLE remote_spaces (
    id          INTEGER PRIMARY KEY,
    space_id    BIGINT NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    name        TEXT   NOT NULL,
    cert_pem    TEXT   NOT NULL,
    fingerprint TEXT   NOT NULL,
    url         TEXT   NOT NULL DEFAULT '',
    trust       TEXT   NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    UNIQUE (space_id, name),
    UNIQUE (space_id, fingerprint)
);
