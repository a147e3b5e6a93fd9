-- Deleting and retention (issue 20).
--
-- release_packages lists the package versions each release pins, so that
-- deleting a package names the releases that need it, and retention finds
-- the package versions no release needs without reading every snapshot.
-- Releases made before this migration get their rows from the data
-- migration "release-packages" (datamigrate.go), which reads snapshots.
--
-- A deleted remote space stays in remote_spaces, revoked, with deleted_at
-- set: what it delivered must never deploy again, and the provenance rules
-- find that out by its fingerprint (or, after a rotation, its name), which
-- stays reserved. No list shows it.

CREATE TABLE release_packages (
    release_id BIGINT NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    space_id   BIGINT NOT NULL,
    package_id TEXT COLLATE "C" NOT NULL,
    version    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (release_id, package_id, version)
);

CREATE INDEX release_packages_package ON release_packages (space_id, package_id, version);

ALTER TABLE remote_spaces ADD COLUMN deleted_at BIGINT;

-- deleted_releases remembers the versions of a project that were deleted
-- (by hand or by retention): receipts other spaces send back about them
-- are skipped, not refused, so a receipt file that also holds newer
-- receipts still lands.
CREATE TABLE deleted_releases (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    version    TEXT COLLATE "C" NOT NULL,
    deleted_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, version)
);

-- Deleting tasks checks that no deployment still names them: without this
-- index every deleted task is a scan of every deployment.
CREATE INDEX deployments_task ON deployments (task_id);
