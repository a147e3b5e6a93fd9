package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/domain"
)

// CreateUser creates a user (system administrators only).
func (s *Service) CreateUser(ctx context.Context, name string, admin bool) (domain.User, error) {
	if err := access.Admin(ctx, "create users"); err != nil {
		return domain.User{}, err
	}
	if err := domain.ValidateName("user", name); err != nil {
		return domain.User{}, err
	}
	u := domain.User{Name: name, IsAdmin: admin, CreatedAt: s.now()}
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		if err := s.users.LockNames(ctx); err != nil { // two creates check one after the other
			return err
		}
		if err := s.distinct(ctx, name); err != nil {
			return err
		}
		if err := s.users.Create(ctx, &u); err != nil {
			return err
		}
		return s.audit.Record(ctx, 0, "user.create", name, map[string]string{"admin": fmt.Sprint(admin)})
	})
	return u, err
}

// distinct refuses a new user name that a person could take for the
// server's own name or for an existing user's: user names are identities
// (the audit log, teams and approvals show them), so they must differ in
// more than case, width, invisible characters or look-alike letters
// (domain.LookAlike). The server's own actions are recorded, and a
// trigger it set fires unchecked, as "system" (domain.System). Users that
// an older version let in keep working: only a new name is checked.
func (s *Service) distinct(ctx context.Context, name string) error {
	if domain.LookAlike(name, domain.System.Name) {
		return domain.Invalidf("user name %q is reserved for the server itself (its actions are recorded as %q), or too like it (they differ only in case, width, invisible characters or look-alike letters); choose another name",
			name, domain.System.Name)
	}
	users, err := s.users.List(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		switch {
		case u.Name == name:
			return domain.Conflictf("user %q already exists; choose another name (or give the existing user a key: `ferry user apikey %s`)", name, name)
		case domain.LookAlike(name, u.Name):
			return domain.Conflictf("user name %q is too like existing user %q (they differ only in case, width, invisible characters or look-alike letters); choose another name",
				name, u.Name)
		}
	}
	return nil
}

// Users lists every user (system administrators only).
func (s *Service) Users(ctx context.Context) ([]domain.User, error) {
	if err := access.Admin(ctx, "list users"); err != nil {
		return nil, err
	}
	return s.users.List(ctx)
}

// self returns the named user when the actor is that user or an administrator.
func (s *Service) self(ctx context.Context, name, what string) (domain.User, error) {
	a, _ := domain.ActorFrom(ctx)
	if a.Name != name {
		if err := access.Admin(ctx, what+" of another user"); err != nil {
			return domain.User{}, err
		}
	}
	return s.users.Get(ctx, name)
}

// minPassword is the shortest password accepted.
const minPassword = 12

// SetPassword sets a user's sign-in password (the user or an administrator).
func (s *Service) SetPassword(ctx context.Context, name, password string) error {
	u, err := s.self(ctx, name, "set the password")
	if err != nil {
		return err
	}
	if len(password) < minPassword {
		return domain.Invalidf("the password is shorter than %d characters", minPassword)
	}
	return s.tx.WithTx(ctx, func(ctx context.Context) error {
		if err := s.users.SetPassword(ctx, u.ID, hashPassword(password)); err != nil {
			return err
		}
		return s.audit.Record(ctx, 0, "user.password", name, nil)
	})
}

// NewAPIKey issues a named key for a user (the user or an administrator) and
// returns its secret, shown this once.
func (s *Service) NewAPIKey(ctx context.Context, name, keyName string) (string, error) {
	u, err := s.self(ctx, name, "create an API key")
	if err != nil {
		return "", err
	}
	if keyName == "" {
		keyName = "key"
	}
	var secret string
	err = s.tx.WithTx(ctx, func(ctx context.Context) error {
		if secret, err = s.issueKey(ctx, u.ID, keyName); err != nil {
			return err
		}
		return s.audit.Record(ctx, 0, "user.apikey.create", name, map[string]string{"key": keyName})
	})
	return secret, err
}

// APIKeys lists a user's keys (never their secrets).
func (s *Service) APIKeys(ctx context.Context, name string) ([]domain.APIKey, error) {
	u, err := s.self(ctx, name, "list the API keys")
	if err != nil {
		return nil, err
	}
	return s.users.ListKeys(ctx, u.ID)
}

// RevokeAPIKey revokes one of a user's keys; requests with it get 401 from then on.
func (s *Service) RevokeAPIKey(ctx context.Context, name string, keyID int64) error {
	u, err := s.self(ctx, name, "revoke an API key")
	if err != nil {
		return err
	}
	return s.tx.WithTx(ctx, func(ctx context.Context) error {
		if err := s.users.RevokeKey(ctx, u.ID, keyID, s.now()); err != nil {
			return err
		}
		return s.audit.Record(ctx, 0, "user.apikey.revoke", name, map[string]string{"key": fmt.Sprint(keyID)})
	})
}

// Password hashes are argon2id in the PHC string format.
const (
	argonTime    = 2
	argonMemory  = 64 << 10
	argonThreads = 1
	argonKeyLen  = 32
)

func hashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding.EncodeToString
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", argonMemory, argonTime, argonThreads, b64(salt), b64(key))
}

func checkPassword(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
