package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/ferrydeploy/ferry/internal/store"
)

// taskChannel is the PostgreSQL notification channel on which queuing a
// task wakes the runners of every node.
const taskChannel = "ferry_tasks"

// postgresDialect is PostgreSQL through pgx's database/sql driver.
func postgresDialect() dialect {
	return dialect{
		name:       "postgres",
		driver:     "pgx",
		migrations: "migrations/postgres",
		rebind:     rebindDollar,
		arrays:     true,
		isUnique:   postgresIsUnique,
		// SKIP LOCKED lets concurrent claimers each take a different row
		// instead of queuing behind one another's lock on the same one.
		claimTask: `UPDATE tasks SET state = ?, node = ?, started_at = COALESCE(started_at, ?)
			WHERE id = (SELECT id FROM tasks WHERE state = ? ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) AND state = ?
			RETURNING id`,
		// Held until the migration's transaction ends: nodes starting
		// together on one database migrate it one after another, and each
		// but the first finds nothing left to do.
		migrationLock: fmt.Sprintf(`SELECT pg_advisory_xact_lock(%d)`, lockKey("migrate")),
		lockTask:      `SELECT id FROM tasks WHERE id = ? FOR UPDATE`,
		lockName:      `SELECT pg_advisory_xact_lock(?)`,
		lockRows:      ` FOR UPDATE`,
		// Delivered when the queuing transaction commits, never before.
		notifyTask:  `SELECT pg_notify('` + taskChannel + `', '')`,
		cleanText:   postgresText,
		locks:       func(db *DB) store.Locks { return &pgLocks{db} },
		listenTasks: postgresListenTasks,
	}
}

// OpenPostgres connects to the PostgreSQL database at dsn (a postgres:// URL)
// and brings its schema up to date; several nodes may do so at once.
// Sensitive values are sealed with sealer before they reach the database.
func OpenPostgres(ctx context.Context, dsn string, sealer Sealer) (*DB, error) {
	if _, err := pgx.ParseConfig(dsn); err != nil {
		// pgx's parse errors already hide the password.
		return nil, fmt.Errorf("open postgres database: %w", err)
	}
	db, err := open(ctx, postgresDialect(), dsn, sealer)
	if err != nil {
		return nil, fmt.Errorf("open postgres database %s: %w", RedactURL(dsn), err)
	}
	// database/sql keeps no limit by default; a node needs few connections,
	// and many nodes must not exhaust the server's max_connections.
	// Idle connections are kept (a new one costs PostgreSQL a process),
	// until they have been idle a while.
	db.sql.SetMaxOpenConns(20)
	db.sql.SetMaxIdleConns(20)
	db.sql.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// RedactURL returns a database URL fit for a log: without its password.
func RedactURL(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "(unparsable database URL)"
	}
	return u.Redacted()
}

// isMissingReference reports whether err is PostgreSQL's foreign-key
// violation: a row inserted for one another transaction deleted.
func isMissingReference(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23503" // foreign_key_violation
}

func postgresIsUnique(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505" // unique_violation
}

// postgresText makes s storable in a TEXT column, which refuses NUL bytes and
// invalid UTF-8 that SQLite would keep: a script's output may hold either.
func postgresText(s string) string {
	if utf8.ValidString(s) && !strings.Contains(s, "\x00") {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// postgresListenTasks listens on its own connection, outside the pool, for
// the notifications Tasks.Create sends.
func postgresListenTasks(ctx context.Context, db *DB, wake func()) error {
	conn, err := pgx.Connect(ctx, db.dsn)
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listen for queued tasks: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+taskChannel); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("listen for queued tasks: %w", err)
	}
	// A task queued while we were not listening sent its notification to no
	// one.
	wake()
	for {
		_, err := conn.WaitForNotification(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("listen for queued tasks: %w", err)
		}
		wake()
	}
}
