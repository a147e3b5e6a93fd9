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
		{"0 2 * * *", "Europe/Berlin", "2026-03-02T00:00:00Z", "2026-03-02T01:00:00Z"},  // 02:00 CET
		{"0 2 * * *", "Europe/Berlin", "2026-07-01T00:30:00Z", "2026-07-02T00:00:00Z"},  // 02:00 CEST, next day
		{"0 0 2 * * Mon-Fri", "UTC", "2026-11-27T03:00:00Z", "2026-11-30T02:00:00Z"},    // Octopus's 6 fields: Friday → Monday
		{"*/2 * * * * *", "", "2026-01-01T00:00:00Z", "2026-01-01T00:00:02Z"},           // seconds
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
	every, _ := Parse("* * * * * *", "UTC")
	now = at(t, "2026-02-01T00:00:00Z")
	if got := every.Latest(since, now); !got.Equal(now) {
		t.Errorf("Latest of an every-second schedule after a month = %s, want %s", got, now)
	}
}
