// Package services bundles the capability services that ferry's front ends
// — the JSON API and the web pages — call. main builds one Set and hands the
// same Set to both, so they share every rule and permission check.
package services

import (
	"context"
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
	"github.com/ferrydeploy/ferry/internal/receipt"
	"github.com/ferrydeploy/ferry/internal/release"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/transport"
	"github.com/ferrydeploy/ferry/internal/trust"
)

// Set is every service a front end may call.
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
	// Health reports node and store state for /api/health.
	Health func(ctx context.Context) any
}

// New builds the services over st, wired to each other: spaces get
// identities when created, remote environments need known remote spaces,
// finished deployments of remote projects leave receipts, and deployments
// fetch packages from the feed kept in folders. runner, when not nil, is the
// task runner the services queue work for. Health, Outbox and Transfer are
// the caller's to add (they depend on how the server runs).
func New(st store.Store, folders packages.Folders, now func() time.Time, runner *deploy.Runner) (Set, error) {
	log := audit.New(st.Audit(), now)
	tr := trust.New(st, log, now)
	cat := catalog.New(st, log, now)
	cat.OnSpaceCreated(tr.CreateIdentity)
	cat.RemoteSpaces = tr.RemoteNames
	rec := receipt.New(st, tr, log, now)
	pkgs, err := packages.New(st, tr, log, now, folders)
	if err != nil {
		return Set{}, err
	}
	rec.Holding = pkgs.Holding
	var wake func()
	if runner != nil {
		runner.Finished = rec.Record
		runner.Packages = pkgs
		wake = runner.Wake
	}
	return Set{
		Auth:      auth.New(st, log, now),
		Catalog:   cat,
		Releases:  release.New(st, log, now),
		Deploy:    deploy.New(st, log, now, wake),
		Audit:     log,
		Trust:     tr,
		Bundles:   bundle.New(st, tr, log, now),
		Receipts:  rec,
		Dashboard: dashboard.New(st, now),
		Packages:  pkgs,
		Teams:     access.New(st, log, now),
	}, nil
}
