package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
)

const openGateYAML = `projects:
  - name: Gate
    lifecycle: Main
    process:
      - {name: Sign-off, type: manual-intervention, instructions: "Check the ticket."}
`

var (
	linkRE       = regexp.MustCompile(`href="(/[^"]*)"`)
	postActionRE = regexp.MustCompile(`<form method="post"[^>]*? action="([^"]+)"|formaction="([^"]+)"`)
)

// crawl visits every page reachable from / (and extra) with c, and returns
// each page's body and the POST actions every page offers, as their
// paths.
func crawl(t *testing.T, f *fixture, c *http.Client, extra ...string) (map[string]string, map[string][]string) {
	t.Helper()
	pages, actions := map[string]string{}, map[string][]string{}
	queue := append([]string{"/"}, extra...)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if _, ok := pages[p]; ok {
			continue
		}
		_, body, _ := get(t, c, f.srv.URL+strings.ReplaceAll(p, "&amp;", "&"))
		pages[p] = body
		for _, m := range postActionRE.FindAllStringSubmatch(body, -1) {
			a := m[1] + m[2]
			if !slices.Contains(actions[a], p) {
				actions[a] = append(actions[a], p)
			}
		}
		for _, m := range linkRE.FindAllStringSubmatch(body, -1) {
			if _, ok := pages[m[1]]; !ok && !strings.HasPrefix(m[1], "/static/") && !strings.HasSuffix(m[1], "/certificate") {
				queue = append(queue, m[1])
			}
		}
	}
	return pages, actions
}

// waitingTask deploys Gate to Development and has it wait at its manual
// intervention (what the runner does on reaching the step, without
// running anything); it returns the task's page path.
func waitingTask(t *testing.T, f *fixture) string {
	t.Helper()
	ctx := f.env.Ctx
	f.env.Apply(domain.DefaultSpace, openGateYAML)
	f.env.Release(domain.DefaultSpace, "Gate", "1.0.0")
	d, err := f.s.Deploy.Deploy(ctx, domain.DefaultSpace, deploy.Request{Project: "Gate", Version: "1.0.0", Environment: "Development"})
	must(t, err)
	st := f.env.Store
	claimed, err := st.Tasks().Claim(ctx, "test", time.Now())
	must(t, err)
	if claimed.ID != d.TaskID {
		t.Fatalf("claimed task %d, want %d", claimed.ID, d.TaskID)
	}
	must(t, st.Interventions().Open(ctx, &domain.Intervention{TaskID: claimed.ID, StepIndex: 0, Step: "Sign-off",
		Instructions: "Check the ticket.", Deployer: "admin", Since: time.Now()}))
	return fmt.Sprintf("/spaces/Default/tasks/%d", d.TaskID)
}

// TestPagesOfferOnlyWhatTheVisitorMayDo crawls every page as a viewer and
// as an admin: the viewer is offered no form that changes anything (only
// signing out and previewing a bundle, which a viewer may do) and no tab
// to the audit log or the configuration; the admin is offered all of them,
// including Cancel, Approve and Abort on a waiting task.
func TestPagesOfferOnlyWhatTheVisitorMayDo(t *testing.T) {
	f := newFixture(t)
	task := waitingTask(t, f)
	must(t, f.auth.SetPassword(f.env.Ctx, "vera", password+" vera"))
	vera := f.browser(t)
	f.signInAs(t, vera, "vera", password+" vera")
	admin, _ := f.signIn(t)
	extra := []string{task, "/spaces/Default/apply", "/spaces/Default/projects/Gate"}

	pages, actions := crawl(t, f, vera, extra...)
	for a, on := range actions {
		if a != "/signout" && a != "/spaces/Default/bundles/preview" {
			t.Errorf("a viewer is offered POST %s on %s", a, strings.Join(on, ", "))
		}
	}
	for p, body := range pages {
		for _, tab := range []string{`/audit"`, `/apply"`} {
			if strings.Contains(body, tab) {
				t.Errorf("a viewer is offered a link to %s on %s", strings.TrimSuffix(tab, `"`), p)
			}
		}
	}
	if body := pages[task]; !strings.Contains(body, "Waiting for a decision") || !strings.Contains(body, "You may not decide it") {
		t.Errorf("the viewer's task page does not say what waits and that they may not decide it:\n%s", body)
	}

	pages, actions = crawl(t, f, admin, extra...)
	for _, want := range []string{task + "/cancel", task + "/approve", task + "/abort",
		"/spaces/Default/projects/Shop/deploy", "/spaces/Default/projects/Shop/promote", "/spaces/Default/projects/Shop/releases",
		"/spaces/Default/projects/Shop/values", "/spaces/Default/apply", "/spaces/Default/targets",
		"/spaces/Default/receipts/export", "/spaces/Default/receipts/import", "/spaces/Default/remote-spaces",
		"/spaces/Default/delete", "/spaces/Default/projects/Shop/delete", "/spaces/Default/projects/Shop/releases/1.0.0/delete"} {
		if _, ok := actions[want]; !ok {
			t.Errorf("the admin is not offered POST %s", want)
		}
	}
	for _, tab := range []string{`href="/spaces/Default/audit"`, `href="/spaces/Default/apply"`} {
		if !strings.Contains(pages["/spaces/Default"], tab) {
			t.Errorf("the admin's dashboard lacks the tab %s", tab)
		}
	}
	_, releasePage := pages["/spaces/Default/projects/Shop/releases/1.0.0"]
	if !releasePage || !strings.Contains(pages["/spaces/Default/projects/Shop/releases/1.0.0"], `action="/spaces/Default/projects/Shop/promote"`) {
		t.Error("the admin's release page offers no promotion")
	}
}

// TestLimitedDeployerSeesOnlyTheirEnvironments: a deployer limited to
// Development is offered Development only on a release's page, may cancel
// and decide the task in Development (the step names no team: who may
// deploy there decides), and is offered no administration.
func TestLimitedDeployerSeesOnlyTheirEnvironments(t *testing.T) {
	f := newFixture(t)
	task := waitingTask(t, f)
	ctx := f.env.Ctx
	f.env.User("dora", false)
	must(t, f.auth.SetPassword(ctx, "dora", password+" dora"))
	_, err := f.s.Teams.Put(ctx, domain.DefaultSpace, accessTeam("DevDeployers", "deployer", "dora", "Development"), true)
	must(t, err)
	dora := f.browser(t)
	f.signInAs(t, dora, "dora", password+" dora")
	_, page, _ := get(t, dora, f.srv.URL+"/spaces/Default/projects/Shop/releases/1.0.0")
	if !strings.Contains(page, "<option>Development</option>") || strings.Contains(page, "<option>Production</option>") {
		t.Errorf("the release page offers environments dora may not deploy to, or not hers")
	}
	_, page, _ = get(t, dora, f.srv.URL+task)
	for _, want := range []string{task + "/cancel", task + "/approve", task + "/abort"} {
		if !strings.Contains(page, want) {
			t.Errorf("dora's task page lacks %s", want)
		}
	}
	_, page, _ = get(t, dora, f.srv.URL+"/spaces/Default")
	if strings.Contains(page, `/audit"`) || strings.Contains(page, `/apply"`) {
		t.Error("a deployer is offered the audit log or the configuration")
	}
}

// TestRefusalComesBeforeTheForm: a person who may not act is told so (403)
// before anything about the form they sent (a missing confirmation, an
// empty field, a missing upload, a bad note), on every form of the pages.
func TestRefusalComesBeforeTheForm(t *testing.T) {
	f := newFixture(t)
	task := waitingTask(t, f)
	key, err := f.auth.NewAPIKey(f.env.Ctx, "vera", "test") // a viewer
	must(t, err)
	auth := []string{"Authorization", "Bearer " + key}
	c := f.browser(t)
	base := f.srv.URL + "/spaces/Default"
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/projects/Shop/delete", url.Values{}},
		{"/projects/Shop/releases/1.0.0/delete", url.Values{}},
		{"/delete", url.Values{"kind": {"environment"}, "name": {"Development"}}},
		{"/delete", url.Values{"kind": {"lifecycle"}, "name": {"Main"}}},
		{"/delete", url.Values{"kind": {"remote-space"}, "name": {"Prod"}}},
		{"/delete", url.Values{"kind": {"variable"}, "name": {"Greeting"}, "project": {"Shop"}}},
		{"/targets/web-1/delete", url.Values{}},
		{"/targets", url.Values{}},
		{"/projects/Shop/values", url.Values{}},
		{"/apply", url.Values{"yaml": {"not: [yaml"}}},
		{"/bundles/import", url.Values{"digest": {"sha256:none"}}},
		{"/remote-spaces", url.Values{}},
		{"/receipts/import", url.Values{}},
		{strings.TrimPrefix(task, "/spaces/Default") + "/approve", url.Values{"note": {"bad\x1b[2J"}}},
		{strings.TrimPrefix(task, "/spaces/Default") + "/abort", url.Values{"note": {strings.Repeat("n", 3000)}}},
	} {
		code, page, _ := post(t, c, base+tc.path, tc.form, auth...)
		if code != http.StatusForbidden || !strings.Contains(page, "You may not do that") {
			t.Errorf("a viewer posting %s %v: %d, want 403 first\n%s", tc.path, tc.form, code, page)
		}
	}
}

// accessTeam is a team request: name, role, one member, and the
// environments its grant is limited to.
func accessTeam(name, role, member string, envs ...string) access.TeamRequest {
	return access.TeamRequest{Name: name, Role: ptr(role), Members: &[]string{member}, Environments: &envs}
}

// TestTimeoutWording: a manual intervention's timeout reads in the future
// tense until it passes.
func TestTimeoutWording(t *testing.T) {
	now := time.Date(2026, 11, 30, 4, 48, 0, 0, time.UTC)
	for at, want := range map[time.Time]string{
		now.Add(3*time.Hour + 12*time.Minute): "aborts at 2026-11-30 08:00:00 UTC (in 3 h 12 min) unless decided",
		now.Add(72 * time.Hour):               "aborts at 2026-12-03 04:48:00 UTC (in 3 days 0 h) unless decided",
		now.Add(5 * time.Minute):              "aborts at 2026-11-30 04:53:00 UTC (in 5 min) unless decided",
		now.Add(-time.Minute):                 "timed out at 2026-11-30 04:47:00 UTC without a decision; it is being aborted",
	} {
		if got := timeout(now, at); got != want {
			t.Errorf("timeout(%v): %q, want %q", at.Sub(now), got, want)
		}
	}
}

// TestDeleteOfAKindThePagesCannotDelete: a delete form naming a kind the
// pages do not delete says so, instead of asking to tick the confirmation
// first (which, ticked, led only to that refusal).
func TestDeleteOfAKindThePagesCannotDelete(t *testing.T) {
	f := newFixture(t)
	key, err := f.auth.NewAPIKey(f.env.Ctx, "vera", "test") // a viewer
	must(t, err)
	c := f.browser(t)
	for _, kind := range []string{"project", "tenant", "nonsense"} {
		code, page, _ := post(t, c, f.srv.URL+"/spaces/Default/delete", url.Values{"kind": {kind}, "name": {"Shop"}}, "Authorization", "Bearer "+key)
		if code != http.StatusBadRequest || !strings.Contains(page, "the pages cannot delete") || strings.Contains(page, "tick the box") {
			t.Errorf("delete of a %s: %d\n%s", kind, code, page)
		}
	}
}
