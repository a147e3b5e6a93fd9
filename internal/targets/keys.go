package targets

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ferrydeploy/ferry/internal/agentproto"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Keys is the server's identity towards agents, read from the store (where
// its key is sealed with the master key, beside the spaces' identities)
// and refreshed, so that every node presents the identity made current on
// any of them.
type Keys struct {
	ids store.AgentIdentities
	now func() time.Time

	mu      sync.Mutex
	current agentproto.Identity
	next    *agentproto.Identity
	loaded  time.Time
	version int // changes with the current identity
}

// refreshEvery bounds how long a node presents an identity another node
// retired.
const refreshEvery = 10 * time.Second

// NewKeys reads the server's agent identity from ids.
func NewKeys(ids store.AgentIdentities, now func() time.Time) *Keys {
	return &Keys{ids: ids, now: now}
}

// Ensure makes the server's agent identity on its first start, and loads
// it. Nodes starting together may race: the one that loses reads the
// winner's.
func (k *Keys) Ensure(ctx context.Context) error {
	list, err := k.ids.List(ctx)
	if err != nil {
		return err
	}
	if !hasState(list, domain.IdentityCurrent) {
		certPEM, keyPEM, err := agentproto.NewIdentity("ferry server", k.now())
		if err != nil {
			return err
		}
		id, err := agentproto.ParseIdentity(certPEM, keyPEM)
		if err != nil {
			return err
		}
		err = k.ids.Create(ctx, &domain.AgentIdentity{Fingerprint: id.Fingerprint, CertPEM: certPEM, KeyPEM: keyPEM, State: domain.IdentityCurrent})
		if err != nil && !errors.Is(err, domain.ErrConflict) {
			return fmt.Errorf("make the server's agent identity: %w", err)
		}
	}
	return k.Reload(ctx)
}

func hasState(list []domain.AgentIdentity, state string) bool {
	for _, id := range list {
		if id.State == state {
			return true
		}
	}
	return false
}

// Reload reads the identities from the store now.
func (k *Keys) Reload(ctx context.Context) error {
	list, err := k.ids.List(ctx)
	if err != nil {
		return err
	}
	var cur agentproto.Identity
	var next *agentproto.Identity
	for _, row := range list {
		id, err := agentproto.ParseIdentity(row.CertPEM, row.KeyPEM)
		if err != nil {
			return fmt.Errorf("the server's agent identity %s: %w", row.Fingerprint, err)
		}
		switch row.State {
		case domain.IdentityCurrent:
			cur = id
		case domain.IdentityNext:
			next = &id
		}
	}
	if cur.Fingerprint == "" {
		return errors.New("the server has no agent identity yet")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if cur.Fingerprint != k.current.Fingerprint {
		k.version++
	}
	k.current, k.next, k.loaded = cur, next, k.now()
	return nil
}

// Current is the identity this node presents to agents.
func (k *Keys) Current() agentproto.Identity {
	k.mu.Lock()
	stale := k.now().Sub(k.loaded) > refreshEvery
	k.mu.Unlock()
	if stale {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		k.Reload(ctx) // on failure the one loaded serves on
		cancel()
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.current
}

// Next is the identity staged by a rotation, if any.
func (k *Keys) Next() (agentproto.Identity, bool) {
	k.Current()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.next == nil {
		return agentproto.Identity{}, false
	}
	return *k.next, true
}

// Version changes whenever the current identity does (connections made
// with the old one are then closed).
func (k *Keys) Version() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.version
}
