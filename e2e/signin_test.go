package e2e

import (
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// webClient is a browser stand-in whose connections come from ip (any
// 127/8 address is this machine); it does not follow redirects.
func webClient(ip string) *http.Client {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{
		Jar:           jar,
		Transport:     &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// webSignIn posts the sign-in form and returns the status and Location.
func webSignIn(t *testing.T, c *http.Client, base, user, pw, next string) (int, string) {
	t.Helper()
	resp, err := c.Get(base + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(t, resp)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no sign-in form (%d):\n%s", resp.StatusCode, page)
	}
	resp, err = c.PostForm(base+"/signin", url.Values{"user": {user}, "password": {pw}, "csrf": {m[1]}, "next": {next}})
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	return resp.StatusCode, resp.Header.Get("Location")
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// webSignedIn reports whether c's session still opens the dashboard.
func webSignedIn(t *testing.T, c *http.Client, base string) bool {
	t.Helper()
	resp, err := c.Get(base + "/spaces/Default")
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	return resp.StatusCode == http.StatusOK
}

// TestWebSessions drives the real server's sign-in form: `next` never
// leads off the site; `ferry user passwd` ends the user's web sessions but
// not other users' nor the user's API keys; a guessing run against admin
// from one address is throttled (and audited) while admin signs in from
// another address.
func TestWebSessions(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t, "FERRY_ADMIN_PASSWORD="+webPassword)

	for _, next := range []string{"//evil.example", "/\\evil.example", "/\t/evil.example", "/%2F%2Fevil.example", "https://evil.example", "/%5Cevil.example", "/..//evil.example", "javascript:alert(1)"} {
		code, loc := webSignIn(t, webClient("127.0.0.1"), srv.URL, "admin", webPassword, next)
		if code != http.StatusSeeOther || loc != "/" {
			t.Errorf("sign in with next=%q: %d to %q, want /", next, code, loc)
		}
	}
	if code, loc := webSignIn(t, webClient("127.0.0.1"), srv.URL, "admin", webPassword, "/spaces/Default"); code != http.StatusSeeOther || loc != "/spaces/Default" {
		t.Errorf("next=/spaces/Default: %d to %q", code, loc)
	}

	// A password change ends that user's sessions, not others'.
	srv.Must("user", "create", "dora")
	srv.RunInput("dora's first password\n", "user", "passwd", "dora")
	key := strings.TrimSpace(srv.Must("user", "apikey", "dora").Stdout)
	srv.Must("team", "create", "Viewers", "--role", "viewer", "--user", "dora")
	dora1, dora2, admin := webClient("127.0.0.1"), webClient("127.0.0.1"), webClient("127.0.0.1")
	for _, c := range []*http.Client{dora1, dora2} {
		if code, _ := webSignIn(t, c, srv.URL, "dora", "dora's first password", "/"); code != http.StatusSeeOther {
			t.Fatalf("dora signs in: %d", code)
		}
	}
	webSignIn(t, admin, srv.URL, "admin", webPassword, "/")
	if !webSignedIn(t, dora1, srv.URL) || !webSignedIn(t, admin, srv.URL) {
		t.Fatal("sessions do not work")
	}
	srv.RunInput("dora's second password\n", "user", "passwd", "dora")
	if webSignedIn(t, dora1, srv.URL) || webSignedIn(t, dora2, srv.URL) {
		t.Error("dora's web sessions survive `ferry user passwd dora`")
	}
	if !webSignedIn(t, admin, srv.URL) {
		t.Error("admin's session ended when dora's password changed")
	}
	if r := bin.Run(t, "", "--server", srv.URL, "--api-key", key, "project", "list"); r.Code != 0 {
		t.Errorf("dora's API key stopped working after a password change:\n%s", r.Out())
	}

	// Guessing admin's password from 127.0.0.3 is throttled; admin from
	// 127.0.0.4 is not locked out.
	throttled := false
	for i := 0; i < 40 && !throttled; i++ {
		code, _ := webSignIn(t, webClient("127.0.0.3"), srv.URL, "admin", "guess-"+strings.Repeat("x", i), "/")
		switch code {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			throttled = true
		default:
			t.Fatalf("guess %d: %d", i, code)
		}
	}
	if !throttled {
		t.Error("40 wrong passwords from one address were never throttled")
	}
	if code, _ := webSignIn(t, webClient("127.0.0.4"), srv.URL, "admin", webPassword, "/"); code != http.StatusSeeOther {
		t.Errorf("admin from another address during the guessing run: %d, want 303", code)
	}
	audit := srv.Must("audit", "list", "--all").Stdout
	contains(t, lineWith(t, audit, "user.signin.fail"), "anonymous", "admin", "address=127.0.0.3")
}
