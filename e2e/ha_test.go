package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
	"github.com/ferrydeploy/ferry/internal/store/pgtest"
)

// haYAML is a project whose step records the task that ran it in RUNS and
// then waits until the file GO exists (at most a minute): the test decides
// when deployments may finish.
func haYAML(runs, goFile string) string {
	return fmt.Sprintf(`environments:
  - name: Development
lifecycles:
  - name: Main
    phases:
      - name: Dev
        environments: [Development]
projects:
  - name: Web
    lifecycle: Main
    process:
      - name: Run
        type: script
        script: |
          echo "#{Ferry.Task.Id}" >> %[1]s
          for i in $(seq 600); do [ -e %[2]s ] && break; sleep 0.1; done
          echo "done on task #{Ferry.Task.Id}"
`, runs, goFile)
}

type haTask struct {
	ID    int64  `json:"id"`
	State string `json:"state"`
	Node  string `json:"node"`
	Error string `json:"error"`
}

type haHealth struct {
	Status string `json:"status"`
	Node   string `json:"node"`
	Store  string `json:"store"`
	Queue  struct {
		Queued    int `json:"queued"`
		Executing int `json:"executing"`
	} `json:"queue"`
	Nodes []struct {
		Name string `json:"name"`
	} `json:"nodes"`
	Exclusive []string `json:"exclusive"`
}

// TestHA runs two server nodes on one PostgreSQL database and one shared
// data folder, started together on an empty database: they share their
// work, each of ten concurrent deployments runs exactly once on one of
// them, and when a node is killed with a task running, another fails that
// task instead of leaving it Executing.
func TestHA(t *testing.T) {
	bin := ferrytest.Build(t)
	cluster := pgtest.Start(t)
	dbURL := cluster.NewDatabase(t)
	data := filepath.Join(t.TempDir(), "data")
	env := func(node string) ferrytest.ServerConfig {
		return ferrytest.ServerConfig{Data: data, Env: []string{
			"FERRY_DATABASE_URL=" + dbURL, "FERRY_NODE=" + node,
			"FERRY_HEARTBEAT_INTERVAL=200ms", "FERRY_NODE_TIMEOUT=1s",
		}}
	}
	nodes := bin.StartServers(t, env("node-a"), env("node-b"))
	a, b := nodes[0], nodes[1]

	// Started together on an empty database: it was migrated once and
	// bootstrapped once.
	checkMigratedOnce(t, dbURL)
	if out := a.Must("space", "list").Stdout; strings.Count(out, "Default") != 1 {
		t.Errorf("space list after starting together:\n%s", out)
	}
	for _, s := range nodes {
		contains(t, s.Log(), "opened PostgreSQL store", "store=postgres")
	}

	// Work written through one node is visible through the other.
	dir := t.TempDir()
	runs, goFile := filepath.Join(dir, "runs"), filepath.Join(dir, "go")
	a.Must("apply", "-f", ferrytest.WriteFile(t, "ha.yaml", haYAML(runs, goFile)))
	b.Must("release", "create", "Web", "--version", "1.0.0")
	contains(t, a.Must("release", "list", "Web").Stdout, "1.0.0")

	h := health(t, a)
	if h.Status != "ok" || h.Node != "node-a" || h.Store != "postgres" || len(h.Nodes) != 2 {
		t.Errorf("health of node-a: %+v, want ok, node-a, postgres and two nodes alive", h)
	}

	// Ten deployments at once, through both nodes. Each waits for GO, so a
	// node can hold no more than its runner's slots: both nodes must take
	// some before any finishes.
	var wg sync.WaitGroup
	for i := range 10 {
		s := nodes[i%2]
		wg.Go(func() {
			if r := s.Run("deploy", "Web", "1.0.0", "--to", "Development"); r.Code != 0 {
				t.Errorf("deploy %d: %s", i, r.Out())
			}
		})
	}
	wg.Wait()
	ferrytest.WaitFor(t, 60*time.Second, "both nodes running deployments", func() bool {
		byNode := map[string]int{}
		for _, task := range tasks(t, b) {
			if task.State == "Executing" {
				byNode[task.Node]++
			}
		}
		return byNode["node-a"] > 0 && byNode["node-b"] > 0
	})
	if h := health(t, b); h.Queue.Executing == 0 || h.Queue.Queued+h.Queue.Executing != 10 {
		t.Errorf("health queue while deploying: %+v, want 10 tasks queued or executing", h.Queue)
	}
	if err := os.WriteFile(goFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var done []haTask
	ferrytest.WaitFor(t, 120*time.Second, "ten deployments to finish", func() bool {
		done = tasks(t, a)
		return len(done) == 10 && !slices.ContainsFunc(done, func(t haTask) bool {
			return t.State == "Queued" || t.State == "Executing"
		})
	})
	ran, err := os.ReadFile(runs)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(ran))
	slices.Sort(lines)
	if len(lines) != 10 || len(slices.Compact(slices.Clone(lines))) != 10 {
		t.Errorf("tasks that ran, by id: %v; want ten, each once", lines)
	}
	for _, task := range done {
		if task.State != "Success" {
			t.Errorf("task %d: %s (%s) on %s", task.ID, task.State, task.Error, task.Node)
		}
	}

	// Kill the node that runs a deployment: another node fails the task.
	if err := os.Remove(goFile); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.WriteFile(goFile, nil, 0o644) }) // lets the orphaned script end
	a.Must("deploy", "Web", "1.0.0", "--to", "Development")
	var running haTask
	ferrytest.WaitFor(t, 60*time.Second, "the new deployment to run", func() bool {
		for _, task := range tasks(t, a) {
			if task.State == "Executing" {
				running = task
				return true
			}
		}
		return false
	})
	victim, survivor := a, b
	if running.Node == "node-b" {
		victim, survivor = b, a
	}
	victim.Kill()
	var failed haTask
	ferrytest.WaitFor(t, 60*time.Second, "the dead node's task to be failed", func() bool {
		for _, task := range tasks(t, survivor) {
			if task.ID == running.ID && task.State != "Executing" {
				failed = task
				return true
			}
		}
		return false
	})
	if failed.State != "Failed" || !strings.Contains(failed.Error, "no heartbeat") {
		t.Errorf("the dead node's task: %+v, want Failed for want of a heartbeat", failed)
	}
	contains(t, survivor.Log(), "failed the tasks of a node that stopped heartbeating")
	ferrytest.WaitFor(t, 30*time.Second, "the dead node to leave the health report", func() bool {
		h := health(t, survivor)
		return len(h.Nodes) == 1 && h.Queue.Executing == 0
	})

	// The survivor carries on, and the dead node comes back.
	if err := os.WriteFile(goFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	contains(t, survivor.Must("deploy", "Web", "1.0.0", "--to", "Development", "--wait").Out(), "Success")
	victim.Restart()
	ferrytest.WaitFor(t, 30*time.Second, "both nodes alive again", func() bool { return len(health(t, survivor).Nodes) == 2 })
	contains(t, victim.Must("deploy", "Web", "1.0.0", "--to", "Development", "--wait").Out(), "Success")
}

// checkMigratedOnce reads schema_migrations directly: one row per migration
// version, each applied once (the key would not allow a second row, and a
// second attempt to create the tables would have stopped a node).
func checkMigratedOnce(t *testing.T, dbURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n, distinct int
	if err := conn.QueryRow(ctx, `SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != distinct {
		t.Errorf("schema_migrations has %d rows for %d versions", n, distinct)
	}
}

func tasks(t *testing.T, s *ferrytest.Server) []haTask {
	t.Helper()
	var list []haTask
	if err := json.Unmarshal([]byte(s.Must("task", "list", "-o", "json").Stdout), &list); err != nil {
		t.Fatalf("task list: %v", err)
	}
	return list
}

func health(t *testing.T, s *ferrytest.Server) haHealth {
	t.Helper()
	resp, err := http.Get(s.URL + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h haHealth
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("health: %v", err)
	}
	return h
}
