// Package retention deletes what people delete and removes what a
// server no longer needs (SPEC §7, "Deleting and retention").
//
// Every delete checks first what still refers to the thing — lifecycles
// that use an environment, releases that pin a package, a task that has
// not finished, a team whose grant names it — and is refused naming every
// referrer (domain.Refusal); otherwise it removes the thing with what
// belongs to it in one transaction and records it in the audit log.
//
// Retention (Run) keeps per lifecycle phase the newest releases its
// policy says (domain.Retention), never one that is current in an
// environment, has a task that has not finished or a delivery on its way;
// the removed releases take their deployments, tasks and task logs. Then
// the package versions no release pins go (in spaces with a policy, older
// than the grace, never a package's newest version, which other spaces'
// transfers use as the base of deltas), and then every chunk no stored
// package uses (packages.Service.CollectChunks, safe against uploads and
// imports in flight).
package retention

import (
	"context"
	"log/slog"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/audit"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/packages"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Revoker revokes a remote space (trust.Service).
type Revoker interface {
	Revoke(ctx context.Context, space, name string) (domain.RemoteSpace, error)
}

// Collector frees the chunks no stored package uses
// (packages.Service.CollectChunks).
type Collector interface {
	CollectChunks(ctx context.Context, grace time.Duration,
		uses func(ctx context.Context, manifest func([]byte) error, received func(string) error) error) (packages.CollectStats, error)
}

// Stores are the parts of the store the service reads and changes.
type Stores struct {
	Removal      store.Removal
	Spaces       store.Spaces
	Environments store.Environments
	Lifecycles   store.Lifecycles
	Projects     store.Projects
	Releases     store.Releases
	RemoteSpaces store.RemoteSpaces
	Teams        store.Teams
	Users        store.Users
	Packages     store.Packages
	Tenants      store.Tenants
	Targets      store.Targets
	// Interventions: a team that a waiting deployment's step names is not
	// deleted under it.
	Interventions store.Interventions
}

// Settings say how retention runs.
type Settings struct {
	// Grace is how old an unpinned package version, an unused chunk or
	// a received chunk of a transfer cut off must be before it goes;
	// it covers clocks of nodes sharing the folder and coarse file
	// times. Default one hour.
	Grace time.Duration
	// Interval is how often the background loop runs. Default one hour.
	Interval time.Duration
	// ResumeWindow is how long chunks received by a transfer that was
	// cut off are kept for it to resume. Default seven days.
	ResumeWindow time.Duration
}

// DefaultSettings are used for zero fields.
var DefaultSettings = Settings{Grace: time.Hour, Interval: time.Hour, ResumeWindow: 7 * 24 * time.Hour}

// WithDefaults fills zero fields (a negative Grace means none).
func (s Settings) WithDefaults() Settings {
	if s.Grace == 0 {
		s.Grace = DefaultSettings.Grace
	}
	if s.Grace < 0 {
		s.Grace = 0
	}
	if s.Interval <= 0 {
		s.Interval = DefaultSettings.Interval
	}
	if s.ResumeWindow <= 0 {
		s.ResumeWindow = DefaultSettings.ResumeWindow
	}
	return s
}

// Service deletes things and runs retention.
type Service struct {
	tx       store.Transactor
	st       Stores
	access   access.Guard
	revoker  Revoker
	chunks   Collector
	audit    *audit.Log
	now      func() time.Time
	log      *slog.Logger
	settings Settings
}

// New returns the service.
func New(tx store.Transactor, st Stores, guard access.Guard, revoker Revoker, chunks Collector, events *audit.Log,
	now func() time.Time, log *slog.Logger, settings Settings) *Service {
	return &Service{tx: tx, st: st, access: guard, revoker: revoker, chunks: chunks, audit: events, now: now, log: log, settings: settings.WithDefaults()}
}

// Settings returns how retention runs.
func (s *Service) Settings() Settings { return s.settings }
