-- A deployment's dashboard cell carries its task's state and times too, so
-- that a page reads deployment_cells alone instead of joining ~2,000 rows
-- of tasks (docs/performance.md, "Fifth pass"). The trigger keeps the copy
-- in step with the task: every statement that changes a task's state or
-- times changes its cell in the same transaction, whichever code path
-- runs it. A cell is written with its task's values when its deployment is
-- (deploymentCellRow); a cell without a task keeps NULLs, as the join did.
-- PostgreSQL's trigger runs a function, SQLite's holds its statements.
--
-- No update of a task can miss its cell. A task is seen by the runners only
-- once the transaction that queued it, and wrote its deployment's cell,
-- has committed. Here the trigger comes before the copy: creating it locks
-- tasks against updates until this migration commits, and waits for those
-- under way, so the copy, a later statement, reads every task's last state
-- (even while nodes of the version before this one go on running).

ALTER TABLE deployment_cells ADD COLUMN state TEXT;
ALTER TABLE deployment_cells ADD COLUMN started_at BIGINT;
ALTER TABLE deployment_cells ADD COLUMN finished_at BIGINT;

CREATE INDEX deployment_cells_task ON deployment_cells (task_id);

CREATE FUNCTION deployment_cells_follow_task() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE deployment_cells SET state = NEW.state, started_at = NEW.started_at, finished_at = NEW.finished_at
    WHERE task_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER deployment_cells_follow_task AFTER UPDATE OF state, started_at, finished_at ON tasks
FOR EACH ROW EXECUTE FUNCTION deployment_cells_follow_task();

UPDATE deployment_cells SET
    state       = (SELECT t.state FROM tasks t WHERE t.id = deployment_cells.task_id),
    started_at  = (SELECT t.started_at FROM tasks t WHERE t.id = deployment_cells.task_id),
    finished_at = (SELECT t.finished_at FROM tasks t WHERE t.id = deployment_cells.task_id)
WHERE task_id IS NOT NULL;
