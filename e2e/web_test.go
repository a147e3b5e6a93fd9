package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// webPassword is the administrators' sign-in password on both servers.
const webPassword = "ferry-web-test-password"

// chromium returns the browser's path. Without one the test is skipped on a
// developer's machine, but fails in CI (CI=...), which installs it.
func chromium(t *testing.T) string {
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "" {
		t.Skip("chromium is not installed (apt-get install chromium); CI runs this test")
	}
	t.Fatal("chromium is not installed, and CI is set: .ci/run must install it")
	return ""
}

// browser starts a fresh headless chromium and returns a context to drive it.
func browser(t *testing.T) context.Context {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	// Each step gets its own deadline, so a page that never shows what a
	// step waits for fails the test quickly with the page's text.
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		loc, _ := chromedp.Run(c, chromedp.Location())
		body, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS("main")))
		cancel()
		t.Fatalf("%s: %v\n(at %s)\n%s", what, err, loc, body)
	}
}

// get runs an action that returns a value.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// text returns the visible text of the page's main element.
func text(t *testing.T, ctx context.Context) string {
	t.Helper()
	return get(t, ctx, "read the page", chromedp.Text(chromedp.CSS("main")))
}

// screenshots writes PNGs of the current page at desktop and phone widths
// into $FERRY_SCREENSHOTS, when it is set (docs/screenshots/make.sh).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("FERRY_SCREENSHOTS")
	if dir == "" {
		return
	}
	for _, size := range []struct {
		suffix string
		w, h   int64
		mobile bool
	}{{"", 1280, 800, false}, {"-phone", 390, 844, true}} {
		emulate := chromedp.EmulateViewport(size.w, size.h)
		if size.mobile {
			emulate = chromedp.EmulateViewport(size.w, size.h, chromedp.EmulateScale(2), chromedp.EmulateMobile)
		}
		run(t, ctx, "resize for "+name, emulate, chromedp.Sleep(150*time.Millisecond))
		png := get(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
		if err := os.WriteFile(filepath.Join(dir, name+size.suffix+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, ctx, "reset viewport", chromedp.EmulateViewport(1280, 900))
}

func signIn(t *testing.T, ctx context.Context, s *ferrytest.Server) {
	t.Helper()
	run(t, ctx, "open "+s.URL,
		chromedp.Navigate(s.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=user]`)),
	)
	screenshot(t, ctx, "signin")
	run(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.CSS(`input[name=user]`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), webPassword),
		chromedp.Click(chromedp.CSS(`form button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`ul.spaces`)),
	)
}

// waitText polls the page until its main text holds every want.
func waitText(t *testing.T, ctx context.Context, within time.Duration, wants ...string) string {
	t.Helper()
	var got string
	ferrytest.WaitFor(t, within, strings.Join(wants, ", "), func() bool {
		got = text(t, ctx)
		for _, w := range wants {
			if !strings.Contains(got, w) {
				return false
			}
		}
		return true
	})
	return got
}

// TestWebPages drives the walkthrough's pages in a real browser across two
// servers: sign in, import a bundle through the page (preview, lifecycle,
// missing value), deploy and follow the live log, bring the receipt back
// through the page, see the remote environment on the dashboard, open a
// release and compare two; then crawls every page of both servers.
func TestWebPages(t *testing.T) {
	ctx := browser(t) // skips or fails before any server starts
	bin := ferrytest.Build(t)
	env := "FERRY_ADMIN_PASSWORD=" + webPassword
	p := &pair{dev: bin.StartServer(t, env), prod: bin.StartServer(t, env)}
	p.dev.Must("space", "create", "DevTest Space")
	p.prod.Must("space", "create", "Prod Space")
	dir := t.TempDir()
	p.devPEM, p.prodPEM = filepath.Join(dir, "devtest.pem"), filepath.Join(dir, "prod.pem")
	p.dev.Must("space", "cert", "DevTest Space", "--out", p.devPEM)
	p.prod.Must("space", "cert", "Prod Space", "--out", p.prodPEM)
	p.dev.Must("--space", "DevTest Space", "remote-space", "add", "Prod Space", "--cert", p.prodPEM, "--trust", "promote,receipts")
	p.prod.Must("--space", "Prod Space", "remote-space", "add", "DevTest Space", "--cert", p.devPEM, "--trust", "releases")
	p.release(t)
	file := p.promote(t)
	dev := func(args ...string) ferrytest.Result {
		return p.dev.Must(append([]string{"--space", "DevTest Space"}, args...)...)
	}
	dev("var", "set", "My Project", "Greeting", "hello again")
	dev("release", "create", "My Project", "--version", "1.1.0", "--notes", "second")
	p.prod.Must("--space", "Prod Space", "apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}, {name: Staging}]
lifecycles:
  - {name: Production, phases: [{name: Live, environments: [Production]}]}
  - {name: Careful, phases: [{name: Stage, environments: [Staging]}, {name: Live, environments: [Production]}]}
`))

	// Prod: import the bundle through the page.
	signIn(t, ctx, p.prod)
	prodSpace := p.prod.URL + "/spaces/" + url.PathEscape("Prod Space")
	run(t, ctx, "open bundles",
		chromedp.Navigate(prodSpace+"/bundles"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=bundle]`)),
		chromedp.SetUploadFiles(chromedp.CSS(`input[name=bundle]`), []string{file}),
		chromedp.Click(chromedp.CSS(`form[action$="/bundles/preview"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.verdict`)),
	)
	preview := text(t, ctx)
	contains(t, preview, "Verified", "DevTest Space: My Project", "1.0.0", "encrypted to this space", "ConnectionString", "Prod only", "History")
	screenshot(t, ctx, "bundle-preview")
	run(t, ctx, "import",
		chromedp.SetValue(chromedp.CSS(`select[name=lifecycle]`), "Production"),
		chromedp.Click(chromedp.CSS(`form[action$="/bundles/import"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`fieldset.value-field`)),
	)
	contains(t, text(t, ctx), "Imported DevTest Space: My Project 1.0.0", "ConnectionString for Production")
	screenshot(t, ctx, "bundle-imported")
	run(t, ctx, "fill the missing value",
		chromedp.SendKeys(chromedp.CSS(`fieldset.value-field input[name=value]`), "Server=prod-db"),
		chromedp.Click(chromedp.CSS(`form[action$="/values"] button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`.pipeline`)),
	)
	contains(t, text(t, ctx), "Set 1 value(s).", "DevTest Space: My Project")

	// Deploy it from the page and follow the live log to the end.
	run(t, ctx, "deploy",
		chromedp.SetValue(chromedp.CSS(`form[action$="/deploy"] select[name=environment]`), "Production"),
		chromedp.Click(chromedp.CSS(`form[action$="/deploy"] button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`#log`)),
	)
	logText := waitText(t, ctx, 60*time.Second, "Success", "prod-only-step prod-banner")
	contains(t, logText, "hello on Production db=Server=prod-db token=***")
	notContains(t, logText, "tok-9Q7Z-secret")
	screenshot(t, ctx, "task")
	prodCookie := sessionCookie(t, ctx)

	// The receipt goes back as a file, imported through DevTest's page.
	receipts := filepath.Join(t.TempDir(), "receipts.json")
	p.prod.Must("--space", "Prod Space", "receipt", "export", "--to", "DevTest Space", "--out", receipts)
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	signIn(t, ctx, p.dev)
	screenshot(t, ctx, "spaces")
	devSpace := p.dev.URL + "/spaces/" + url.PathEscape("DevTest Space")
	run(t, ctx, "import receipts",
		chromedp.Navigate(devSpace+"/remote-spaces"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=receipts]`)),
	)
	screenshot(t, ctx, "remote-spaces")
	run(t, ctx, "import receipts",
		chromedp.SetUploadFiles(chromedp.CSS(`input[name=receipts]`), []string{receipts}),
		chromedp.Click(chromedp.CSS(`form[action$="/receipts/import"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`table.dash`)),
	)

	// The dashboard shows the remote environment with the release and state.
	cell := get(t, ctx, "read the remote cell", chromedp.Text(`//td[contains(@class,"cell")][last()]`))
	board := strings.ToLower(text(t, ctx)) // column heads are upper-cased by CSS
	contains(t, board, "imported 1 receipt(s)", "prod space: production", "development", "test", "my project")
	contains(t, cell, "1.0.0", "Success")
	screenshot(t, ctx, "dashboard")

	// Open the project, then release 1.1.0, and compare it with 1.0.0.
	run(t, ctx, "open project",
		chromedp.Click(`//table[contains(@class,"dash")]//a[text()="My Project"]`),
		chromedp.WaitVisible(chromedp.CSS(`.pipeline`)),
	)
	contains(t, text(t, ctx), "Pipeline", "1.1.0", "1.0.0", "Prod Space: Production")
	screenshot(t, ctx, "project")
	run(t, ctx, "open release",
		chromedp.Click(`//table//a[text()="1.1.0"]`),
		chromedp.WaitVisible(chromedp.CSS(`.facts`)),
	)
	rel := text(t, ctx)
	contains(t, rel, "Snapshot digest", "Frozen process", "Announce", "Prod only", "Token", "sensitive, set", "ConnectionString", "Compare with previous (1.0.0)")
	notContains(t, rel, "tok-9Q7Z-secret", "dev-only-secret-77")
	screenshot(t, ctx, "release")
	run(t, ctx, "compare",
		chromedp.Click(`//a[contains(text(),"Compare with previous")]`),
		chromedp.WaitVisible(chromedp.CSS(`.sides`)),
	)
	cmp := text(t, ctx)
	contains(t, cmp, "Compare My Project", "Greeting", "hello", "hello again", "CHANGED")
	screenshot(t, ctx, "compare")

	// Every page reachable from / on both servers: no 5xx, no secret.
	crawl(t, p.dev.URL, sessionCookie(t, ctx))
	crawl(t, p.prod.URL, prodCookie)
}

func sessionCookie(t *testing.T, ctx context.Context) *http.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "ferry_session" {
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax {
				t.Errorf("session cookie is not HttpOnly and SameSite=Lax: %+v", c)
			}
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	t.Fatal("no session cookie in the browser")
	return nil
}

// crawl follows every link from / with the browser's session and checks
// each page answers without a server error and shows no secret.
func crawl(t *testing.T, base string, session *http.Cookie) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(base)
	jar.SetCookies(u, []*http.Cookie{session})
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	link := regexp.MustCompile(`href="(/[^"]*)"`)
	seen := map[string]bool{}
	queue := []string{"/"}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		resp, err := c.Get(base + strings.ReplaceAll(p, "&amp;", "&"))
		if err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
		if strings.Contains(resp.Request.URL.Path, "/signin") {
			t.Fatalf("GET %s: sent to sign in; the session did not work", p)
		}
		notContains(t, string(body), "tok-9Q7Z-secret", "dev-only-secret-77")
		for _, m := range link.FindAllStringSubmatch(string(body), -1) {
			if !seen[m[1]] {
				queue = append(queue, m[1])
			}
		}
	}
	if len(seen) < 10 {
		t.Errorf("crawled only %d pages of %s: %v", len(seen), base, seen)
	}
	t.Logf("crawled %d pages of %s", len(seen), base)
}
