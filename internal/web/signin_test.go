package web

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// hostileNext are `next` values that a browser could follow off the site:
// schemes, hosts, protocol-relative paths, backslashes, whitespace browsers
// drop, and the same in encoded forms.
var hostileNext = []string{
	"//evil.example/", "///evil.example", "////evil.example", "/\\evil.example", "\\/evil.example", "\\\\evil.example",
	"https://evil.example/", "http:evil.example", "HTTPS://evil.example", "javascript:alert(1)", "data:text/html,x",
	"evil.example", "//evil.example@ok", "/\t/evil.example", "/\n/evil.example", "/\r/evil.example", " //evil.example",
	"/%2F%2Fevil.example", "/%2f/evil.example", "/%5Cevil.example", "/%5c%5cevil.example", "%2F%2Fevil.example",
	"/%09/evil.example", "/%0A/evil.example", "/%0d/evil.example", "/%00/evil.example", "/ /evil.example",
	"/\u3000/evil.example", "/\u00a0/evil.example", "/\u2028/evil.example", "/。evil.example", "/\uff0f\uff0fevil.example",
	"https:/\\evil.example", "/\\/evil.example", "/.//evil.example", "/..//evil.example", "/signin?next=//evil.example",
	"/%2e%2e//evil.example", "/#//evil.example", "/x#\\evil", "http://127.0.0.1@evil.example/",
}

// followsOffSite resolves a Location header as a lenient browser would and
// reports whether it leaves base's host.
func followsOffSite(base *url.URL, loc string) bool {
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(loc)
	loc = strings.ReplaceAll(loc, "\\", "/")
	u, err := url.Parse(loc)
	if err != nil {
		return true
	}
	r := base.ResolveReference(u)
	return r.Host != base.Host || (r.Scheme != "http" && r.Scheme != "https")
}

// TestSignInNextStaysOnSite: whatever `next` holds, signing in (or visiting
// the sign-in page while signed in) leads to a path on this site.
func TestSignInNextStaysOnSite(t *testing.T) {
	f := newFixture(t)
	base, _ := url.Parse(f.srv.URL)
	c := f.browser(t)
	for i, next := range hostileNext {
		if i%3 != 0 {
			continue // each sign-in costs a password hash; TestLocalPath takes every value
		}
		c := f.browser(t)
		_, page, _ := get(t, c, f.srv.URL+"/signin?next="+url.QueryEscape(next))
		code, _, hdr := post(t, c, f.srv.URL+"/signin", url.Values{"user": {"admin"}, "password": {password}, "csrf": {csrfOf(t, page)}, "next": {next}})
		if code != http.StatusSeeOther || followsOffSite(base, hdr.Get("Location")) || hdr.Get("Location") != "/" {
			t.Errorf("sign in with next=%q: %d to %q, want /", next, code, hdr.Get("Location"))
		}
	}
	f.signInAs(t, c, "admin", password)
	for _, next := range hostileNext {
		code, _, hdr := get(t, c, f.srv.URL+"/signin?next="+url.QueryEscape(next))
		if code != http.StatusSeeOther || hdr.Get("Location") != "/" {
			t.Errorf("signed in, GET /signin?next=%q: %d to %q, want /", next, code, hdr.Get("Location"))
		}
	}
	// Paths on the site survive, query included.
	for _, next := range []string{"/spaces/Default", "/spaces/Default/projects/My%20Shop?x=1&y=%2F", "/spaces/Default/tasks/3"} {
		code, _, hdr := get(t, c, f.srv.URL+"/signin?next="+url.QueryEscape(next))
		if code != http.StatusSeeOther || hdr.Get("Location") != next {
			t.Errorf("next=%q: %d to %q", next, code, hdr.Get("Location"))
		}
	}
	// What an anonymous visitor is sent to sign in with comes back.
	anon := f.browser(t)
	_, _, hdr := get(t, anon, f.srv.URL+"/spaces/Default/projects/Shop?tab=x")
	code, page, _ := get(t, anon, f.srv.URL+hdr.Get("Location"))
	if code != 200 {
		t.Fatalf("sign-in page: %d", code)
	}
	code, _, hdr = post(t, anon, f.srv.URL+"/signin", url.Values{"user": {"admin"}, "password": {password}, "csrf": {csrfOf(t, page)}, "next": {"/spaces/Default/projects/Shop?tab=x"}})
	if code != http.StatusSeeOther || hdr.Get("Location") != "/spaces/Default/projects/Shop?tab=x" {
		t.Errorf("back to the page: %d to %q", code, hdr.Get("Location"))
	}
}

func TestLocalPath(t *testing.T) {
	for _, p := range hostileNext {
		if got := localPath(p); got != "/" {
			t.Errorf("localPath(%q) = %q, want /", p, got)
		}
	}
}

// signInAs signs c in and fails the test unless it worked.
func (f *fixture) signInAs(t *testing.T, c *http.Client, user, pw string) {
	t.Helper()
	_, page, _ := get(t, c, f.srv.URL+"/signin")
	code, body, _ := post(t, c, f.srv.URL+"/signin", url.Values{"user": {user}, "password": {pw}, "csrf": {csrfOf(t, page)}})
	if code != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d\n%s", user, code, body)
	}
}

func signedIn(t *testing.T, f *fixture, c *http.Client) bool {
	t.Helper()
	code, _, hdr := get(t, c, f.srv.URL+"/spaces/Default")
	if code == http.StatusSeeOther && strings.HasPrefix(hdr.Get("Location"), "/signin") {
		return false
	}
	if code != 200 {
		t.Fatalf("dashboard: %d", code)
	}
	return true
}

// TestPasswordChangeEndsSessions: after a user's password changes, every
// web session that user had ends (other users' do not); the user's API keys
// are separate credentials and keep working.
func TestPasswordChangeEndsSessions(t *testing.T) {
	f := newFixture(t)
	admin := domain.WithActor(context.Background(), domain.System)
	must(t, f.auth.SetPassword(admin, "vera", "vera's first password"))
	laptop, phone, other := f.browser(t), f.browser(t), f.browser(t)
	f.signInAs(t, laptop, "vera", "vera's first password")
	f.signInAs(t, phone, "vera", "vera's first password")
	f.signInAs(t, other, "admin", password)
	key, err := f.auth.NewAPIKey(admin, "vera", "ci")
	must(t, err)
	for _, c := range []*http.Client{laptop, phone, other} {
		if !signedIn(t, f, c) {
			t.Fatal("not signed in")
		}
	}

	must(t, f.auth.SetPassword(admin, "vera", "vera's second password"))
	if signedIn(t, f, laptop) || signedIn(t, f, phone) {
		t.Error("vera's sessions survive her password change")
	}
	if !signedIn(t, f, other) {
		t.Error("admin's session ended when vera's password changed")
	}
	if code, _, _ := get(t, f.browser(t), f.srv.URL+"/spaces/Default", "Authorization", "Bearer "+key); code != 200 {
		t.Errorf("vera's API key after the password change: %d", code)
	}
	f.signInAs(t, laptop, "vera", "vera's second password")
	if !signedIn(t, f, laptop) {
		t.Error("signing in with the new password does not work")
	}
	// The same password set again is a change too: sessions end.
	must(t, f.auth.SetPassword(admin, "vera", "vera's second password"))
	if signedIn(t, f, laptop) {
		t.Error("setting the password again kept the session")
	}
}

// fromAddress is a browser whose connections come from ip (any 127/8
// address is this machine).
func (f *fixture) fromAddress(t *testing.T, ip string) *http.Client {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{
		Jar:           jar,
		Transport:     &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (f *fixture) trySignIn(t *testing.T, c *http.Client, user, pw string) (int, string, http.Header) {
	t.Helper()
	_, page, _ := get(t, c, f.srv.URL+"/signin")
	return post(t, c, f.srv.URL+"/signin", url.Values{"user": {user}, "password": {pw}, "csrf": {csrfOf(t, page)}})
}

// TestSignInThrottle: a guessing run from one address is slowed down (429
// with Retry-After, before any password is checked: even the right one),
// while the administrator signs in from another address, and from a
// browser that signed in before at the guesser's own address. Failures are
// in the audit log.
func TestSignInThrottle(t *testing.T) {
	f := newFixture(t)
	f.freeze() // waits never pass: no timing in this test
	trusted := f.fromAddress(t, "127.0.0.1")
	f.signInAs(t, trusted, "admin", password)
	_, home, _ := get(t, trusted, f.srv.URL+"/")
	post(t, trusted, f.srv.URL+"/signout", url.Values{"csrf": {csrfOf(t, home)}}) // keeps the device cookie

	guesser := f.fromAddress(t, "127.0.0.1")
	throttled := 0
	for i := 0; i < 30; i++ {
		code, body, hdr := f.trySignIn(t, guesser, "admin", "guess number "+string(rune('a'+i)))
		switch code {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			throttled++
			if hdr.Get("Retry-After") == "" || !strings.Contains(body, "too many failed sign-ins") {
				t.Fatalf("429 without Retry-After or explanation: %q\n%s", hdr.Get("Retry-After"), body)
			}
		default:
			t.Fatalf("guess %d: %d", i, code)
		}
	}
	if throttled == 0 {
		t.Fatal("30 wrong passwords in a row were never throttled")
	}
	if code, _, _ := f.trySignIn(t, guesser, "admin", password); code != http.StatusTooManyRequests {
		t.Errorf("the guesser's browser with the right password: %d, want 429 (throttled before checking)", code)
	}
	if code, _, _ := f.trySignIn(t, f.fromAddress(t, "127.0.0.2"), "admin", password); code != http.StatusSeeOther {
		t.Errorf("admin from another address: %d, want 303 (not locked out)", code)
	}
	if code, _, _ := f.trySignIn(t, trusted, "admin", password); code != http.StatusSeeOther {
		t.Errorf("admin's own browser at the guesser's address: %d, want 303", code)
	}
	admin := domain.WithActor(context.Background(), domain.System)
	events, err := f.s.Audit.List(admin, store.AuditFilter{Limit: 100})
	must(t, err)
	fails := 0
	for _, e := range events {
		if e.Action == "user.signin.fail" && e.Subject == "admin" && e.Details["address"] == "127.0.0.1" {
			fails++
		}
	}
	if fails == 0 || fails != 30-throttled {
		t.Errorf("audit has %d user.signin.fail events, want %d (one per checked wrong password)", fails, 30-throttled)
	}
}

// TestSessionOutlivesTheProcess: a session is the database's, not the
// process's — another node (or this one after a restart) knows it, sees
// its message, and signing out on one ends it on every node.
func TestSessionOutlivesTheProcess(t *testing.T) {
	f := newFixture(t)
	c, token := f.signIn(t)
	other := httptest.NewServer(New(f.s, slog.New(slog.NewTextHandler(io.Discard, nil)))) // a second node, or the first after a restart
	t.Cleanup(other.Close)
	moveCookies(t, c, f.srv.URL, other.URL)

	code, page, _ := get(t, c, other.URL+"/spaces/Default")
	if code != http.StatusOK || !strings.Contains(page, "Sign out") {
		t.Fatalf("the other node does not know the session: %d", code)
	}
	// A form from the first node's page posts on the second; its message shows there.
	code, _, hdr := post(t, c, other.URL+"/spaces", url.Values{"name": {"Ops"}, "csrf": {token}})
	if code != http.StatusSeeOther {
		t.Fatalf("create a space on the other node with the first node's token: %d", code)
	}
	_, page, _ = get(t, c, f.srv.URL+hdr.Get("Location"))
	if !strings.Contains(page, "Created space Ops.") {
		t.Errorf("the message of the form is not shown on the next page, served by the first node")
	}
	post(t, c, other.URL+"/signout", url.Values{"csrf": {token}})
	moveCookies(t, c, other.URL, f.srv.URL)
	if code, _, _ := get(t, c, f.srv.URL+"/spaces/Default"); code != http.StatusSeeOther {
		t.Errorf("signed out on one node, still signed in on the other: %d", code)
	}
}

// moveCookies copies the jar's cookies of one test server to another
// (httptest servers differ by port only, which cookies ignore, but be
// explicit).
func moveCookies(t *testing.T, c *http.Client, from, to string) {
	t.Helper()
	fu, _ := url.Parse(from)
	tu, _ := url.Parse(to)
	c.Jar.SetCookies(tu, c.Jar.Cookies(fu))
}
