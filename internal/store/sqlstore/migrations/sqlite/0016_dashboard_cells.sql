-- The dashboard's cells, one row each: the newest deployment of each
-- project in each environment of a space, and the newest receipt of each
-- origin project in each environment. A page reads its cells as one range
-- of these tables instead of seeking the newest row of every group of
-- deployments and receipts (docs/performance.md, "Dashboard"). The store
-- writes a cell in the same transaction as the deployment or receipt it
-- names, so a cell is never behind what it summarizes; a newer row (higher
-- id) always wins, whatever order transactions commit in.

CREATE TABLE deployment_cells (
    space_id      BIGINT NOT NULL,
    project_id    BIGINT NOT NULL,
    environment   TEXT   NOT NULL,
    deployment_id BIGINT NOT NULL,
    PRIMARY KEY (space_id, project_id, environment)
) WITHOUT ROWID;

INSERT INTO deployment_cells (space_id, project_id, environment, deployment_id)
SELECT space_id, project_id, environment, MAX(id) FROM deployments GROUP BY space_id, project_id, environment;

CREATE TABLE receipt_cells (
    space_id           BIGINT NOT NULL,
    origin_fingerprint TEXT   NOT NULL,
    origin_project     TEXT   NOT NULL,
    environment        TEXT   NOT NULL,
    receipt_id         BIGINT NOT NULL,
    PRIMARY KEY (space_id, origin_fingerprint, origin_project, environment)
) WITHOUT ROWID;

INSERT INTO receipt_cells (space_id, origin_fingerprint, origin_project, environment, receipt_id)
SELECT space_id, origin_fingerprint, origin_project, environment, MAX(id) FROM receipts
GROUP BY space_id, origin_fingerprint, origin_project, environment;
