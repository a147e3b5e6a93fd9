package bench

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/schedule"
	"github.com/ferrydeploy/ferry/internal/servicetest"
)

// benchClock is a settable clock for the services.
type benchClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *benchClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *benchClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// schedulerSpace applies projects projects to a fresh store, each with
// one hourly schedule trigger (when triggered) deploying Test's latest to
// Production.
func schedulerSpace(b *testing.B, c *benchClock, projects int, triggered bool) *servicetest.Env {
	b.Helper()
	env := servicetest.New(b, servicetest.Clock(c.now))
	env.CreateSpace("Dev")
	var doc strings.Builder
	doc.WriteString("environments: [{name: Test}, {name: Production}]\nlifecycles:\n  - {name: Main, phases: [{name: Test, environments: [Test]}, {name: Prod, environments: [Production]}]}\nprojects:\n")
	for i := range projects {
		fmt.Fprintf(&doc, "  - name: P%04d\n    lifecycle: Main\n    process: [{name: Hello, type: script, script: echo hi}]\n", i)
		if triggered {
			doc.WriteString("    triggers: [{name: Hourly, type: schedule, cron: \"0 * * * *\", timezone: Europe/Berlin, sourceEnvironment: Test, environment: Production}]\n")
		}
	}
	env.Apply("Dev", doc.String())
	if err := env.Set.Triggers.Tick(env.Ctx); err != nil { // first seen
		b.Fatal(err)
	}
	return env
}

// schedulerProjects is how many projects BenchmarkSchedulerTick's space has.
const schedulerProjects = 200

// BenchmarkSchedulerTick measures one scheduler pass (trigger.Service.Tick:
// time out manual interventions, then each project's schedule triggers)
// over schedulerProjects projects on a real SQLite store: "idle" when nothing is due
// (what every poll costs, FERRY_SCHEDULER_POLL, 10 s by default),
// "all-due" when all the hourly triggers are due at once (each claims its
// due time, finds nothing to deploy, records and audits that), and
// "baseline" the same pass over as many projects without triggers.
func BenchmarkSchedulerTick(b *testing.B) {
	for _, c := range []struct {
		name      string
		triggered bool
		step      time.Duration
	}{
		{"baseline", false, 0},
		{"idle", true, time.Second},
		{"all-due", true, time.Hour},
	} {
		b.Run(c.name, func(b *testing.B) {
			clock := &benchClock{t: time.Date(2026, 3, 2, 12, 0, 30, 0, time.UTC)}
			env := schedulerSpace(b, clock, schedulerProjects, c.triggered)
			b.ResetTimer()
			for range b.N {
				clock.add(c.step)
				if err := env.Set.Triggers.Tick(env.Ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScheduleLatest measures the due time a schedule fires for after
// downtime (schedule.Schedule.Latest), for an every-minute schedule after
// a year away (525,600 due times): "capped" is Latest, which walks
// at most 10,000 due times before jumping close to now; "walk" the baseline
// that steps through every due time with Next.
func BenchmarkScheduleLatest(b *testing.B) {
	s, err := schedule.Parse("* * * * *", "Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	since := time.Date(2016, 3, 2, 12, 0, 0, 0, time.UTC)
	now := since.AddDate(1, 0, 0)
	b.Run("capped", func(b *testing.B) {
		for range b.N {
			if s.Latest(since, now).IsZero() {
				b.Fatal("nothing due")
			}
		}
	})
	b.Run("walk", func(b *testing.B) {
		for range b.N {
			var due time.Time
			for t := s.Next(since); !t.After(now); t = s.Next(t) {
				due = t
			}
			if due.IsZero() {
				b.Fatal("nothing due")
			}
		}
	})
}
