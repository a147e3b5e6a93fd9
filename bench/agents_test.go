package bench

import (
	"archive/zip"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/ferrytest"
	"github.com/ferrydeploy/ferry/internal/release"
	"github.com/ferrydeploy/ferry/internal/sandbox"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/targets"
)

// fleet is an in-process server (the production service set on SQLite,
// its runner and hub running) and n real `ferry agent run` processes,
// listening on loopback, registered as targets of Production with role
// web. Agents isolate their steps (namespaces), as in production.
type fleet struct {
	env    *servicetest.Env
	agents []*ferrytest.Agent
}

func newFleet(b *testing.B, n int, env ...string) *fleet {
	b.Helper()
	srv := servicetest.New(b, servicetest.RunTasks(sandbox.Off))
	srv.CreateSpace("Default")
	srv.Apply("Default", "environments: [{name: Production}]\nlifecycles: [{name: Main, phases: [{name: Prod, environments: [Production]}]}]\n")
	info, err := srv.Set.Targets.TrustInfo(srv.Ctx)
	if err != nil {
		b.Fatal(err)
	}
	bin := ferrytest.Build(b)
	f := &fleet{env: srv, agents: make([]*ferrytest.Agent, n)}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			f.agents[i] = bin.StartAgent(b, ferrytest.AgentConfig{Trust: []string{info.Fingerprint}, Env: env})
		})
	}
	wg.Wait()
	for i, a := range f.agents {
		name := fmt.Sprintf("web-%02d", i+1)
		if _, err := srv.Set.Targets.Add(srv.Ctx, "Default", targets.AddRequest{Name: name, Environments: []string{"Production"}, Roles: []string{"web"}, URL: a.URL, Thumbprint: a.Fingerprint}); err != nil {
			b.Fatal(err)
		}
	}
	return f
}

// deploy deploys a release to Production and waits until its task ended;
// it returns the task's log.
func (f *fleet) deploy(b *testing.B, project, version string) string {
	d, err := f.env.Set.Deploy.Deploy(f.env.Ctx, "Default", deploy.Request{Project: project, Version: version, Environment: "Production"})
	if err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		task, err := f.env.Set.Deploy.Task(f.env.Ctx, "Default", d.TaskID)
		if err != nil {
			b.Fatal(err)
		}
		if task.State.Done() {
			_, lines, _ := f.env.Set.Deploy.Log(f.env.Ctx, "Default", d.TaskID, 0)
			var log strings.Builder
			for _, l := range lines {
				log.WriteString(l.Text + "\n")
			}
			if task.State != domain.TaskSuccess {
				b.Fatalf("deployment %s: %s\n%s", task.State, task.Error, log.String())
			}
			return log.String()
		}
		if time.Now().After(deadline) {
			b.Fatalf("deployment still %s after 5 minutes", task.State)
		}
		time.Sleep(5 * time.Millisecond) // polling the task's state
	}
}

// BenchmarkAgentFanOut is one trivial script step deployed to 1, 10 and
// 50 agents (all at once: maxParallelism 0); "server" is the same step on
// the server's built-in worker, the baseline, in the same run; and
// "agents=50/sandbox-off" is 50 agents that run steps without isolation
// (what the namespaces cost when 50 agents share one host's 2 cores).
//
//	go test -run x -bench AgentFanOut -benchtime 20x ./bench/
func BenchmarkAgentFanOut(b *testing.B) {
	for _, c := range []struct {
		n   int
		env []string
	}{{0, nil}, {1, nil}, {10, nil}, {50, nil}, {50, []string{"FERRY_SANDBOX=off"}}} {
		n := c.n
		name := "server"
		if n > 0 {
			name = fmt.Sprintf("agents=%d", n)
		}
		if c.env != nil {
			name += "/sandbox-off"
		}
		b.Run(name, func(b *testing.B) {
			f := newFleet(b, n, c.env...)
			roles := "roles: [web], "
			if n == 0 {
				roles = ""
			}
			f.env.Apply("Default", "projects:\n  - name: Hello\n    lifecycle: Main\n    process:\n      - {name: Hi, type: script, "+roles+"script: 'echo hello from task #{Ferry.Task.Id}'}\n")
			f.env.Release("Default", "Hello", "1")
			f.deploy(b, "Hello", "1") // warm: connections made
			b.ResetTimer()
			for range b.N {
				f.deploy(b, "Hello", "1")
			}
		})
	}
}

// writePackage writes a zip of 20 files of 1 MiB of incompressible bytes
// (stored: 20 MiB); seed picks the bytes of the file changed picks, so two
// versions differ in one file.
func writePackage(b *testing.B, path string, changed int, seed uint64) int64 {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range 20 {
		s := uint64(i)
		if i == changed {
			s = seed
		}
		r := rand.New(rand.NewPCG(s, 7))
		data := make([]byte, 1<<20)
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("data/part-%02d.bin", i), Method: zip.Store})
		if err != nil {
			b.Fatal(err)
		}
		w.Write(data)
	}
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return int64(buf.Len())
}

var sentRE = regexp.MustCompile(`\[(web-\d+)\] Package .*sent (\d+) of (\d+) chunks \((\d+) bytes\)`)

// sentBytes sums the bytes the log says each agent was sent.
func sentBytes(b *testing.B, log string, agents int) int64 {
	m := sentRE.FindAllStringSubmatch(log, -1)
	if len(m) != agents {
		b.Fatalf("%d agents were sent a package, want %d:\n%s", len(m), agents, log)
	}
	var sum int64
	for _, x := range m {
		n, _ := strconv.ParseInt(x[4], 10, 64)
		sum += n
	}
	return sum
}

// rss reads a process's resident memory now and at its peak, in MiB.
func rss(b *testing.B, pid int) (now, peak float64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			now = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return now, peak
}

// BenchmarkAgentPackage deploys a 20 MiB package to 10 agents, then its
// second version (one of its 20 files changed): bytes sent per agent
// against the package's size — the first version, to empty chunk caches,
// is the baseline in the same run — and an agent's memory at rest (before
// any deployment) and at its peak (after both).
//
//	go test -run x -bench AgentPackage -benchtime 1x ./bench/
func BenchmarkAgentPackage(b *testing.B) {
	for range b.N {
		b.StopTimer()
		f := newFleet(b, 10)
		restNow, _ := rss(b, f.agents[0].Pid())
		dir := b.TempDir()
		size := writePackage(b, filepath.Join(dir, "app-1.zip"), -1, 0)
		writePackage(b, filepath.Join(dir, "app-2.zip"), 7, 99)
		for _, v := range []string{"1", "2"} {
			file, _ := os.Open(filepath.Join(dir, "app-"+v+".zip"))
			_, err := f.env.Set.Packages.Push(f.env.Ctx, "Default", "app", v+".0.0", file)
			file.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
		f.env.Apply("Default", "projects:\n  - name: App\n    lifecycle: Main\n    process:\n      - {name: Install, type: deploy-package, package: app, roles: [web], destination: '"+filepath.Join(dir, "#{Ferry.Machine.Name}")+"'}\n")
		for _, v := range []string{"1", "2"} {
			if _, err := f.env.Set.Releases.Create(f.env.Ctx, "Default", "App", release.CreateRequest{Version: v, Packages: []string{"app:" + v + ".0.0"}}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		first := sentBytes(b, f.deploy(b, "App", "1"), 10)
		second := sentBytes(b, f.deploy(b, "App", "2"), 10)
		b.StopTimer()
		_, peak := rss(b, f.agents[0].Pid())
		b.ReportMetric(float64(size)/(1<<20), "package-MiB")
		b.ReportMetric(float64(first)/10/(1<<20), "v1-sent-MiB/agent")
		b.ReportMetric(float64(second)/10/(1<<20), "v2-sent-MiB/agent")
		b.ReportMetric(float64(second)/10/float64(size)*100, "v2-sent-%-of-package")
		b.ReportMetric(restNow, "agent-rest-RSS-MiB")
		b.ReportMetric(peak, "agent-peak-RSS-MiB")
		b.StartTimer()
	}
}
