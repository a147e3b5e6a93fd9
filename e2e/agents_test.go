package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/client"
	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// machines is a server with three agents of its own processes and data
// folders: web-1 and db-1 listening, web-2 polling (SPEC §5).
type machines struct {
	t      *testing.T
	bin    ferrytest.Binary
	srv    *ferrytest.Server
	trust  api.AgentTrust
	agents map[string]*ferrytest.Agent
	root   string // agents' data folders are root/NAME
	out    string // where steps write what they did
}

// startMachines starts a server with an agent listener and registers the
// three agents: web-1 (listening, role web), web-2 (polling, registered by
// the agent itself, roles web and poller), db-1 (listening, role db).
func startMachines(t *testing.T) *machines {
	bin := ferrytest.Build(t)
	listen := ferrytest.FreePort(t)
	srv := bin.StartServer(t, "FERRY_AGENT_LISTEN="+listen)
	m := &machines{t: t, bin: bin, srv: srv, agents: map[string]*ferrytest.Agent{}, root: t.TempDir(), out: t.TempDir()}
	decodeJSON(t, srv.Must("target", "trust-info", "-o", "json").Stdout, &m.trust)
	if m.trust.Fingerprint == "" || m.trust.AgentListen != listen {
		t.Fatalf("trust-info: %+v, want the agent listener %s", m.trust, listen)
	}
	if !strings.Contains(srv.Log(), m.trust.Fingerprint) {
		t.Errorf("the server did not print its agent fingerprint %s at start-up", m.trust.Fingerprint)
	}
	srv.Must("env", "create", "Production")

	m.listening("web-1", "web")
	m.listening("db-1", "db")
	web2 := bin.StartAgent(t, ferrytest.AgentConfig{Data: filepath.Join(m.root, "web-2"), Poll: "https://" + listen, Trust: []string{m.trust.Fingerprint}})
	m.agents["web-2"] = web2
	srv.Must("agent", "register", "--data", web2.Data, "--name", "web-2", "--env", "Production", "--role", "web", "--role", "poller", "--polling")
	m.waitHealthy("web-1", "web-2", "db-1")
	return m
}

// listening starts a listening agent and registers it with target add.
func (m *machines) listening(name, role string) *ferrytest.Agent {
	a := m.bin.StartAgent(m.t, ferrytest.AgentConfig{Data: filepath.Join(m.root, name), Trust: []string{m.trust.Fingerprint}})
	m.agents[name] = a
	m.srv.Must("target", "add", name, "--env", "Production", "--role", role, "--url", a.URL, "--thumbprint", a.Fingerprint)
	return a
}

func (m *machines) targets() map[string]api.Target {
	var list []api.Target
	decodeJSON(m.t, m.srv.Must("target", "list", "-o", "json").Stdout, &list)
	out := map[string]api.Target{}
	for _, tg := range list {
		out[tg.Name] = tg
	}
	return out
}

// waitHealthy waits until each target checks Healthy.
func (m *machines) waitHealthy(names ...string) {
	m.t.Helper()
	for _, n := range names {
		ferrytest.WaitFor(m.t, 60*time.Second, n+" healthy", func() bool { return m.srv.Run("target", "check", n).Code == 0 })
	}
}

// deploy queues a deployment and returns its task id without waiting.
func (m *machines) deploy(args ...string) api.Deployment {
	m.t.Helper()
	var d api.Deployment
	decodeJSON(m.t, m.srv.Must(append(append([]string{"deploy"}, args...), "-o", "json")...).Stdout, &d)
	return d
}

// waitTask waits until a task ends and returns it with its log as text.
func (m *machines) waitTask(id int64, within time.Duration) (api.Task, string) {
	m.t.Helper()
	var tl api.TaskLog
	ferrytest.WaitFor(m.t, within, fmt.Sprintf("task %d to end", id), func() bool {
		decodeJSON(m.t, m.srv.Must("task", "log", fmt.Sprint(id), "-o", "json").Stdout, &tl)
		return tl.Task.State.Done()
	})
	var b strings.Builder
	for _, l := range tl.Lines {
		b.WriteString(l.Text + "\n")
	}
	return tl.Task, b.String()
}

// logText is the log of a task so far.
func (m *machines) logText(id int64) string {
	var tl api.TaskLog
	decodeJSON(m.t, m.srv.Must("task", "log", fmt.Sprint(id), "-o", "json").Stdout, &tl)
	var b strings.Builder
	for _, l := range tl.Lines {
		b.WriteString(l.Text + "\n")
	}
	return b.String()
}

func (m *machines) read(rel string) string {
	b, err := os.ReadFile(filepath.Join(m.out, rel))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return strings.TrimSpace(string(b))
}

func (m *machines) exists(rel string) bool {
	_, err := os.Stat(filepath.Join(m.out, rel))
	return err == nil
}

// apply applies YAML with OUT and AGENTS replaced by the folders.
func (m *machines) apply(yaml string) {
	m.t.Helper()
	yaml = strings.NewReplacer("OUT", m.out, "AGENTS", m.root).Replace(yaml)
	m.srv.Must("apply", "-f", ferrytest.WriteFile(m.t, "ferry.yaml", yaml))
}

const agentShopYAML = `
lifecycles:
  - name: Main
    phases:
      - name: Prod
        environments: [Production]
projects:
  - name: Shop
    lifecycle: Main
    variables:
      - name: Greeting
        value: hello
      - name: DbPassword
        value: pa55-w0rd-x
        sensitive: true
    process:
      - name: Where
        type: script
        roles: [web]
        script: |
          echo "running on #{Ferry.Machine.Name} with roles #{Ferry.Machine.Roles}"
          pwd > 'OUT/#{Ferry.Machine.Name}.where'
          set_ferryvariable Color "blue-#{Ferry.Machine.Name}"
          set_octopusvariable Token "tok-#{Ferry.Machine.Name}-s3cr3t" --sensitive
          echo "password #{DbPassword}"
          if head -c 5 'AGENTS/#{Ferry.Machine.Name}/agent-key.pem' 2>/dev/null | grep -q .; then echo "LEAK: read the agent key"; fi
          if ls -A 'AGENTS/#{Ferry.Machine.Name}' 2>/dev/null | grep -E 'agent-|chunks|trusted'; then echo "LEAK: listed the agent data folder"; fi
      - name: Db
        type: script
        roles: [db]
        script: |
          echo "web-1 said #{Ferry.Action[Where].Output[web-1].Color}" > 'OUT/db.txt'
          echo "token of web-2: #{Ferry.Action[Where].Output[web-2].Token}"
      - name: Same machine
        type: script
        roles: [web]
        maxParallelism: 1
        script: echo "#{Octopus.Action[Where].Output.Color}" > 'OUT/#{Ferry.Machine.Name}.same'
      - name: Install
        type: deploy-package
        roles: [web]
        package: shop-web
        destination: "OUT/#{Ferry.Machine.Name}/shop"
        substitute: [config/app.json]
        postDeploy: 'echo "installed on #{Ferry.Machine.Name}" > installed.txt'
      - name: On the server
        type: script
        script: |
          echo "web-2 color #{Octopus.Action[Where].Output[web-2].Color}" > 'OUT/server.txt'
          echo "token of web-1: #{Ferry.Action[Where].Output[web-1].Token}"
`

// TestAgents is issue 15's walkthrough: a server and three real agent
// processes — two listening, one polling — each with its own data folder.
func TestAgents(t *testing.T) {
	m := startMachines(t)
	targets := m.targets()
	if tg := targets["web-2"]; tg.Mode != "polling" || tg.Health != "Healthy" || tg.AgentVersion == "" || tg.LastSeen == nil {
		t.Errorf("web-2 as listed: %+v", tg)
	}
	if tg := targets["web-1"]; tg.Mode != "listening" || tg.URL != m.agents["web-1"].URL || tg.Thumbprint != m.agents["web-1"].Fingerprint {
		t.Errorf("web-1 as listed: %+v", tg)
	}

	pkg := filepath.Join(t.TempDir(), "shop-web.1.0.0.zip")
	writeZip(t, pkg, map[string][]byte{"config/app.json": []byte(`{"greeting": "#{Greeting}"}` + "\n"), "bin/run.sh": []byte("echo run\n")})
	m.srv.Must("package", "push", pkg, "--id", "shop-web", "--version", "1.0.0")
	m.apply(agentShopYAML)
	m.srv.Must("release", "create", "Shop", "--version", "1.0.0", "--package", "shop-web:1.0.0")

	t.Run("role-scoped steps, outputs across machines, a package on targets", func(t *testing.T) {
		d := m.deploy("Shop", "1.0.0", "--to", "Production")
		task, log := m.waitTask(d.TaskID, 2*time.Minute)
		if task.State != api.TaskSuccess {
			t.Fatalf("deployment %s: %s\n%s", task.State, task.Error, log)
		}
		for _, name := range []string{"web-1", "web-2"} {
			if where := m.read(name + ".where"); !strings.HasPrefix(where, filepath.Join(m.root, name)+"/") {
				t.Errorf("the web step on %s ran in %q, not in that agent's work folder", name, where)
			}
			if got := m.read(name + ".same"); got != "blue-"+name {
				t.Errorf("Output.Color on %s (same machine) = %q", name, got)
			}
			if got := m.read(name + "/shop/config/app.json"); !strings.Contains(got, `"hello"`) {
				t.Errorf("%s: substituted config = %q", name, got)
			}
			if got := m.read(name + "/shop/installed.txt"); got != "installed on "+name {
				t.Errorf("%s: postDeploy wrote %q", name, got)
			}
			roles := map[string]string{"web-1": "web", "web-2": "poller,web"}[name]
			for _, want := range []string{"[" + name + "] running on " + name + " with roles " + roles} {
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
			}
		}
		if m.exists("db-1.where") || m.exists("db-1/shop") {
			t.Error("a web step ran on db-1")
		}
		if got := m.read("db.txt"); got != "web-1 said blue-web-1" {
			t.Errorf("db step read web-1's output as %q", got)
		}
		if got := m.read("server.txt"); got != "web-2 color blue-web-2" {
			t.Errorf("the server step read web-2's output as %q", got)
		}
		for _, secret := range []string{"pa55-w0rd-x", "tok-web"} {
			if strings.Contains(log, secret) {
				t.Errorf("the log shows a secret %q:\n%s", secret, log)
			}
		}
		for _, want := range []string{"password ***", "token of web-2: ***", "token of web-1: ***", "[db-1] "} {
			if !strings.Contains(log, want) {
				t.Errorf("log lacks %q:\n%s", want, log)
			}
		}
		if strings.Contains(log, "LEAK") {
			t.Errorf("a step on an agent reached its data folder:\n%s", log)
		}
		if sent := regexp.MustCompile(`\[web-1\] .*sent (\d+) of (\d+) chunks`).FindStringSubmatch(log); sent == nil || sent[1] == "0" {
			t.Errorf("the first deployment sent no chunks to web-1: %v\n%s", sent, log)
		}
		dep, err := client.New(m.srv.URL, m.srv.Key).ListDeployments(context.Background(), "Default", api.DeploymentQuery{Project: "Shop"})
		if err != nil || len(dep) == 0 || dep[0].Machines != 3 {
			t.Errorf("the deployment says it ran on %+v targets, want 3", dep)
		}
		// Nothing secret stays on the machines or in the server's store.
		// (The script holds "-s3cr3t"; the secrets are what it made.)
		for _, secret := range []string{"pa55-w0rd-x", "tok-web-1-s3cr3t", "tok-web-2-s3cr3t"} {
			for name := range m.agents {
				assertNotInFiles(t, filepath.Join(m.root, name), secret)
			}
			assertNotInFiles(t, m.srv.Data, secret)
		}

		// Again: the agents hold every chunk already.
		d = m.deploy("Shop", "1.0.0", "--to", "Production")
		task, log = m.waitTask(d.TaskID, 2*time.Minute)
		if task.State != api.TaskSuccess {
			t.Fatalf("second deployment %s: %s\n%s", task.State, task.Error, log)
		}
		if sent := regexp.MustCompile(`\[web-2\] .*sent (\d+) of (\d+) chunks`).FindStringSubmatch(log); sent == nil || sent[1] != "0" {
			t.Errorf("the second deployment sent chunks web-2 holds: %v\n%s", sent, log)
		}
	})

	t.Run("--target and --exclude-target", func(t *testing.T) {
		m.apply(`
projects:
  - name: Roles
    lifecycle: Main
    process:
      - name: Web
        type: script
        roles: [web]
        script: mkdir -p 'OUT/roles-#{Ferry.Deployment.Id}' && touch 'OUT/roles-#{Ferry.Deployment.Id}/#{Ferry.Machine.Name}'
      - name: Db
        type: script
        roles: [db]
        script: mkdir -p 'OUT/roles-#{Ferry.Deployment.Id}' && touch 'OUT/roles-#{Ferry.Deployment.Id}/#{Ferry.Machine.Name}'
`)
		m.srv.Must("release", "create", "Roles", "--version", "1")
		for _, c := range []struct {
			flags []string
			want  []string
		}{
			{[]string{"--target", "web-1"}, []string{"web-1"}},
			{[]string{"--target", "web-2", "--target", "db-1"}, []string{"db-1", "web-2"}},
			{[]string{"--exclude-target", "web-1"}, []string{"db-1", "web-2"}},
		} {
			d := m.deploy(append([]string{"Roles", "1", "--to", "Production"}, c.flags...)...)
			task, log := m.waitTask(d.TaskID, time.Minute)
			if task.State != api.TaskSuccess {
				t.Fatalf("%v: %s: %s\n%s", c.flags, task.State, task.Error, log)
			}
			entries, _ := os.ReadDir(filepath.Join(m.out, fmt.Sprintf("roles-%d", d.ID)))
			var got []string
			for _, e := range entries {
				got = append(got, e.Name())
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("%v ran on %v, want %v\n%s", c.flags, got, c.want, log)
			}
		}
		r := m.srv.Fail("deploy", "Roles", "1", "--to", "Production", "--target", "web-9")
		if !strings.Contains(r.Stderr, "web-9") {
			t.Errorf("an unknown --target: %s", r.Stderr)
		}
	})

	// A manual intervention between role-scoped steps: the wait ends the
	// run, and the deployment resumes on the targets after it, counting
	// no fewer targets than before the wait. A step after the wait that
	// reads an output of a step before it is refused before anything runs
	// (output variables are not kept across the wait).
	t.Run("a manual intervention between steps on targets", func(t *testing.T) {
		m.apply(`
projects:
  - name: Gate
    lifecycle: Main
    process:
      - name: Web
        type: script
        roles: [web]
        script: mkdir -p 'OUT/gate-#{Ferry.Deployment.Id}' && touch 'OUT/gate-#{Ferry.Deployment.Id}/before-#{Ferry.Machine.Name}'
      - {name: Approve, type: manual-intervention, instructions: Look at the web targets}
      - name: Db
        type: script
        roles: [db]
        script: touch 'OUT/gate-#{Ferry.Deployment.Id}/after-#{Ferry.Machine.Name}'
  - name: Across
    lifecycle: Main
    process:
      - {name: Web, type: script, roles: [web], script: "set_ferryvariable Color blue"}
      - {name: Approve, type: manual-intervention, instructions: Look}
      - {name: Db, type: script, roles: [db], script: "echo '#{Ferry.Action[Web].Output[web-1].Color}'"}
`)
		m.srv.Must("release", "create", "Gate", "--version", "1")
		d := m.deploy("Gate", "1", "--to", "Production")
		ferrytest.WaitFor(t, time.Minute, "the deployment to wait", func() bool {
			var tk api.Task
			decodeJSON(t, m.srv.Must("task", "show", fmt.Sprint(d.TaskID), "-o", "json").Stdout, &tk)
			return tk.State == api.TaskWaiting
		})
		m.srv.Must("task", "approve", fmt.Sprint(d.TaskID))
		task, log := m.waitTask(d.TaskID, time.Minute)
		if task.State != api.TaskSuccess {
			t.Fatalf("after approval: %s: %s\n%s", task.State, task.Error, log)
		}
		for _, f := range []string{"before-web-1", "before-web-2", "after-db-1"} {
			if !m.exists(fmt.Sprintf("gate-%d/%s", d.ID, f)) {
				t.Errorf("no %s\n%s", f, log)
			}
		}
		if m.exists(fmt.Sprintf("gate-%d/before-db-1", d.ID)) || m.exists(fmt.Sprintf("gate-%d/after-web-1", d.ID)) {
			t.Errorf("log:\n%s", log)
		}
		dep, err := client.New(m.srv.URL, m.srv.Key).ListDeployments(context.Background(), "Default", api.DeploymentQuery{Project: "Gate"})
		// Which targets ran before the wait is not kept: at least those.
		if err != nil || len(dep) != 1 || dep[0].Machines < 2 {
			t.Errorf("the deployment says it ran on %+v targets, want at least the 2 before the wait", dep)
		}

		m.srv.Must("release", "create", "Across", "--version", "1")
		r := m.srv.Fail("deploy", "Across", "1", "--to", "Production")
		for _, want := range []string{`step "Db" reads an output variable of step "Web"`, `manual intervention "Approve"`} {
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("deploy across a wait: %q lacks %q", r.Stderr, want)
			}
		}
	})

	t.Run("roles that match no target fail before the step starts", func(t *testing.T) {
		m.apply(`
projects:
  - name: Cache
    lifecycle: Main
    process:
      - name: Warm
        type: script
        roles: [cache, queue]
        script: touch 'OUT/cache-ran'
`)
		m.srv.Must("release", "create", "Cache", "--version", "1")
		d := m.deploy("Cache", "1", "--to", "Production")
		task, log := m.waitTask(d.TaskID, time.Minute)
		if task.State != api.TaskFailed || !strings.Contains(task.Error, "cache") || !strings.Contains(task.Error, "queue") || !strings.Contains(task.Error, "Production") || !strings.Contains(task.Error, "ferry target add NAME --env \"Production\" --role cache") {
			t.Errorf("a step for roles no target has: %s %q\n%s", task.State, task.Error, log)
		}
		if m.exists("cache-ran") {
			t.Error("the step ran anyway")
		}
	})

	t.Run("cancel, timeout and maxParallelism reach every target", func(t *testing.T) {
		m.apply(`
projects:
  - name: Rolling
    lifecycle: Main
    process:
      - name: One at a time
        type: script
        roles: [web]
        maxParallelism: 1
        script: |
          mkdir 'OUT/rolling-lock' || echo "OVERLAP on #{Ferry.Machine.Name}"
          sleep 1
          rmdir 'OUT/rolling-lock'
  - name: Hang
    lifecycle: Main
    process:
      - name: Wait
        type: script
        roles: [web]
        script: |
          echo "waiting on #{Ferry.Machine.Name}"
          sleep 3603
  - name: Bounded
    lifecycle: Main
    process:
      - name: Wait
        type: script
        roles: [web]
        timeoutSeconds: 2
        script: |
          echo "bounded on #{Ferry.Machine.Name}"
          sleep 3604
`)
		m.srv.Must("release", "create", "Rolling", "--version", "1")
		d := m.deploy("Rolling", "1", "--to", "Production")
		task, log := m.waitTask(d.TaskID, time.Minute)
		if task.State != api.TaskSuccess || strings.Contains(log, "OVERLAP") {
			t.Errorf("maxParallelism 1: %s %q\n%s", task.State, task.Error, log)
		}

		m.srv.Must("release", "create", "Hang", "--version", "1")
		d = m.deploy("Hang", "1", "--to", "Production")
		ferrytest.WaitFor(t, time.Minute, "the step to start on both web targets", func() bool {
			l := m.logText(d.TaskID)
			return strings.Contains(l, "[web-1] waiting on web-1") && strings.Contains(l, "[web-2] waiting on web-2")
		})
		m.srv.Must("task", "cancel", fmt.Sprint(d.TaskID))
		task, log = m.waitTask(d.TaskID, time.Minute)
		if task.State != api.TaskCancelled {
			t.Errorf("a cancelled task on targets: %s %q\n%s", task.State, task.Error, log)
		}
		ferrytest.WaitFor(t, 30*time.Second, "the cancelled step's processes on every target to end", func() bool { return !processRunning("sleep 3603") })

		m.srv.Must("release", "create", "Bounded", "--version", "1")
		d = m.deploy("Bounded", "1", "--to", "Production")
		task, log = m.waitTask(d.TaskID, time.Minute)
		if task.State != api.TaskFailed || !strings.Contains(log, "[web-1] bounded") || !strings.Contains(log, "[web-2] bounded") {
			t.Errorf("a step that times out on targets: %s %q\n%s", task.State, task.Error, log)
		}
		ferrytest.WaitFor(t, 30*time.Second, "the timed-out step's processes on every target to end", func() bool { return !processRunning("sleep 3604") })
	})

	t.Run("a killed agent fails its step; then it is named offline", func(t *testing.T) {
		m.apply(`
projects:
  - name: Slow
    lifecycle: Main
    process:
      - name: Wait
        type: script
        roles: [db]
        script: |
          echo started
          sleep 3601
          echo never
      - name: Tolerant
        type: script
        roles: [db, web]
        skipUnavailableTargets: true
        script: 'echo tolerant on #{Ferry.Machine.Name}'
`)
		m.srv.Must("release", "create", "Slow", "--version", "1")
		d := m.deploy("Slow", "1", "--to", "Production")
		ferrytest.WaitFor(t, time.Minute, "the step to start on db-1", func() bool { return strings.Contains(m.logText(d.TaskID), "[db-1] started") })
		m.agents["db-1"].Kill()
		task, log := m.waitTask(d.TaskID, 90*time.Second)
		if task.State != api.TaskFailed || !strings.Contains(task.Error, "db-1") {
			t.Errorf("the task of a killed agent: %s %q\n%s", task.State, task.Error, log)
		}
		ferrytest.WaitFor(t, 30*time.Second, "the step's processes to end", func() bool { return !processRunning("sleep 3601") })

		// Offline now: named with when it was last seen.
		d = m.deploy("Slow", "1", "--to", "Production")
		task, log = m.waitTask(d.TaskID, 90*time.Second)
		if task.State != api.TaskFailed || !strings.Contains(task.Error, "db-1") || !strings.Contains(task.Error, "last seen") {
			t.Errorf("a step for an offline target: %s %q\n%s", task.State, task.Error, log)
		}
		r := m.srv.Fail("target", "check", "db-1")
		if !strings.Contains(r.Out(), "Offline") {
			t.Errorf("target check of a dead agent: %s", r.Out())
		}

		// A step that may skip unavailable targets runs on the others.
		m.apply(`
projects:
  - name: Skip
    lifecycle: Main
    process:
      - name: Tolerant
        type: script
        roles: [db, web]
        skipUnavailableTargets: true
        script: 'echo tolerant on #{Ferry.Machine.Name}'
`)
		m.srv.Must("release", "create", "Skip", "--version", "1")
		d = m.deploy("Skip", "1", "--to", "Production")
		task, log = m.waitTask(d.TaskID, time.Minute)
		if task.State != api.TaskSuccess || !strings.Contains(log, "[web-1] tolerant on web-1") || !strings.Contains(log, "db-1") {
			t.Errorf("skipUnavailableTargets: %s %q\n%s", task.State, task.Error, log)
		}
	})

	t.Run("certificates that do not match are refused on both sides", func(t *testing.T) {
		// The server: a target whose agent presents another certificate.
		other := m.bin.InitAgent(t, filepath.Join(t.TempDir(), "other"))
		web1 := m.agents["web-1"]
		m.srv.Must("target", "add", "impostor", "--env", "Production", "--role", "imp", "--url", web1.URL, "--thumbprint", other)
		r := m.srv.Fail("target", "check", "impostor")
		if !strings.Contains(r.Out(), other) || !strings.Contains(r.Out(), web1.Fingerprint) {
			t.Errorf("target check of a mismatched certificate names %q; want %s and %s", r.Out(), other, web1.Fingerprint)
		}

		// A listening agent that trusts another server.
		wrongServer := m.bin.InitAgent(t, filepath.Join(t.TempDir(), "not-the-server"))
		wary := m.bin.StartAgent(t, ferrytest.AgentConfig{Trust: []string{wrongServer}})
		m.srv.Must("target", "add", "wary", "--env", "Production", "--role", "wary", "--url", wary.URL, "--thumbprint", wary.Fingerprint)
		r = m.srv.Fail("target", "check", "wary")
		if !strings.Contains(r.Out(), m.trust.Fingerprint) || !strings.Contains(r.Out(), wrongServer) {
			t.Errorf("target check of an agent that refuses this server: %q; want %s and %s", r.Out(), m.trust.Fingerprint, wrongServer)
		}
		ferrytest.WaitFor(t, 30*time.Second, "the agent to log the refusal", func() bool {
			return strings.Contains(wary.Log(), m.trust.Fingerprint) && strings.Contains(wary.Log(), wrongServer)
		})

		// A polling agent the server does not know, and one that trusts
		// another server: both keep trying, and say why.
		stranger := m.bin.StartAgent(t, ferrytest.AgentConfig{Poll: "https://" + m.trust.AgentListen, Trust: []string{m.trust.Fingerprint}})
		ferrytest.WaitFor(t, 30*time.Second, "the unknown polling agent to be refused", func() bool {
			return strings.Contains(stranger.Log(), stranger.Fingerprint) && strings.Contains(stranger.Log(), m.trust.Fingerprint) && strings.Contains(stranger.Log(), "refused")
		})
		misled := m.bin.StartAgent(t, ferrytest.AgentConfig{Poll: "https://" + m.trust.AgentListen, Trust: []string{wrongServer}})
		ferrytest.WaitFor(t, 30*time.Second, "the polling agent to refuse the server", func() bool {
			return strings.Contains(misled.Log(), wrongServer) && strings.Contains(misled.Log(), m.trust.Fingerprint)
		})
		if !strings.Contains(m.srv.Log(), stranger.Fingerprint) {
			t.Errorf("the server did not log the unknown agent's fingerprint %s", stranger.Fingerprint)
		}
		m.srv.Must("target", "delete", "impostor")
		m.srv.Must("target", "delete", "wary")
	})

	t.Run("a server restart mid-deployment", func(t *testing.T) {
		m.apply(`
projects:
  - name: Long
    lifecycle: Main
    process:
      - name: Wait
        type: script
        roles: [poller]
        script: |
          echo started
          sleep 3602
          touch 'OUT/long-finished'
`)
		m.srv.Must("release", "create", "Long", "--version", "1")
		d := m.deploy("Long", "1", "--to", "Production")
		ferrytest.WaitFor(t, time.Minute, "the step to start on web-2", func() bool { return strings.Contains(m.logText(d.TaskID), "[web-2] started") })
		m.srv.Kill()
		m.srv.Restart()
		task, log := m.waitTask(d.TaskID, time.Minute)
		if task.State != api.TaskFailed {
			t.Errorf("after a restart the task is %s %q\n%s", task.State, task.Error, log)
		}
		ferrytest.WaitFor(t, 30*time.Second, "the step's processes on web-2 to end", func() bool { return !processRunning("sleep 3602") })
		m.waitHealthy("web-2")
		m.apply(`
projects:
  - name: Quick
    lifecycle: Main
    process:
      - name: Hello
        type: script
        roles: [poller]
        script: 'echo hello from #{Ferry.Machine.Name}'
`)
		m.srv.Must("release", "create", "Quick", "--version", "1")
		d = m.deploy("Quick", "1", "--to", "Production")
		task, log = m.waitTask(d.TaskID, time.Minute)
		if task.State != api.TaskSuccess || !strings.Contains(log, "[web-2] hello from web-2") {
			t.Errorf("through the reconnected polling agent: %s %q\n%s", task.State, task.Error, log)
		}
		if m.exists("long-finished") {
			t.Error("the step interrupted by the restart went on to its end")
		}
	})
}

// processRunning reports whether a process with this command line runs.
func processRunning(cmdline string) bool {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err == nil && strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " ") == cmdline {
			return true
		}
	}
	return false
}
