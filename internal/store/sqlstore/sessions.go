package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Sessions returns the web sessions.
func (db *DB) Sessions() store.Sessions { return &sessions{db} }

type sessions struct{ db *DB }

var _ store.Sessions = (*sessions)(nil)

var errNoSession = domain.NotFoundf("no such session")

func (s *sessions) Create(ctx context.Context, w store.WebSession) error {
	_, err := s.db.exec(ctx, `INSERT INTO web_sessions (id_hash, user_id, user_name, stamp, csrf, flash, created_at, seen_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		w.IDHash, w.UserID, w.UserName, w.Stamp, w.CSRF, w.Flash, micros(w.CreatedAt), micros(w.SeenAt))
	return wrap(err, "create session")
}

func (s *sessions) Get(ctx context.Context, idHash string) (store.WebSession, error) {
	w := store.WebSession{IDHash: idHash}
	var created, seen int64
	err := s.db.queryRow(ctx, `SELECT user_id, user_name, stamp, csrf, flash, created_at, seen_at
		FROM web_sessions WHERE id_hash = ?`, idHash).
		Scan(&w.UserID, &w.UserName, &w.Stamp, &w.CSRF, &w.Flash, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return store.WebSession{}, errNoSession
	}
	w.CreatedAt, w.SeenAt = fromMicros(created), fromMicros(seen)
	return w, wrap(err, "read session")
}

func (s *sessions) Touch(ctx context.Context, idHash string, seen time.Time) error {
	_, err := s.db.exec(ctx, `UPDATE web_sessions SET seen_at = ? WHERE id_hash = ?`, micros(seen), idHash)
	return wrap(err, "touch session")
}

func (s *sessions) SetFlash(ctx context.Context, idHash, flash string) error {
	_, err := s.db.exec(ctx, `UPDATE web_sessions SET flash = ? WHERE id_hash = ?`, flash, idHash)
	return wrap(err, "set session message")
}

func (s *sessions) PopFlash(ctx context.Context, idHash string) (string, error) {
	var flash string
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		err := s.db.queryRow(ctx, `SELECT flash FROM web_sessions WHERE id_hash = ?`, idHash).Scan(&flash)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && flash == "") {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = s.db.exec(ctx, `UPDATE web_sessions SET flash = '' WHERE id_hash = ?`, idHash)
		return err
	})
	return flash, wrap(err, "read session message")
}

func (s *sessions) Delete(ctx context.Context, idHash string) error {
	_, err := s.db.exec(ctx, `DELETE FROM web_sessions WHERE id_hash = ?`, idHash)
	return wrap(err, "end session")
}

func (s *sessions) DeleteExpired(ctx context.Context, seenBefore, createdBefore time.Time) error {
	_, err := s.db.exec(ctx, `DELETE FROM web_sessions WHERE seen_at < ? OR created_at < ?`, micros(seenBefore), micros(createdBefore))
	return wrap(err, "remove expired sessions")
}

// Figures returns the counts /metrics reports.
func (db *DB) Figures() store.Figures { return &figures{db} }

type figures struct{ db *DB }

var _ store.Figures = (*figures)(nil)

// Tasks groups every task by kind, state and whether it deploys, in one
// pass over the table; the buckets are sums of comparisons, so the
// histogram costs the database no more than the count.
func (s *figures) Tasks(ctx context.Context, bounds []float64) ([]store.TaskFigure, error) {
	const run = `(finished_at - started_at)`
	var q strings.Builder
	q.WriteString(`SELECT kind, state, CASE WHEN deployment_id IS NULL THEN 0 ELSE 1 END, COUNT(*),
		SUM(CASE WHEN finished_at IS NOT NULL AND started_at IS NOT NULL THEN 1 ELSE 0 END),
		COALESCE(SUM(CASE WHEN finished_at IS NOT NULL AND started_at IS NOT NULL THEN ` + run + ` ELSE 0 END), 0)`)
	args := make([]any, 0, len(bounds))
	for _, b := range bounds {
		q.WriteString(`, SUM(CASE WHEN finished_at IS NOT NULL AND started_at IS NOT NULL AND ` + run + ` <= ? THEN 1 ELSE 0 END)`)
		args = append(args, int64(b*1e6))
	}
	q.WriteString(` FROM tasks GROUP BY kind, state, CASE WHEN deployment_id IS NULL THEN 0 ELSE 1 END ORDER BY 1, 2, 3`)
	rows, err := s.db.query(ctx, q.String(), args...)
	if err != nil {
		return nil, wrap(err, "count tasks")
	}
	list, err := collect(rows, func(sc scanner) (store.TaskFigure, error) {
		f := store.TaskFigure{Buckets: make([]uint64, len(bounds))}
		var deploys, count, finished, micro int64
		dest := []any{&f.Kind, &f.State, &deploys, &count, &finished, &micro}
		counts := make([]int64, len(bounds))
		for i := range counts {
			dest = append(dest, &counts[i])
		}
		if err := sc.Scan(dest...); err != nil {
			return f, err
		}
		f.Deployment, f.Count, f.Finished, f.Seconds = deploys == 1, uint64(count), uint64(finished), float64(micro)/1e6
		for i, n := range counts {
			f.Buckets[i] = uint64(n)
		}
		return f, nil
	})
	return list, wrap(err, "count tasks")
}

func (s *figures) Deliveries(ctx context.Context) ([]store.DeliveryFigure, error) {
	rows, err := s.db.query(ctx, `SELECT kind, state, COUNT(*), COALESCE(SUM(LENGTH(body)), 0)
		FROM outbox GROUP BY kind, state ORDER BY 1, 2`)
	if err != nil {
		return nil, wrap(err, "count deliveries")
	}
	list, err := collect(rows, func(sc scanner) (store.DeliveryFigure, error) {
		var f store.DeliveryFigure
		var count, bytes int64
		err := sc.Scan(&f.Kind, &f.State, &count, &bytes)
		f.Count, f.Bytes = uint64(count), uint64(bytes)
		return f, err
	})
	return list, wrap(err, "count deliveries")
}
