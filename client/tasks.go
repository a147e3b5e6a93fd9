package client

import (
	"context"
	"time"

	"github.com/ferrydeploy/ferry/api"
)

// FollowTask calls line with each log line of a task, in order and once
// each, as the task writes them, and returns the task when it has ended
// (api.TaskState.Done) and every line was passed. It polls TaskLog, more
// slowly while nothing happens (at most a second apart); cancel ctx to
// stop following. A task that failed is not an error: its State says so.
func (c *Client) FollowTask(ctx context.Context, space string, id int64, line func(api.LogLine)) (api.Task, error) {
	var after int64
	delay := 100 * time.Millisecond
	for {
		page, err := c.TaskLog(ctx, space, id, after)
		if err != nil {
			return page.Task, err
		}
		for _, l := range page.Lines {
			after = l.Seq
			line(l)
		}
		switch {
		case len(page.Lines) > 0:
			delay = 100 * time.Millisecond
			continue
		case page.Task.State.Done():
			return page.Task, nil
		}
		select {
		case <-ctx.Done():
			return page.Task, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Second)
	}
}
