-- Server nodes sharing the database, and their heartbeats, so that the
-- tasks of a node that died can be failed by another. (Numbered after the
-- issue that added it, leaving room for other migrations before it.)

CREATE TABLE nodes (
    name       TEXT   PRIMARY KEY,
    started_at BIGINT NOT NULL,
    seen_at    BIGINT NOT NULL
);
