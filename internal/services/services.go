// Package services bundles the capability services that ferry's front ends
// — the JSON API and the web pages — call. main builds one Set and hands the
// same Set to both, so they share every rule and permission check.
package services

import (
	"context"

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
