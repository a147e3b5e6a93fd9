package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"time"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// collect scans every row with scan and closes rows. It returns an empty,
// non-nil slice when there are none.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Times are stored as unix microseconds, which BIGINT holds in every
// database, and read back in UTC.

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

// timePair is timePtr of a and of b in one allocation.
func timePair(a, b sql.NullInt64) (*time.Time, *time.Time) {
	if !a.Valid || !b.Valid {
		return timePtr(a), timePtr(b)
	}
	t := [2]time.Time{fromMicros(a.Int64), fromMicros(b.Int64)}
	return &t[0], &t[1]
}

func timePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMicros(n.Int64)
	return &t
}

// stamp returns t as it will read back from the database (UTC, whole
// microseconds), or the current time when t is zero.
func stamp(t time.Time) time.Time {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// stampPtr is stamp for optional times; nil stays nil.
func stampPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	s := t.UTC().Truncate(time.Microsecond)
	return &s
}

// nullID stores the zero id as NULL, for optional references.
func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

func encodeJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func decodeJSON(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// one scans the single row of a lookup, returning notFound when there is none.
func one[T any](row *sql.Row, scan func(scanner) (T, error), notFound error) (T, error) {
	v, err := scan(row)
	if err != nil {
		var zero T
		if errors.Is(err, sql.ErrNoRows) {
			return zero, notFound
		}
		return zero, err
	}
	return v, nil
}

func scanString(s scanner) (string, error) {
	var v string
	err := s.Scan(&v)
	return v, err
}
