package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/client"
	"github.com/ferrydeploy/ferry/internal/sandbox"
	"github.com/ferrydeploy/ferry/internal/server"
	"github.com/ferrydeploy/ferry/internal/store/pgtest"
)

// TestMain shares one throwaway PostgreSQL cluster between the PostgreSQL
// benchmarks, started only if one of them runs.
// TestMain also serves as the sandbox's init: the servers these benchmarks
// run in this process start steps in sandboxes.
func TestMain(m *testing.M) {
	sandbox.Main()
	pgtest.Main(m)
}

const deployYAML = `environments:
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
      - name: Hello
        type: script
        script: |
          echo "hello from task #{Ferry.Task.Id}"
`

// BenchmarkDeployments measures deployment throughput end to end: b.N
// deployments of a one-step trivial script are queued at once through the
// HTTP API (spread over the nodes), and the clock stops when the last one
// has finished. Each node runs the default 4 tasks at a time.
//
//	go test -run x -bench Deployments -benchtime 200x ./bench/
//
// Steps run in the sandbox, as on a real server; "sqlite/1-node/sandbox-off"
// is the same run without isolation, the baseline for what it costs.
func BenchmarkDeployments(b *testing.B) {
	b.Run("sqlite/1-node/sandbox-off", func(b *testing.B) { benchDeployments(b, "", 1, sandbox.Off) })
	b.Run("sqlite/1-node", func(b *testing.B) { benchDeployments(b, "", 1, sandbox.Isolate) })
	b.Run("postgres/1-node", func(b *testing.B) { benchDeployments(b, pgtest.NewDatabase(b), 1, sandbox.Isolate) })
	b.Run("postgres/2-nodes", func(b *testing.B) { benchDeployments(b, pgtest.NewDatabase(b), 2, sandbox.Isolate) })
}

func benchDeployments(b *testing.B, dbURL string, nodes int, mode sandbox.Mode) {
	data := filepath.Join(b.TempDir(), "data")
	var clients []*client.Client
	for i := range nodes {
		clients = append(clients, startNode(b, data, dbURL, fmt.Sprintf("bench-%d", i+1), mode))
	}
	ctx := context.Background()
	c := clients[0]
	if _, err := c.Apply(ctx, "Default", []byte(deployYAML), api.ApplyOptions{}); err != nil {
		b.Fatal(err)
	}
	if _, err := c.CreateRelease(ctx, "Default", "Web", api.CreateReleaseRequest{Version: "1.0.0"}); err != nil {
		b.Fatal(err)
	}

	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for w := range 8 {
		wg.Go(func() {
			for range next {
				req := api.DeployRequest{Project: "Web", Version: "1.0.0", Environment: "Development"}
				if _, err := clients[w%nodes].Deploy(ctx, "Default", req); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range b.N {
		next <- i
	}
	close(next)
	wg.Wait()
	for {
		h, err := c.Health(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if h.Queue != nil && h.Queue.Queued+h.Queue.Executing == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond) // coarse enough not to load the server
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Minutes(), "deploys/min")

	tasks, err := c.ListTasks(ctx, "Default", b.N)
	if err != nil {
		b.Fatal(err)
	}
	perNode := map[string]int{}
	for _, t := range tasks {
		if t.State != api.TaskSuccess {
			log, _ := c.TaskLog(ctx, "Default", t.ID, 0)
			b.Fatalf("task %d: %s %s\n%+v", t.ID, t.State, t.Error, log.Lines)
		}
		perNode[t.Node]++
	}
	if len(tasks) != b.N {
		b.Fatalf("%d tasks ran (by node: %v), want %d", len(tasks), perNode, b.N)
	}
	if nodes > 1 {
		b.Logf("%d deployments by node: %v", b.N, perNode)
	}
}

// startNode runs a server in this process and returns an API client for it;
// it stops when the benchmark ends.
func startNode(b *testing.B, data, dbURL, node string, mode sandbox.Mode) *client.Client {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Config{
			DataDir: data, Listen: "127.0.0.1:0", DatabaseURL: dbURL, Node: node, Sandbox: mode,
			Log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
			Ready: func(addr string) { ready <- addr },
		})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		b.Fatalf("node %s: %v", node, err)
	}
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("node %s: %v", node, err)
		}
	})
	key, err := os.ReadFile(filepath.Join(data, "admin.key"))
	if err != nil {
		b.Fatal(err)
	}
	return client.New("http://"+addr, strings.TrimSpace(string(key)))
}
