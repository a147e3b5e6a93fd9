-- The built-in package feed: one row per package version of a space. The
-- bytes live in the content-addressed chunk store (DATA/chunks); manifest is
-- the JSON list of chunks that rebuilds the file (internal/packages).

CREATE TABLE packages (
    id          INTEGER PRIMARY KEY,
    space_id    BIGINT NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    package_id  TEXT NOT NULL,
    version     TEXT NOT NULL,
    sha256      TEXT   NOT NULL,
    size        BIGINT NOT NULL,
    format      TEXT   NOT NULL,
    note        TEXT   NOT NULL DEFAULT '',
    chunks      BIGINT NOT NULL,
    manifest    TEXT   NOT NULL,
    source      TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT   NOT NULL,
    UNIQUE (space_id, package_id, version)
);

CREATE INDEX packages_sha ON packages (space_id, sha256);
