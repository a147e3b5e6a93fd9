package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

type outbox struct{ db *DB }

var _ store.Outbox = (*outbox)(nil)

// Outbox returns the queue of items to deliver to connected remote spaces.
func (db *DB) Outbox() store.Outbox { return &outbox{db} }

// Items are read joined with their remote space's name. The body (base64,
// so any kind may carry bytes that are not text) is read only where needed.
const outboxColumns = `o.id, o.space_id, o.remote_space_id, r.name, o.kind, o.ref, o.summary, o.state, o.attempts,
	o.next_attempt_at, o.last_attempt_at, o.last_error, o.result, o.created_at, o.created_by, o.delivered_at`

const outboxFrom = ` FROM outbox o JOIN remote_spaces r ON r.id = o.remote_space_id`

func scanOutbox(s scanner, extra ...any) (domain.OutboxItem, error) {
	var it domain.OutboxItem
	var next, created int64
	var last, delivered sql.NullInt64
	err := s.Scan(append([]any{&it.ID, &it.SpaceID, &it.RemoteSpaceID, &it.RemoteSpace, &it.Kind, &it.Ref, &it.Summary, &it.State, &it.Attempts,
		&next, &last, &it.LastError, &it.Result, &created, &it.CreatedBy, &delivered}, extra...)...)
	it.NextAttemptAt, it.LastAttemptAt, it.CreatedAt, it.DeliveredAt = fromMicros(next), timePtr(last), fromMicros(created), timePtr(delivered)
	return it, err
}

func scanOutboxWithBody(s scanner) (domain.OutboxItem, error) {
	var body string
	it, err := scanOutbox(s, &body)
	if err != nil {
		return it, err
	}
	it.Body, err = base64.StdEncoding.DecodeString(body)
	return it, err
}

func scanOutboxItem(s scanner) (domain.OutboxItem, error) { return scanOutbox(s) }

func (s *outbox) Enqueue(ctx context.Context, it *domain.OutboxItem) (bool, error) {
	it.CreatedAt = stamp(it.CreatedAt)
	if it.NextAttemptAt.IsZero() {
		it.NextAttemptAt = it.CreatedAt
	}
	it.State, it.Attempts = domain.DeliveryQueued, 0
	err := s.db.queryRow(ctx, `INSERT INTO outbox (space_id, remote_space_id, kind, ref, summary, body, state, attempts,
			next_attempt_at, last_error, result, created_at, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, '', '', ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
		it.SpaceID, it.RemoteSpaceID, it.Kind, it.Ref, it.Summary, base64.StdEncoding.EncodeToString(it.Body), it.State,
		micros(it.NextAttemptAt), micros(it.CreatedAt), it.CreatedBy).Scan(&it.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // a sweep of this kind is already queued
	}
	if err != nil {
		return false, wrap(err, "queue %s for delivery", it.Kind)
	}
	return true, nil
}

func (s *outbox) Get(ctx context.Context, id int64) (domain.OutboxItem, error) {
	it, err := one(s.db.queryRow(ctx, `SELECT `+outboxColumns+`, o.body`+outboxFrom+` WHERE o.id = ?`, id),
		scanOutboxWithBody, domain.NotFoundf("delivery %d not found", id))
	return it, wrap(err, "get delivery %d", id)
}

func (s *outbox) Due(ctx context.Context, now time.Time, limit int) ([]domain.OutboxItem, error) {
	rows, err := s.db.query(ctx, `SELECT `+outboxColumns+`, o.body`+outboxFrom+`
		WHERE o.state = ? AND o.next_attempt_at <= ? ORDER BY o.id LIMIT ?`, domain.DeliveryQueued, micros(now), limit)
	if err != nil {
		return nil, wrap(err, "list due deliveries")
	}
	list, err := collect(rows, scanOutboxWithBody)
	return list, wrap(err, "list due deliveries")
}

// transition runs an UPDATE guarded by the item's current state and
// reports whether it changed the row.
func (s *outbox) transition(ctx context.Context, query string, args ...any) (bool, error) {
	res, err := s.db.exec(ctx, query, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *outbox) Start(ctx context.Context, id int64, now time.Time) (bool, error) {
	ok, err := s.transition(ctx, `UPDATE outbox SET state = ?, attempts = attempts + 1, last_attempt_at = ? WHERE id = ? AND state = ?`,
		domain.DeliveryInFlight, micros(now), id, domain.DeliveryQueued)
	return ok, wrap(err, "start delivery %d", id)
}

func (s *outbox) Delivered(ctx context.Context, id int64, result string, now time.Time) (bool, error) {
	ok, err := s.transition(ctx, `UPDATE outbox SET state = ?, result = ?, last_error = '', delivered_at = ?, body = '' WHERE id = ? AND state = ?`,
		domain.DeliveryDelivered, result, micros(now), id, domain.DeliveryInFlight)
	return ok, wrap(err, "mark delivery %d delivered", id)
}

func (s *outbox) Retry(ctx context.Context, id int64, errMsg string, next, now time.Time) error {
	_, err := s.transition(ctx, `UPDATE outbox SET state = ?, last_error = ?, next_attempt_at = ? WHERE id = ? AND state = ?`,
		domain.DeliveryQueued, errMsg, micros(next), id, domain.DeliveryInFlight)
	return wrap(err, "retry delivery %d", id)
}

func (s *outbox) Fail(ctx context.Context, id int64, errMsg string, now time.Time) error {
	_, err := s.transition(ctx, `UPDATE outbox SET state = ?, last_error = ? WHERE id = ? AND state = ?`,
		domain.DeliveryFailed, errMsg, id, domain.DeliveryInFlight)
	return wrap(err, "fail delivery %d", id)
}

func (s *outbox) Postpone(ctx context.Context, remoteSpaceID int64, until time.Time) error {
	_, err := s.db.exec(ctx, `UPDATE outbox SET next_attempt_at = ? WHERE remote_space_id = ? AND state = ? AND next_attempt_at < ?`,
		micros(until), remoteSpaceID, domain.DeliveryQueued, micros(until))
	return wrap(err, "postpone deliveries")
}

func (s *outbox) Requeue(ctx context.Context, remoteSpaceID int64, now time.Time) (int, error) {
	// A failed sweep is dropped rather than requeued when another sweep of
	// its kind is queued already: that one will carry everything.
	if _, err := s.db.exec(ctx, `DELETE FROM outbox WHERE remote_space_id = ? AND state = ? AND ref = ''
		AND EXISTS (SELECT 1 FROM outbox q WHERE q.remote_space_id = outbox.remote_space_id AND q.kind = outbox.kind
			AND q.state = ? AND q.ref = '')`, remoteSpaceID, domain.DeliveryFailed, domain.DeliveryQueued); err != nil {
		return 0, wrap(err, "requeue deliveries")
	}
	// Of several failed sweeps of one kind, only the newest goes back.
	if _, err := s.db.exec(ctx, `DELETE FROM outbox WHERE remote_space_id = ? AND state = ? AND ref = ''
		AND EXISTS (SELECT 1 FROM outbox q WHERE q.remote_space_id = outbox.remote_space_id AND q.kind = outbox.kind
			AND q.state = ? AND q.ref = '' AND q.id > outbox.id)`, remoteSpaceID, domain.DeliveryFailed, domain.DeliveryFailed); err != nil {
		return 0, wrap(err, "requeue deliveries")
	}
	res, err := s.db.exec(ctx, `UPDATE outbox SET state = ?, next_attempt_at = ? WHERE remote_space_id = ? AND state = ?`,
		domain.DeliveryQueued, micros(now), remoteSpaceID, domain.DeliveryFailed)
	if err != nil {
		return 0, wrap(err, "requeue deliveries")
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (s *outbox) ResetInFlight(ctx context.Context, now time.Time) (int, error) {
	// As in Requeue, an in-flight sweep whose kind has a queued sweep is
	// covered by that one.
	if _, err := s.db.exec(ctx, `DELETE FROM outbox WHERE state = ? AND ref = ''
		AND EXISTS (SELECT 1 FROM outbox q WHERE q.remote_space_id = outbox.remote_space_id AND q.kind = outbox.kind
			AND q.state = ? AND q.ref = '')`, domain.DeliveryInFlight, domain.DeliveryQueued); err != nil {
		return 0, wrap(err, "reset deliveries in flight")
	}
	res, err := s.db.exec(ctx, `UPDATE outbox SET state = ?, next_attempt_at = ? WHERE state = ?`,
		domain.DeliveryQueued, micros(now), domain.DeliveryInFlight)
	if err != nil {
		return 0, wrap(err, "reset deliveries in flight")
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (s *outbox) List(ctx context.Context, spaceID int64, f store.OutboxFilter) ([]domain.OutboxItem, error) {
	q := `SELECT ` + outboxColumns + outboxFrom + ` WHERE o.space_id = ?`
	args := []any{spaceID}
	if f.RemoteSpaceID != 0 {
		q += ` AND o.remote_space_id = ?`
		args = append(args, f.RemoteSpaceID)
	}
	if f.Kind != "" {
		q += ` AND o.kind = ?`
		args = append(args, f.Kind)
	}
	if f.Ref != "" {
		q += ` AND o.ref = ?`
		args = append(args, f.Ref)
	}
	q += ` ORDER BY o.id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := s.db.query(ctx, q, args...)
	if err != nil {
		return nil, wrap(err, "list deliveries")
	}
	list, err := collect(rows, scanOutboxItem)
	return list, wrap(err, "list deliveries")
}

func (s *outbox) Summaries(ctx context.Context, spaceID int64) (map[int64]domain.DeliverySummary, error) {
	out := map[int64]domain.DeliverySummary{}
	rows, err := s.db.query(ctx, `SELECT remote_space_id, state, COUNT(*) FROM outbox WHERE space_id = ? GROUP BY remote_space_id, state`, spaceID)
	if err != nil {
		return nil, wrap(err, "count deliveries")
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var state string
		var n int
		if err := rows.Scan(&id, &state, &n); err != nil {
			return nil, wrap(err, "count deliveries")
		}
		sum := out[id]
		switch state {
		case domain.DeliveryQueued:
			sum.Queued = n
		case domain.DeliveryInFlight:
			sum.InFlight = n
		case domain.DeliveryDelivered:
			sum.Delivered = n
		case domain.DeliveryFailed:
			sum.Failed = n
		}
		out[id] = sum
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err, "count deliveries")
	}
	// The newest error of an item still waiting or failed, per remote space.
	errRows, err := s.db.query(ctx, `SELECT remote_space_id, last_error, last_attempt_at FROM outbox
		WHERE space_id = ? AND state <> ? AND last_error <> '' ORDER BY last_attempt_at, id`, spaceID, domain.DeliveryDelivered)
	if err != nil {
		return nil, wrap(err, "last delivery errors")
	}
	defer errRows.Close()
	for errRows.Next() {
		var id int64
		var msg string
		var at sql.NullInt64
		if err := errRows.Scan(&id, &msg, &at); err != nil {
			return nil, wrap(err, "last delivery errors")
		}
		sum := out[id]
		sum.LastError, sum.LastErrorAt = msg, timePtr(at)
		out[id] = sum
	}
	return out, wrap(errRows.Err(), "last delivery errors")
}
