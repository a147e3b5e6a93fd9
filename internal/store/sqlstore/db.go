// Package sqlstore keeps ferry's state in a SQL database through
// database/sql. It implements store.Store on SQLite (one node, no set-up)
// and on PostgreSQL (several nodes sharing one database).
//
// Everything that differs between databases — the driver, placeholders, the
// migrations, how a unique violation looks, how a task is claimed — lives in
// a dialect value, so another database is one more dialect and one more
// Open function, not a change to the code that uses the store.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Sealer encrypts sensitive values before they are stored and decrypts them
// when they are read. aad names what the value is for, so a sealed value
// copied to another variable does not open. internal/secrets.Box is one.
type Sealer interface {
	Seal(plaintext []byte, aad string) (string, error)
	Open(sealed string, aad string) ([]byte, error)
}

// DB is a store.Store over database/sql. It is safe for concurrent use.
type DB struct {
	sql    *sql.DB
	d      dialect
	sealer Sealer
	dsn    string      // for connections outside the pool (LISTEN)
	locks  store.Locks // made by the dialect
}

var _ store.Store = (*DB)(nil)

// open connects with dialect d, checks the connection and brings the schema
// and then the data (datamigrate.go) up to date.
func open(ctx context.Context, d dialect, dsn string, sealer Sealer) (*DB, error) {
	if sealer == nil {
		return nil, errors.New("no sealer for sensitive values")
	}
	sqlDB, err := sql.Open(d.driver, dsn)
	if err != nil {
		return nil, err
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, err
	}
	if err := migrate(ctx, sqlDB, d); err != nil {
		sqlDB.Close()
		return nil, err
	}
	db := &DB{sql: sqlDB, d: d, sealer: sealer, dsn: dsn}
	db.locks = d.locks(db)
	if err := db.migrateData(ctx); err != nil {
		sqlDB.Close()
		return nil, err
	}
	return db, nil
}

// Kind names the database: "sqlite" or "postgres".
func (db *DB) Kind() string { return db.d.name }

// Close closes the database.
func (db *DB) Close() error { return db.sql.Close() }

// Spaces returns the store of spaces.
func (db *DB) Spaces() store.Spaces { return &spaces{db} }

// Users returns the store of users and API keys.
func (db *DB) Users() store.Users { return &users{db} }

// Environments returns the store of environments.
func (db *DB) Environments() store.Environments { return &environments{db} }

// Lifecycles returns the store of lifecycles.
func (db *DB) Lifecycles() store.Lifecycles { return &lifecycles{db} }

// Projects returns the store of projects.
func (db *DB) Projects() store.Projects { return &projects{db} }

// Releases returns the store of releases.
func (db *DB) Releases() store.Releases { return &releases{db} }

// Deployments returns the store of deployments.
func (db *DB) Deployments() store.Deployments { return &deployments{db} }

// Tasks returns the task queue and task logs.
func (db *DB) Tasks() store.Tasks { return &tasks{db} }

// Audit returns the audit log.
func (db *DB) Audit() store.Audit { return &audit{db} }

// execOne runs a statement that should change one row and returns notFound
// when it changed none.
func (db *DB) execOne(ctx context.Context, notFound error, query string, args ...any) error {
	res, err := db.exec(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound
	}
	return nil
}

// exists reports whether query returns a row.
func (db *DB) exists(ctx context.Context, query string, args ...any) (bool, error) {
	var one int
	err := db.queryRow(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// wrap adds context to err unless it is nil or already one of ferry's
// domain errors, whose messages are written for the caller.
func wrap(err error, format string, args ...any) error {
	var de *domain.Error
	if err == nil || errors.As(err, &de) {
		return err
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
