-- A deployment's dashboard cell carries its task's state and times too, so
-- that a page reads deployment_cells alone instead of joining ~2,000 rows
-- of tasks (docs/performance.md, "Fifth pass"). The trigger keeps the copy
-- in step with the task: every statement that changes a task's state or
-- times changes its cell in the same transaction, whichever code path
-- runs it. A cell is written with its task's values when its deployment is
-- (deploymentCellRow); a cell without a task keeps NULLs, as the join did.

ALTER TABLE deployment_cells ADD COLUMN state TEXT;
ALTER TABLE deployment_cells ADD COLUMN started_at BIGINT;
ALTER TABLE deployment_cells ADD COLUMN finished_at BIGINT;

CREATE INDEX deployment_cells_task ON deployment_cells (task_id);

CREATE TRIGGER deployment_cells_follow_task AFTER UPDATE OF state, started_at, finished_at ON tasks
BEGIN
    UPDATE deployment_cells SET state = NEW.state, started_at = NEW.started_at, finished_at = NEW.finished_at
    WHERE task_id = NEW.id;
END;

UPDATE deployment_cells SET
    state       = (SELECT t.state FROM tasks t WHERE t.id = deployment_cells.task_id),
    started_at  = (SELECT t.started_at FROM tasks t WHERE t.id = deployment_cells.task_id),
    finished_at = (SELECT t.finished_at FROM tasks t WHERE t.id = deployment_cells.task_id)
WHERE task_id IS NOT NULL;
