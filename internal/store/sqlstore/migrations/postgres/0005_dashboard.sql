-- The dashboard's cells: the newest deployment of each project and
-- environment of a space, and the newest receipt of each origin project and
-- environment. These indexes hold each group's rows together with the newest
-- last, so Latest jumps from one group's newest row to the next group's
-- instead of reading every deployment the space ever made.

CREATE INDEX deployments_latest ON deployments (space_id, project_id, environment, id);
CREATE INDEX receipts_latest ON receipts (space_id, origin_fingerprint, origin_project, environment, id);
