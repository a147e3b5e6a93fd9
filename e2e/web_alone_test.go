package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// TestWebPagesAlone: what the README says the pages do, done from the
// pages alone in a real browser — Configure shows the current
// configuration and applies a change; a release is created with a package
// version chosen from the feed; a remote space is added with a URL and TLS
// fingerprint, updated, and revoked; a viewer is offered no control a
// viewer may not use.
func TestWebPagesAlone(t *testing.T) {
	ctx := browser(t)
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t, "FERRY_ADMIN_PASSWORD="+webPassword)
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "shop.yaml", `environments: [{name: Development}]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Development]}]}]
projects:
  - name: Shop
    lifecycle: Main
    process:
      - {name: Install, type: deploy-package, package: shop-web, destination: /tmp/shop}
`))
	dir := t.TempDir()
	for _, v := range []string{"1.0.0", "1.1.0"} {
		z := filepath.Join(dir, "shop-web."+v+".zip")
		writeZip(t, z, map[string][]byte{"index.html": []byte("v" + v)})
		srv.Must("package", "push", z)
	}
	other := bin.StartServer(t)
	pem := filepath.Join(dir, "other.pem")
	other.Must("space", "cert", "Default", "--out", pem)

	signIn(t, ctx, srv)
	space := srv.URL + "/spaces/Default"

	// Configure shows what the space holds, and applies an edit of it.
	run(t, ctx, "open configure", chromedp.Navigate(space+"/apply"), chromedp.WaitVisible(chromedp.CSS(`textarea[name=yaml]`)))
	yaml := get(t, ctx, "read the configuration", chromedp.Value(chromedp.CSS(`textarea[name=yaml]`)))
	contains(t, yaml, "name: Development", "name: Shop", "package: shop-web")
	run(t, ctx, "apply an edit",
		chromedp.SetValue(chromedp.CSS(`textarea[name=yaml]`), strings.Replace(yaml, "- name: Development", "- name: Development\n  - name: Test", 1)),
		chromedp.Click(chromedp.CSS(`form[action$="/apply"] button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`ul.changes`)),
	)
	contains(t, text(t, ctx), "environment Test")

	// A release with a package version picked from the feed.
	run(t, ctx, "create a release with a package",
		chromedp.Navigate(space+"/projects/Shop"),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/releases"] select[name=package]`)),
		chromedp.SendKeys(chromedp.CSS(`form[action$="/releases"] input[name=version]`), "2.0.0"),
		chromedp.SetValue(chromedp.CSS(`form[action$="/releases"] select[name=package]`), "shop-web:1.0.0"),
		chromedp.Click(chromedp.CSS(`form[action$="/releases"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.facts`)),
	)
	contains(t, text(t, ctx), "Created release 2.0.0.", "shop-web", "1.0.0")
	if r := srv.Must("release", "show", "Shop", "2.0.0", "-o", "json"); !strings.Contains(r.Stdout, `"version": "1.0.0"`) {
		t.Errorf("the release made on the page does not pin shop-web 1.0.0: %s", r.Stdout)
	}

	// Remote spaces: add with URL and TLS fingerprint, update, revoke.
	fp := strings.Repeat("AB:", 31) + "AB"
	run(t, ctx, "add a remote space",
		chromedp.Navigate(space+"/remote-spaces"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=certfile]`)),
		chromedp.SendKeys(chromedp.CSS(`form[action$="/remote-spaces"] input[name=name]`), "Other Space"),
		chromedp.SetUploadFiles(chromedp.CSS(`input[name=certfile]`), []string{pem}),
		chromedp.SendKeys(chromedp.CSS(`form[action$="/remote-spaces"] input[name=url]`), "https://other.example:8443"),
		chromedp.SendKeys(chromedp.CSS(`form[action$="/remote-spaces"] input[name=tls-fingerprint]`), fp),
		chromedp.Click(chromedp.CSS(`form[action$="/remote-spaces"] input[value=promote]`)),
		chromedp.Click(chromedp.CSS(`form[action$="/remote-spaces"] button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`details summary`)),
	)
	contains(t, text(t, ctx), "Added remote space Other Space", "https://other.example:8443", "promote to")
	run(t, ctx, "update it",
		chromedp.Click(chromedp.CSS(`details summary`)),
		chromedp.SetValue(chromedp.CSS(`form[action$="/update"] input[name=url]`), "https://other.example:9443"),
		chromedp.Click(chromedp.CSS(`form[action$="/update"] input[value=receipts]`)),
		chromedp.Click(chromedp.CSS(`form[action$="/update"] button`)),
		chromedp.WaitVisible(`//code[contains(., "other.example:9443")]`),
	)
	contains(t, text(t, ctx), "Updated remote space Other Space", "accepts receipts")
	r := srv.Must("remote-space", "list", "-o", "json")
	contains(t, r.Stdout, `"tlsFingerprint": "`+fp, "9443")
	run(t, ctx, "revoke it",
		chromedp.Click(chromedp.CSS(`form[action$="/revoke"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`tr.revoked`)),
	)
	contains(t, text(t, ctx), "Revoked remote space Other Space")

	// A viewer sees the project, and no control a viewer may not use.
	srv.Must("user", "create", "vera")
	srv.RunInput("vera's long passphrase\n", "user", "passwd", "vera")
	srv.Must("team", "create", "Viewers", "--role", "viewer", "--user", "vera")
	viewer := browser(t)
	run(t, viewer, "sign in as a viewer",
		chromedp.Navigate(srv.URL+"/signin"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=user]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=user]`), "vera"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "vera's long passphrase"),
		chromedp.Click(chromedp.CSS(`form button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`ul.spaces`)),
		chromedp.Navigate(space+"/projects/Shop"),
		chromedp.WaitVisible(chromedp.CSS(`.pipeline`)),
	)
	page := text(t, viewer)
	contains(t, page, "You may not deploy this project", "You may not promote this project")
	notContains(t, page, "Create release")
	forms := get(t, viewer, "list forms", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("main form")).map(f => f.getAttribute("action"))`))
	for _, f := range forms {
		if strings.HasSuffix(f, "/deploy") || strings.HasSuffix(f, "/releases") || strings.HasSuffix(f, "/promote") {
			t.Errorf("a viewer is offered the form %s", f)
		}
	}
	run(t, viewer, "open remote spaces", chromedp.Navigate(space+"/remote-spaces"), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	notContains(t, text(t, viewer), "Add a remote space", "Revoke")
}
