package variables

import (
	"strconv"
	"strings"
	"time"
)

// Dates are read and printed as .NET's DateTime and DateTimeOffset do in
// the en-US culture, because Octostache's date filters are theirs.

// dateKind is .NET's DateTimeKind, plus "offset" for a DateTimeOffset.
type dateKind int

const (
	kindUnspecified dateKind = iota
	kindUTC
	kindLocal
	kindOffset
)

type dateVal struct {
	t    time.Time // wall clock in t.Location()
	kind dateKind
}

// dateLayouts are the shapes DateTime.TryParse reads here (ISO 8601, the
// en-US short forms, RFC 1123 and long month names).
var dateLayouts = []string{
	"2006-01-02T15:04:05.9999999Z07:00",
	"2006-01-02T15:04:05.9999999",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05.9999999Z07:00",
	"2006-01-02 15:04:05.9999999",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
	"2006/01/02 15:04:05",
	"2006/01/02 15:04",
	"2006/01/02",
	"2006/1/2 15:04:05",
	"2006/1/2",
	"1/2/2006 15:04:05",
	"1/2/2006 3:04:05 PM",
	"1/2/2006 3:04 PM",
	"1/2/2006 15:04",
	"1/2/2006",
	"Mon, 02 Jan 2006 15:04:05 MST",
	"Monday, January 2, 2006 3:04:05 PM",
	"Monday, January 2, 2006 3:04 PM",
	"Monday, January 2, 2006",
	"January 2, 2006 15:04:05",
	"January 2, 2006",
	"Jan 2, 2006",
	"2 January 2006",
	"2 Jan 2006",
	"2 Jan 2006 15:04:05",
	"15:04:05",
	"15:04",
	"3:04 PM",
	"3:04:05 PM",
}

// parseDate reads s; hasZone says whether it named a zone (Z or an offset)
// and utc whether that zone was Z or GMT.
func parseDate(s string, now time.Time) (t time.Time, hasZone, utc bool, ok bool) {
	s = strings.TrimFunc(s, isWS)
	if s == "" || len(s) > 100 {
		return time.Time{}, false, false, false
	}
	for _, layout := range dateLayouts {
		tt, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		zoned := strings.Contains(layout, "Z07") || strings.Contains(layout, "MST")
		if !strings.Contains(layout, "2006") {
			y, m, d := now.Date()
			tt = time.Date(y, m, d, tt.Hour(), tt.Minute(), tt.Second(), tt.Nanosecond(), time.UTC)
		}
		isUTC := zoned && (strings.HasSuffix(s, "Z") || strings.HasSuffix(s, "GMT") || strings.HasSuffix(s, "UTC"))
		return tt, zoned, isUTC, true
	}
	return time.Time{}, false, false, false
}

// parseDateTime is DateTime.TryParse: a zoned time becomes local time
// (Kind Local), or with roundtrip set a UTC time keeps Kind Utc.
func parseDateTime(s string, roundtrip bool, now time.Time) (dateVal, bool) {
	t, zoned, utc, ok := parseDate(s, now)
	if !ok {
		return dateVal{}, false
	}
	switch {
	case !zoned:
		return dateVal{t: wall(t, time.UTC), kind: kindUnspecified}, true
	case roundtrip && utc:
		return dateVal{t: t.UTC(), kind: kindUTC}, true
	}
	return dateVal{t: t.In(time.Local), kind: kindLocal}, true
}

// parseDateTimeOffset is DateTimeOffset.TryParse: without a zone, the
// local offset applies.
func parseDateTimeOffset(s string, now time.Time) (dateVal, bool) {
	t, zoned, _, ok := parseDate(s, now)
	if !ok {
		return dateVal{}, false
	}
	if !zoned {
		t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.Local)
	}
	return dateVal{t: t, kind: kindOffset}, true
}

// wall keeps the clock reading of t in loc.
func wall(t time.Time, loc *time.Location) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
}

func nowDate(utc bool) filterFunc {
	return func(e *evaluator, _ string, hasArg bool, opts []string) (string, bool, string) {
		if hasArg || len(opts) > 1 {
			return "", false, "it takes no input and one optional format"
		}
		now := e.clock()
		d := dateVal{t: wall(now, time.UTC), kind: kindUnspecified}
		if utc {
			d = dateVal{t: now.UTC(), kind: kindUTC}
		}
		f := "O"
		if len(opts) == 1 {
			f = opts[0]
		}
		s, ok := formatDate(d, f)
		if !ok {
			return "", false, "not a valid date format"
		}
		return s, true, ""
	}
}

func addTime(unit time.Duration) filterFunc {
	return func(e *evaluator, arg string, hasArg bool, opts []string) (string, bool, string) {
		const usage = "it takes one amount (a number) and a date as input"
		if !hasArg || len(opts) != 1 {
			return "", false, usage
		}
		amount, err := strconv.ParseFloat(strings.TrimFunc(opts[0], isWS), 64)
		if err != nil || amount > 1e7 || amount < -1e7 {
			return "", false, usage
		}
		shift := time.Duration(amount * float64(unit))
		if d, ok := parseDateTime(arg, true, e.clock()); ok && d.kind != kindLocal {
			d.t = d.t.Add(shift)
			s, _ := formatDate(d, "O")
			return s, true, ""
		}
		if d, ok := parseDateTimeOffset(arg, e.clock()); ok {
			d.t = d.t.Add(shift)
			s, _ := formatDate(d, "O")
			return s, true, ""
		}
		return "", false, "the input is not a date"
	}
}

// format is Octostache's Format: "Format FORMAT" formats a number (read as
// decimal) or else a date (read as DateTimeOffset); "Format TYPE FORMAT"
// reads the input as int, double, decimal, date/datetime or
// datetimeoffset. Formats are .NET's (C, N2, 0.00, yyyy-MM-dd, ...).
func format(e *evaluator, arg string, hasArg bool, opts []string) (string, bool, string) {
	if !hasArg || len(opts) == 0 || len(opts) > 2 {
		return "", false, "it takes [TYPE] FORMAT and needs input"
	}
	fail := func() (string, bool, string) {
		return "", false, "the input cannot be read, or the format does not apply to it"
	}
	if len(opts) == 1 {
		if t, ok := parseDecimalText(arg, false); ok {
			if s, ok := formatNumber(decFromText(t), kindDecimal, 0, opts[0]); ok {
				return s, true, ""
			}
			return fail()
		}
		if d, ok := parseDateTimeOffset(arg, e.clock()); ok {
			if s, ok := formatDate(d, opts[0]); ok {
				return s, true, ""
			}
		}
		return fail()
	}
	f := opts[1]
	var s string
	ok := false
	switch strings.ToLower(opts[0]) {
	case "int", "int32":
		if n, good := parseIntDotNet(arg); good {
			s, ok = formatNumber(decFromText(strconv.Itoa(n)), kindInt, 0, f)
		}
	case "double":
		if v, good := parseDoubleDotNet(arg); good {
			shortest := f == "" || strings.ContainsAny(f[:1], "GgRr") && len(f) == 1
			s, ok = formatNumber(decFromFloat(v, shortest), kindDouble, v, f)
		}
	case "decimal":
		if t, good := parseDecimalText(arg, false); good {
			s, ok = formatNumber(decFromText(t), kindDecimal, 0, f)
		}
	case "date", "datetime":
		if d, good := parseDateTime(arg, false, e.clock()); good {
			s, ok = formatDate(d, f)
		}
	case "datetimeoffset":
		if d, good := parseDateTimeOffset(arg, e.clock()); good {
			s, ok = formatDate(d, f)
		}
	}
	if !ok {
		return fail()
	}
	return s, true, ""
}

var (
	dayNames   = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
)

// standardDateFormats are the en-US patterns of the one-letter formats.
var standardDateFormats = map[byte]string{
	'd': "M/d/yyyy",
	'D': "dddd, MMMM d, yyyy",
	'f': "dddd, MMMM d, yyyy h:mm tt",
	'F': "dddd, MMMM d, yyyy h:mm:ss tt",
	'g': "M/d/yyyy h:mm tt",
	'G': "M/d/yyyy h:mm:ss tt",
	'm': "MMMM d",
	'M': "MMMM d",
	's': "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
	't': "h:mm tt",
	'T': "h:mm:ss tt",
	'u': "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
	'U': "dddd, MMMM d, yyyy h:mm:ss tt",
	'y': "MMMM yyyy",
	'Y': "MMMM yyyy",
}

// formatDate is DateTime/DateTimeOffset.ToString(format).
func formatDate(d dateVal, f string) (string, bool) {
	if len(f) == 1 {
		switch f[0] {
		case 'o', 'O':
			f = "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK"
		case 'r', 'R':
			d.t = d.t.UTC()
			f = "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'"
		case 'u':
			if d.kind == kindOffset || d.kind == kindLocal {
				d.t = d.t.UTC()
			}
			f = standardDateFormats['u']
		case 'U':
			d.t = d.t.UTC()
			f = standardDateFormats['U']
		default:
			p, ok := standardDateFormats[f[0]]
			if !ok {
				return "", false
			}
			f = p
		}
	}
	return customDate(d, f), true
}

// customDate formats d with a .NET custom date and time format: runs of
// one letter are fields, quotes and backslashes escape, anything else is
// copied.
func customDate(d dateVal, f string) string {
	w := &dateWriter{d: d}
	for k := 0; k < len(f); {
		c := f[k]
		n := 1
		for k+n < len(f) && f[k+n] == c {
			n++
		}
		switch c {
		case '\'', '"':
			end := strings.IndexByte(f[k+1:], c)
			if end < 0 {
				w.b.WriteString(f[k+1:])
				return w.b.String()
			}
			w.b.WriteString(f[k+1 : k+1+end])
			k += end + 2
			continue
		case '\\', '%':
			if c == '\\' && k+1 < len(f) {
				w.b.WriteByte(f[k+1])
				k += 2
				continue
			}
			k++
			continue
		}
		k += w.field(c, n, f[k:k+n])
	}
	return w.b.String()
}

// dateWriter writes the fields of a custom format for one date.
type dateWriter struct {
	d dateVal
	b strings.Builder
}

// pad writes v with at least width digits.
func (w *dateWriter) pad(v, width int) {
	s := strconv.Itoa(v)
	if len(s) < width {
		w.b.WriteString(strings.Repeat("0", width-len(s)))
	}
	w.b.WriteString(s)
}

// field writes the field that n repeats of c name (text is those
// characters) and returns how many of them it used.
func (w *dateWriter) field(c byte, n int, text string) int {
	t := w.d.t
	switch c {
	case 'd', 'M', 'y':
		w.calendar(c, n)
	case 'h':
		h := t.Hour() % 12
		if h == 0 {
			h = 12
		}
		w.pad(h, min(n, 2))
	case 'H':
		w.pad(t.Hour(), min(n, 2))
	case 'm':
		w.pad(t.Minute(), min(n, 2))
	case 's':
		w.pad(t.Second(), min(n, 2))
	case 'f', 'F':
		w.fraction(c, n)
	case 't':
		ampm := "AM"
		if t.Hour() >= 12 {
			ampm = "PM"
		}
		if n == 1 {
			ampm = ampm[:1]
		}
		w.b.WriteString(ampm)
	case 'g':
		w.b.WriteString("A.D.")
	case 'z':
		w.offset(n)
	case 'K': // each K is a field of its own
		for range n {
			w.kind()
		}
	case ':', '/':
		w.b.WriteString(strings.Repeat(string(c), n))
	default:
		w.b.WriteString(text)
	}
	return n
}

// calendar writes a day (d), month (M) or year (y) field.
func (w *dateWriter) calendar(c byte, n int) {
	t := w.d.t
	switch c {
	case 'd':
		switch {
		case n == 1:
			w.pad(t.Day(), 1)
		case n == 2:
			w.pad(t.Day(), 2)
		case n == 3:
			w.b.WriteString(dayNames[t.Weekday()][:3])
		default:
			w.b.WriteString(dayNames[t.Weekday()])
		}
	case 'M':
		switch {
		case n <= 2:
			w.pad(int(t.Month()), n)
		case n == 3:
			w.b.WriteString(monthNames[t.Month()-1][:3])
		default:
			w.b.WriteString(monthNames[t.Month()-1])
		}
	case 'y':
		switch {
		case n == 1:
			w.pad(t.Year()%100, 1)
		case n == 2:
			w.pad(t.Year()%100, 2)
		default:
			w.pad(t.Year(), n)
		}
	}
}

// fraction writes n digits of the second's fraction; F drops trailing
// zeros, and the dot before them when none are left.
func (w *dateWriter) fraction(c byte, n int) {
	digits := strconv.Itoa(w.d.t.Nanosecond()/100 + 10000000)[1:]
	if n > 7 {
		n = 7
	}
	part := digits[:n]
	if c == 'F' {
		part = strings.TrimRight(part, "0")
		if part == "" && w.b.Len() > 0 && strings.HasSuffix(w.b.String(), ".") {
			s := w.b.String()
			w.b.Reset()
			w.b.WriteString(s[:len(s)-1])
		}
	}
	w.b.WriteString(part)
}

// offset writes the UTC offset: z hours, zz padded hours, zzz hours:minutes.
func (w *dateWriter) offset(n int) {
	off := dateOffset(w.d)
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	hours, mins := off/3600, off%3600/60
	switch n {
	case 1:
		w.b.WriteString(sign + strconv.Itoa(hours))
	case 2:
		w.b.WriteString(sign)
		w.pad(hours, 2)
	default:
		w.b.WriteString(sign)
		w.pad(hours, 2)
		w.b.WriteByte(':')
		w.pad(mins, 2)
	}
}

// kind writes K: Z for UTC, the offset for a local or offset value,
// nothing for one of no kind.
func (w *dateWriter) kind() {
	switch w.d.kind {
	case kindUTC:
		w.b.WriteString("Z")
	case kindLocal, kindOffset:
		off := dateOffset(w.d)
		sign := "+"
		if off < 0 {
			sign, off = "-", -off
		}
		w.b.WriteString(sign)
		w.pad(off/3600, 2)
		w.b.WriteByte(':')
		w.pad(off%3600/60, 2)
	}
}

// dateOffset is the UTC offset in seconds 'z' and 'K' print: the value's
// own for a DateTimeOffset, the local zone's otherwise (UTC for Kind Utc).
func dateOffset(d dateVal) int {
	switch d.kind {
	case kindUTC:
		return 0
	case kindOffset:
		_, off := d.t.Zone()
		return off
	}
	_, off := wall(d.t, time.Local).Zone()
	return off
}
