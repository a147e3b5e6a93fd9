-- Trust between spaces (issue 14).
--
-- A remote project is bound to its origin and to the spaces allowed to
-- deliver it: project_deliverers lists, by certificate fingerprint, every
-- space besides the origin that may deliver releases of it. Releases
-- imported before this migration stay deliverable by the space that
-- delivered them, read from their provenance.
--
-- A revocation records who made it, so a refused deployment can say so
-- (older revocations take it from the audit log).
--
-- schema_version is the newest schema of ferry's signed files a remote
-- space is known to read (0: not known yet). Every remote space known
-- before this upgrade ran the previous release, which reads version 1.

ALTER TABLE remote_spaces ADD COLUMN revoked_by TEXT NOT NULL DEFAULT '';
ALTER TABLE remote_spaces ADD COLUMN schema_version INTEGER NOT NULL DEFAULT 0;

UPDATE remote_spaces SET schema_version = 1;
UPDATE remote_spaces SET revoked_by = COALESCE((
    SELECT a.actor FROM audit_events a
    WHERE a.space_id = remote_spaces.space_id AND a.action = 'remote-space.revoke' AND a.subject = remote_spaces.name
    ORDER BY a.id DESC LIMIT 1), '')
WHERE revoked_at IS NOT NULL;

CREATE TABLE project_deliverers (
    project_id  BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    fingerprint TEXT   NOT NULL,
    space       TEXT   NOT NULL,
    added_at    BIGINT NOT NULL,
    added_by    TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (project_id, fingerprint)
);

INSERT INTO project_deliverers (project_id, fingerprint, space, added_at, added_by)
SELECT r.project_id, json_extract(r.provenance, '$.sourceFingerprint'), MIN(json_extract(r.provenance, '$.sourceSpace')), MIN(r.created_at), 'migration'
FROM releases r
WHERE r.provenance <> '' AND COALESCE(json_extract(r.provenance, '$.sourceFingerprint'), '') <> ''
GROUP BY r.project_id, json_extract(r.provenance, '$.sourceFingerprint');

-- Which releases a space promoted to whom: receipts are believed only for
-- releases promoted toward their signer.
CREATE INDEX bundles_release ON bundles (space_id, direction, project, version);
