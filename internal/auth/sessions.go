package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Web sessions live in the database, so that every node of a server knows
// them (no sticky sessions behind a load balancer) and a restart signs no
// one out. The database holds the SHA-256 of each session's random 256-bit
// id, never the id: a copy of the table cannot be replayed as a cookie. A
// session ends when signed out, after SessionIdle without a request,
// SessionMax after sign-in, or when its user's password changes or the user
// is removed (Resume, on every request).
const (
	SessionIdle = 8 * time.Hour
	SessionMax  = 24 * time.Hour
	// touchEvery bounds the writes a busy session makes: its last-seen
	// time is recorded at most this often.
	touchEvery = time.Minute
)

// WebSession is a live session as a page sees it: who, and the CSRF token
// its forms carry.
type WebSession struct {
	ID    string // the cookie's value
	Actor domain.Actor
	CSRF  string
}

// StartSession stores a session for a sign-in and returns its id, for the
// browser's cookie. Expired sessions are removed on the way.
func (s *Service) StartSession(ctx context.Context, in Session) (string, error) {
	now := s.now()
	if err := s.sessions.DeleteExpired(ctx, now.Add(-SessionIdle), now.Add(-SessionMax)); err != nil {
		return "", err
	}
	id := randomToken()
	err := s.sessions.Create(ctx, store.WebSession{
		IDHash: hashSessionID(id), UserID: in.Actor.UserID, UserName: in.Actor.Name, Stamp: in.Stamp,
		CSRF: randomToken(), CreatedAt: now, SeenAt: now,
	})
	return id, err
}

// ResumeSession returns the live session with this id, its actor as the
// user is now. A session that does not exist, has expired or has ended
// (Resume) is an Unauthorized error; an ended or expired one is removed.
func (s *Service) ResumeSession(ctx context.Context, id string) (WebSession, error) {
	if len(id) != 43 { // 32 bytes, unpadded base64url
		return WebSession{}, errNoSession
	}
	key := hashSessionID(id)
	st, err := s.sessions.Get(ctx, key)
	if errors.Is(err, domain.ErrNotFound) {
		return WebSession{}, errNoSession
	}
	if err != nil {
		return WebSession{}, err
	}
	now := s.now()
	if now.Sub(st.SeenAt) > SessionIdle || now.Sub(st.CreatedAt) > SessionMax {
		return WebSession{}, errors.Join(errNoSession, s.sessions.Delete(ctx, key))
	}
	actor, err := s.Resume(ctx, Session{Actor: domain.Actor{UserID: st.UserID, Name: st.UserName}, Stamp: st.Stamp})
	if domain.KindOf(err) == domain.KindUnauthorized {
		return WebSession{}, errors.Join(err, s.sessions.Delete(ctx, key))
	}
	if err != nil {
		return WebSession{}, err
	}
	if now.Sub(st.SeenAt) >= touchEvery {
		if err := s.sessions.Touch(ctx, key, now); err != nil {
			return WebSession{}, err
		}
	}
	return WebSession{ID: id, Actor: actor, CSRF: st.CSRF}, nil
}

// EndSession signs the session out.
func (s *Service) EndSession(ctx context.Context, id string) error {
	return s.sessions.Delete(ctx, hashSessionID(id))
}

// SetFlash keeps a message for the session's next page.
func (s *Service) SetFlash(ctx context.Context, id, msg string) error {
	return s.sessions.SetFlash(ctx, hashSessionID(id), msg)
}

// PopFlash returns the session's message for this page, once.
func (s *Service) PopFlash(ctx context.Context, id string) (string, error) {
	return s.sessions.PopFlash(ctx, hashSessionID(id))
}

var errNoSession = domain.Errorf(domain.KindUnauthorized, "no session; sign in")

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("auth: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashSessionID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}
