package versions

import (
	"strings"
	"testing"
)

func TestCompare(t *testing.T) {
	// Each version comes before the next (SemVer 2.0's example list, NuGet's
	// four parts and case-insensitive labels).
	ordered := []string{
		"0.9", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.0.1", "1.0.1-RC", "1.0.1-rc.2", "1.0.1", "1.1", "2",
	}
	for i := 1; i < len(ordered); i++ {
		a, b := must(t, ordered[i-1]), must(t, ordered[i])
		if Compare(a, b) != -1 || Compare(b, a) != 1 {
			t.Errorf("%s should come before %s", a, b)
		}
	}
	for _, eq := range [][2]string{{"1", "1.0.0.0"}, {"1.0.0+build.5", "1.0.0"}, {"1.0.0-Beta", "1.0.0-beta"}, {"01.2", "1.2"}} {
		if Compare(must(t, eq[0]), must(t, eq[1])) != 0 {
			t.Errorf("%s and %s should be equal", eq[0], eq[1])
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, s := range []string{"", "v", "1.2.3.4.5", "1..2", "1.x", "1.0-", "1.0-beta..1", "1.0+", "1.0-be ta", "-1.0", "1.0.0-béta", "99999999999", strings.Repeat("1", 300)} {
		if v, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", s, v)
		}
	}
}

func TestRanges(t *testing.T) {
	cases := []struct {
		rng     string
		in, out []string
	}{
		{"1.0", []string{"1.0", "1.0.0.1", "5"}, []string{"0.9", "1.0.0-beta"}},
		{"(1.0,)", []string{"1.0.1", "1.0.0.1"}, []string{"1.0", "0.1"}},
		{"[1.0]", []string{"1.0", "1.0.0", "1.0.0+meta"}, []string{"1.0.1", "1.0.0-rc"}},
		{"(,1.0]", []string{"1.0", "0.1", "1.0.0-rc"}, []string{"1.0.1"}},
		{"(,1.0)", []string{"0.9", "1.0.0-rc"}, []string{"1.0"}},
		{"[1.0,2.0]", []string{"1.0", "2.0", "1.5"}, []string{"2.0.1", "0.9"}},
		{"(1.0,2.0)", []string{"1.5", "2.0.0-beta"}, []string{"1.0", "2.0"}},
		{"[1.0,2.0)", []string{"1.0", "1.99", "2.0.0-beta"}, []string{"2.0", "1.0.0-beta", "0.9"}},
		{" [ 1.0 , 2.0 ) ", []string{"1.0"}, []string{"2.0"}},
		{"[2.0.0-alpha.1,2.0.0)", []string{"2.0.0-alpha.1", "2.0.0-beta"}, []string{"2.0.0", "2.0.0-alpha"}},
		{"(,)", []string{"0.0.1", "9.9"}, nil},
	}
	for _, c := range cases {
		r, err := ParseRange(c.rng)
		if err != nil {
			t.Errorf("ParseRange(%q): %v", c.rng, err)
			continue
		}
		for _, v := range c.in {
			if !r.Contains(must(t, v)) {
				t.Errorf("%s should hold %s", c.rng, v)
			}
		}
		for _, v := range c.out {
			if r.Contains(must(t, v)) {
				t.Errorf("%s should not hold %s", c.rng, v)
			}
		}
	}
}

func TestParseRangeRefuses(t *testing.T) {
	for _, s := range []string{"", "(1.0)", "(1.0]", "[1.0)", "[2.0,1.0]", "(1.0,1.0)", "[1.0,1.0)", "[1.0,2.0,3.0]", "[1.0", "1.0]", "1.*", "[1.*,2.0)", "[abc,2.0)", "(", "[]"} {
		if _, err := ParseRange(s); err == nil {
			t.Errorf("ParseRange(%q) accepted", s)
		} else if !strings.Contains(err.Error(), "NuGet") {
			t.Errorf("ParseRange(%q): %v does not teach the notation", s, err)
		}
	}
}

func TestRuleTags(t *testing.T) {
	// Octopus's documented tag examples.
	cases := []struct {
		tag     string
		match   []string
		nomatch []string
	}{
		{`^$`, []string{"1.0.0"}, []string{"1.0.0-beta", "1.0.0+build"}},
		{`^[^\+].*`, []string{"1.0.0-beta", "1.0.0-rc.1+b"}, []string{"1.0.0", "1.0.0+build"}},
		{`^(|\+.*)$`, []string{"1.0.0", "1.0.0+build"}, []string{"1.0.0-beta"}},
		{`^beta`, []string{"1.0.0-beta", "1.0.0-beta0003"}, []string{"1.0.0-mybeta", "1.0.0+beta"}},
		{`^(?!beta).+`, []string{"1.0.0-feature-x"}, []string{"1.0.0-beta.1", "1.0.0"}},
		{`^bugfix-`, []string{"2.1.0-bugfix-syscrash"}, []string{"2.1.0-fix"}},
	}
	for _, c := range cases {
		r, err := CompileRule("", c.tag)
		if err != nil {
			t.Fatalf("CompileRule(%q): %v", c.tag, err)
		}
		for _, v := range c.match {
			if err := r.Check(v); err != nil {
				t.Errorf("tag %s should match %s: %v", c.tag, v, err)
			}
		}
		for _, v := range c.nomatch {
			if err := r.Check(v); err == nil {
				t.Errorf("tag %s should not match %s", c.tag, v)
			} else if !strings.Contains(err.Error(), c.tag) {
				t.Errorf("refusal %q does not name the tag", err)
			}
		}
	}
	if _, err := CompileRule("", "(unclosed"); err == nil {
		t.Error("a malformed tag expression was accepted")
	}
	if err := (Rule{}).Check("not a version"); err == nil {
		t.Error("a rule accepted a version it cannot read")
	}
}

// TestHostileTag: a pattern with catastrophic backtracking gives up in
// bounded time instead of holding release creation.
func TestHostileTag(t *testing.T) {
	r, err := CompileRule("", `^(a+)+$`)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Check("1.0.0-" + strings.Repeat("a", 60) + "b"); err == nil {
		t.Fatal("a hostile pattern matched")
	}
}

func must(t *testing.T, s string) Version {
	t.Helper()
	v, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
