package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
)

// txKey is the context key of the transaction WithTx started. It holds the
// DB so that a transaction of one database is never used by another.
type txKey struct{ db *DB }

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// WithTx runs fn in a transaction carried by the context fn receives; every
// store method called with that context joins it. fn's error (or panic) rolls
// the transaction back and is returned (or re-raised) unchanged. Inside
// another WithTx, fn simply joins the outer transaction, which the outermost
// call commits or rolls back.
func (db *DB) WithTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{db}).(*sql.Tx); ok {
		return fn(ctx)
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	done := false
	defer func() {
		// Reached without done on error, panic or runtime.Goexit; a panic
		// keeps unwinding after the rollback.
		if !done {
			tx.Rollback()
		}
	}()
	if err := fn(context.WithValue(ctx, txKey{db}, tx)); err != nil {
		return err
	}
	done = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// conn returns the context's transaction, or the database outside one.
func (db *DB) conn(ctx context.Context) querier {
	if tx, ok := ctx.Value(txKey{db}).(*sql.Tx); ok {
		return tx
	}
	return db.sql
}

func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.conn(ctx).ExecContext(ctx, db.d.rebind(query), args...)
}

func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.conn(ctx).QueryContext(ctx, db.d.rebind(query), args...)
}

func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.conn(ctx).QueryRowContext(ctx, db.d.rebind(query), args...)
}
