package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
	"unicode"

	wire "github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/auth"
	"github.com/ferrydeploy/ferry/internal/domain"
)

// Sessions live in the database (auth.StartSession), keyed by the SHA-256
// of a random 256-bit id that only the browser holds, in an HttpOnly,
// SameSite=Lax cookie (Secure over TLS); every node knows them and a
// restart keeps them. A session ends when signed out, after
// auth.SessionIdle without a request, auth.SessionMax after sign-in, or
// when its user's password changes or the user is removed.
const (
	sessionCookie = "ferry_session"
	signInCookie  = "ferry_signin" // the sign-in form's CSRF token (double submit)
	deviceCookie  = "ferry_device" // this browser signed in before (auth.Throttle)
	sessionMax    = auth.SessionMax
	deviceMax     = 365 * 24 * time.Hour
	csrfField     = "csrf"
)

type sessions struct {
	// passwords bounds concurrent password checks: each costs 64 MiB of
	// argon2id memory.
	passwords chan struct{}
}

func newSessions() *sessions {
	return &sessions{passwords: make(chan struct{}, 4)}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("web: no randomness: " + err.Error())
	}
	return b
}

func randomToken() string { return base64.RawURLEncoding.EncodeToString(randomBytes(32)) }

// visitor returns who is calling: a bearer API key wins over a cookie.
// A bad key is an error (401), no credentials at all is nil. A bearer
// visitor needs no CSRF token: a browser never sends an Authorization
// header to another site on its own, so a form post carrying one was
// written by the key's holder (a script).
func (h *Handler) visitor(r *http.Request) (*visitor, error) {
	if authz := r.Header.Get("Authorization"); authz != "" {
		key, ok := strings.CutPrefix(authz, "Bearer ")
		if !ok {
			return nil, domain.Errorf(domain.KindUnauthorized, "the Authorization header must be `Bearer <api-key>`")
		}
		a, err := h.s.Auth.Authenticate(r.Context(), strings.TrimSpace(key))
		if err != nil {
			return nil, err
		}
		return &visitor{actor: a, bearer: true}, nil
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, nil
	}
	se, err := h.s.Auth.ResumeSession(r.Context(), c.Value)
	if domain.KindOf(err) == domain.KindUnauthorized {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &visitor{actor: se.Actor, csrf: se.CSRF, session: se.ID}, nil
}

var crossOrigin = http.NewCrossOriginProtection()

// checkCSRF refuses a state-changing request that comes from another site
// (Sec-Fetch-Site, else Origin against Host) or, from a session, lacks
// the session's token. A bearer key is proof enough (visitor).
func checkCSRF(r *http.Request, v *visitor) error {
	if err := crossOrigin.Check(r); err != nil {
		return domain.Errorf(domain.KindForbidden, "refused: the form was sent from another site")
	}
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(8 << 20)
	} else {
		err = r.ParseForm()
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	if err != nil {
		return domain.Invalidf("malformed form: %v", err)
	}
	if v.bearer {
		return nil
	}
	want, got := v.csrf, r.PostFormValue(csrfField)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return domain.Errorf(domain.KindForbidden, "refused: the form's security token is missing or stale; reload the page and try again")
	}
	return nil
}

type signInPage struct {
	Next    string
	User    string
	Token   string
	Problem string
}

func (signInPage) title() string { return "Sign in" }

// localPath returns p when it is a path on this site to go to after signing
// in, and "/" otherwise. Browsers are lenient in ways that turn innocent
// looking text into another site: they drop tabs and newlines ("/\t/evil"),
// read a backslash as a slash ("/\\evil"), and take "//evil" as a host. So p
// must be printable ASCII without spaces or backslashes, parse as a bare
// path (no scheme, host, user or fragment), and its decoded path must be
// clean (no "//", "." or ".." segments: "/%2F%2Fevil", "/..//evil") and
// hold no backslash or control character ("/%5Cevil", "/%09/evil").
// Anything else, and the sign-in page itself, leads home.
func localPath(p string) string {
	if p == "" || len(p) > 2048 || p[0] != '/' || strings.HasPrefix(p, "//") {
		return "/"
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || u.Fragment != "" {
		return "/"
	}
	decoded := u.Path
	clean := path.Clean(decoded)
	if strings.HasSuffix(decoded, "/") && clean != "/" {
		clean += "/"
	}
	if decoded != clean || strings.HasPrefix(clean, "/signin") {
		return "/" // "//", "/./", "/../" and the like: no page of ours has them
	}
	for _, r := range decoded {
		if r == '\\' || unicode.IsControl(r) {
			return "/"
		}
	}
	return p
}

func (h *Handler) signInPage(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.URL.Query().Get("next"))
	if v, _ := h.visitor(r); v != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	h.showSignIn(w, r, http.StatusOK, signInPage{Next: next})
}

func (h *Handler) showSignIn(w http.ResponseWriter, r *http.Request, status int, p signInPage) {
	p.Token = randomToken()
	http.SetCookie(w, &http.Cookie{
		Name: signInCookie, Value: p.Token, Path: "/signin", MaxAge: 3600,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, status, "signin", p)
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	next := localPath(r.PostFormValue("next"))
	c, err := r.Cookie(signInCookie)
	if err != nil || crossOrigin.Check(r) != nil ||
		subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue(csrfField))) != 1 {
		h.showSignIn(w, r, http.StatusForbidden, signInPage{Next: next, Problem: "The sign-in form expired or came from another site. Please try again."})
		return
	}
	name := strings.TrimSpace(r.PostFormValue("user"))
	client := auth.Client{Address: clientAddress(r)}
	if c, err := r.Cookie(deviceCookie); err == nil {
		client.Device = c.Value
	}
	h.sessions.passwords <- struct{}{}
	in, err := h.s.Auth.SignIn(r.Context(), name, r.PostFormValue("password"), client)
	<-h.sessions.passwords
	if err != nil {
		var throttled *auth.Throttled
		status, msg := wire.Kind(domain.KindOf(err)).Status(), domain.Message(err)
		switch {
		case errors.As(err, &throttled):
			w.Header().Set("Retry-After", fmt.Sprint(int(throttled.Wait.Seconds())+1))
			h.log.Warn("sign-in throttled", "user", name, "address", client.Address, "wait", throttled.Wait)
		case domain.KindOf(err) == domain.KindInternal:
			h.log.Error("sign in", "err", err)
		default:
			h.log.Warn("sign-in failed", "user", name, "address", client.Address)
		}
		h.showSignIn(w, r, status, signInPage{Next: next, User: name, Problem: msg})
		return
	}
	id, err := h.s.Auth.StartSession(r.Context(), in.Session)
	if err != nil {
		h.log.Error("start session", "err", err)
		h.showSignIn(w, r, http.StatusInternalServerError, signInPage{Next: next, User: name, Problem: "The server could not start a session; see its log."})
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: "/", MaxAge: int(sessionMax.Seconds()),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
	http.SetCookie(w, &http.Cookie{
		Name: deviceCookie, Value: in.Device, Path: "/signin", MaxAge: int(deviceMax.Seconds()),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
	http.SetCookie(w, &http.Cookie{Name: signInCookie, Path: "/signin", MaxAge: -1})
	h.log.Info("signed in", "user", in.Session.Actor.Name, "address", client.Address)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// clientAddress is the address a request came from, as the throttle counts
// it: an IPv4 address, or the /64 network of an IPv6 address (one machine
// commonly holds a whole /64). Forwarding headers are not believed: anyone
// can send them.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request) error {
	if v := visitorFrom(r.Context()); v != nil && v.session != "" {
		if err := h.s.Auth.EndSession(r.Context(), v.session); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return nil
}

// stash keeps uploaded bundles between preview and import, per user, for a
// while; the import reads the very bytes that were previewed.
type stash struct {
	mu    sync.Mutex
	now   func() time.Time
	items map[stashKey]stashItem
}

type stashKey struct {
	user   string
	digest string
}

type stashItem struct {
	data []byte
	at   time.Time
}

const (
	stashTTL   = 30 * time.Minute
	stashLimit = 256 << 20 // bytes held at most; the oldest go first
)

func newStash(now func() time.Time) *stash {
	return &stash{now: now, items: map[stashKey]stashItem{}}
}

func (s *stash) put(user, digest string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.items[stashKey{user, digest}] = stashItem{data: data, at: now}
	total := 0
	for k, it := range s.items {
		if now.Sub(it.at) > stashTTL {
			delete(s.items, k)
			continue
		}
		total += len(it.data)
	}
	for total > stashLimit && len(s.items) > 1 {
		var oldest stashKey
		var oldestAt time.Time
		for k, it := range s.items {
			if oldestAt.IsZero() || it.at.Before(oldestAt) {
				oldest, oldestAt = k, it.at
			}
		}
		total -= len(s.items[oldest].data)
		delete(s.items, oldest)
	}
}

func (s *stash) get(user, digest string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[stashKey{user, digest}]
	if !ok || s.now().Sub(it.at) > stashTTL {
		return nil, false
	}
	return it.data, true
}

func (s *stash) drop(user, digest string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.items, stashKey{user, digest})
}
