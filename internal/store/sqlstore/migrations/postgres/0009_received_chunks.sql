-- Package chunks a space received from a connected space, recorded as each
-- arrives verified, so that a transfer cut off midway resumes with the
-- chunks still missing, and so that they count as the space's own when the
-- packages that use them arrive. (Chunks are stored once per server; a
-- space may use only those its packages reference or that it received.)

CREATE TABLE received_chunks (
    space_id    BIGINT NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    hash        TEXT   NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (space_id, hash)
);
