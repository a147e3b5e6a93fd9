// Package targets is the server's side of deployment targets (SPEC §5):
// the machines a space deploys to, each an agent known by the SHA-256
// fingerprint of its certificate. It registers and checks them (Service),
// keeps the server's own identity towards agents (Keys), holds this
// node's connections to them and runs the jobs it can deliver (Hub), and
// runs deployment steps on them for the task runner (Machines).
//
// Work for targets is durable: a step for a target is a job in the store,
// run by whichever node reaches the agent (docs/architecture.md).
package targets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/audit"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/trust"
)

// Service registers targets and answers questions about them.
type Service struct {
	tx           store.Transactor
	targets      store.Targets
	environments store.Environments
	ids          store.AgentIdentities
	keys         *Keys
	hub          *Hub
	access       access.Guard
	audit        *audit.Log
	now          func() time.Time
	listen       string
	log          *slog.Logger

	// stop ends the checks checkSoon started; checks counts them (Close).
	stop       context.Context
	stopChecks context.CancelFunc
	checks     sync.WaitGroup
}

// New returns the targets service: it writes targets (checking their
// environments), rotates the server's agent identity (ids, keys), checks
// targets through hub, and says that this node's agent listener is listen.
func New(tx store.Transactor, targets store.Targets, environments store.Environments, ids store.AgentIdentities, keys *Keys, hub *Hub,
	guard access.Guard, log *audit.Log, now func() time.Time, listen string, logger *slog.Logger) *Service {
	stop, stopChecks := context.WithCancel(context.Background())
	return &Service{tx: tx, targets: targets, environments: environments, ids: ids, keys: keys, hub: hub,
		access: guard, audit: log, now: now, listen: listen, log: logger, stop: stop, stopChecks: stopChecks}
}

// Close ends the background checks of targets (Add, Enable, apply) and
// waits for them, so that nothing writes to the store after it returns.
func (s *Service) Close() {
	s.stopChecks()
	s.checks.Wait()
}

// AddRequest registers a target.
type AddRequest struct {
	Name         string   `json:"name"`
	Environments []string `json:"environments"`
	Roles        []string `json:"roles"`
	URL          string   `json:"url,omitempty"`
	Polling      bool     `json:"polling,omitempty"`
	Thumbprint   string   `json:"thumbprint"`
}

// Added is a target added, or found already registered alike.
type Added struct {
	Created bool          `json:"created"`
	Target  domain.Target `json:"target"`
}

// Add registers a target without contacting it, then checks it in the
// background. Adding one again alike changes nothing; a different target
// under a known name or thumbprint is refused. Adding, disabling, enabling
// and deleting targets need administer-space over the whole space: a
// target runs the steps of every project of its environments.
func (s *Service) Add(ctx context.Context, space string, req AddRequest) (Added, error) {
	var out Added
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.SpaceWide(ctx, space, domain.PermAdminSpace)
		if err != nil {
			return err
		}
		t, err := s.Validate(ctx, sp, req)
		if err != nil {
			return err
		}
		old, err := s.targets.Get(ctx, sp.ID, t.Name)
		if err == nil {
			if !sameRegistration(old, t) {
				return domain.Conflictf("target %q is already registered (%s, thumbprint %s, environments %v, roles %v); delete it first (`ferry target delete %s`) to register it anew",
					old.Name, old.Mode, old.Thumbprint, old.Environments, old.Roles, old.Name)
			}
			out.Target = old
			return nil
		}
		if !errors.Is(err, domain.ErrNotFound) {
			return err
		}
		if err := s.thumbprintFree(ctx, t); err != nil {
			return err
		}
		if err := s.ownAgent(ctx, t); err != nil {
			return err
		}
		if err := s.targets.Create(ctx, &t); err != nil {
			return err
		}
		out = Added{Created: true, Target: t}
		return s.audit.Record(ctx, sp.ID, "target.add", t.Name, targetDetails(t))
	})
	if err == nil && out.Created {
		s.checkSoon(ctx, out.Target)
	}
	return out, err
}

// Validate turns a request into a target of sp, checked: a name scripts
// may receive, local environments of the space, safe roles, the agent's
// fingerprint, and how the server reaches it.
func (s *Service) Validate(ctx context.Context, sp domain.Space, req AddRequest) (domain.Target, error) {
	fp, err := trust.ParseFingerprint(req.Thumbprint)
	if err != nil {
		return domain.Target{}, err
	}
	t := domain.Target{SpaceID: sp.ID, Name: req.Name, Environments: req.Environments, Roles: req.Roles, URL: req.URL, Thumbprint: fp, Mode: domain.ModeListening}
	if req.Polling {
		t.Mode = domain.ModePolling
	} else if req.URL == "" {
		t.Mode = ""
	}
	if err := t.Validate(); err != nil {
		return t, err
	}
	if fp == s.keys.Current().Fingerprint {
		return t, domain.Invalidf("thumbprint %s is this server's own agent identity; give the agent's (`ferry agent init` prints it)", fp)
	}
	for _, e := range t.Environments {
		env, err := s.environments.Get(ctx, sp.ID, e)
		if errors.Is(err, domain.ErrNotFound) {
			return t, domain.NotFoundf("environment %q not found in space %q (create it with `ferry env create %q`)", e, sp.Name, e)
		}
		if err != nil {
			return t, err
		}
		if env.IsRemote() {
			return t, domain.Invalidf("%q is an environment of space %q: a target belongs to an environment of this space", e, env.RemoteSpace)
		}
	}
	return t, nil
}

// thumbprintFree refuses a second target of a space with t's thumbprint,
// naming the one that has it: one agent is one target of a space.
func (s *Service) thumbprintFree(ctx context.Context, t domain.Target) error {
	list, err := s.targets.ByThumbprint(ctx, t.Thumbprint)
	if err != nil {
		return err
	}
	for _, o := range list {
		if o.SpaceID == t.SpaceID {
			return domain.Conflictf("target %q of this space is already the agent with thumbprint %s (an agent is one target of a space: give it more environments or roles with `ferry target delete %s` and `ferry target add`, or give another machine its own identity with `ferry agent init`)",
				o.Name, t.Thumbprint, o.Name)
		}
	}
	return nil
}

// ownAgent refuses to make the agent with t's thumbprint a target of
// t's space while it is a target of another space the actor does not
// administer as a whole: the thumbprint is no secret (viewers see it),
// and an agent runs every step of every space it is a target of, so
// without this an admin of one space could run steps on another space's
// machines. A system administrator, or an admin of both spaces, may share
// an agent between spaces.
func (s *Service) ownAgent(ctx context.Context, t domain.Target) error {
	list, err := s.targets.ByThumbprint(ctx, t.Thumbprint)
	if err != nil {
		return err
	}
	for _, o := range list {
		if o.SpaceID == t.SpaceID {
			continue
		}
		if s.access.RequireSpaceWide(ctx, domain.Space{ID: o.SpaceID}, domain.PermAdminSpace) != nil {
			return domain.Errorf(domain.KindForbidden, "the agent with thumbprint %s is a target of another space, which you do not administer: an agent runs the steps of every space it is a target of, so only someone who administers both spaces (or a system administrator) may add it here; or give this machine its own identity with `ferry agent init`",
				t.Thumbprint)
		}
	}
	return nil
}

func sameRegistration(a, b domain.Target) bool {
	return a.Mode == b.Mode && a.URL == b.URL && a.Thumbprint == b.Thumbprint &&
		slices.Equal(a.Environments, b.Environments) && slices.Equal(a.Roles, b.Roles)
}

func targetDetails(t domain.Target) map[string]string {
	return map[string]string{"thumbprint": t.Thumbprint, "mode": t.Mode, "url": t.URL,
		"environments": fmt.Sprint(t.Environments), "roles": fmt.Sprint(t.Roles)}
}

// List returns a space's targets by name.
func (s *Service) List(ctx context.Context, space string) ([]domain.Target, error) {
	sp, err := s.access.Space(ctx, space, domain.PermView, "", "")
	if err != nil {
		return nil, err
	}
	return s.targets.List(ctx, sp.ID)
}

// Show returns one target.
func (s *Service) Show(ctx context.Context, space, name string) (domain.Target, error) {
	sp, err := s.access.Space(ctx, space, domain.PermView, "", "")
	if err != nil {
		return domain.Target{}, err
	}
	return s.targets.Get(ctx, sp.ID, name)
}

// SetDisabled disables a target (steps no longer choose it) or enables it
// again (and checks it).
func (s *Service) SetDisabled(ctx context.Context, space, name string, disabled bool) (domain.Target, error) {
	var t domain.Target
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.SpaceWide(ctx, space, domain.PermAdminSpace)
		if err != nil {
			return err
		}
		if t, err = s.targets.Get(ctx, sp.ID, name); err != nil || t.Disabled == disabled {
			return err
		}
		t.Disabled = disabled
		action := "target.disable"
		if !disabled {
			action, t.Health, t.HealthReason = "target.enable", domain.HealthUnknown, ""
		}
		if err := s.targets.Update(ctx, &t); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, action, t.Name, map[string]string{"thumbprint": t.Thumbprint})
	})
	if err == nil && !disabled {
		s.checkSoon(ctx, t)
	}
	return t, err
}

// Delete removes a target: its agent's certificate is refused from then
// on (a polling agent's connection is dropped at its next heartbeat).
func (s *Service) Delete(ctx context.Context, space, name string) (domain.Target, error) {
	var t domain.Target
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.SpaceWide(ctx, space, domain.PermAdminSpace)
		if err != nil {
			return err
		}
		if t, err = s.targets.Get(ctx, sp.ID, name); err != nil {
			return err
		}
		jobs, err := s.targets.UnfinishedJobs(ctx, t.ID)
		if err != nil {
			return err
		}
		refs := make([]domain.Referrer, len(jobs))
		for i, j := range jobs {
			refs[i] = domain.Referrer{Kind: "task", Name: fmt.Sprint(j.TaskID), Detail: fmt.Sprintf("job %d on it is %s", j.ID, j.State)}
		}
		if len(refs) > 0 {
			return domain.Refusal(fmt.Sprintf("target %q", name), refs, "Wait for the tasks to finish, or cancel them ('ferry task cancel ID'); 'ferry target disable' stops new ones meanwhile")
		}
		if err := s.targets.Delete(ctx, t.ID); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "target.delete", t.Name, map[string]string{"thumbprint": t.Thumbprint})
	})
	return t, err
}

// EnsureIdentity makes the server's agent identity on its first start and
// loads it (the server calls it at start-up, under its bootstrap lock).
func (s *Service) EnsureIdentity(ctx context.Context) error { return s.keys.Ensure(ctx) }

// TrustInfo is what an agent needs to trust this server.
type TrustInfo struct {
	// Fingerprint is the server's agent identity (agent run --trust).
	Fingerprint string `json:"fingerprint"`
	// AgentListen is where this node accepts polling agents.
	AgentListen string `json:"agentListen"`
	// Next is the identity staged by a rotation, which agents learn to
	// trust before it is activated.
	Next        string `json:"next,omitempty"`
	Certificate string `json:"certificate"`
}

// TrustInfo returns the server's agent identity and listener.
func (s *Service) TrustInfo(ctx context.Context) (TrustInfo, error) {
	if _, ok := domain.ActorFrom(ctx); !ok {
		return TrustInfo{}, domain.Errorf(domain.KindUnauthorized, "not signed in")
	}
	cur := s.keys.Current()
	info := TrustInfo{Fingerprint: cur.Fingerprint, AgentListen: s.listen, Certificate: string(cur.CertPEM)}
	if next, ok := s.keys.Next(); ok {
		info.Next = next.Fingerprint
	}
	return info, nil
}

// Rotate stages a new agent identity (agents told to trust it while they
// are checked), or with activate makes the staged one current.
func (s *Service) Rotate(ctx context.Context, activate bool) (TrustInfo, error) {
	if err := access.Admin(ctx, "rotate the server's agent identity"); err != nil {
		return TrustInfo{}, err
	}
	old := s.keys.Current().Fingerprint
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		if activate {
			if err := s.ids.Activate(ctx, s.now()); err != nil {
				return err
			}
			return s.audit.Record(ctx, 0, "agent-identity.activate", "server agent identity", map[string]string{"retired": old})
		}
		certPEM, keyPEM, err := newServerIdentity(s.now())
		if err != nil {
			return err
		}
		next := domain.AgentIdentity{CertPEM: certPEM, KeyPEM: keyPEM, State: domain.IdentityNext}
		if next.Fingerprint, err = fingerprintOf(certPEM, keyPEM); err != nil {
			return err
		}
		if err := s.ids.Create(ctx, &next); err != nil {
			if errors.Is(err, domain.ErrConflict) {
				return domain.Conflictf("a next identity is staged already; activate it with `ferry target rotate-identity --activate`")
			}
			return err
		}
		return s.audit.Record(ctx, 0, "agent-identity.stage", "server agent identity", map[string]string{"current": old, "next": next.Fingerprint})
	})
	if err != nil {
		return TrustInfo{}, err
	}
	if err := s.keys.Reload(ctx); err != nil {
		return TrustInfo{}, err
	}
	return s.TrustInfo(ctx)
}

// Declared checks a target written in an apply document as `target add`
// checks one — a machine name, safe roles, the agent's fingerprint (not
// this server's), how the server reaches it — except that its
// environments are the caller's to check (the document may create them).
// It returns the target with its thumbprint in ferry's form.
func (s *Service) Declared(t domain.Target) (domain.Target, error) {
	fp, err := trust.ParseFingerprint(t.Thumbprint)
	if err != nil {
		return t, err
	}
	t.Thumbprint = fp
	if err := t.Validate(); err != nil {
		return t, err
	}
	if fp == s.keys.Current().Fingerprint {
		return t, domain.Invalidf("thumbprint %s is this server's own agent identity; give the agent's (`ferry agent init` prints it)", fp)
	}
	return t, nil
}

// InSpace returns a space's targets by name (apply and export; the
// caller checked access).
func (s *Service) InSpace(ctx context.Context, spaceID int64) ([]domain.Target, error) {
	return s.targets.List(ctx, spaceID)
}

// Put stores a target apply declared: a new one, or a new registration
// (environments, roles, mode, URL, thumbprint) of one known by name,
// which keeps whether it is disabled and is checked anew.
func (s *Service) Put(ctx context.Context, t *domain.Target) error {
	old, err := s.targets.Get(ctx, t.SpaceID, t.Name)
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return err
	}
	if err != nil || old.Thumbprint != t.Thumbprint {
		if err := s.ownAgent(ctx, *t); err != nil {
			return fmt.Errorf("target %q: %w", t.Name, err)
		}
	}
	if errors.Is(err, domain.ErrNotFound) {
		return s.targets.Create(ctx, t)
	}
	t.ID, t.CreatedAt, t.Disabled = old.ID, old.CreatedAt, old.Disabled
	t.Health, t.HealthReason = domain.HealthUnknown, ""
	return s.targets.Update(ctx, t)
}

// CheckSoon checks targets in the background (after apply wrote them).
func (s *Service) CheckSoon(ctx context.Context, list []domain.Target) {
	for _, t := range list {
		if !t.Disabled {
			s.checkSoon(ctx, t)
		}
	}
}
