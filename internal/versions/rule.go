package versions

import (
	"fmt"
	"time"

	"github.com/dlclark/regexp2/v2"
)

// Rule is a channel's version rule for one package: a version range and a
// tag expression, either of which may be empty (no constraint).
type Rule struct {
	Range *Range
	Tag   *regexp2.Regexp
}

// tagTimeout bounds one match of a tag expression: a hostile pattern
// cannot hold a release creation for long.
const tagTimeout = 100 * time.Millisecond

// maxTag bounds a tag expression's length.
const maxTag = 1000

// CompileRule reads a rule's range and tag expression. The tag expression
// has .NET's syntax (Octopus's), look-arounds included, and is matched
// against Version.Tag.
func CompileRule(versionRange, tag string) (Rule, error) {
	var r Rule
	if versionRange != "" {
		rg, err := ParseRange(versionRange)
		if err != nil {
			return r, err
		}
		r.Range = &rg
	}
	if tag != "" {
		if len(tag) > maxTag {
			return r, fmt.Errorf("tag %q is longer than %d characters", tag[:40]+"…", maxTag)
		}
		re, err := regexp2.Compile(tag, regexp2.None)
		if err != nil {
			return r, fmt.Errorf("tag \"%s\" is not a regular expression: %v", tag, err)
		}
		re.MatchTimeout = tagTimeout
		r.Tag = re
	}
	return r, nil
}

// Check says why version breaks the rule, or returns nil when it keeps it.
func (r Rule) Check(version string) error {
	v, err := Parse(version)
	if err != nil {
		return fmt.Errorf("%v, so no rule can be checked against it", err)
	}
	if r.Range != nil && !r.Range.Contains(v) {
		return fmt.Errorf("%s is outside versionRange \"%s\"", v, r.Range)
	}
	if r.Tag != nil {
		ok, err := r.Tag.MatchString(v.Tag())
		if err != nil {
			return fmt.Errorf("tag \"%s\" could not be matched against %q in time: %v", r.Tag.String(), v.Tag(), err)
		}
		if !ok {
			return fmt.Errorf("its tag %q does not match tag \"%s\"", v.Tag(), r.Tag.String())
		}
	}
	return nil
}
