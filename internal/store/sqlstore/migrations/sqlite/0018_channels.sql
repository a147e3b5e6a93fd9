-- Channels, manual intervention and triggers (issue 19).
--
-- A project's channels and triggers are JSON, like its process. A manual
-- intervention is a row per manual-intervention step a deployment reached:
-- while its decision is '' the task waits (state 'Waiting') and no worker
-- holds it. A trigger's state is the last due time it handled (a schedule
-- fires once per due time: the row is claimed with a conditional upsert)
-- and its last result. Lifecycle phases gain two optional JSON fields and
-- need no change here.
ALTER TABLE projects ADD COLUMN channels TEXT NOT NULL DEFAULT '[]';
ALTER TABLE projects ADD COLUMN triggers TEXT NOT NULL DEFAULT '[]';

-- A deployment a trigger made is made on behalf of the user who set the
-- trigger: under four eyes that user may not approve it.
ALTER TABLE deployments ADD COLUMN on_behalf_of TEXT NOT NULL DEFAULT '';

CREATE TABLE interventions (
    id                    INTEGER PRIMARY KEY,
    task_id               BIGINT  NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    step_index            INTEGER NOT NULL,
    step                  TEXT    NOT NULL,
    instructions          TEXT    NOT NULL,
    teams                 TEXT    NOT NULL DEFAULT '[]',
    prevent_self_approval BOOLEAN NOT NULL DEFAULT FALSE,
    deployer              TEXT    NOT NULL,
    created_at            BIGINT  NOT NULL,
    timeout_at            BIGINT,
    decision              TEXT    NOT NULL DEFAULT '',
    decided_by            TEXT    NOT NULL DEFAULT '',
    decided_at            BIGINT,
    note                  TEXT    NOT NULL DEFAULT '',
    UNIQUE (task_id, step_index)
);

CREATE INDEX interventions_open ON interventions (decision, timeout_at);

CREATE TABLE trigger_states (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name       TEXT   NOT NULL,
    last_due   BIGINT NOT NULL DEFAULT 0,
    fired_at   BIGINT,
    ok         BOOLEAN NOT NULL DEFAULT FALSE,
    version    TEXT   NOT NULL DEFAULT '',
    task_id    BIGINT,
    result     TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (project_id, name)
);
