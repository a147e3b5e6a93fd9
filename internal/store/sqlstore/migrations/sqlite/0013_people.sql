-- People and secrets (issue 14).
--
-- Audit events name the project they are about, so that only people who
-- may view a project see its events. Events recorded before are given
-- their project where it can be told: from the "project" detail, from the
-- subject of project, release and bundle events ("<project>" or
-- "<project> <version>"; versions have no spaces), and through the task of
-- deployment and cancellation events.
ALTER TABLE audit_events ADD COLUMN project TEXT NOT NULL DEFAULT '';

UPDATE audit_events SET project = COALESCE(json_extract(details, '$.project'), '')
WHERE json_valid(details) AND json_type(details, '$.project') = 'text';

UPDATE audit_events SET project = subject
WHERE project = '' AND action IN ('project.create', 'project.update');

UPDATE audit_events SET project = rtrim(rtrim(subject, replace(subject, ' ', '')), ' ')
WHERE project = '' AND instr(subject, ' ') > 0
  AND action IN ('release.create', 'release.promote', 'bundle.import', 'bundle.receive');

UPDATE audit_events SET project = COALESCE((
    SELECT p.name FROM tasks t
    JOIN deployments d ON d.id = t.deployment_id
    JOIN projects p ON p.id = d.project_id
    WHERE t.id = CAST(json_extract(audit_events.details, '$.task') AS INTEGER)), '')
WHERE project = '' AND action IN ('deployment.create', 'task.cancel')
  AND json_valid(details) AND json_type(details, '$.task') = 'text';

CREATE INDEX audit_events_project ON audit_events (space_id, project, id);

-- Data migrations: changes SQL cannot make because they need the master
-- key, which is not in the database. The server runs each once, after the
-- SQL migrations, and records it here (internal/store/sqlstore/datamigrate.go).
CREATE TABLE data_migrations (
    name       TEXT   PRIMARY KEY,
    applied_at BIGINT NOT NULL
);
