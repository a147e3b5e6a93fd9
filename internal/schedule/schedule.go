// Package schedule reads a schedule trigger's cron expression and time
// zone, and says when it is next due.
//
// A cron expression has five fields (minute hour day-of-month month
// day-of-week), or six with seconds first as Octopus writes them
// ("0 0 2 * * Mon-Fri": 02:00:00 on weekdays), or a descriptor (@hourly,
// @daily, @weekly, @monthly, @yearly). Times are read in the trigger's
// IANA time zone (Europe/Berlin; UTC when none is given), so "0 2 * * *"
// is 02:00 local time through daylight-saving changes: a local time that
// does not exist that day is skipped, one that occurs twice fires once.
//
// Each firing deploys, so an expression must come at most once a minute
// (one second of the minute; "@every" at least a minute apart) and must
// come at all (not "0 0 30 2 *", 30 February).
package schedule

import (
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	_ "time/tzdata" // time zones on hosts without a zoneinfo database
)

// Schedule is a parsed cron expression in a time zone.
type Schedule struct {
	cron cron.Schedule
	loc  *time.Location
}

var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Parse reads expr in the time zone tz ("" is UTC).
func Parse(expr, tz string) (Schedule, error) {
	expr = strings.TrimSpace(expr)
	if len(expr) > 200 {
		return Schedule{}, fmt.Errorf("cron expression is %d characters; at most 200", len(expr))
	}
	if strings.Contains(expr, "TZ=") {
		return Schedule{}, fmt.Errorf("cron %q: give the time zone as timezone, not inside the expression", expr)
	}
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "Local" {
		return Schedule{}, fmt.Errorf("timezone %q is not an IANA time zone such as Europe/Berlin or UTC", tz)
	}
	c, err := parser.Parse(expr)
	if err != nil {
		return Schedule{}, fmt.Errorf("cron %q: %v (five fields \"minute hour day month weekday\", or six with seconds first, or @daily...)", expr, err)
	}
	if err := often(c); err != nil {
		return Schedule{}, fmt.Errorf("cron %q %v: a schedule may fire at most once a minute (give one second, such as \"0 */5 * * * *\", or five fields)", expr, err)
	}
	s := Schedule{cron: c, loc: loc}
	if s.Next(neverFrom).IsZero() {
		return Schedule{}, fmt.Errorf("cron %q never fires: no date matches it (a day its months do not have, such as 30 February?)", expr)
	}
	return s, nil
}

// neverFrom is where Parse looks for a first due time: cron's Next looks
// five years ahead, which holds every date an expression without a year
// field can name (29 February included), so a schedule with none from
// here has none ever.
var neverFrom = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// often says how an expression fires more than once a minute, or nil.
func often(c cron.Schedule) error {
	const starBit = 1 << 63 // robfig/cron marks a "*" field with it
	switch c := c.(type) {
	case *cron.SpecSchedule:
		if n := bits.OnesCount64(c.Second &^ starBit); n > 1 {
			return fmt.Errorf("fires at %d seconds of every minute it names", n)
		}
	case cron.ConstantDelaySchedule:
		if c.Delay < time.Minute {
			return fmt.Errorf("fires every %s", c.Delay)
		}
	}
	return nil
}

// Next is the first due time strictly after t, or the zero time when
// there is none (an expression such as "0 0 30 2 *" never comes).
func (s Schedule) Next(t time.Time) time.Time {
	n := s.cron.Next(t.In(s.loc))
	if n.IsZero() {
		return n
	}
	return n.UTC()
}

// Latest is the last due time after since and at or before now, or the
// zero time when none falls between them: after downtime a schedule fires
// once for the latest time it missed, not once for each. A schedule due
// very often (every second, after a week away) is not walked through:
// after 10,000 due times it jumps close to now, keeping the latest due
// time seen in case nothing is due there.
func (s Schedule) Latest(since, now time.Time) time.Time {
	const limit = 10000
	var due time.Time
	start, i := since, 0
	for t := s.Next(since); !t.IsZero() && !t.After(now); t = s.Next(t) {
		due = t
		if i++; i == limit {
			// 10,000 due times took due-start: a hundredth of that
			// before now holds about a hundred more, if any.
			if jump := now.Add(-due.Sub(start) / 100); jump.After(due) {
				t = jump
			}
			start, i = t, 0
		}
	}
	return due
}
