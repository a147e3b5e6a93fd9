package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/auth"
	"github.com/ferrydeploy/ferry/internal/catalog"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/release"
	"github.com/ferrydeploy/ferry/internal/services"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/trust"
)

const (
	password = "correct horse battery staple"
	secret   = "tok-S3CRET-value-42"
	secret2  = "second-S3CRET-99"
)

const spaceYAML = `environments:
  - name: Development
  - name: Production
remoteEnvironments: ["Prod: Production"]
lifecycles:
  - name: Remote
    phases:
      - {name: Prod, environments: ["Prod: Production"]}
  - name: Main
    phases:
      - {name: Dev, environments: [Development]}
      - {name: Live, environments: [Production]}
projects:
  - name: Shop
    lifecycle: Main
    templates:
      - {name: DbPassword, type: sensitive, required: true}
    variables:
      - {name: Greeting, value: hello}
      - {name: Token, value: ` + secret + `, sensitive: true}
    process:
      - name: Announce
        type: script
        script: echo "#{Greeting} #{Token}"
  - name: Api
    lifecycle: Remote
    templates:
      - {name: ApiKey, label: API key, type: sensitive, required: true}
      - {name: Region, type: select, options: [eu, us], required: true}
    variables:
      - {name: Token, value: ` + secret + `, sensitive: true}
      - {name: Banner, value: live-banner, environments: ["Prod: Production"]}
    process:
      - {name: Call, type: script, script: "echo #{Banner} #{ApiKey} #{Region}"}
`

const prodYAML = `environments: [{name: Production}]
lifecycles:
  - {name: Live, phases: [{name: Live, environments: [Production]}]}
  - {name: Other, phases: [{name: Live, environments: [Production]}]}
`

type fixture struct {
	srv     *httptest.Server
	key     string // the admin's API key
	catalog *catalog.Service
	auth    *auth.Service
	s       services.Set
	env     *servicetest.Env

	mu     sync.Mutex
	frozen time.Time // when set, the services' clock stands still
}

// now is the services' clock.
func (f *fixture) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.frozen.IsZero() {
		return f.frozen
	}
	return time.Now().UTC()
}

// freeze stops the services' clock, so that waits never pass.
func (f *fixture) freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.frozen = time.Now().UTC()
}

// newFixture runs the pages over a real SQLite store with the real
// services, a space with a project, two releases and a secret in each.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{}
	env := servicetest.New(t, servicetest.Clock(f.now))
	s, dir := env.Set, env.Dir
	cat, tr, rel := s.Catalog, s.Trust, s.Releases
	f.catalog, f.auth, f.s, f.env = cat, s.Auth, s, env
	keyFile := filepath.Join(dir, "admin.key")
	if _, err := f.auth.Bootstrap(ctx, keyFile, password); err != nil {
		t.Fatal(err)
	}
	key, _ := os.ReadFile(keyFile)
	f.key = strings.TrimSpace(string(key))
	admin := env.Ctx
	env.CreateSpace(domain.DefaultSpace)
	env.CreateSpace("Prod")
	env.Trust(domain.DefaultSpace, "Prod", "promote,receipts")
	_, defCert, err := tr.Certificate(admin, domain.DefaultSpace)
	must(t, err)
	_, _, err = tr.Add(admin, "Prod", trust.AddRequest{Name: "Dev", Certificate: string(defCert), Trust: "releases"})
	must(t, err)
	env.Apply(domain.DefaultSpace, spaceYAML)
	env.Apply("Prod", prodYAML)
	env.Release(domain.DefaultSpace, "Api", "2.0.0")
	env.Release(domain.DefaultSpace, "Shop", "1.0.0")
	_, err = cat.SetVariable(admin, domain.DefaultSpace, "Shop", catalog.VariableChange{Name: "Token", Value: secret2, Sensitive: true})
	must(t, err)
	_, err = cat.SetVariable(admin, domain.DefaultSpace, "Shop", catalog.VariableChange{Name: "Greeting", Value: "hi there"})
	must(t, err)
	_, err = rel.Create(admin, domain.DefaultSpace, "Shop", release.CreateRequest{Version: "1.1.0"})
	must(t, err)
	_, err = cat.SetVariable(admin, domain.DefaultSpace, "Shop", catalog.VariableChange{Name: "DbPassword", Value: "db-S3CRET-dev", Sensitive: true, Environments: []string{"Development"}})
	must(t, err)
	env.User("vera", false)
	_, err = s.Teams.Put(admin, domain.DefaultSpace, access.TeamRequest{Name: "Viewers", Role: ptr("viewer"), Members: &[]string{"vera"}}, true)
	must(t, err)

	f.srv = httptest.NewServer(New(s, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(f.srv.Close)
	return f
}

// TestBundleImportThroughPages promotes a release to a file on one space's
// page, previews and imports it on the other's, and fills in the values it
// still needs.
func TestBundleImportThroughPages(t *testing.T) {
	f := newFixture(t)
	c, token := f.signIn(t)
	code, data, hdr := post(t, c, f.srv.URL+"/spaces/Default/projects/Api/promote", url.Values{"version": {"2.0.0"}, "to": {"Prod"}, "how": {"file"}, "csrf": {token}})
	if code != 200 || !strings.Contains(hdr.Get("Content-Disposition"), `attachment; filename="Api-2.0.0.bundle"`) {
		t.Fatalf("promote: %d %q\n%s", code, hdr.Get("Content-Disposition"), data)
	}
	if strings.Contains(data, secret) {
		t.Fatal("the bundle holds the secret in plaintext")
	}
	code, page := upload(t, c, f.srv.URL+"/spaces/Prod/bundles/preview", "bundle", "api.bundle", data, url.Values{"csrf": {token}})
	if code != 200 {
		t.Fatalf("preview: %d\n%s", code, page)
	}
	for _, want := range []string{"Verified", "Default: Api", "2.0.0", "encrypted to this space", "ApiKey", "live-banner", "Call"} {
		if !strings.Contains(page, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	digest := regexp.MustCompile(`name="digest" value="([^"]+)"`).FindStringSubmatch(page)
	if digest == nil {
		t.Fatalf("no import form in the preview:\n%s", page)
	}
	code, page, _ = post(t, c, f.srv.URL+"/spaces/Prod/bundles/import", url.Values{"digest": {digest[1]}, "lifecycle": {"Other"}, "csrf": {token}})
	if code != 200 || !strings.Contains(page, "Imported Default: Api 2.0.0") || !strings.Contains(page, `type="password"`) || !strings.Contains(page, "<option>eu</option>") {
		t.Fatalf("import: %d\n%s", code, page)
	}
	code, _, hdr = post(t, c, f.srv.URL+"/spaces/Prod/projects/"+url.PathEscape("Default: Api")+"/values", url.Values{
		"name": {"ApiKey", "Region"}, "environment": {"Production", "Production"}, "value": {"api-S3CRET-key", "eu"}, "csrf": {token}})
	if code != http.StatusSeeOther {
		t.Fatalf("set values: %d", code)
	}
	_, page, _ = get(t, c, f.srv.URL+hdr.Get("Location"))
	if !strings.Contains(page, "Set 2 value(s).") || strings.Contains(page, "api-S3CRET-key") || !strings.Contains(page, "sensitive, set") {
		t.Errorf("project page after setting values:\n%s", page)
	}
	// The same bundle again changes nothing.
	code, page = upload(t, c, f.srv.URL+"/spaces/Prod/bundles/preview", "bundle", "api.bundle", data, url.Values{"csrf": {token}})
	_, page, _ = post(t, c, f.srv.URL+"/spaces/Prod/bundles/import", url.Values{"digest": {digest[1]}, "lifecycle": {"Other"}, "csrf": {token}})
	if !strings.Contains(page, "Already imported") {
		t.Errorf("second import:\n%s", page)
	}
	// An import this node did not preview (another node behind a load
	// balancer showed it) says what to do instead of failing blankly.
	code, page, _ = post(t, c, f.srv.URL+"/spaces/Prod/bundles/import", url.Values{"digest": {"sha256:" + strings.Repeat("ab", 32)}, "lifecycle": {"Other"}, "csrf": {token}})
	if code != http.StatusBadRequest || !strings.Contains(page, "upload it again") || !strings.Contains(page, "ferry bundle import") || !strings.Contains(page, "sticky") {
		t.Errorf("import of a bundle this node never previewed: %d\n%s", code, page)
	}
	// A tampered bundle is refused in the preview, with no import button.
	bad := strings.Replace(data, `"payload": "`, `"payload": "x`, 1)
	code, page = upload(t, c, f.srv.URL+"/spaces/Prod/bundles/preview", "bundle", "bad.bundle", bad, url.Values{"csrf": {token}})
	if code < 400 && !strings.Contains(page, "Refused") || strings.Contains(page, "/bundles/import") {
		t.Errorf("tampered bundle: %d\n%s", code, page)
	}
}

func upload(t *testing.T, c *http.Client, u, field, name, content string, form url.Values) (int, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, vs := range form {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile(field, name)
	io.WriteString(fw, content)
	mw.Close()
	req, _ := http.NewRequest("POST", u, &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

// browser is a client with a cookie jar that does not follow redirects.
func (f *fixture) browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, url string, header ...string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func post(t *testing.T, c *http.Client, u string, form url.Values, header ...string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in page:\n%s", page)
	}
	return m[1]
}

// signIn signs in as admin and returns the client and a CSRF token.
func (f *fixture) signIn(t *testing.T) (*http.Client, string) {
	t.Helper()
	c := f.browser(t)
	_, page, _ := get(t, c, f.srv.URL+"/signin")
	code, _, hdr := post(t, c, f.srv.URL+"/signin", url.Values{"user": {"admin"}, "password": {password}, "csrf": {csrfOf(t, page)}, "next": {"/"}})
	if code != http.StatusSeeOther || hdr.Get("Location") != "/" {
		t.Fatalf("sign in: %d to %q", code, hdr.Get("Location"))
	}
	_, page, _ = get(t, c, f.srv.URL+"/")
	return c, csrfOf(t, page)
}

func TestAnonymousVisitorsAreSentToSignIn(t *testing.T) {
	f := newFixture(t)
	c := f.browser(t)
	for _, p := range []string{"/", "/spaces/Default", "/spaces/Default/projects/Shop/releases/1.0.0", "/spaces/Default/audit", "/nope"} {
		code, _, hdr := get(t, c, f.srv.URL+p)
		if code != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/signin?next=") {
			t.Errorf("GET %s: %d to %q, want 303 to /signin", p, code, hdr.Get("Location"))
		}
	}
	code, _, hdr := post(t, c, f.srv.URL+"/spaces/Default/projects/Shop/deploy", url.Values{"version": {"1.0.0"}, "environment": {"Development"}})
	if code != http.StatusSeeOther || hdr.Get("Location") != "/signin" {
		t.Errorf("anonymous POST: %d to %q", code, hdr.Get("Location"))
	}
	code, body, _ := get(t, c, f.srv.URL+"/signin")
	if code != 200 || !strings.Contains(body, `type="password"`) {
		t.Errorf("sign-in page: %d", code)
	}
	if code, _, _ := get(t, c, f.srv.URL+"/static/style.css"); code != 200 {
		t.Errorf("stylesheet: %d", code)
	}
}

func TestSignInSessionAndSignOut(t *testing.T) {
	f := newFixture(t)
	c := f.browser(t)
	_, page, _ := get(t, c, f.srv.URL+"/signin")
	token := csrfOf(t, page)

	code, body, _ := post(t, c, f.srv.URL+"/signin", url.Values{"user": {"admin"}, "password": {"wrong password!"}, "csrf": {token}})
	if code != http.StatusUnauthorized || !strings.Contains(body, "wrong user name or password") {
		t.Fatalf("wrong password: %d", code)
	}
	_, page, _ = get(t, c, f.srv.URL+"/signin")
	code, _, hdr := post(t, c, f.srv.URL+"/signin", url.Values{"user": {"admin"}, "password": {password}, "csrf": {csrfOf(t, page)}, "next": {"//evil.example/"}})
	if code != http.StatusSeeOther || hdr.Get("Location") != "/" {
		t.Fatalf("sign in: %d to %q (an off-site next must become /)", code, hdr.Get("Location"))
	}
	var cookie *http.Cookie
	for _, ck := range (&http.Response{Header: hdr}).Cookies() {
		if ck.Name == sessionCookie {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || len(cookie.Value) != 43 {
		t.Fatalf("session cookie: %+v", cookie)
	}
	code, body, _ = get(t, c, f.srv.URL+"/")
	if code != 200 || !strings.Contains(body, "Default") || !strings.Contains(body, "Sign out") {
		t.Fatalf("home after sign in: %d\n%s", code, body)
	}
	code, _, _ = post(t, c, f.srv.URL+"/signout", url.Values{"csrf": {csrfOf(t, body)}})
	if code != http.StatusSeeOther {
		t.Fatalf("sign out: %d", code)
	}
	// The old cookie no longer works, even if a browser kept it.
	c2 := f.browser(t)
	u, _ := url.Parse(f.srv.URL)
	c2.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: cookie.Value}})
	if code, _, _ := get(t, c2, f.srv.URL+"/"); code != http.StatusSeeOther {
		t.Errorf("after sign out the session still works: %d", code)
	}
}

func TestSignInRefusesForgedForm(t *testing.T) {
	f := newFixture(t)
	c := f.browser(t)
	get(t, c, f.srv.URL+"/signin")
	code, _, hdr := post(t, c, f.srv.URL+"/signin", url.Values{"user": {"admin"}, "password": {password}, "csrf": {"made-up"}})
	if code != http.StatusForbidden || hdr.Get("Set-Cookie") != "" && strings.Contains(hdr.Get("Set-Cookie"), sessionCookie+"=") {
		t.Errorf("forged sign-in: %d %q", code, hdr.Get("Set-Cookie"))
	}
}

func TestCSRF(t *testing.T) {
	f := newFixture(t)
	c, token := f.signIn(t)
	deploy := f.srv.URL + "/spaces/Default/projects/Shop/deploy"
	form := func(tok string) url.Values {
		return url.Values{"version": {"1.0.0"}, "environment": {"Development"}, "csrf": {tok}}
	}
	for name, tc := range map[string]struct {
		form   url.Values
		header []string
	}{
		"no token":     {form(""), nil},
		"wrong token":  {form("x" + token), nil},
		"cross-site":   {form(token), []string{"Sec-Fetch-Site", "cross-site"}},
		"other origin": {form(token), []string{"Origin", "https://evil.example"}},
	} {
		code, body, _ := post(t, c, deploy, tc.form, tc.header...)
		if code != http.StatusForbidden || !strings.Contains(body, "refused") {
			t.Errorf("%s: %d, want 403 refusal", name, code)
		}
	}
	_, tasks, _ := get(t, c, f.srv.URL+"/spaces/Default/tasks")
	if strings.Contains(tasks, "Deploy Shop") {
		t.Fatal("a refused form queued a deployment")
	}
	code, _, hdr := post(t, c, deploy, form(token), "Origin", f.srv.URL, "Sec-Fetch-Site", "same-origin")
	if code != http.StatusSeeOther || !strings.Contains(hdr.Get("Location"), "/tasks/") {
		t.Fatalf("deploy with token: %d to %q", code, hdr.Get("Location"))
	}
	task := f.srv.URL + hdr.Get("Location")
	code, body, _ := get(t, c, task)
	if code != 200 || !strings.Contains(body, "Deploy Shop 1.0.0 to Development") || !strings.Contains(body, "Cancel task") {
		t.Errorf("task page: %d", code)
	}
	// No runner here, so the task waits queued; cancel it from its page.
	if code, _, _ := post(t, c, task+"/cancel", url.Values{"csrf": {token}}); code != http.StatusSeeOther {
		t.Fatalf("cancel: %d", code)
	}
	_, body, _ = get(t, c, task)
	if !strings.Contains(body, "Cancelled") || !strings.Contains(body, "Cancellation requested.") || strings.Contains(body, "Cancel task") {
		t.Errorf("task page after cancel:\n%s", body)
	}
	_, logJSON, _ := get(t, c, task+"/log?after=0")
	if !strings.Contains(logJSON, `"done":true`) || !strings.Contains(logJSON, `"state":"Cancelled"`) {
		t.Errorf("log update: %s", logJSON)
	}
}

func TestSessionCookieIsSecureOverTLS(t *testing.T) {
	f := newFixture(t)
	tls := httptest.NewTLSServer(f.srv.Config.Handler)
	defer tls.Close()
	c := tls.Client()
	c.Jar, _ = cookiejar.New(nil)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	_, page, _ := get(t, c, tls.URL+"/signin")
	_, _, hdr := post(t, c, tls.URL+"/signin", url.Values{"user": {"admin"}, "password": {password}, "csrf": {csrfOf(t, page)}})
	for _, ck := range (&http.Response{Header: hdr}).Cookies() {
		if ck.Name == sessionCookie {
			if !ck.Secure || !ck.HttpOnly {
				t.Errorf("session cookie over TLS: %+v", ck)
			}
			return
		}
	}
	t.Fatal("no session cookie")
}

func TestBearerKeyWorksOnEveryPage(t *testing.T) {
	f := newFixture(t)
	c := f.browser(t)
	auth := []string{"Authorization", "Bearer " + f.key}
	code, body, _ := get(t, c, f.srv.URL+"/spaces/Default/projects/Shop", auth...)
	if code != 200 || !strings.Contains(body, "Announce") {
		t.Fatalf("project page with bearer key: %d", code)
	}
	if strings.Contains(body, "Sign out") {
		t.Error("a bearer-key page offers to sign out")
	}
	// A script with a bearer key posts a form as it is: no token to fetch
	// first (a browser never sends the header across sites by itself).
	code, _, _ = post(t, c, f.srv.URL+"/spaces/Default/projects/Shop/deploy",
		url.Values{"version": {"1.0.0"}, "environment": {"Development"}}, auth...)
	if code != http.StatusSeeOther {
		t.Fatalf("bearer POST without token: %d, want 303", code)
	}
	code, _, _ = post(t, c, f.srv.URL+"/spaces/Default/projects/Shop/deploy",
		url.Values{"version": {"1.0.0"}, "environment": {"Development"}}, append(auth, "Sec-Fetch-Site", "cross-site")...)
	if code != http.StatusForbidden {
		t.Errorf("bearer POST from another site: %d, want 403", code)
	}
	code, body, _ = get(t, c, f.srv.URL+"/", "Authorization", "Bearer ferry_nope")
	if code != http.StatusUnauthorized || !strings.Contains(body, "unknown or revoked") {
		t.Errorf("bad key: %d", code)
	}
}

func TestRefusalIsFriendly403(t *testing.T) {
	f := newFixture(t)
	ctx := domain.WithActor(context.Background(), domain.System)
	key, err := f.auth.NewAPIKey(ctx, "vera", "test") // a viewer of Default, nothing in Prod
	must(t, err)
	c := f.browser(t)
	auth := []string{"Authorization", "Bearer " + key}
	code, _, _ := get(t, c, f.srv.URL+"/spaces/Default/projects/Shop", auth...)
	if code != 200 {
		t.Fatalf("a viewer cannot see the project: %d", code)
	}
	for _, tc := range []struct {
		method, path, want string
	}{
		{"GET", "/spaces/Default/audit", `lacks permission &#34;administer-space&#34;`},
		{"POST", "/spaces/Default/projects/Shop/deploy", `lacks permission &#34;deploy&#34; for project &#34;Shop&#34; in environment &#34;Development&#34;`},
	} {
		var code int
		var page string
		if tc.method == "GET" {
			code, page, _ = get(t, c, f.srv.URL+tc.path, auth...)
		} else {
			code, page, _ = post(t, c, f.srv.URL+tc.path, url.Values{"version": {"1.0.0"}, "environment": {"Development"}}, auth...)
		}
		if code != http.StatusForbidden || !strings.Contains(page, "You may not do that") || !strings.Contains(page, tc.want) {
			t.Errorf("%s %s: %d, want a 403 page saying %s\n%s", tc.method, tc.path, code, tc.want, page)
		}
	}
	_, home, _ := get(t, c, f.srv.URL+"/", auth...)
	if strings.Contains(home, "/spaces/Prod") {
		t.Error("the space picker offers a space the user has no role in")
	}
}

// TestNonMembersCannotTellWhetherASpaceExists: every page of a space,
// asked by a user with no role in it, answers as a space that does not
// exist does: 404, the same page but for the name. Before, a space that
// existed answered 403 ("has no role in space").
func TestNonMembersCannotTellWhetherASpaceExists(t *testing.T) {
	f := newFixture(t)
	ctx := domain.WithActor(context.Background(), domain.System)
	key, err := f.auth.NewAPIKey(ctx, "vera", "test") // a viewer of Default, nothing in Prod
	must(t, err)
	c := f.browser(t)
	auth := []string{"Authorization", "Bearer " + key}
	fetch := func(method, path string) (int, string) {
		if method == "GET" {
			code, page, _ := get(t, c, f.srv.URL+path, auth...)
			return code, page
		}
		code, page, _ := post(t, c, f.srv.URL+path, url.Values{"version": {"1.0.0"}, "environment": {"Production"}}, auth...)
		return code, page
	}
	for _, route := range []string{
		"GET /spaces/{space}", "GET /spaces/{space}/apply", "POST /spaces/{space}/apply",
		"GET /spaces/{space}/projects/Shop", "POST /spaces/{space}/projects/Shop/releases",
		"POST /spaces/{space}/projects/Shop/deploy", "POST /spaces/{space}/projects/Shop/promote",
		"POST /spaces/{space}/projects/Shop/values", "GET /spaces/{space}/projects/Shop/releases/1.0.0",
		"GET /spaces/{space}/projects/Shop/compare", "POST /spaces/{space}/projects/Shop/delete",
		"POST /spaces/{space}/projects/Shop/releases/1.0.0/delete", "POST /spaces/{space}/delete",
		"GET /spaces/{space}/tasks", "GET /spaces/{space}/tasks/1", "GET /spaces/{space}/tasks/1/log",
		"POST /spaces/{space}/tasks/1/cancel", "POST /spaces/{space}/tasks/1/approve", "POST /spaces/{space}/tasks/1/abort",
		"GET /spaces/{space}/bundles", "POST /spaces/{space}/bundles/preview", "POST /spaces/{space}/bundles/import",
		"POST /spaces/{space}/bundles/pending", "GET /spaces/{space}/remote-spaces", "POST /spaces/{space}/remote-spaces",
		"POST /spaces/{space}/remote-spaces/Dev/update", "POST /spaces/{space}/remote-spaces/Dev/retry",
		"POST /spaces/{space}/remote-spaces/Dev/revoke", "POST /spaces/{space}/receipts/export",
		"POST /spaces/{space}/receipts/import", "GET /spaces/{space}/certificate", "GET /spaces/{space}/audit",
		"GET /spaces/{space}/infrastructure", "GET /spaces/{space}/tenants", "GET /spaces/{space}/tenants/Acme",
		"GET /spaces/{space}/projects/Shop/tenants", "POST /spaces/{space}/targets", "POST /spaces/{space}/targets/web/disable",
	} {
		method, path, _ := strings.Cut(route, " ")
		code, page := fetch(method, strings.Replace(path, "{space}", "Prod", 1))
		code2, page2 := fetch(method, strings.Replace(path, "{space}", "Nowhere", 1))
		if code != code2 || strings.ReplaceAll(page, "Prod", "X") != strings.ReplaceAll(page2, "Nowhere", "X") {
			t.Errorf("%s: space Prod answers %d, a space that does not exist %d\n%s\n----\n%s", route, code, code2, page, page2)
		}
		if route == "GET /spaces/{space}" && (code != http.StatusNotFound || !strings.Contains(page, "(or you are not a member of it)")) {
			t.Errorf("%s: %d, want 404 no space\n%s", route, code, page)
		}
	}
}

// TestNoSecretInAnyPage crawls every link from / as admin (after a
// deployment, so tasks and logs exist) and checks no page answers 5xx or
// holds a secret.
func TestNoSecretInAnyPage(t *testing.T) {
	f := newFixture(t)
	c, token := f.signIn(t)
	post(t, c, f.srv.URL+"/spaces/Default/projects/Shop/deploy", url.Values{"version": {"1.1.0"}, "environment": {"Development"}, "csrf": {token}})
	linkRE := regexp.MustCompile(`href="(/[^"]*)"`)
	seen := map[string]bool{}
	queue := []string{"/"}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		code, body, _ := get(t, c, f.srv.URL+strings.ReplaceAll(p, "&amp;", "&"))
		if code >= 500 {
			t.Errorf("GET %s: %d", p, code)
		}
		for _, s := range []string{secret, secret2, "db-S3CRET-dev"} {
			if strings.Contains(body, s) {
				t.Errorf("GET %s shows secret %q", p, s)
			}
		}
		for _, m := range linkRE.FindAllStringSubmatch(body, -1) {
			if !seen[m[1]] && !strings.HasPrefix(m[1], "/static/") {
				queue = append(queue, m[1])
			}
		}
	}
	for _, want := range []string{"/spaces/Default", "/spaces/Default/projects/Shop", "/spaces/Default/projects/Shop/releases/1.0.0",
		"/spaces/Default/projects/Shop/compare?from=1.0.0&amp;to=1.1.0", "/spaces/Default/tasks", "/spaces/Default/bundles",
		"/spaces/Default/remote-spaces", "/spaces/Default/audit", "/spaces/Default/certificate", "/spaces/Default/infrastructure"} {
		if !seen[want] {
			t.Errorf("no link reaches %s from /", want)
		}
	}
	_, cmp, _ := get(t, c, f.srv.URL+"/spaces/Default/projects/Shop/compare?from=1.0.0&to=1.1.0")
	for _, want := range []string{"Greeting", "hello", "hi there", "Token", "sensitive, changed"} {
		if !strings.Contains(cmp, want) {
			t.Errorf("compare page lacks %q", want)
		}
	}
}

// TestTaskPageShowsTheWholeLog: a task's page holds every line of its log,
// not the first page the service answers (5000 lines).
func TestTaskPageShowsTheWholeLog(t *testing.T) {
	f := newFixture(t)
	d, err := f.s.Deploy.Deploy(f.env.Ctx, domain.DefaultSpace, deploy.Request{Project: "Shop", Version: "1.0.0", Environment: "Development"})
	must(t, err)
	lines := make([]domain.LogLine, 6000)
	for i := range lines {
		lines[i] = domain.LogLine{At: time.Now(), Level: "info", Text: fmt.Sprintf("line %d", i+1)}
	}
	must(t, f.env.Store.Tasks().AppendLog(f.env.Ctx, d.TaskID, lines))
	code, page, _ := get(t, f.browser(t), fmt.Sprintf("%s/spaces/Default/tasks/%d", f.srv.URL, d.TaskID), "Authorization", "Bearer "+f.key)
	if code != 200 || !strings.Contains(page, ">line 1<") || !strings.Contains(page, ">line 6000<") {
		t.Errorf("task page: %d, line 6000 shown: %v", code, strings.Contains(page, ">line 6000<"))
	}
}

// TestDeleteThroughPages deletes a release and a project with the forms on
// their pages; without the CSRF token nothing is deleted.
func TestDeleteThroughPages(t *testing.T) {
	f := newFixture(t)
	c, token := f.signIn(t)
	_, page, _ := get(t, c, f.srv.URL+"/spaces/Default/projects/Shop/releases/1.1.0")
	if !strings.Contains(page, "/spaces/Default/projects/Shop/releases/1.1.0/delete") {
		t.Fatal("the release page has no delete form")
	}
	// Without ticking the confirmation nothing is deleted.
	if code, _, _ := post(t, c, f.srv.URL+"/spaces/Default/projects/Shop/releases/1.1.0/delete", url.Values{"csrf": {token}}); code != http.StatusBadRequest {
		t.Fatalf("an unconfirmed delete: %d", code)
	}
	code, _, hdr := post(t, c, f.srv.URL+"/spaces/Default/projects/Shop/releases/1.1.0/delete", url.Values{"csrf": {token}, "confirm": {"yes"}})
	if code != http.StatusSeeOther || hdr.Get("Location") != "/spaces/Default/projects/Shop" {
		t.Fatalf("delete release: %d to %q", code, hdr.Get("Location"))
	}
	if code, _, _ := get(t, c, f.srv.URL+"/spaces/Default/projects/Shop/releases/1.1.0"); code != http.StatusNotFound {
		t.Fatalf("the deleted release answers %d", code)
	}
	// Without the CSRF token nothing happens.
	if code, _, _ := post(t, c, f.srv.URL+"/spaces/Default/projects/Shop/delete", url.Values{"confirm": {"yes"}}); code == http.StatusSeeOther {
		t.Fatal("a delete without the CSRF token was done")
	}
	code, _, hdr = post(t, c, f.srv.URL+"/spaces/Default/projects/Shop/delete", url.Values{"csrf": {token}, "confirm": {"yes"}})
	if code != http.StatusSeeOther || hdr.Get("Location") != "/spaces/Default" {
		t.Fatalf("delete project: %d to %q", code, hdr.Get("Location"))
	}
	if code, _, _ := get(t, c, f.srv.URL+"/spaces/Default/projects/Shop"); code != http.StatusNotFound {
		t.Fatalf("the deleted project answers %d", code)
	}
}
