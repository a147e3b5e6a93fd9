package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/ferrytest"
	"github.com/ferrydeploy/ferry/internal/store/pgtest"
)

// TestAgentsMultiNode runs two server nodes on one PostgreSQL database with
// a polling agent connected to node B only: a task node A runs still
// reaches it, because work for targets is a job in the store that the
// node holding the agent's connection claims (SPEC §5).
func TestAgentsMultiNode(t *testing.T) {
	bin := ferrytest.Build(t)
	cluster := pgtest.Start(t)
	dbURL := cluster.NewDatabase(t)
	data := filepath.Join(t.TempDir(), "data")
	listenA, listenB := ferrytest.FreePort(t), ferrytest.FreePort(t)
	env := func(node, listen string) ferrytest.ServerConfig {
		return ferrytest.ServerConfig{Data: data, Env: []string{
			"FERRY_DATABASE_URL=" + dbURL, "FERRY_NODE=" + node, "FERRY_AGENT_LISTEN=" + listen,
			"FERRY_HEARTBEAT_INTERVAL=200ms", "FERRY_NODE_TIMEOUT=1s",
		}}
	}
	nodes := bin.StartServers(t, env("node-a", listenA), env("node-b", listenB))
	a, b := nodes[0], nodes[1]
	var trustA, trustB api.AgentTrust
	decodeJSON(t, a.Must("target", "trust-info", "-o", "json").Stdout, &trustA)
	decodeJSON(t, b.Must("target", "trust-info", "-o", "json").Stdout, &trustB)
	if trustA.Fingerprint != trustB.Fingerprint {
		t.Fatalf("the nodes present different agent identities: %s and %s", trustA.Fingerprint, trustB.Fingerprint)
	}
	a.Must("env", "create", "Production")
	agent := bin.StartAgent(t, ferrytest.AgentConfig{Poll: "https://" + listenB, Trust: []string{trustB.Fingerprint}})
	a.Must("target", "add", "far-1", "--env", "Production", "--role", "far", "--polling", "--thumbprint", agent.Fingerprint)
	ferrytest.WaitFor(t, 60*time.Second, "far-1 healthy", func() bool { return a.Run("target", "check", "far-1").Code == 0 })

	a.Must("apply", "-f", ferrytest.WriteFile(t, "ferry.yaml", `lifecycles: [{name: Main, phases: [{name: Prod, environments: [Production]}]}]
projects:
  - name: Far
    lifecycle: Main
    process:
      - {name: Hello, type: script, roles: [far], script: 'echo "hello from #{Ferry.Machine.Name} for task #{Ferry.Task.Id}"'}
`))
	a.Must("release", "create", "Far", "--version", "1")
	m := &machines{t: t, srv: a}
	ranOn := map[string]int{}
	for i := 0; i < 12 && ranOn["node-a"] == 0; i++ {
		var d api.Deployment
		decodeJSON(t, []*ferrytest.Server{a, b}[i%2].Must("deploy", "Far", "1", "--to", "Production", "-o", "json").Stdout, &d)
		task, log := m.waitTask(d.TaskID, 2*time.Minute)
		if task.State != api.TaskSuccess || !strings.Contains(log, fmt.Sprintf("[far-1] hello from far-1 for task %d", d.TaskID)) {
			t.Fatalf("deployment %d (run by %s): %s %q\n%s", d.ID, task.Node, task.State, task.Error, log)
		}
		ranOn[task.Node]++
	}
	if ranOn["node-a"] == 0 {
		t.Errorf("no task ran on node-a in 12 deployments (%v): the cross-node path was not exercised", ranOn)
	}
}
