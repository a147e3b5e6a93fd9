// Package auth knows who is calling: it issues API keys, stores only their
// hashes, turns a presented key into an actor, and bootstraps the first
// administrator of a new server.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ferrydeploy/ferry/internal/audit"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// keyPrefix makes ferry keys recognisable to people and secret scanners.
const keyPrefix = "ferry_"

// Service authenticates callers and manages users and keys.
type Service struct {
	tx    store.Transactor
	users store.Users
	// sessions holds the web pages' sessions (sessions.go).
	sessions store.Sessions
	audit    *audit.Log
	now      func() time.Time
	// throttle slows password guessing; deviceKey keys device cookies
	// (signin.go). Both live as long as the process.
	throttle  *Throttle
	deviceKey []byte
	decoy     struct {
		once sync.Once
		hash string
	}
}

// New returns an auth service over the users table (users and their keys)
// and the web sessions.
func New(tx store.Transactor, users store.Users, sessions store.Sessions, log *audit.Log, now func() time.Time) *Service {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic("auth: no randomness: " + err.Error())
	}
	return &Service{tx: tx, users: users, sessions: sessions, audit: log, now: now, throttle: NewThrottle(now), deviceKey: key}
}

// Authenticate returns the actor a bearer API key belongs to. Unknown,
// malformed and revoked keys are all refused alike.
func (s *Service) Authenticate(ctx context.Context, key string) (domain.Actor, error) {
	if !strings.HasPrefix(key, keyPrefix) || len(key) > 200 {
		return domain.Actor{}, errUnauthorized
	}
	k, u, err := s.users.KeyByHash(ctx, hashKey(key))
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Actor{}, errUnauthorized
	}
	if err != nil {
		return domain.Actor{}, err
	}
	// Last-used is informational; recording it must not fail the request,
	// and once a minute is precise enough.
	if k.LastUsed == nil || s.now().Sub(*k.LastUsed) > time.Minute {
		_ = s.users.TouchKey(ctx, k.ID, s.now())
	}
	return domain.Actor{UserID: u.ID, Name: u.Name, IsAdmin: u.IsAdmin}, nil
}

var errUnauthorized = domain.Errorf(domain.KindUnauthorized, "the API key is unknown or revoked; pass a valid key with --api-key or FERRY_API_KEY")

// Bootstrap makes a new server usable: when there are no users it creates
// the administrator, writes a fresh API key for it to keyFile (0600) and,
// when password is not empty, sets its sign-in password. It reports whether
// it did so.
func (s *Service) Bootstrap(ctx context.Context, keyFile, password string) (bool, error) {
	if password != "" && len(password) < minPassword {
		return false, fmt.Errorf("FERRY_ADMIN_PASSWORD is shorter than %d characters", minPassword)
	}
	n, err := s.users.Count(ctx)
	if err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	var secret string
	err = s.tx.WithTx(domain.WithActor(ctx, domain.System), func(ctx context.Context) error {
		u := domain.User{Name: "admin", IsAdmin: true, CreatedAt: s.now()}
		if err := s.users.Create(ctx, &u); err != nil {
			return err
		}
		secret, err = s.issueKey(ctx, u.ID, "bootstrap")
		if err != nil {
			return err
		}
		// Write the key before the transaction commits: if writing fails,
		// no administrator exists without a key to act as it.
		if err := writeSecretFile(keyFile, secret+"\n"); err != nil {
			return err
		}
		if password != "" {
			if err := s.users.SetPassword(ctx, u.ID, hashPassword(password)); err != nil {
				return err
			}
		}
		return s.audit.Record(ctx, 0, "user.create", "admin", map[string]string{"via": "first start"})
	})
	return err == nil, err
}

// issueKey creates a key for a user and returns its secret, which is shown
// once and never stored.
func (s *Service) issueKey(ctx context.Context, userID int64, name string) (string, error) {
	secret, err := NewKey()
	if err != nil {
		return "", err
	}
	k := domain.APIKey{UserID: userID, Name: name, Hash: hashKey(secret), CreatedAt: s.now()}
	if err := s.users.CreateKey(ctx, &k); err != nil {
		return "", err
	}
	return secret, nil
}

// NewKey returns a new random API key.
func NewKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate API key: %w", err)
	}
	return keyPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)), nil
}

// hashKey is SHA-256: keys are 256 random bits, so a slow hash adds nothing.
func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

func writeSecretFile(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
