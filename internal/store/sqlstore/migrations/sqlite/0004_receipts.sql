-- Deployment receipts: signed records of deployments of remote projects,
-- kept as signed so they can be relayed towards the project's origin.

CREATE TABLE receipts (
    id                 INTEGER PRIMARY KEY,
    space_id           BIGINT NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    digest             TEXT   NOT NULL,
    deploying_space    TEXT   NOT NULL,
    signer_fingerprint TEXT   NOT NULL,
    origin_space       TEXT   NOT NULL,
    origin_fingerprint TEXT   NOT NULL,
    origin_project     TEXT   NOT NULL,
    version            TEXT   NOT NULL,
    snapshot_digest    TEXT   NOT NULL,
    environment        TEXT   NOT NULL,
    tenant             TEXT   NOT NULL DEFAULT '',
    state              TEXT   NOT NULL,
    started_at         BIGINT,
    finished_at        BIGINT,
    deployed_by        TEXT   NOT NULL,
    received_from      TEXT   NOT NULL DEFAULT '',
    received_at        BIGINT NOT NULL,
    payload            TEXT   NOT NULL,
    signature          TEXT   NOT NULL,
    signer_pem         TEXT   NOT NULL,
    UNIQUE (space_id, digest)
);

CREATE INDEX receipts_release ON receipts (space_id, origin_fingerprint, origin_project, version);

CREATE TABLE receipt_sends (
    receipt_id      BIGINT NOT NULL REFERENCES receipts (id) ON DELETE CASCADE,
    remote_space_id BIGINT NOT NULL REFERENCES remote_spaces (id) ON DELETE CASCADE,
    sent_at         BIGINT NOT NULL,
    PRIMARY KEY (receipt_id, remote_space_id)
);
