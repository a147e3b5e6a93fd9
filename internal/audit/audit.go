// Package audit records who changed what and when, and lists it back.
// Every service that changes state records through a Log so that the acting
// user is always taken from the request context, never passed by hand.
package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Log appends audit events.
type Log struct {
	events store.Audit
	now    func() time.Time
}

// New returns a Log writing to events.
func New(events store.Audit, now func() time.Time) *Log {
	return &Log{events: events, now: now}
}

// Record appends an event for the actor in ctx. Call it inside the same
// transaction as the change it records, so both land or neither does. An
// event about a project says so with the detail "project": only those who
// may view the project see the event.
func (l *Log) Record(ctx context.Context, spaceID int64, action, subject string, details map[string]string) error {
	e := &domain.AuditEvent{
		SpaceID: spaceID,
		At:      l.now(),
		Actor:   domain.ActorName(ctx),
		Action:  action,
		Subject: subject,
		Project: details["project"],
		Details: details,
	}
	if err := l.events.Append(ctx, e); err != nil {
		return fmt.Errorf("record audit event %s %s: %w", action, subject, err)
	}
	return nil
}

// List returns the events f matches (SpaceID 0: all events, which only
// administrators may read), newest first; the caller limits f.Projects to
// what the actor may view. A limit outside 1–10000 means 200.
func (l *Log) List(ctx context.Context, f store.AuditFilter) ([]domain.AuditEvent, error) {
	if a, _ := domain.ActorFrom(ctx); f.SpaceID == 0 && !a.IsAdmin {
		return nil, domain.Errorf(domain.KindForbidden, "only an administrator may read the server-wide audit log")
	}
	if f.Limit <= 0 || f.Limit > 10000 {
		f.Limit = 200
	}
	return l.events.List(ctx, f)
}
