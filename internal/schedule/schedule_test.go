package schedule

import (
	"strings"
	"testing"
	"time"
)

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestNext(t *testing.T) {
	cases := []struct{ expr, tz, after, want string }{
		{"0 2 * * *", "Europe/Berlin", "2026-03-02T00:00:00Z", "2026-03-02T01:00:00Z"}, // 02:00 CET
		{"0 2 * * *", "Europe/Berlin", "2026-07-01T00:30:00Z", "2026-07-02T00:00:00Z"}, // 02:00 CEST, next day
		{"0 0 2 * * Mon-Fri", "UTC", "2026-11-27T03:00:00Z", "2026-11-30T02:00:00Z"},   // Octopus's 6 fields: Friday → Monday
		{"30 * * * * *", "", "2026-01-01T00:00:00Z", "2026-01-01T00:00:30Z"},           // seconds
		{"0 0 0 29 2 *", "", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z"},           // once in four years
		{"@every 90s", "", "2026-01-01T00:00:00Z", "2026-01-01T00:01:30Z"},
		{"@daily", "America/New_York", "2026-01-01T12:00:00Z", "2026-01-02T05:00:00Z"},  // midnight EST
		{"30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-30T00:30:00Z"}, // 02:30 does not exist on 29 March
	}
	for _, c := range cases {
		s, err := Parse(c.expr, c.tz)
		if err != nil {
			t.Fatalf("Parse(%q, %q): %v", c.expr, c.tz, err)
		}
		if got := s.Next(at(t, c.after)); !got.Equal(at(t, c.want)) {
			t.Errorf("%q in %q after %s = %s, want %s", c.expr, c.tz, c.after, got, c.want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, c := range []struct{ expr, tz, want string }{
		{"61 * * * *", "", "cron"},
		{"* * *", "", "cron"},
		{"0 2 * * *", "Mars/Olympus", "Mars/Olympus"},
		{"0 2 * * *", "Local", "Local"},
		{"CRON_TZ=Asia/Tokyo 0 2 * * *", "", "timezone"},
		{"", "", "cron"},
		// Never due: no date matches.
		{"0 0 30 2 *", "", "never fires"},
		{"0 0 31 4 *", "Europe/Berlin", "never fires"},
		{"0 0 0 31 2,4,6,9,11 *", "", "never fires"},
		// Due more than once a minute: each firing deploys.
		{"* * * * * *", "", "at most once a minute"},
		{"*/2 * * * * *", "", "at most once a minute"},
		{"0,30 * * * * *", "", "at most once a minute"},
		{"@every 1s", "", "at most once a minute"},
		{"@every 59s", "", "at most once a minute"},
	} {
		if _, err := Parse(c.expr, c.tz); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q, %q) = %v, want an error naming %q", c.expr, c.tz, err, c.want)
		}
	}
}

func TestLatest(t *testing.T) {
	daily, _ := Parse("0 2 * * *", "UTC")
	since, now := at(t, "2026-01-01T03:00:00Z"), at(t, "2026-01-05T10:00:00Z")
	if got := daily.Latest(since, now); !got.Equal(at(t, "2026-01-05T02:00:00Z")) {
		t.Errorf("Latest = %s, want the last missed due time only", got)
	}
	if got := daily.Latest(since, at(t, "2026-01-02T01:59:59Z")); !got.IsZero() {
		t.Errorf("Latest before the first due time = %s", got)
	}
	every, err := Parse("* * * * *", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	now = at(t, "2036-01-01T00:00:00Z")
	if got := every.Latest(since, now); !got.Equal(now) {
		t.Errorf("Latest of an every-minute schedule after ten years = %s, want %s", got, now)
	}
}
