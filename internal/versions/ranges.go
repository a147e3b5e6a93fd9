package versions

import (
	"fmt"
	"strings"
)

// Range is a NuGet version range (interval notation):
//
//	1.0        x ≥ 1.0          (a bare version is a minimum, inclusive)
//	(1.0,)     x > 1.0
//	[1.0]      x = 1.0
//	(,1.0]     x ≤ 1.0
//	(,1.0)     x < 1.0
//	[1.0,2.0]  1.0 ≤ x ≤ 2.0
//	(1.0,2.0)  1.0 < x < 2.0
//	[1.0,2.0)  1.0 ≤ x < 2.0
//
// Bounds compare by precedence (Compare), so pre-releases are inside a
// range like any version: [1.0,2.0) holds 2.0.0-beta (which comes before
// 2.0.0) but not 1.0.0-beta; write the bound as a pre-release
// ([2.0.0-alpha.1,2.0.0)) to take in exactly 2.0.0's pre-releases, and use
// a tag rule ("^$") to keep pre-releases out.
type Range struct {
	min, max         *Version
	minIncl, maxIncl bool
	text             string
}

// String is the range as it was written.
func (r Range) String() string { return r.text }

// ParseRange reads a range. Floating versions ("1.*") are not ranges and
// are refused, as are empty ranges ("(1.0)", "(1.0,1.0)", "[2.0,1.0]").
func ParseRange(s string) (Range, error) {
	text := strings.TrimSpace(s)
	r := Range{text: text}
	bad := func(why string) (Range, error) {
		return r, fmt.Errorf("version range %q: %s (NuGet's notation: 1.0, [1.0], (,1.0], [1.0,2.0), ...)", s, why)
	}
	if text == "" {
		return bad("it is empty")
	}
	if len(text) > 2*maxLen {
		return bad("it is too long")
	}
	if strings.Contains(text, "*") {
		return bad("floating versions (with *) are not ranges")
	}
	open, close := text[0], text[len(text)-1]
	if open != '[' && open != '(' {
		v, err := Parse(text)
		if err != nil {
			return bad(err.Error())
		}
		r.min, r.minIncl = &v, true
		return r, nil
	}
	if len(text) < 2 || close != ']' && close != ')' {
		return bad("it opens with " + string(open) + " but does not end with ] or )")
	}
	r.minIncl, r.maxIncl = open == '[', close == ']'
	inner := text[1 : len(text)-1]
	lo, hi, comma := strings.Cut(inner, ",")
	if !comma {
		if !r.minIncl || !r.maxIncl {
			return bad("a single version in brackets must be exact, as in [1.0]")
		}
		v, err := Parse(inner)
		if err != nil {
			return bad(err.Error())
		}
		r.min, r.max = &v, &v
		return r, nil
	}
	if strings.Contains(hi, ",") {
		return bad("it has more than two bounds")
	}
	for _, b := range []struct {
		text string
		to   **Version
	}{{lo, &r.min}, {hi, &r.max}} {
		if strings.TrimSpace(b.text) == "" {
			continue
		}
		v, err := Parse(b.text)
		if err != nil {
			return bad(err.Error())
		}
		*b.to = &v
	}
	if r.min != nil && r.max != nil {
		c := Compare(*r.min, *r.max)
		if c > 0 || c == 0 && !(r.minIncl && r.maxIncl) {
			return bad("no version is inside it")
		}
	}
	return r, nil
}

// Contains reports whether v is inside the range.
func (r Range) Contains(v Version) bool {
	if r.min != nil {
		c := Compare(v, *r.min)
		if c < 0 || c == 0 && !r.minIncl {
			return false
		}
	}
	if r.max != nil {
		c := Compare(v, *r.max)
		if c > 0 || c == 0 && !r.maxIncl {
			return false
		}
	}
	return true
}
