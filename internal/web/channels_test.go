package web

import (
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/release"
)

const channelsYAML = `projects:
  - name: Chan
    lifecycle: Main
    channels:
      - {name: Stable, default: true}
      - {name: Hotfix, lifecycle: Remote}
    triggers:
      - {name: Hourly <b>, type: schedule, cron: "0 * * * *", sourceEnvironment: Development, environment: Production}
    process:
      - {name: Hello, type: script, script: echo hi}
`

// TestChannelsAndTriggersOnPages: a project's page lists its channels and
// each release's channel, its triggers with when each is next due, and a
// trigger that could not deploy says why; a release's page names its
// channel. Names are escaped.
func TestChannelsAndTriggersOnPages(t *testing.T) {
	f := newFixture(t)
	f.env.Apply(domain.DefaultSpace, channelsYAML)
	ctx := f.env.Ctx
	if _, err := f.s.Releases.Create(ctx, domain.DefaultSpace, "Chan", release.CreateRequest{Version: "1.0.0-hotfix", Channel: "Hotfix"}); err != nil {
		t.Fatal(err)
	}
	f.env.Release(domain.DefaultSpace, "Chan", "1.0.0")
	admin, _ := f.signIn(t)
	project := f.srv.URL + "/spaces/Default/projects/Chan"
	_, page, _ := get(t, admin, project)
	for _, want := range []string{"<h2>Channels</h2>", "Stable", "Hotfix", "Remote", "<h2>Triggers</h2>", "Hourly &lt;b&gt;", "never fired", "<code>0 * * * *</code>"} {
		if !strings.Contains(page, want) {
			t.Errorf("project page lacks %q", want)
		}
	}
	if strings.Contains(page, "Hourly <b>") {
		t.Error("a trigger's name is not escaped")
	}
	_, rel, _ := get(t, admin, project+"/releases/1.0.0-hotfix")
	if !strings.Contains(rel, "<dt>Channel</dt><dd>Hotfix</dd>") {
		t.Error("the release page does not name its channel")
	}

	// Two hours on, nothing has succeeded in Development: the trigger
	// fires, cannot deploy, and the page says why.
	must(t, f.s.Triggers.Tick(ctx))
	f.mu.Lock()
	f.frozen = time.Now().UTC().Add(2 * time.Hour)
	f.mu.Unlock()
	must(t, f.s.Triggers.Tick(ctx))
	_, page, _ = get(t, admin, project)
	if !strings.Contains(page, "nothing to deploy") || !strings.Contains(page, `class="problem"`) {
		t.Errorf("a failing trigger is not visible on the project page")
	}
}
