package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestDeleteFormsOnPages deletes an environment, a lifecycle, a variable
// and a remote space with the forms the pages offer: only to those allowed
// (a viewer sees none, and is refused when posting one), never without
// the CSRF token or the ticked confirmation, and a refusal names what
// still uses the thing.
func TestDeleteFormsOnPages(t *testing.T) {
	f := newFixture(t)
	c, token := f.signIn(t)
	base := f.srv.URL + "/spaces/Default"
	del := func(form url.Values, extra ...string) (int, string, http.Header) {
		t.Helper()
		for i := 0; i+1 < len(extra); i += 2 {
			form.Set(extra[i], extra[i+1])
		}
		return post(t, c, base+"/delete", form)
	}
	_, infra, _ := get(t, c, base+"/infrastructure")
	_, project, _ := get(t, c, base+"/projects/Shop")
	_, remotes, _ := get(t, c, base+"/remote-spaces")
	for page, want := range map[string]string{infra: `value="Development"`, project: `value="Greeting"`, remotes: `value="remote-space"`} {
		if !strings.Contains(page, want) || !strings.Contains(page, `name="confirm" value="yes" required`) {
			t.Errorf("a page lacks the delete form with %s", want)
		}
	}
	if !strings.Contains(infra, `value="lifecycle"`) {
		t.Error("the infrastructure page offers no lifecycle delete")
	}

	env := url.Values{"kind": {"environment"}, "name": {"Development"}}
	if code, _, _ := del(env, "confirm", "yes"); code != http.StatusForbidden {
		t.Errorf("a delete without the CSRF token: %d", code)
	}
	if code, _, _ := del(env, "csrf", token, "confirm", ""); code != http.StatusBadRequest {
		t.Errorf("an unconfirmed delete: %d", code)
	}
	code, page, _ := del(env, "confirm", "yes")
	if code != http.StatusConflict || !strings.Contains(page, "lifecycle &#34;Main&#34;") {
		t.Errorf("deleting an environment a lifecycle uses: %d\n%s", code, page)
	}

	key, err := f.auth.NewAPIKey(f.env.Ctx, "vera", "test") // a viewer
	must(t, err)
	auth := []string{"Authorization", "Bearer " + key}
	vc := f.browser(t)
	for _, path := range []string{"/infrastructure", "/projects/Shop", "/remote-spaces", "/projects/Shop/releases/1.0.0"} {
		_, page, _ := get(t, vc, base+path, auth...)
		if strings.Contains(page, `name="confirm"`) {
			t.Errorf("a viewer is offered a delete on %s", path)
		}
	}
	// A bearer key posts forms without a CSRF token; a viewer's is refused.
	code, _, _ = post(t, vc, base+"/delete", url.Values{"kind": {"variable"}, "name": {"Greeting"}, "project": {"Shop"},
		"confirm": {"yes"}}, auth...)
	if code != http.StatusForbidden {
		t.Errorf("a viewer deleted a variable: %d", code)
	}

	code, _, hdr := del(url.Values{"kind": {"variable"}, "name": {"Greeting"}, "project": {"Shop"}}, "csrf", token, "confirm", "yes")
	if code != http.StatusSeeOther || hdr.Get("Location") != "/spaces/Default/projects/Shop" {
		t.Fatalf("delete variable: %d to %q", code, hdr.Get("Location"))
	}
	p, err := f.catalog.Project(f.env.Ctx, "Default", "Shop")
	must(t, err)
	for _, v := range p.Variables {
		if v.Name == "Greeting" {
			t.Error("Greeting is still there")
		}
	}
	// The remote space's lifecycle goes first, then the remote space.
	code, page, _ = del(url.Values{"kind": {"remote-space"}, "name": {"Prod"}}, "csrf", token, "confirm", "yes")
	if code != http.StatusConflict || !strings.Contains(page, "Remote") {
		t.Errorf("deleting a remote space a lifecycle uses: %d", code)
	}
	if code, page, _ := del(url.Values{"kind": {"space"}, "name": {"Prod"}}, "csrf", token, "confirm", "yes"); code != http.StatusBadRequest {
		t.Errorf("a kind the pages do not delete: %d %s", code, page)
	}
}

// TestScopeOf: a variable delete's scope splits on commas only: remote
// environment names hold spaces.
func TestScopeOf(t *testing.T) {
	got := scopeOf(" Prod Space: Production , Development,")
	if len(got) != 2 || got[0] != "Prod Space: Production" || got[1] != "Development" {
		t.Fatalf("scopeOf = %q", got)
	}
	if scopeOf("") != nil {
		t.Fatal("an empty scope is not none")
	}
}
