-- Release bundles: remote projects, provenance of imported releases, and the
-- record of bundles a space received or produced.

ALTER TABLE projects ADD COLUMN origin TEXT NOT NULL DEFAULT '';
ALTER TABLE releases ADD COLUMN snapshot_digest TEXT NOT NULL DEFAULT '';
ALTER TABLE releases ADD COLUMN provenance TEXT NOT NULL DEFAULT '';

CREATE TABLE bundles (
    id           INTEGER PRIMARY KEY,
    space_id     BIGINT NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    direction    TEXT   NOT NULL,
    digest       TEXT   NOT NULL,
    source_space TEXT   NOT NULL,
    target_space TEXT   NOT NULL,
    project      TEXT   NOT NULL,
    version      TEXT   NOT NULL,
    state        TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    created_by   TEXT   NOT NULL,
    imported_at  BIGINT,
    UNIQUE (space_id, direction, digest)
);

CREATE INDEX bundles_space ON bundles (space_id, id);
