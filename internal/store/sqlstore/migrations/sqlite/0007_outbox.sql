-- Connected spaces: the durable outbox of items delivered to remote spaces
-- by a background loop (release bundles, receipt batches; a package-chunk
-- batch kind can be added later without a schema change), the pinned TLS
-- certificate of a remote space's server, and the exact bytes of a bundle
-- received over the network but waiting for a person to import it.

ALTER TABLE remote_spaces ADD COLUMN tls_fingerprint TEXT NOT NULL DEFAULT '';
ALTER TABLE bundles ADD COLUMN data TEXT NOT NULL DEFAULT '';

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    space_id        BIGINT  NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    remote_space_id BIGINT  NOT NULL REFERENCES remote_spaces (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL,
    ref             TEXT    NOT NULL DEFAULT '',
    summary         TEXT    NOT NULL DEFAULT '',
    body            TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    last_attempt_at BIGINT,
    last_error      TEXT    NOT NULL DEFAULT '',
    result          TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL,
    created_by      TEXT    NOT NULL,
    delivered_at    BIGINT
);

CREATE INDEX outbox_due ON outbox (state, next_attempt_at, id);
CREATE INDEX outbox_remote ON outbox (remote_space_id, state, id);
CREATE INDEX outbox_space ON outbox (space_id, remote_space_id, state);
CREATE INDEX outbox_ref ON outbox (space_id, kind, ref);
-- Kinds whose items are swept together at send time (receipts) keep at most
-- one queued item per remote space: queuing another is a no-op.
CREATE UNIQUE INDEX outbox_one_queued_sweep ON outbox (remote_space_id, kind) WHERE state = 'queued' AND ref = '';
