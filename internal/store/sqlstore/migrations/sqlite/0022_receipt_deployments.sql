-- A receipt this space signed names the deployment it records, so a
-- finished deployment of a remote project without one is found and given
-- one (receipt.Service.Backfill). NULL for receipts signed elsewhere, and
-- for receipts signed before this column, until Backfill reads their
-- deployment from the signed payload.
ALTER TABLE receipts ADD COLUMN deployment_id BIGINT;
CREATE INDEX receipts_deployment ON receipts (space_id, deployment_id);
