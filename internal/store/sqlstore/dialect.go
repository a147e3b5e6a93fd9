package sqlstore

import (
	"context"
	"embed"
	"strconv"
	"strings"

	"github.com/ferrydeploy/ferry/internal/store"
)

//go:embed migrations
var migrationsFS embed.FS

// dialect is everything the store does differently per database. Queries
// elsewhere in the package are written once, with ? placeholders, in SQL
// that SQLite and PostgreSQL both accept (RETURNING, ON CONFLICT ... DO
// UPDATE, BIGINT microsecond times, TEXT JSON).
type dialect struct {
	name   string // what Store.Kind reports
	driver string // the database/sql driver

	// migrations is the dialect's folder in migrationsFS, holding numbered
	// files "0001_init.sql", "0002_....sql", applied in order.
	migrations string

	// rebind rewrites a query's ? placeholders into the driver's own.
	rebind func(query string) string

	// isUnique reports whether err is a unique-constraint violation.
	isUnique func(err error) bool

	// arrays says the driver takes a Go slice as one array parameter
	// (PostgreSQL's bigint[] or text[]); see anyOf.
	arrays bool

	// claimTask moves the oldest task in one state to another and returns
	// its id. Arguments: new state, node, started_at, old state, old state.
	// It must be atomic on its own: two callers never get the same row.
	claimTask string

	// migrationLock, when set, runs first in every migration transaction
	// and holds a lock until it ends, so that nodes starting together on
	// one database apply each migration once.
	migrationLock string

	// lockTask, when set, locks the row of one task (argument: its id)
	// until the transaction ends, where the database does not already run
	// one writing transaction at a time.
	lockTask string

	// lockName, when set, takes a lock on a name (argument: its lockKey)
	// until the transaction ends, where the database does not already run
	// one writing transaction at a time: on PostgreSQL a transaction-level
	// advisory lock. See DB.lockName.
	lockName string

	// lockRows is added to the query that reads what a delete decides on,
	// locking those rows until the transaction ends: on PostgreSQL
	// " FOR UPDATE". A project's releases: it waits for the deployments
	// being inserted of them (their foreign key holds a share lock on the
	// release), and those inserted later wait until the delete commits,
	// then fail. The administrators: two deletes of the last two run one
	// after the other, and the second sees it would remove the last.
	// SQLite runs one writing transaction at a time and needs nothing.
	lockRows string

	// notifyTask, when set, runs in the transaction that queues a task so
	// that listeners hear of it when it commits.
	notifyTask string

	// cleanText makes free text (a script's output) storable.
	cleanText func(string) string

	// compact, when set, runs (outside a transaction) after a data
	// migration sealed values, so that no copy of their plaintext stays in
	// the database's free space.
	compact []string

	// forget, when set, runs (outside a transaction) after a delete, so
	// that deleted rows leave no copy in the database's own files
	// (Removal.Forget).
	forget string

	// locks makes the Locks of db; listenTasks implements ListenTasks.
	locks       func(db *DB) store.Locks
	listenTasks func(ctx context.Context, db *DB, wake func()) error
}

// anyOf returns the condition that column is one of values, and its
// arguments. Where the database takes arrays it is "column = ANY(?)" with
// one parameter: the query has one text whatever the number of values (one
// prepared statement per connection, not one per page size), and binding
// and planning it do not grow with them. On PostgreSQL a page of 100
// projects' deployment cells reads in about half the time it takes with
// an IN list of 100 parameters (docs/performance.md, "Fifth pass").
// Elsewhere it is "column IN (?, ...)". values must not be empty.
func anyOf[T int64 | string](d dialect, column string, values []T) (string, []any) {
	if d.arrays {
		return column + " = ANY(?)", []any{values}
	}
	return column + " IN " + in(len(values)), anys(values)
}

// rebindDollar numbers placeholders the PostgreSQL way: ?, ? becomes $1, $2.
// Queries in this package never hold a literal '?', so every one is a
// placeholder.
func rebindDollar(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for _, r := range query {
		if r != '?' {
			b.WriteRune(r)
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}
