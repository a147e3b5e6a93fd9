-- ferry's first schema.
--
-- Times are unix microseconds, UTC, in BIGINT columns; nested values are JSON
-- in TEXT columns, and sensitive variable values inside that JSON are sealed.
-- "INTEGER PRIMARY KEY" is SQLite's auto-assigned row id.

CREATE TABLE spaces (
    id          INTEGER PRIMARY KEY,
    name        TEXT   NOT NULL UNIQUE,
    fingerprint TEXT   NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    is_admin   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT  NOT NULL
);

CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT   NOT NULL,
    hash       TEXT   NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used  BIGINT,
    revoked_at BIGINT
);

CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE environments (
    id           INTEGER PRIMARY KEY,
    space_id     BIGINT NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    name         TEXT   NOT NULL,
    remote_space TEXT   NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    UNIQUE (space_id, name)
);

CREATE TABLE lifecycles (
    id       INTEGER PRIMARY KEY,
    space_id BIGINT NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    name     TEXT   NOT NULL,
    phases   TEXT   NOT NULL,
    UNIQUE (space_id, name)
);

CREATE TABLE projects (
    id         INTEGER PRIMARY KEY,
    space_id   BIGINT NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    name       TEXT   NOT NULL,
    lifecycle  TEXT   NOT NULL DEFAULT '',
    process    TEXT   NOT NULL,
    variables  TEXT   NOT NULL, -- sensitive values sealed
    templates  TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (space_id, name)
);

CREATE TABLE releases (
    id         INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    version    TEXT   NOT NULL,
    notes      TEXT   NOT NULL DEFAULT '',
    channel    TEXT   NOT NULL DEFAULT '',
    snapshot   TEXT   NOT NULL, -- sensitive values sealed
    created_at BIGINT NOT NULL,
    created_by TEXT   NOT NULL DEFAULT '',
    UNIQUE (project_id, version)
);

CREATE TABLE tasks (
    id               INTEGER PRIMARY KEY,
    space_id         BIGINT REFERENCES spaces (id), -- NULL for system tasks
    kind             TEXT    NOT NULL,
    description      TEXT    NOT NULL DEFAULT '',
    state            TEXT    NOT NULL,
    error            TEXT    NOT NULL DEFAULT '',
    deployment_id    BIGINT, -- no foreign key: deployments reference tasks
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    queued_at        BIGINT  NOT NULL,
    started_at       BIGINT,
    finished_at      BIGINT,
    node             TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX tasks_state ON tasks (state, id);
CREATE INDEX tasks_space ON tasks (space_id, id);

CREATE TABLE task_logs (
    task_id BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    seq     BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    level   TEXT   NOT NULL DEFAULT '',
    message TEXT   NOT NULL,
    PRIMARY KEY (task_id, seq)
);

CREATE TABLE deployments (
    id          INTEGER PRIMARY KEY,
    space_id    BIGINT NOT NULL REFERENCES spaces (id),
    project_id  BIGINT NOT NULL REFERENCES projects (id),
    release_id  BIGINT NOT NULL REFERENCES releases (id),
    environment TEXT   NOT NULL,
    tenant      TEXT   NOT NULL DEFAULT '',
    task_id     BIGINT REFERENCES tasks (id),
    created_at  BIGINT NOT NULL,
    created_by  TEXT   NOT NULL DEFAULT ''
);

CREATE INDEX deployments_release ON deployments (release_id, id);
CREATE INDEX deployments_project_environment ON deployments (project_id, environment, id);
CREATE INDEX deployments_space ON deployments (space_id, id);

CREATE TABLE audit_events (
    id       INTEGER PRIMARY KEY,
    space_id BIGINT REFERENCES spaces (id), -- NULL for system-wide events
    at       BIGINT NOT NULL,
    actor    TEXT   NOT NULL,
    action   TEXT   NOT NULL,
    subject  TEXT   NOT NULL DEFAULT '',
    details  TEXT   NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_events_space ON audit_events (space_id, id);
