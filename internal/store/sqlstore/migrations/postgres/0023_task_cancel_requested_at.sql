-- When a cancel was first requested (unix microseconds), so that a task
-- that ended before the cancel took effect can say when it came
-- (domain.Task.CancelRequestedAt). NULL for tasks never asked to cancel,
-- and for requests made before this column.
ALTER TABLE tasks ADD COLUMN cancel_requested_at BIGINT;
