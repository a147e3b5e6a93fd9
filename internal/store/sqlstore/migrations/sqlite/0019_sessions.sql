-- Web sessions in the database (issue 23), so that every node of a server
-- knows them (no sticky sessions) and a restart signs no one out. The
-- session id is never stored: id_hash is the SHA-256 of the random id the
-- browser holds in its cookie. stamp identifies the password the session
-- was made with (auth.Session): a password change ends it.
CREATE TABLE web_sessions (
    id_hash    TEXT   PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_name  TEXT   NOT NULL,
    stamp      TEXT   NOT NULL,
    csrf       TEXT   NOT NULL,
    flash      TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    seen_at    BIGINT NOT NULL
);

CREATE INDEX web_sessions_user ON web_sessions (user_id);
CREATE INDEX web_sessions_seen ON web_sessions (seen_at);
