package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// Client is where a sign-in comes from: a network address (the web pages
// count an IPv6 address by its /64) and the device cookie the browser sent,
// "" when none.
type Client struct {
	Address string
	Device  string
}

// Session is what a web session keeps of a sign-in: who, and a stamp of the
// password it was made with. Resume checks the stamp on every request, so
// changing the user's password — or removing the user — ends every session
// made before, on every node (the stamp is checked against the database).
// API keys are separate credentials: a password change leaves them alone
// (revoke them with `ferry user revoke-key`).
type Session struct {
	Actor domain.Actor
	Stamp string
}

// SignedIn is a successful sign-in: the session to keep, and the device
// cookie to give the browser (Throttle: the device's failures count only
// against itself).
type SignedIn struct {
	Session Session
	Device  string
}

// Throttled is the refusal of a sign-in attempt that must wait; its kind is
// KindTooManyRequests.
type Throttled struct{ Wait time.Duration }

func (e *Throttled) Error() string {
	return fmt.Sprintf("too many failed sign-ins; try again in %s", roundUp(e.Wait))
}

func (e *Throttled) Unwrap() error {
	return &domain.Error{Kind: domain.KindTooManyRequests, Msg: e.Error()}
}

func roundUp(d time.Duration) time.Duration {
	return time.Duration(math.Ceil(d.Seconds())) * time.Second
}

// maxUserName is the longest user name (domain.ValidateName).
const maxUserName = 100

var errWrongPassword = domain.Errorf(domain.KindUnauthorized, "wrong user name or password")

// SignIn checks a user's password, unless the throttle makes the attempt
// wait (a *Throttled error, before any password is checked). Unknown users
// and wrong passwords get the same answer after the same work. Every failure
// is recorded in the server-wide audit log (action user.signin.fail, with
// the address).
func (s *Service) SignIn(ctx context.Context, name, password string, c Client) (SignedIn, error) {
	if len(name) > maxUserName {
		// No user has such a name; keep the throttle's keys and the audit
		// log small whatever a guesser sends.
		name = name[:maxUserName] + "…"
	}
	att := Attempt{User: name, Address: c.Address, Device: s.deviceOf(c.Device, name)}
	if wait := s.throttle.Wait(att); wait > 0 {
		return SignedIn{}, &Throttled{Wait: wait}
	}
	u, hash, err := s.users.PasswordHash(ctx, name)
	known := err == nil
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return SignedIn{}, err
	}
	if !known || hash == "" {
		hash = s.decoyHash() // the same work as a real check, so timing does not tell
	}
	if !checkPassword(hash, password) || !known {
		tripped := s.throttle.Failed(att, known)
		details := map[string]string{"address": c.Address, "known": fmt.Sprint(known)}
		if att.Device != "" {
			details["device"] = "signed in before"
		}
		if tripped {
			details["throttled"] = "true"
		}
		anon := domain.WithActor(ctx, domain.Actor{Name: "anonymous"})
		if err := s.audit.Record(anon, 0, "user.signin.fail", name, details); err != nil {
			return SignedIn{}, err
		}
		return SignedIn{}, errWrongPassword
	}
	s.throttle.Succeeded(att)
	device := c.Device
	if att.Device == "" {
		device = s.newDevice(name)
	}
	return SignedIn{
		Session: Session{Actor: domain.Actor{UserID: u.ID, Name: u.Name, IsAdmin: u.IsAdmin}, Stamp: stampOf(hash)},
		Device:  device,
	}, nil
}

// Resume returns the current actor of a session, or an Unauthorized error
// when the session has ended: the user is gone or its password changed.
func (s *Service) Resume(ctx context.Context, se Session) (domain.Actor, error) {
	u, hash, err := s.users.PasswordHash(ctx, se.Actor.Name)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Actor{}, errSessionEnded
	}
	if err != nil {
		return domain.Actor{}, err
	}
	if u.ID != se.Actor.UserID || subtle.ConstantTimeCompare([]byte(stampOf(hash)), []byte(se.Stamp)) != 1 {
		return domain.Actor{}, errSessionEnded
	}
	return domain.Actor{UserID: u.ID, Name: u.Name, IsAdmin: u.IsAdmin}, nil
}

var errSessionEnded = domain.Errorf(domain.KindUnauthorized, "your session has ended (the password changed or the user was removed); sign in again")

// stampOf identifies a password hash without revealing it.
func stampOf(hash string) string {
	sum := sha256.Sum256([]byte("ferry-session:" + hash))
	return hex.EncodeToString(sum[:16])
}

// A device cookie is "<nonce>.<mac>": a random nonce naming one browser,
// and an HMAC binding it to the user name it signed in as, keyed by a
// secret of this process.
func (s *Service) newDevice(user string) string {
	nonce := make([]byte, 16)
	rand.Read(nonce)
	n := base64.RawURLEncoding.EncodeToString(nonce)
	return n + "." + s.deviceMAC(user, n)
}

func (s *Service) deviceMAC(user, nonce string) string {
	m := hmac.New(sha256.New, s.deviceKey)
	m.Write([]byte("ferry-device\x00" + user + "\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// deviceOf returns the device named by cookie if it signed in as user
// before, else "".
func (s *Service) deviceOf(cookie, user string) string {
	nonce, mac, ok := strings.Cut(cookie, ".")
	if !ok || len(nonce) != 22 || !hmac.Equal([]byte(mac), []byte(s.deviceMAC(user, nonce))) {
		return ""
	}
	return nonce
}

// decoyHash is a hash no password matches, checked for unknown users.
func (s *Service) decoyHash() string {
	s.decoy.once.Do(func() {
		b := make([]byte, 32)
		rand.Read(b)
		s.decoy.hash = hashPassword(base64.RawStdEncoding.EncodeToString(b))
	})
	return s.decoy.hash
}
