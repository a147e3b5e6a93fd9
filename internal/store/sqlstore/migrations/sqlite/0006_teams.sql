-- Users' passwords, API key listing, and teams with role grants per space.

ALTER TABLE users ADD COLUMN password_hash TEXT NOT NULL DEFAULT '';

CREATE TABLE teams (
    id           INTEGER PRIMARY KEY,
    space_id     BIGINT NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    name         TEXT   NOT NULL,
    role         TEXT   NOT NULL,
    projects     TEXT   NOT NULL DEFAULT '[]',
    environments TEXT   NOT NULL DEFAULT '[]',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (space_id, name)
);

CREATE TABLE team_members (
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, user_id)
);

CREATE INDEX team_members_user ON team_members (user_id);
