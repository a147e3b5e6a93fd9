package targets

import (
	"context"
	"sync"
	"time"

	"github.com/ferrydeploy/ferry/internal/agentproto"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// HealthInterval is how often every enabled target is checked (SPEC §5).
const HealthInterval = 30 * time.Second

// Checked is a target as a check left it.
type Checked struct {
	Target  domain.Target `json:"target"`
	Healthy bool          `json:"healthy"`
}

// Check checks a target now and records what it found.
func (s *Service) Check(ctx context.Context, space, name string) (Checked, error) {
	sp, err := s.access.Space(ctx, space, domain.PermDeploy, "", "")
	if err != nil {
		return Checked{}, err
	}
	t, err := s.targets.Get(ctx, sp.ID, name)
	if err != nil {
		return Checked{}, err
	}
	t = s.checkOne(ctx, t)
	return Checked{Target: t, Healthy: t.Health == domain.HealthHealthy}, nil
}

// checkSoon checks a target just added or enabled, in the background.
func (s *Service) checkSoon(ctx context.Context, t domain.Target) {
	s.checks.Go(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
		defer cancel()
		defer context.AfterFunc(s.stop, cancel)()
		s.checkOne(ctx, t)
	})
}

// checkOne checks t, records the result, and returns t with it. A
// disabled target is not contacted.
func (s *Service) checkOne(ctx context.Context, t domain.Target) domain.Target {
	h := store.TargetHealth{CheckedAt: s.now()}
	switch {
	case t.Disabled:
		h.Health, h.Reason = domain.HealthUnknown, "disabled: not checked"
	case t.Mode == domain.ModePolling:
		h = s.checkPolling(ctx, t, h)
	default:
		h = s.checkListening(ctx, t, h)
	}
	if err := s.targets.SetHealth(ctx, t.ID, h); err != nil && ctx.Err() == nil {
		s.log.Warn("record a target's health", "target", t.Name, "err", err)
	}
	t.Health, t.HealthReason, t.CheckedAt = h.Health, h.Reason, &h.CheckedAt
	if h.Answered {
		t.LastSeen, t.AgentVersion = &h.CheckedAt, h.Version
	}
	return t
}

// checkListening dials the agent and asks it about itself.
func (s *Service) checkListening(ctx context.Context, t domain.Target, h store.TargetHealth) store.TargetHealth {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	info, err := s.hub.Info(cctx, t)
	if err != nil {
		h.Health, h.Reason = classify(t, err)
		return h
	}
	return s.judge(ctx, t, info, h)
}

// checkPolling pings a polling agent connected to this node, or reads
// what the node it is connected to recorded of it.
func (s *Service) checkPolling(ctx context.Context, t domain.Target, h store.TargetHealth) store.TargetHealth {
	if s.hub.tunnelAlive(t.Thumbprint) {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		info, err := s.hub.Info(cctx, t)
		if err == nil {
			return s.judge(ctx, t, info, h)
		}
		h.Health, h.Reason = classify(t, err)
		return h
	}
	if connectedElsewhere(t, s.now()) {
		h.Health, h.Reason = domain.HealthHealthy, "connected to server node "+t.Node
		return h
	}
	h.Health, h.Reason = domain.HealthOffline, "its polling agent is not connected ("+t.SeenText()+")"+pollingHint
	return h
}

// judge makes a health of an agent's answer; while the server rotates its
// identity, it tells the agent to trust the next one.
func (s *Service) judge(ctx context.Context, t domain.Target, info agentproto.Info, h store.TargetHealth) store.TargetHealth {
	h.Answered, h.Version = true, info.Version
	if info.Fingerprint != t.Thumbprint {
		h.Health, h.Reason = domain.HealthUnhealthy, "the agent says its certificate is "+info.Fingerprint+", not the registered "+t.Thumbprint
		return h
	}
	if reason := infoProblem(info); reason != "" {
		h.Health, h.Reason = domain.HealthUnhealthy, reason
		return h
	}
	h.Health = domain.HealthHealthy
	if next, ok := s.keys.Next(); ok {
		var out agentproto.Info
		if err := s.hub.call(ctx, t, "POST", agentproto.PathTrust, agentproto.TrustRequest{Fingerprint: next.Fingerprint}, &out); err != nil {
			h.Reason = "could not tell it the server's next identity: " + err.Error()
		} else {
			h.Reason = "trusts the server's next identity " + next.Fingerprint
		}
	}
	return h
}

// Health checks every enabled target every interval, on one node at a
// time.
type Health struct {
	svc      *Service
	interval time.Duration
}

// NewHealth checks s's targets every interval (0: HealthInterval).
func NewHealth(s *Service, interval time.Duration) *Health {
	if interval <= 0 {
		interval = HealthInterval
	}
	return &Health{svc: s, interval: interval}
}

// Run checks targets until ctx ends: every interval, and at once when a
// polling agent connects to this node (else its target would read Offline,
// while connected, until the next round).
func (h *Health) Run(ctx context.Context) error {
	t := time.NewTicker(h.interval)
	defer t.Stop()
	for {
		h.checkAll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-h.svc.hub.connects:
		}
	}
}

// checkAll checks every enabled target of every space, a few at a time.
func (h *Health) checkAll(ctx context.Context) {
	list, err := h.svc.targets.List(ctx, 0)
	if err != nil {
		if ctx.Err() == nil {
			h.svc.log.Warn("list targets to check", "err", err)
		}
		return
	}
	slots := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, t := range list {
		if t.Disabled {
			continue
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			h.svc.checkOne(ctx, t)
		})
	}
	wg.Wait()
}

// newServerIdentity makes a server agent identity.
func newServerIdentity(now time.Time) (certPEM, keyPEM []byte, err error) {
	return agentproto.NewIdentity("ferry server", now)
}

// fingerprintOf is the fingerprint of an identity's certificate.
func fingerprintOf(certPEM, keyPEM []byte) (string, error) {
	id, err := agentproto.ParseIdentity(certPEM, keyPEM)
	return id.Fingerprint, err
}
