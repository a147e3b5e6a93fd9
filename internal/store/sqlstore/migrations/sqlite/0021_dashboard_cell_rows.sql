-- A dashboard cell carries what it shows, so a page is one key range of
-- deployment_cells joined only to the cells' tasks (whose state changes),
-- and one of receipt_cells, not four primary-key lookups per deployment
-- cell and one per receipt cell (docs/performance.md, "Dashboard"). What
-- is carried never changes once the row is written: a deployment's
-- release (id and version), tenant, task, creation time and author; a
-- receipt's summary (all but the signed bytes). The cells are derived
-- rows, so both tables are rebuilt from the rows they summarize.

DROP TABLE deployment_cells;

CREATE TABLE deployment_cells (
    space_id      BIGINT NOT NULL,
    project_id    BIGINT NOT NULL,
    environment   TEXT   NOT NULL,
    deployment_id BIGINT NOT NULL,
    release_id    BIGINT NOT NULL,
    version       TEXT   NOT NULL,
    tenant        TEXT   NOT NULL,
    task_id       BIGINT,
    created_at    BIGINT NOT NULL,
    created_by    TEXT   NOT NULL,
    on_behalf_of  TEXT   NOT NULL,
    PRIMARY KEY (space_id, project_id, environment)
) WITHOUT ROWID;

INSERT INTO deployment_cells (space_id, project_id, environment, deployment_id, release_id, version, tenant, task_id, created_at, created_by, on_behalf_of)
SELECT d.space_id, d.project_id, d.environment, d.id, d.release_id, r.version, d.tenant, d.task_id, d.created_at, d.created_by, d.on_behalf_of
FROM deployments d JOIN releases r ON r.id = d.release_id
WHERE d.id IN (SELECT MAX(id) FROM deployments GROUP BY space_id, project_id, environment);

DROP TABLE receipt_cells;

CREATE TABLE receipt_cells (
    space_id           BIGINT NOT NULL,
    origin_fingerprint TEXT   NOT NULL,
    origin_project     TEXT   NOT NULL,
    environment        TEXT   NOT NULL,
    receipt_id         BIGINT NOT NULL,
    digest             TEXT   NOT NULL,
    deploying_space    TEXT   NOT NULL,
    signer_fingerprint TEXT   NOT NULL,
    origin_space       TEXT   NOT NULL,
    version            TEXT   NOT NULL,
    snapshot_digest    TEXT   NOT NULL,
    tenant             TEXT   NOT NULL,
    state              TEXT   NOT NULL,
    started_at         BIGINT,
    finished_at        BIGINT,
    deployed_by        TEXT   NOT NULL,
    machines           INTEGER,
    received_from      TEXT   NOT NULL,
    received_at        BIGINT NOT NULL,
    PRIMARY KEY (space_id, origin_fingerprint, origin_project, environment)
) WITHOUT ROWID;

INSERT INTO receipt_cells (space_id, origin_fingerprint, origin_project, environment, receipt_id, digest, deploying_space,
    signer_fingerprint, origin_space, version, snapshot_digest, tenant, state, started_at, finished_at, deployed_by,
    machines, received_from, received_at)
SELECT r.space_id, r.origin_fingerprint, r.origin_project, r.environment, r.id, r.digest, r.deploying_space,
    r.signer_fingerprint, r.origin_space, r.version, r.snapshot_digest, r.tenant, r.state, r.started_at, r.finished_at, r.deployed_by,
    r.machines, r.received_from, r.received_at
FROM receipts r
WHERE r.id IN (SELECT MAX(id) FROM receipts GROUP BY space_id, origin_fingerprint, origin_project, environment);
