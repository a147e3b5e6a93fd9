package targets

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/variables"
)

type taskLog struct {
	mu    sync.Mutex
	lines []domain.LogLine
}

func (t *taskLog) AppendLog(_ context.Context, _ int64, lines []domain.LogLine) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, lines...)
	return nil
}

// TestAgentLinesBounded: an agent may send a line of up to 4 MiB; the task
// log keeps lines of at most 64 KiB, as for steps on the server, cut at a
// rune and after masking, so a secret across the cut stays masked.
// Before, the line was stored whole.
func TestAgentLinesBounded(t *testing.T) {
	vars := variables.NewSet()
	secret := "s3cr3t-value-xyz"
	vars.Set("Token", secret, true)
	dst := &taskLog{}
	l := newLines(dst, 1, "web-1", vars.Masker(), slog.New(slog.DiscardHandler))
	long := strings.Repeat("é", maxLine/2-4) + secret + strings.Repeat("x", 3<<20)
	l.add("info", long)
	l.add("error", "short")
	l.close()
	if len(dst.lines) < 3 {
		t.Fatalf("%d lines", len(dst.lines))
	}
	var all strings.Builder
	for i, ln := range dst.lines {
		if len(ln.Text) > len("[web-1] ")+maxLine || !strings.HasPrefix(ln.Text, "[web-1] ") {
			t.Errorf("line %d: %d bytes, starts %.20q", i, len(ln.Text), ln.Text)
		}
		if strings.ContainsRune(ln.Text, '\uFFFD') {
			t.Errorf("line %d was cut inside a rune", i)
		}
		all.WriteString(strings.TrimPrefix(ln.Text, "[web-1] "))
	}
	if strings.Contains(all.String(), secret) || strings.Contains(all.String(), secret[:8]) {
		t.Error("the secret shows in the log")
	}
	if last := dst.lines[len(dst.lines)-1]; last.Text != "[web-1] short" || last.Level != "error" {
		t.Errorf("last line %+v", last)
	}
}
