-- A dashboard cell carries what it shows, so a page is one key range of
-- deployment_cells joined only to the cells' tasks (whose state changes),
-- not four primary-key lookups per cell (docs/performance.md, "Dashboard").
-- What is carried never changes once the deployment is written: its
-- release (id and version), tenant, task, creation time and author. The
-- cells are derived rows, so the table is rebuilt from the deployments.

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
    PRIMARY KEY (space_id, project_id, environment)
);

INSERT INTO deployment_cells (space_id, project_id, environment, deployment_id, release_id, version, tenant, task_id, created_at, created_by)
SELECT d.space_id, d.project_id, d.environment, d.id, d.release_id, r.version, d.tenant, d.task_id, d.created_at, d.created_by
FROM deployments d JOIN releases r ON r.id = d.release_id
WHERE d.id IN (SELECT MAX(id) FROM deployments GROUP BY space_id, project_id, environment);
