package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const agentFP = "AA:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F"

// The Infrastructure tab: targets as `target list` shows them, the
// server's agent fingerprint, and target add, check, disable, enable and
// delete through forms; a viewer sees the tab but may not change it.
func TestInfrastructurePage(t *testing.T) {
	f := newFixture(t)
	c, token := f.signIn(t)
	base := f.srv.URL + "/spaces/Default"
	code, page, _ := get(t, c, base+"/infrastructure")
	info, err := f.s.Targets.TrustInfo(f.env.Ctx)
	must(t, err)
	if code != 200 || !strings.Contains(page, "No deployment targets yet") || !strings.Contains(page, info.Fingerprint) {
		t.Fatalf("empty infrastructure page: %d\n%s", code, page)
	}
	code, _, hdr := post(t, c, base+"/targets", url.Values{"name": {"web-1"}, "environments": {"Production, Development"}, "roles": {"web api"},
		"thumbprint": {agentFP}, "mode": {"listening"}, "url": {"https://127.0.0.1:1"}, "csrf": {token}})
	if code != http.StatusSeeOther {
		t.Fatalf("add: %d", code)
	}
	_, page, _ = get(t, c, f.srv.URL+hdr.Get("Location"))
	for _, want := range []string{"Added target web-1", "web-1", "listening", "https://127.0.0.1:1", ">api<", ">web<", ">Production<", agentFP} {
		if !strings.Contains(page, want) {
			t.Errorf("after add, the page lacks %q", want)
		}
	}
	// A polling agent's form ignores a URL typed before switching.
	post(t, c, base+"/targets", url.Values{"name": {"db-1"}, "environments": {"Production"}, "roles": {"db"},
		"thumbprint": {strings.Replace(agentFP, "AA", "BB", 1)}, "mode": {"polling"}, "url": {"https://x:1"}, "csrf": {token}})
	db, err := f.s.Targets.Show(f.env.Ctx, "Default", "db-1")
	if err != nil || db.Mode != "polling" || db.URL != "" {
		t.Errorf("polling target: %+v %v", db, err)
	}
	for _, action := range []string{"disable", "check", "enable", "check"} {
		code, _, hdr := post(t, c, base+"/targets/web-1/"+action, url.Values{"csrf": {token}})
		_, page, _ := get(t, c, f.srv.URL+hdr.Get("Location"))
		if code != http.StatusSeeOther || !strings.Contains(page, "web-1") {
			t.Errorf("%s: %d", action, code)
		}
		if action == "disable" && !strings.Contains(page, ">disabled<") {
			t.Errorf("a disabled target is not marked so")
		}
	}
	// A bad add says why, on a page.
	code, page, _ = post(t, c, base+"/targets", url.Values{"name": {"x"}, "environments": {"Production"}, "roles": {"r"}, "thumbprint": {"nope"}, "mode": {"polling"}, "csrf": {token}})
	if code != http.StatusBadRequest || !strings.Contains(page, "not a SHA-256 fingerprint") {
		t.Errorf("a bad thumbprint: %d %s", code, page)
	}
	// Without the CSRF token nothing happens.
	if code, _, _ := post(t, c, base+"/targets/web-1/delete", url.Values{"confirm": {"yes"}}); code != http.StatusForbidden {
		t.Errorf("delete without CSRF: %d", code)
	}
	post(t, c, base+"/targets/web-1/delete", url.Values{"csrf": {token}, "confirm": {"yes"}})
	if _, err := f.s.Targets.Show(f.env.Ctx, "Default", "web-1"); err == nil {
		t.Error("web-1 is still there after delete")
	}
	key, err := f.auth.NewAPIKey(f.env.Ctx, "vera", "test") // a viewer
	must(t, err)
	auth := []string{"Authorization", "Bearer " + key}
	code, page, _ = get(t, f.browser(t), base+"/infrastructure", auth...)
	if code != 200 || !strings.Contains(page, "db-1") {
		t.Errorf("a viewer's infrastructure page: %d", code)
	}
	if strings.Contains(page, "/targets/db-1/") || strings.Contains(page, `name="confirm"`) {
		t.Error("a viewer is offered target actions or delete forms")
	}
	// A script with a bearer key posts forms without a CSRF token; a
	// viewer's is refused all the same.
	if code, _, _ := post(t, f.browser(t), base+"/targets/db-1/disable", url.Values{}, auth...); code != http.StatusForbidden {
		t.Errorf("a viewer disabled a target: %d", code)
	}
	if code, _, _ := post(t, c, base+"/targets/db-1/explode", url.Values{"csrf": {token}}); code != http.StatusNotFound {
		t.Errorf("an unknown action: %d", code)
	}
}
