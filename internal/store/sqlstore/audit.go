package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

type audit struct{ db *DB }

var _ store.Audit = (*audit)(nil)

const auditSelect = `SELECT e.id, e.space_id, s.name, e.at, e.actor, e.action, e.subject, e.project, e.details
	FROM audit_events e LEFT JOIN spaces s ON s.id = e.space_id`

func scanAuditEvent(sc scanner) (domain.AuditEvent, error) {
	var e domain.AuditEvent
	var spaceID sql.NullInt64
	var space sql.NullString
	var at int64
	var details string
	if err := sc.Scan(&e.ID, &spaceID, &space, &at, &e.Actor, &e.Action, &e.Subject, &e.Project, &details); err != nil {
		return domain.AuditEvent{}, err
	}
	e.SpaceID, e.Space, e.At = spaceID.Int64, space.String, fromMicros(at)
	if err := decodeJSON(details, &e.Details); err != nil {
		return domain.AuditEvent{}, err
	}
	if len(e.Details) == 0 {
		e.Details = nil
	}
	return e, nil
}

// Append records e and fills in its ID and, when zero, its time. SpaceID 0
// records a system-wide event.
func (a *audit) Append(ctx context.Context, e *domain.AuditEvent) error {
	e.At = stamp(e.At)
	details, err := encodeJSON(e.Details)
	if err != nil {
		return wrap(err, "record %s of %q", e.Action, e.Subject)
	}
	if len(e.Details) == 0 {
		details = "{}"
	}
	err = a.db.queryRow(ctx, `INSERT INTO audit_events (space_id, at, actor, action, subject, project, details)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		nullID(e.SpaceID), micros(e.At), e.Actor, e.Action, e.Subject, e.Project, details).Scan(&e.ID)
	return wrap(err, "record %s of %q", e.Action, e.Subject)
}

// List returns the events f matches — a space's, or with SpaceID 0 every
// event, system-wide ones included — newest first.
func (a *audit) List(ctx context.Context, f store.AuditFilter) ([]domain.AuditEvent, error) {
	var where []string
	var args []any
	if f.SpaceID != 0 {
		where, args = append(where, `e.space_id = ?`), append(args, f.SpaceID)
	}
	if f.Projects != nil {
		cond, names := namedOrNone(`NULLIF(e.project, '')`, f.Projects)
		where, args = append(where, cond), append(args, names...)
	}
	q := auditSelect
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY e.id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := a.db.query(ctx, q, args...)
	if err != nil {
		return nil, wrap(err, "list audit events")
	}
	list, err := collect(rows, scanAuditEvent)
	return list, wrap(err, "list audit events")
}
