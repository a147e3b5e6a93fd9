package deploy

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/variables"
)

// taskLog buffers a task's log lines and writes them to the store in small
// batches, so a chatty script costs few transactions yet readers see output
// within a fraction of a second. Every line is masked before it is kept.
type taskLog struct {
	tasks  store.Tasks
	id     int64
	now    func() time.Time
	log    *slog.Logger
	mu     sync.Mutex
	buf    []domain.LogLine
	masker *variables.Masker
	done   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

const flushEvery = 200 * time.Millisecond

func newTaskLog(tasks store.Tasks, id int64, now func() time.Time, log *slog.Logger) *taskLog {
	tl := &taskLog{tasks: tasks, id: id, now: now, log: log, done: make(chan struct{})}
	tl.wg.Add(1)
	go tl.flushLoop()
	return tl
}

func (tl *taskLog) setMasker(m *variables.Masker) {
	tl.mu.Lock()
	tl.masker = m
	tl.mu.Unlock()
}

// addSecrets masks values from now on as well (values a substitution
// derived from sensitive ones).
func (tl *taskLog) addSecrets(values []string) {
	if len(values) == 0 {
		return
	}
	tl.mu.Lock()
	tl.masker = tl.masker.With(values...)
	tl.mu.Unlock()
}

func (tl *taskLog) mask(s string) string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if tl.masker == nil {
		return s
	}
	return tl.masker.Mask(s)
}

func (tl *taskLog) info(text string)  { tl.add("info", text) }
func (tl *taskLog) error(text string) { tl.add("error", text) }

func (tl *taskLog) add(level, text string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if tl.masker != nil {
		text = tl.masker.Mask(text)
	}
	tl.buf = append(tl.buf, domain.LogLine{At: tl.now(), Level: level, Text: text})
}

func (tl *taskLog) flushLoop() {
	defer tl.wg.Done()
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	for {
		select {
		case <-tl.done:
			tl.flush()
			return
		case <-tick.C:
			tl.flush()
		}
	}
}

func (tl *taskLog) flush() {
	tl.mu.Lock()
	lines := tl.buf
	tl.buf = nil
	tl.mu.Unlock()
	if len(lines) == 0 {
		return
	}
	// Written even while the server shuts down, so the log explains the end.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tl.tasks.AppendLog(ctx, tl.id, lines); err != nil {
		tl.log.Error("write task log", "err", err, "lines", len(lines))
	}
}

// close flushes what is left; it is safe to call more than once, and
// writes what was added since the last call.
func (tl *taskLog) close() {
	tl.once.Do(func() { close(tl.done) })
	tl.wg.Wait()
	tl.flush()
}

// Info, Error and Secrets make a task's log the log of its steps
// (step.Log).
func (tl *taskLog) Info(text string)         { tl.info(text) }
func (tl *taskLog) Error(text string)        { tl.error(text) }
func (tl *taskLog) Secrets(values ...string) { tl.addSecrets(values) }
