-- A receipt of schema version 3 says how many deployment targets ran the
-- deployment (issue 15); receipts of earlier versions did not (NULL).
ALTER TABLE receipts ADD COLUMN machines INTEGER;
