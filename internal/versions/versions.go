// Package versions compares package versions as NuGet and Octopus do, and
// reads NuGet's version ranges, for channel version rules.
//
// A version is MAJOR[.MINOR[.PATCH[.REVISION]]][-PRERELEASE][+METADATA]
// (missing numbers are 0; NuGet's four-part form). Versions order by
// SemVer 2.0 precedence: numbers first, then a version with a pre-release
// label comes before the same version without one, labels compare
// identifier by identifier (numeric ones numerically and before
// alphanumeric ones, which compare ignoring case, as NuGet does), and
// metadata is ignored.
package versions

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a parsed package version.
type Version struct {
	numbers    [4]uint64
	Prerelease string // after '-', without it; "" for a release
	Metadata   string // after '+', without it
	text       string
}

// String is the version as it was written.
func (v Version) String() string { return v.text }

// Tag is what a channel rule's tag expression is matched against: the
// pre-release label, and "+" and the metadata when there is any (as
// Octopus does: "^$" matches a plain release only, "^(|\+.*)$" allows
// metadata).
func (v Version) Tag() string {
	if v.Metadata != "" {
		return v.Prerelease + "+" + v.Metadata
	}
	return v.Prerelease
}

// maxLen bounds a version: package versions are short.
const maxLen = 256

// Parse reads a version; surrounding spaces are ignored.
func Parse(s string) (Version, error) {
	text := strings.TrimSpace(s)
	v := Version{text: text}
	if text == "" || len(text) > maxLen {
		return v, fmt.Errorf("%q is not a version", s)
	}
	core, meta, hasMeta := strings.Cut(text, "+")
	if hasMeta {
		if !identifiers(meta) {
			return v, fmt.Errorf("%q is not a version: metadata %q may hold only letters, digits, '-' and '.'", s, meta)
		}
		v.Metadata = meta
	}
	core, pre, hasPre := strings.Cut(core, "-")
	if hasPre {
		if !identifiers(pre) {
			return v, fmt.Errorf("%q is not a version: pre-release label %q may hold only letters, digits, '-' and '.', without empty parts", s, pre)
		}
		v.Prerelease = pre
	}
	parts := strings.Split(core, ".")
	if len(parts) > 4 {
		return v, fmt.Errorf("%q is not a version: at most four numbers (MAJOR.MINOR.PATCH.REVISION)", s)
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil || p == "" || strings.ContainsAny(p, "+-") {
			return v, fmt.Errorf("%q is not a version: %q is not a number", s, p)
		}
		v.numbers[i] = n
	}
	return v, nil
}

// identifiers reports whether s is dot-separated non-empty runs of
// letters, digits and '-' (the pre-release label keeps '-' inside it).
func identifiers(s string) bool {
	if s == "" {
		return false
	}
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return false
		}
		for _, r := range id {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-') {
				return false
			}
		}
	}
	return true
}

// Compare orders a and b by precedence: -1, 0 or +1.
func Compare(a, b Version) int {
	for i := range a.numbers {
		if a.numbers[i] != b.numbers[i] {
			if a.numbers[i] < b.numbers[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case a.Prerelease == b.Prerelease:
		return 0
	case a.Prerelease == "":
		return 1
	case b.Prerelease == "":
		return -1
	}
	as, bs := strings.Split(a.Prerelease, "."), strings.Split(b.Prerelease, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if c := compareIdentifier(as[i], bs[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(as) < len(bs):
		return -1
	case len(as) > len(bs):
		return 1
	}
	return 0
}

func compareIdentifier(a, b string) int {
	an, aErr := strconv.ParseUint(a, 10, 64)
	bn, bErr := strconv.ParseUint(b, 10, 64)
	switch {
	case aErr == nil && bErr == nil:
		if an == bn {
			return 0
		}
		if an < bn {
			return -1
		}
		return 1
	case aErr == nil:
		return -1 // numeric identifiers come first
	case bErr == nil:
		return 1
	}
	return strings.Compare(strings.ToLower(a), strings.ToLower(b))
}
