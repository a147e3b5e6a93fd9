// Package services builds ferry's service set in one place: every
// capability service, the task runner, the outbox and its delivery loop,
// the receiver of what connected spaces send, and the health report. The
// front ends — the JSON API and the web pages — call the same Set, so they
// share every rule and permission check; the server runs its loops.
//
// Each service takes a transactor and only the parts of the store it uses,
// and the other services it needs as small interfaces it declares, so its
// constructor says what it touches. New is the one place where they meet:
// the order of its statements is the dependency order
// (docs/architecture.md draws it).
package services

import (
	"context"
	"log/slog"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/audit"
	"github.com/ferrydeploy/ferry/internal/auth"
	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/catalog"
	"github.com/ferrydeploy/ferry/internal/dashboard"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/outbox"
	"github.com/ferrydeploy/ferry/internal/packages"
	"github.com/ferrydeploy/ferry/internal/provenance"
	"github.com/ferrydeploy/ferry/internal/receipt"
	"github.com/ferrydeploy/ferry/internal/release"
	"github.com/ferrydeploy/ferry/internal/retention"
	"github.com/ferrydeploy/ferry/internal/sandbox"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/targets"
	"github.com/ferrydeploy/ferry/internal/tenants"
	"github.com/ferrydeploy/ferry/internal/transport"
	"github.com/ferrydeploy/ferry/internal/trigger"
	"github.com/ferrydeploy/ferry/internal/trust"
)

// Set is every service a front end may call, and the loops the server runs.
type Set struct {
	Auth      *auth.Service
	Catalog   *catalog.Service
	Releases  *release.Service
	Deploy    *deploy.Service
	Audit     *audit.Log
	Trust     *trust.Service
	Bundles   *bundle.Service
	Receipts  *receipt.Service
	Dashboard *dashboard.Service
	Teams     *access.Service
	// Outbox queues promotions to connected spaces and reports deliveries;
	// Transfer receives what connected spaces deliver.
	Outbox   *outbox.Service
	Transfer *transport.Receiver
	// Packages is the built-in feed and package transfer files.
	Packages *packages.Service
	// Targets registers and checks deployment targets; Hub is this node's
	// connections to their agents (it runs the jobs it can deliver and
	// accepts polling agents); TargetHealth checks every target, on one
	// node at a time.
	Targets *targets.Service
	// Tenants are the customers a space deploys to (SPEC §6).
	Tenants      *tenants.Service
	Hub          *targets.Hub
	TargetHealth *targets.Health
	// Retention deletes things and runs retention; the server runs its
	// loop (Loop) on one node at a time.
	Retention *retention.Service
	// Health reports node and store state for /api/health.
	Health func(ctx context.Context) any

	// Runner runs queued tasks, and Deliverer sends what the outbox holds:
	// the server runs both (Run(ctx) error), the deliverer on one node at
	// a time.
	Runner    *deploy.Runner
	Deliverer *outbox.Deliverer
	// Triggers fires triggers and reports them; the server runs its
	// scheduler loop (Run) on one node at a time.
	Triggers *trigger.Service
}

// Node is the server process the set runs in, as far as the services
// know it: /api/health reports its state.
type Node interface {
	Health(ctx context.Context) any
}

// Config is where the services keep files and how their loops run.
type Config struct {
	Folders  packages.Folders    // the package feed's chunks and temporary files
	Runner   deploy.RunnerConfig // node name, work folder, timeout, workers
	Delivery outbox.Settings     // zero fields: outbox.DefaultSettings
	Limits   transport.Limits    // what the transfer endpoints hold before checking signatures
	// AgentListen is where this node accepts polling agents (for `target
	// trust-info`); TargetHealth how often targets are checked (0: 30 s).
	AgentListen  string
	TargetHealth time.Duration
	Retain       retention.Settings // zero fields: retention.DefaultSettings
	// SchedulerPoll is how often schedule triggers and manual-intervention
	// timeouts are checked (0: trigger.DefaultPoll).
	SchedulerPoll time.Duration
	Log           *slog.Logger
	Now           func() time.Time
}

// New builds the complete set over st. Scripts run in sb; node reports
// health. It fails only when the package feed's folders cannot be made.
func New(st store.Store, sb *sandbox.Sandbox, node Node, cfg Config) (Set, error) {
	now := cfg.Now

	// What every service asks: who may do what, what was done, and where
	// things from other spaces come from.
	events := audit.New(st.Audit(), now)
	guard := access.NewGuard(st.Spaces(), st.Teams())
	rules := provenance.New(st.RemoteSpaces(), st.Projects(), st.Bundles())
	progress := deploy.NewProgress(st.Deployments(), st.Receipts(), rules)

	// Core: one space's own things.
	tr := trust.New(st, st.Spaces(), st.RemoteSpaces(), guard, events, now)
	releases := release.New(st, st.Projects(), st.Releases(), st.Packages(), guard, events, now)

	// Cross-space: what travels between spaces.
	feed, err := packages.New(st, st.Packages(), st.ReceivedChunks(), st.Bundles(), st.Projects(), st.Releases(), st.Receipts(),
		guard, tr, events, now, cfg.Folders)
	if err != nil {
		return Set{}, err
	}
	delivery := outbox.NewSignal()
	receipts := receipt.New(st, st.Spaces(), st.Projects(), st.Releases(), st.Tasks(), st.Deployments(),
		st.Receipts(), st.RemoteSpaces(), st.Outbox(), guard, rules, tr, feed, events, now, delivery)

	// Targets: this node's hub runs steps on agents for the runner, from
	// durable jobs, with packages' chunks from the feed.
	hub, machines, tgs := newTargets(st, feed, guard, events, cfg)
	// The catalog applies and exports targets as config as code.
	cat := catalog.New(st, st.Spaces(), st.Environments(), st.Lifecycles(), st.Projects(), st.Tenants(), guard, tr, tgs, events, now)

	// Deployments: the runner signs a receipt when a task ends, and is woken
	// when one is queued; triggers deploy on their own, among them when a
	// bundle arrives.
	runner := deploy.NewRunner(cfg.Runner, cfg.Log.With("component", "runner"), now, st.Tasks(), st.Deployments(), st.Releases(), st.Projects(), st.Spaces(), st.Tenants(),
		st.Interventions(), rules, sb, feed, machines, receipts)
	deployments := deploy.New(st, st.Spaces(), st.Projects(), st.Releases(), st.Environments(), st.Lifecycles(),
		st.Tasks(), st.Deployments(), st.Packages(), st.Targets(), st.Tenants(), st.Teams(), st.Interventions(), guard, rules, progress, events, now, runner, receipts)
	triggers := trigger.New(st, st.Spaces(), st.Projects(), st.Deployments(), st.Tasks(), st.TriggerStates(), st.Users(), guard, deployments, events,
		cfg.Log.With("component", "scheduler"), now, cfg.SchedulerPoll)
	bundles := bundle.New(st, st.Spaces(), st.Projects(), st.Releases(), st.Environments(), st.Lifecycles(),
		st.Bundles(), st.RemoteSpaces(), st.Packages(), st.Deployments(), guard, rules, progress, tr, triggers, events, now)

	// Delivery: the outbox, the loop that empties it, and the receiver.
	settings := cfg.Delivery.WithDefaults()
	client := transport.NewClient(settings.Timeout)
	deliverer := outbox.NewDeliverer(settings, st, st.Spaces(), st.RemoteSpaces(), st.Outbox(), st.Receipts(),
		receipts, bundles, feed, tr, client, delivery, cfg.Log.With("component", "outbox"), now)
	out := outbox.New(st, st.Spaces(), st.RemoteSpaces(), st.Outbox(), st.Bundles(), guard, bundles, tr, client, now, delivery)
	receiver := transport.NewReceiver(st.Spaces(), st.RemoteSpaces(), tr, bundles, receipts, feed, transport.NewLimiter(cfg.Limits))

	// Upkeep: deleting things, and retention.
	retain := retention.New(st, retentionStores(st), guard, tr, feed, events, now, cfg.Log.With("component", "retention"), cfg.Retain)

	return Set{
		Auth:         auth.New(st, st.Users(), st.Sessions(), events, now),
		Catalog:      cat,
		Releases:     releases,
		Deploy:       deployments,
		Audit:        events,
		Trust:        tr,
		Bundles:      bundles,
		Receipts:     receipts,
		Dashboard:    dashboard.New(st.Projects(), st.Lifecycles(), st.Releases(), st.Deployments(), st.Receipts(), st.RemoteSpaces(), st.Tenants(), guard, rules, now),
		Teams:        access.New(st, st.Spaces(), st.Teams(), st.Projects(), st.Environments(), st.Users(), guard, events, now),
		Outbox:       out,
		Transfer:     receiver,
		Packages:     feed,
		Triggers:     triggers,
		Targets:      tgs,
		Tenants:      tenants.New(st, st.Tenants(), st.Projects(), st.Environments(), st.Targets(), st.Removal(), guard, events, now),
		Hub:          hub,
		TargetHealth: targets.NewHealth(tgs, cfg.TargetHealth),
		Retention:    retain,
		Health:       node.Health,
		Runner:       runner,
		Deliverer:    deliverer,
	}, nil
}

// newTargets builds this node's hub (it runs steps on agents for the
// runner, from durable jobs, with packages' chunks from the feed), the
// runner's view of the machines, and the targets service.
func newTargets(st store.Store, feed *packages.Service, guard access.Guard, events *audit.Log, cfg Config) (*targets.Hub, *targets.Machines, *targets.Service) {
	now := cfg.Now
	keys := targets.NewKeys(st.AgentIdentities(), now)
	hub := targets.NewHub(cfg.Runner.Node, keys, st.Targets(), st.AgentJobs(), st.Tasks(), feed, cfg.Log.With("component", "agents"), now)
	machines := targets.NewMachines(hub, st.Targets(), st.AgentJobs(), now)
	tgs := targets.New(st, st.Targets(), st.Environments(), st.AgentIdentities(), keys, hub, guard, events, now, cfg.AgentListen, cfg.Log.With("component", "targets"))
	return hub, machines, tgs
}

// retentionStores are the stores deleting and retention read and write.
func retentionStores(st store.Store) retention.Stores {
	return retention.Stores{Removal: st.Removal(), Spaces: st.Spaces(), Environments: st.Environments(),
		Lifecycles: st.Lifecycles(), Projects: st.Projects(), Releases: st.Releases(), RemoteSpaces: st.RemoteSpaces(),
		Teams: st.Teams(), Users: st.Users(), Packages: st.Packages(), Tenants: st.Tenants(), Targets: st.Targets(),
		Interventions: st.Interventions()}
}
