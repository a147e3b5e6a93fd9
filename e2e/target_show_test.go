package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// TestTargetShow is `ferry target show` as a new user meets it, in text
// and -o json: a listening agent (url, Healthy), a polling agent that
// started before it was registered (Healthy once it connects, with the
// server node it is connected to), an agent nobody runs (Offline, saying
// what to check), a target whose agent has another certificate
// (Unhealthy, naming both fingerprints), a disabled target, a second
// target for one agent (refused, naming the first), and a name that is
// none.
func TestTargetShow(t *testing.T) {
	bin := ferrytest.Build(t)
	listen := ferrytest.FreePort(t)
	srv := bin.StartServer(t, "FERRY_AGENT_LISTEN="+listen)
	var trust api.AgentTrust
	decodeJSON(t, srv.Must("target", "trust-info", "-o", "json").Stdout, &trust)
	srv.Must("env", "create", "Production")
	root := t.TempDir()

	web := bin.StartAgent(t, ferrytest.AgentConfig{Data: filepath.Join(root, "web-1"), Trust: []string{trust.Fingerprint}})
	srv.Must("target", "add", "web-1", "--env", "Production", "--role", "web", "--url", web.URL, "--thumbprint", web.Fingerprint)
	poll := bin.StartAgent(t, ferrytest.AgentConfig{Data: filepath.Join(root, "app-1"), Poll: "https://" + listen, Trust: []string{trust.Fingerprint}})
	srv.Must("agent", "register", "--data", poll.Data, "--name", "app-1", "--env", "Production", "--role", "app", "--role", "worker", "--polling")
	nobody := bin.InitAgent(t, filepath.Join(root, "db-1"))
	srv.Must("target", "add", "db-1", "--env", "Production", "--role", "db", "--polling", "--thumbprint", nobody)
	other := bin.InitAgent(t, filepath.Join(root, "other"))
	srv.Must("target", "add", "impostor", "--env", "Production", "--role", "web", "--url", web.URL, "--thumbprint", other)
	spare := bin.InitAgent(t, filepath.Join(root, "spare"))
	srv.Must("target", "add", "off-1", "--env", "Production", "--role", "web", "--url", "https://127.0.0.1:1", "--thumbprint", spare)
	srv.Must("target", "disable", "off-1")

	show := func(name string) (string, api.Target) {
		var tg api.Target
		decodeJSON(t, srv.Must("target", "show", name, "-o", "json").Stdout, &tg)
		return srv.Must("target", "show", name).Stdout, tg
	}
	ferrytest.WaitFor(t, 60*time.Second, "web-1 and app-1 healthy", func() bool {
		_, a := show("web-1")
		_, b := show("app-1")
		return a.Health == "Healthy" && b.Health == "Healthy"
	})

	text, tg := show("web-1")
	contains(t, text, "Target web-1 (listening)", "environments: Production", "roles:        web", "url:          "+web.URL,
		"thumbprint:   "+web.Fingerprint, "health:       Healthy", "checked:", "agent:        ferry")
	notContains(t, text, "never", "connected to")
	if tg.Name != "web-1" || tg.Mode != "listening" || tg.URL != web.URL || tg.Thumbprint != web.Fingerprint || tg.LastSeen == nil || tg.CheckedAt == nil || tg.AgentVersion == "" || tg.Disabled {
		t.Errorf("web-1 as JSON: %+v", tg)
	}

	text, tg = show("app-1")
	contains(t, text, "Target app-1 (polling)", "roles:        app, worker", "health:       Healthy", "connected to: server node ")
	notContains(t, text, "url:")
	if tg.Mode != "polling" || tg.URL != "" || tg.Node == "" || tg.Thumbprint != poll.Fingerprint || len(tg.Roles) != 2 {
		t.Errorf("app-1 as JSON: %+v", tg)
	}

	ferrytest.WaitFor(t, 60*time.Second, "db-1 and impostor checked", func() bool {
		_, a := show("db-1")
		_, b := show("impostor")
		return a.Health == "Offline" && b.Health == "Unhealthy"
	})
	text, tg = show("db-1")
	contains(t, text, "health:       Offline", "not connected", "last seen:    never", "ferry agent run --poll", "target trust-info")
	if tg.LastSeen != nil || !strings.Contains(tg.HealthReason, "not connected") {
		t.Errorf("db-1 as JSON: %+v", tg)
	}
	text, _ = show("impostor")
	contains(t, text, "health:       Unhealthy", web.Fingerprint, other, "target delete")

	text, tg = show("off-1")
	contains(t, text, "(disabled)")
	if !tg.Disabled {
		t.Errorf("off-1 as JSON: %+v", tg)
	}

	r := srv.Fail("target", "add", "web-again", "--env", "Production", "--role", "db", "--url", web.URL, "--thumbprint", web.Fingerprint)
	contains(t, r.Stderr, `target "web-1"`, web.Fingerprint)
	r = srv.Fail("target", "show", "web-9")
	contains(t, r.Stderr, `target "web-9" not found`, "target list")
}
