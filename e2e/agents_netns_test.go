package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// netns makes a network namespace joined to this one by a veth pair:
// the host side is hostIP, the namespace's nsIP (a /30 of its own). It
// skips the test where the kernel or permissions do not allow it.
func netns(t *testing.T) (name, hostIP, nsIP string) {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipped: no `ip` command (iproute2) to make a network namespace")
	}
	n := os.Getpid() % 200
	name = fmt.Sprintf("ferry-e2e-%d", os.Getpid())
	hostIP, nsIP = fmt.Sprintf("10.251.%d.1", n), fmt.Sprintf("10.251.%d.2", n)
	host, peer := fmt.Sprintf("fh%d", os.Getpid()), fmt.Sprintf("fn%d", os.Getpid())
	run := func(args ...string) error {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run("netns", "add", name); err != nil {
		t.Skipf("skipped: this kernel or user cannot make a network namespace (%v)", err)
	}
	t.Cleanup(func() { run("netns", "del", name); run("link", "del", host) })
	for _, args := range [][]string{
		{"link", "add", host, "type", "veth", "peer", "name", peer},
		{"link", "set", peer, "netns", name},
		{"addr", "add", hostIP + "/30", "dev", host},
		{"link", "set", host, "up"},
		{"-n", name, "addr", "add", nsIP + "/30", "dev", peer},
		{"-n", name, "link", "set", peer, "up"},
		{"-n", name, "link", "set", "lo", "up"},
	} {
		if err := run(args...); err != nil {
			t.Skipf("skipped: cannot wire the network namespace (%v)", err)
		}
	}
	return name, hostIP, nsIP
}

// TestPollingAgentInNetworkNamespace puts a polling agent in a network
// namespace of its own that reaches the server only through a veth pair,
// and deploys through it: the agent dials out and listens on nothing
// there, so no inbound connection to its network is needed (SPEC §5).
// (This host has no firewall tools to drop inbound connections in the
// namespace; the test proves instead that nothing listens there.)
func TestPollingAgentInNetworkNamespace(t *testing.T) {
	ns, hostIP, _ := netns(t)
	bin := ferrytest.Build(t)
	listen := fmt.Sprintf("%s:%s", hostIP, strings.TrimPrefix(ferrytest.FreePort(t), "127.0.0.1:"))
	srv := bin.StartServer(t, "FERRY_AGENT_LISTEN="+listen)
	var trust api.AgentTrust
	decodeJSON(t, srv.Must("target", "trust-info", "-o", "json").Stdout, &trust)
	srv.Must("env", "create", "Production")

	data := filepath.Join(t.TempDir(), "agent")
	fp := bin.InitAgent(t, data)
	srv.Must("target", "add", "isolated-1", "--env", "Production", "--role", "inside", "--polling", "--thumbprint", fp)
	a := bin.StartAgent(t, ferrytest.AgentConfig{Data: data, Poll: "https://" + listen, Trust: []string{trust.Fingerprint},
		Wrap: []string{"ip", "netns", "exec", ns}})
	ferrytest.WaitFor(t, 60*time.Second, "the polling agent in the namespace to be Healthy", func() bool {
		return srv.Run("target", "check", "isolated-1").Code == 0
	})

	out := t.TempDir()
	yaml := `lifecycles: [{name: Main, phases: [{name: Prod, environments: [Production]}]}]
projects:
  - name: Inside
    lifecycle: Main
    process:
      - name: Where
        type: script
        roles: [inside]
        script: |
          echo "deployed on #{Ferry.Machine.Name}"
`
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "ferry.yaml", strings.ReplaceAll(yaml, "OUT", out)))
	srv.Must("release", "create", "Inside", "--version", "1")
	var d api.Deployment
	decodeJSON(t, srv.Must("deploy", "Inside", "1", "--to", "Production", "-o", "json").Stdout, &d)
	m := &machines{t: t, srv: srv}
	task, log := m.waitTask(d.TaskID, 2*time.Minute)
	if task.State != api.TaskSuccess || !strings.Contains(log, "[isolated-1] deployed on isolated-1") {
		t.Fatalf("deployment through the namespace: %s %q\n%s\nagent:\n%s", task.State, task.Error, log, a.Log())
	}
	// Nothing listens in the agent's network namespace: the server never
	// connected to it.
	ss, err := exec.Command("ip", "netns", "exec", ns, "cat", "/proc/net/tcp", "/proc/net/tcp6").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(ss), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 3 && f[3] == "0A" { // TCP_LISTEN
			t.Errorf("something listens in the agent's namespace: %s", line)
		}
	}
}
