package bench

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/retention"
	"github.com/ferrydeploy/ferry/internal/servicetest"
)

// retentionReleases is how many releases BenchmarkRetention makes
// (FERRY_BENCH_RELEASES; default the 100,000).
func retentionReleases(b *testing.B) int {
	n := 100000
	if v := os.Getenv("FERRY_BENCH_RELEASES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 200 {
			b.Fatalf("FERRY_BENCH_RELEASES=%q: want a number from 200", v)
		}
	}
	return n
}

// BenchmarkRetention is retention over a server with n releases of one
// project, each deployed once to Dev (a finished task with three log
// lines) and pinning one of n/100 package versions (64 KiB of random
// bytes each), under a phase that keeps 10. One run removes all but the
// newest 10 releases, all but the newest package version and the chunks
// of the rest. The baseline is a dry run over the same server just
// before: deciding what goes (reading every release, deployment and
// package) without removing anything. Reported: seconds, MB of heap allocated, the peak heap
// in use (sampled), releases and chunk bytes removed.
func BenchmarkRetention(b *testing.B) {
	n := retentionReleases(b)
	for range b.N {
		b.StopTimer()
		env := seedRetention(b, n)
		b.StartTimer()
		base, baseTook, baseAlloc, basePeak := measureRetention(b, env, true)
		rep, took, alloc, peak := measureRetention(b, env, false)
		if len(base.Releases) != len(rep.Releases) {
			b.Fatalf("the dry run would remove %d releases, the run removed %d", len(base.Releases), len(rep.Releases))
		}
		b.ReportMetric(took.Seconds(), "run-s")
		b.ReportMetric(float64(alloc)/1e6, "run-alloc-MB")
		b.ReportMetric(float64(peak)/1e6, "run-peak-heap-MB")
		b.ReportMetric(float64(rep.Removed.Releases), "releases-removed")
		b.ReportMetric(float64(rep.Removed.ChunkBytes)/1e6, "chunk-MB-freed")
		b.ReportMetric(baseTook.Seconds(), "baseline-s")
		b.ReportMetric(float64(baseAlloc)/1e6, "baseline-alloc-MB")
		b.ReportMetric(float64(basePeak)/1e6, "baseline-peak-heap-MB")
	}
}

// measureRetention runs retention (a dry run) once and returns its report, how long
// it took, the bytes it allocated and the peak heap in use (sampled
// every 10 ms).
func measureRetention(b *testing.B, env *servicetest.Env, dryRun bool) (retention.Report, time.Duration, uint64, uint64) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var max uint64
		var m runtime.MemStats
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&m)
			max = maxOf(max, m.HeapInuse)
			select {
			case <-stop:
				peak <- max
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	rep, err := env.Set.Retention.Run(env.Ctx, dryRun)
	took := time.Since(start)
	close(stop)
	max := <-peak
	if err != nil {
		b.Fatal(err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	return rep, took, after.TotalAlloc - before.TotalAlloc, max
}

func maxOf(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// seedRetention makes the server BenchmarkRetention runs over.
func seedRetention(b *testing.B, n int) *servicetest.Env {
	env := servicetest.New(b, servicetest.Retain(retention.Settings{Grace: -1}))
	s, ctx := env.Set, env.Ctx
	sp := env.CreateSpace("Default")
	env.Apply("Default", `environments: [{name: Dev}]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Dev], retention: {keepReleases: 10}}]}]
projects: [{name: Shop, lifecycle: Main, process: [{name: S, type: script, script: "true"}]}]
`)
	r := rand.New(rand.NewSource(1))
	pkgs := make([]domain.PackageRef, n/100)
	for i := range pkgs {
		body := make([]byte, 64<<10)
		r.Read(body)
		res, err := s.Packages.Push(ctx, "Default", "web", fmt.Sprintf("1.0.%d", i), bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		pkgs[i] = domain.PackageRef{ID: "web", Version: res.Version, SHA256: res.SHA256, Size: res.Size}
	}
	p, err := env.Store.Projects().Get(ctx, sp.ID, "Shop")
	if err != nil {
		b.Fatal(err)
	}
	at := time.Now().Add(-time.Duration(n) * time.Second)
	err = env.Store.WithTx(ctx, func(ctx context.Context) error {
		for i := range n {
			if err := seedRelease(ctx, env, sp, p, i, pkgs[i/100], at.Add(time.Duration(i)*time.Second)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return env
}

// seedRelease makes release i, deployed once to Dev by a finished task
// with three log lines.
func seedRelease(ctx context.Context, env *servicetest.Env, sp domain.Space, p domain.Project, i int, pkg domain.PackageRef, at time.Time) error {
	st := env.Store
	rel := &domain.Release{ProjectID: p.ID, Project: p.Name, Version: fmt.Sprintf("2.%d.%d", i/1000, i%1000),
		Snapshot: domain.Snapshot{Process: p.Process, Packages: []domain.PackageRef{pkg}}, CreatedAt: at, CreatedBy: "bench"}
	if err := st.Releases().Create(ctx, rel); err != nil {
		return err
	}
	task := &domain.Task{SpaceID: sp.ID, Kind: domain.TaskDeploy, Description: "Deploy", State: domain.TaskSuccess, QueuedAt: at, StartedAt: &at, FinishedAt: &at}
	if err := st.Tasks().Create(ctx, task); err != nil {
		return err
	}
	d := &domain.Deployment{SpaceID: sp.ID, ProjectID: p.ID, ReleaseID: rel.ID, Environment: "Dev", TaskID: task.ID, CreatedAt: at, CreatedBy: "bench"}
	if err := st.Deployments().Create(ctx, d); err != nil {
		return err
	}
	if err := st.Tasks().SetDeployment(ctx, task.ID, d.ID); err != nil {
		return err
	}
	lines := []domain.LogLine{{At: at, Level: "info", Text: "Deploying"}, {At: at, Level: "info", Text: "true"}, {At: at, Level: "info", Text: "Success"}}
	return st.Tasks().AppendLog(ctx, task.ID, lines)
}
