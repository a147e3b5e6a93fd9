package client_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/client"
)

// TestFollowTask: following a deployment passes every line of its log
// once, in order — more than one answer holds — and returns the ended
// task.
func TestFollowTask(t *testing.T) {
	ctx := context.Background()
	c := client.New(serverURL, apiKey)
	if _, err := c.CreateSpace(ctx, "Follow"); err != nil {
		t.Fatal(err)
	}
	doc := `environments: [{name: Dev}]
lifecycles: [{name: L, phases: [{name: Dev, environments: [Dev]}]}]
projects:
  - name: Chatty
    lifecycle: L
    process: [{name: Count, type: script, script: "seq 1 6000"}]
`
	if _, err := c.Apply(ctx, "Follow", []byte(doc), api.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRelease(ctx, "Follow", "Chatty", api.CreateReleaseRequest{Version: "1"}); err != nil {
		t.Fatal(err)
	}
	d, err := c.Deploy(ctx, "Follow", api.DeployRequest{Project: "Chatty", Version: "1", Environment: "Dev"})
	if err != nil {
		t.Fatal(err)
	}
	var lines []api.LogLine
	task, err := c.FollowTask(ctx, "Follow", d.TaskID, func(l api.LogLine) { lines = append(lines, l) })
	if err != nil || task.State != api.TaskSuccess {
		t.Fatalf("followed to %+v, %v", task, err)
	}
	next, counted := 1, 0
	for i, l := range lines {
		if i > 0 && l.Seq <= lines[i-1].Seq {
			t.Fatalf("line %d has sequence %d after %d", i, l.Seq, lines[i-1].Seq)
		}
		if l.Text == fmt.Sprint(next) {
			next++
			counted++
		}
	}
	if counted != 6000 {
		t.Errorf("followed %d lines, %d of the script's 6000 in order", len(lines), counted)
	}
	if _, err := c.FollowTask(ctx, "Follow", 999999, func(api.LogLine) {}); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("following a task that does not exist: %v", err)
	}
}
