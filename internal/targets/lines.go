package targets

import (
	"context"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/variables"
)

// TaskLogs is where a job's lines go: the log of its task.
type TaskLogs interface {
	AppendLog(ctx context.Context, taskID int64, lines []domain.LogLine) error
}

var _ TaskLogs = (store.Tasks)(nil)

// lines writes a job's lines to its task's log, prefixed with the
// target's name ("[web-1] …"), masked, in batches every flushLines, so a
// chatty step on many targets costs few transactions.
type lines struct {
	tasks  TaskLogs
	task   int64
	prefix string
	log    *slog.Logger

	mu     sync.Mutex
	masker *variables.Masker
	buf    []domain.LogLine
	done   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

const flushLines = 200 * time.Millisecond

func newLines(tasks TaskLogs, task int64, target string, masker *variables.Masker, log *slog.Logger) *lines {
	l := &lines{tasks: tasks, task: task, prefix: "[" + target + "] ", masker: masker, log: log, done: make(chan struct{})}
	l.wg.Go(l.loop)
	return l
}

func (l *lines) mask(s string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.masker.Mask(s)
}

// maxLine bounds a line of a task's log, as a step on the server is
// bounded (internal/step): an agent's longer line — it may send one of
// agentproto.MaxEvent — is split, after masking, so a secret never falls
// across a cut unmasked.
const maxLine = 64 << 10

func (l *lines) add(level, text string) {
	if level != "error" {
		level = "info"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	at := time.Now().UTC()
	text = l.masker.Mask(text)
	for {
		n := cut(text, maxLine)
		l.buf = append(l.buf, domain.LogLine{At: at, Level: level, Text: l.prefix + text[:n]})
		if text = text[n:]; text == "" {
			return
		}
	}
}

// cut is where to cut s to at most n bytes, at a rune's start.
func cut(s string, n int) int {
	if len(s) <= n {
		return len(s)
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

func (l *lines) loop() {
	t := time.NewTicker(flushLines)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			l.flush()
			return
		case <-t.C:
			l.flush()
		}
	}
}

func (l *lines) flush() {
	l.mu.Lock()
	batch := l.buf
	l.buf = nil
	l.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.tasks.AppendLog(ctx, l.task, batch); err != nil {
		l.log.Error("write task log", "task", l.task, "err", err, "lines", len(batch))
	}
}

// close writes what is left; it is safe to call more than once.
func (l *lines) close() {
	l.once.Do(func() { close(l.done) })
	l.wg.Wait()
}
