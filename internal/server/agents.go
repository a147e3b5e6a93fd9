package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/services"
)

// targetHealthLock makes the health checks of targets run on one node at
// a time.
const targetHealthLock = "check-targets"

// listenAgents opens the agent listener polling agents dial (none when
// cfg.AgentListen is empty).
func listenAgents(cfg Config) (net.Listener, error) {
	if cfg.AgentListen == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.AgentListen)
	if err != nil {
		return nil, fmt.Errorf("listen for polling agents on %s (--agent-listen): %w", cfg.AgentListen, err)
	}
	return ln, nil
}

// logAgentTrust prints the fingerprint agents pin (SPEC §5: at start-up).
func logAgentTrust(ctx context.Context, svc services.Set, cfg Config, log *slog.Logger) {
	info, err := svc.Targets.TrustInfo(domain.WithActor(ctx, domain.System))
	if err != nil {
		log.Error("read the server's agent identity", "err", err)
		return
	}
	listen := cfg.AgentListen
	if listen == "" {
		listen = "off"
	}
	log.Info("agents trust this server by its agent fingerprint: ferry agent run ... --trust "+info.Fingerprint,
		"agent fingerprint", info.Fingerprint, "agent listen", listen)
}

// runAgents runs this node's hub (jobs for targets, polling agents on
// agents) and, on one node at a time, the targets' health checks.
func runAgents(ctx context.Context, wg *sync.WaitGroup, agents net.Listener, svc services.Set, nd *node, log *slog.Logger) {
	wg.Go(func() {
		if err := svc.Hub.Run(ctx); err != nil {
			log.Error("the jobs of targets stopped", "err", err)
		}
	})
	if agents != nil {
		wg.Go(func() {
			if err := svc.Hub.ServeAgents(ctx, agents); err != nil && ctx.Err() == nil {
				log.Error("the agent listener stopped", "err", err)
			}
		})
	}
	wg.Go(func() { nd.exclusive(ctx, targetHealthLock, svc.TargetHealth.Run) })
}
