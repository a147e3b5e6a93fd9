package e2e

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// TestTaskLogWhole: `ferry task log` shows the whole log of a task, not
// the first page the server answers (5000 lines), as text and as JSON.
func TestTaskLogWhole(t *testing.T) {
	srv := ferrytest.Build(t).StartServer(t)
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "chatty.yaml", `environments: [{name: Dev}]
lifecycles: [{name: L, phases: [{name: Dev, environments: [Dev]}]}]
projects:
  - name: Chatty
    lifecycle: L
    process: [{name: Count, type: script, script: "seq 1 6000; echo last line"}]
`))
	srv.Must("release", "create", "Chatty", "--version", "1")
	var followed struct {
		Task struct {
			ID int64 `json:"id"`
		} `json:"task"`
		Lines []logText `json:"lines"`
	}
	if err := json.Unmarshal([]byte(srv.Must("-o", "json", "deploy", "Chatty", "1", "--to", "Dev", "--wait").Stdout), &followed); err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(followed.Task.ID, 10)
	text := srv.Must("task", "log", id).Stdout
	if !strings.Contains(text, "  6000\n") || !strings.Contains(text, "last line") || strings.Count(text, "\n") != len(followed.Lines)+1 {
		t.Errorf("task log shows %d lines (--wait %d), without the end:\n%s", strings.Count(text, "\n"), len(followed.Lines), text[len(text)-200:])
	}
	var page struct {
		Lines []logText `json:"lines"`
	}
	err := json.Unmarshal([]byte(srv.Must("-o", "json", "task", "log", id).Stdout), &page)
	if err != nil || len(page.Lines) != len(followed.Lines) || !slices.Contains(page.Lines, logText{"last line"}) {
		t.Errorf("task log -o json: %d lines of %d, without the last (%v)", len(page.Lines), len(followed.Lines), err)
	}
}

type logText struct {
	Text string `json:"text"`
}
