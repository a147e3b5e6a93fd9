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
// transaction as the change it records, so both land or neither does.
func (l *Log) Record(ctx context.Context, spaceID int64, action, subject string, details map[string]string) error {
	e := &domain.AuditEvent{
		SpaceID: spaceID,
		At:      l.now(),
		Actor:   domain.ActorName(ctx),
		Action:  action,
		Subject: subject,
		Details: details,
	}
	if err := l.events.Append(ctx, e); err != nil {
		return fmt.Errorf("record audit event %s %s: %w", action, subject, err)
	}
	return nil
}

// List returns a space's events (spaceID 0: all events), newest first.
func (l *Log) List(ctx context.Context, spaceID int64, limit int) ([]domain.AuditEvent, error) {
	if a, _ := domain.ActorFrom(ctx); spaceID == 0 && !a.IsAdmin {
		return nil, domain.Errorf(domain.KindForbidden, "only an administrator may read the server-wide audit log")
	}
	if limit <= 0 || limit > 10000 {
		limit = 200
	}
	return l.events.List(ctx, spaceID, limit)
}
