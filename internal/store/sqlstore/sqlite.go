package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/ferrydeploy/ferry/internal/store"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteDialect is SQLite through modernc.org/sqlite (pure Go, no cgo).
func sqliteDialect() dialect {
	return dialect{
		name:       "sqlite",
		driver:     "sqlite",
		migrations: "migrations/sqlite",
		rebind:     func(query string) string { return query },
		isUnique:   sqliteIsUnique,
		// SQLite runs one writer at a time, so the statement is atomic as it
		// stands; the repeated state check keeps it honest anyway.
		claimTask: `UPDATE tasks SET state = ?, node = ?, started_at = COALESCE(started_at, ?)
			WHERE id = (SELECT id FROM tasks WHERE state = ? ORDER BY id LIMIT 1) AND state = ?
			RETURNING id`,
		// One process opens the file, so one node: locks are the
		// process's own, and there is no other node to wake.
		cleanText: func(s string) string { return s },
		// Rebuild the file without its free pages, then fold the
		// write-ahead log into it and empty the log.
		compact: []string{`VACUUM`, `PRAGMA wal_checkpoint(TRUNCATE)`},
		// Deleted content is already overwritten in the file
		// (secure_delete); fold the log, which may hold earlier copies of
		// the pages, into the file and empty it.
		forget:      `PRAGMA wal_checkpoint(TRUNCATE)`,
		locks:       func(*DB) store.Locks { return newLocalLocks() },
		listenTasks: waitForEnd,
	}
}

// waitForEnd is ListenTasks for a store that only one node opens: every task
// is queued by this node, which wakes its runner itself.
func waitForEnd(ctx context.Context, _ *DB, _ func()) error {
	<-ctx.Done()
	return nil
}

// OpenSQLite opens the SQLite database at path, creating the file if it is
// missing (not its folder), and brings its schema up to date. Sensitive
// values are sealed with sealer before they reach the file.
func OpenSQLite(ctx context.Context, path string, sealer Sealer) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	db, err := open(ctx, sqliteDialect(), sqliteDSN(abs), sealer)
	if err != nil {
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	return db, nil
}

// sqliteDSN is a file: URI for path with the connection settings every
// connection of the pool gets: wait up to 10s for a lock rather than fail,
// write-ahead logging so readers never block the writer, enforced foreign
// keys, deleted content overwritten with zeros (an old row version must not
// keep a secret's former plaintext in the file), and BEGIN IMMEDIATE so a
// transaction takes the write lock when it starts instead of failing when
// it upgrades from reading to writing.
func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "secure_delete(1)")
	q.Set("_txlock", "immediate")
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String()
}

func sqliteIsUnique(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}
