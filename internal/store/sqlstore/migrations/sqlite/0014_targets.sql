-- Deployment targets and agents (issue 15).
--
-- targets are the machines a space deploys to: an agent known by the SHA-256
-- fingerprint of its certificate (thumbprint), listening (url) or polling;
-- health, last_seen and agent_version are what the last check or heartbeat
-- found, node the server node a polling agent is connected to.
--
-- agent_identities is the server's own certificate towards agents (one
-- current, and while it rotates one next), its key sealed with the master
-- key like the spaces' identities.
--
-- agent_jobs is the durable work for targets: a step for one target, queued
-- by a node's runner (origin) and run by whichever node reaches the agent
-- (node); payload and result are sealed (they hold the step's secrets).
--
-- deployments remember the targets they were limited to, and how many
-- targets ran them.

CREATE TABLE targets (
    id            INTEGER PRIMARY KEY,
    space_id      BIGINT  NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    environments  TEXT    NOT NULL,
    roles         TEXT    NOT NULL,
    mode          TEXT    NOT NULL,
    url           TEXT    NOT NULL DEFAULT '',
    thumbprint    TEXT    NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    health        TEXT    NOT NULL DEFAULT 'Unknown',
    health_reason TEXT    NOT NULL DEFAULT '',
    checked_at    BIGINT,
    last_seen     BIGINT,
    agent_version TEXT    NOT NULL DEFAULT '',
    node          TEXT    NOT NULL DEFAULT '',
    created_at    BIGINT  NOT NULL,
    UNIQUE (space_id, name),
    UNIQUE (space_id, thumbprint)
);

CREATE INDEX targets_thumbprint ON targets (thumbprint);

CREATE TABLE agent_identities (
    id          INTEGER PRIMARY KEY,
    fingerprint TEXT    NOT NULL UNIQUE,
    cert_pem    TEXT    NOT NULL,
    key_sealed  TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    retired_at  BIGINT
);

CREATE UNIQUE INDEX agent_identities_one_each ON agent_identities (state) WHERE state <> 'retired';

CREATE TABLE agent_jobs (
    id          INTEGER PRIMARY KEY,
    task_id     BIGINT  NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    space_id    BIGINT  NOT NULL,
    target_id   BIGINT  NOT NULL,
    target      TEXT    NOT NULL,
    thumbprint  TEXT    NOT NULL,
    mode        TEXT    NOT NULL,
    url         TEXT    NOT NULL DEFAULT '',
    origin      TEXT    NOT NULL,
    node        TEXT    NOT NULL DEFAULT '',
    state       TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    result      TEXT    NOT NULL DEFAULT '',
    error       TEXT    NOT NULL DEFAULT '',
    cancel      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT  NOT NULL,
    beat_at     BIGINT
);

CREATE INDEX agent_jobs_state ON agent_jobs (state, mode, thumbprint);
CREATE INDEX agent_jobs_node ON agent_jobs (node, state);

ALTER TABLE deployments ADD COLUMN targets TEXT NOT NULL DEFAULT '';
ALTER TABLE deployments ADD COLUMN exclude_targets TEXT NOT NULL DEFAULT '';
ALTER TABLE deployments ADD COLUMN machines INTEGER NOT NULL DEFAULT 0;
