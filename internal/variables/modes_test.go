package variables

import (
	"errors"
	"strings"
	"testing"
)

// TestStrict: in scripts every place that cannot be substituted fails the
// render, naming it with its line and column; nothing is printed.
func TestStrict(t *testing.T) {
	set := vars("A", "1", "Json", `{"x": 1}`, "Ref", "x #{Nope} y", "Pw", "p#{ss")
	for _, c := range []struct {
		name, tpl string
		want      []string // in the error
		undefined string   // the *UndefinedError's name, if any
	}{
		{"undefined", "echo #{Missing}", []string{"line 1, col 6", `undefined variable "Missing"`}, "Missing"},
		{"undefined on a later line", "a\nb #{A} #{Missing.Thing}", []string{"line 2, col 8", "Missing.Thing"}, "Missing.Thing"},
		{"undefined in a value", "#{Ref}", []string{`in the value of "Ref"`, `"Nope"`}, "Nope"},
		{"undefined with a filter", "#{Missing | ToUpper}", []string{"Missing"}, "Missing"},
		{"undefined under Append", "#{Missing | Append x}", []string{"Missing"}, "Missing"},
		{"undefined collection", "#{each x in Missing}#{x}#{/each}", []string{"Missing"}, "Missing"},
		{"undefined in calc", "#{calc Missing + 1}", []string{"Missing"}, "Missing"},
		{"undefined in a filtered condition", "#{if Missing | ToLower}x#{/if}", []string{"Missing"}, "Missing"},
		{"unknown filter", "#{A | Frobnicate}", []string{"Frobnicate", "unknown filter"}, ""},
		{"bad filter options", "#{A | Substring x}", []string{"Substring", "LENGTH"}, ""},
		{"calc on text", "#{calc Json * 2}", []string{"not a number"}, ""},
		{"unclosed block", "#{if A}\nbody", []string{"line 1, col 1", "not a complete #{if}"}, ""},
		{"stray else", "x #{else} y", []string{"not a complete #{else}"}, ""},
		{"null filter", "#{ | null}", []string{"null"}, ""},
		{"several problems", "#{P1} #{P2}", []string{"2 problems", "P1", "P2"}, "P1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := Render(c.tpl, set, Strict)
			if err == nil {
				t.Fatalf("Render(%q) = %q, want an error", c.tpl, r.Text)
			}
			if r.Text != "" {
				t.Errorf("text %q returned with the error", r.Text)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			var ue *UndefinedError
			if c.undefined != "" && (!errors.As(err, &ue) || ue.Name != c.undefined) {
				t.Errorf("error %v: want an *UndefinedError for %q", err, c.undefined)
			}
		})
	}
	// What strict mode accepts: a condition on an undefined variable is
	// false (that is how #{if} tests for a value), and a value that is not a
	// template (a password with "#{") is used as it is, with a note.
	r, err := Render("#{if Missing}x#{else}y#{/if} #{Pw}", set, Strict)
	if err != nil || r.Text != "y p#{ss" || len(r.Warnings) != 1 {
		t.Errorf("got %q, %v, warnings %v", r.Text, err, r.Warnings)
	}
}

// TestStrictSyntax: malformed templates fail before anything is
// evaluated, at the place that does not parse.
func TestStrictSyntax(t *testing.T) {
	for _, c := range []struct{ tpl, where, what string }{
		{"echo #{Name", "line 1, col 6", "not closed"},
		{"a\n  #{/if}", "line 2, col 3", "closes no open block"},
		{"#{A | Replace \"x}", "line 1, col 1", "malformed expression"},
		{"ok\n#{if A}x#{/unless}", "line 2, col 9", "closes no open block"},
		{"#{Url[#{Env}}", "line 1, col 1", ""},
	} {
		_, err := Render(c.tpl, vars("A", "1", "Name", "n"), Strict)
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), c.where) || !strings.Contains(err.Error(), c.what) {
			t.Errorf("Render(%q): %v; want a SyntaxError at %s (%s)", c.tpl, err, c.where, c.what)
		}
	}
}

// TestLenientWarnings: each place left as it is is one warning, with its
// position; the text around is still substituted.
func TestLenientWarnings(t *testing.T) {
	tpl := "a=#{A}\nb=#{Missing}\nc=#{A | Frob}\nd=\"#{\"===x\ne=#{each i in L}#{i.Nope}#{/each}"
	r, err := Render(tpl, vars("A", "1", "L", "p,q"), Lenient)
	if err != nil {
		t.Fatal(err)
	}
	want := "a=1\nb=#{Missing}\nc=#{A | Frob}\nd=\"#{\"===x\ne=#{i.Nope}#{i.Nope}"
	if r.Text != want {
		t.Errorf("text\n got %q\nwant %q", r.Text, want)
	}
	var got []string
	for _, w := range r.Warnings {
		got = append(got, w.Error())
	}
	joined := strings.Join(got, "\n")
	for _, w := range []string{`line 2, col 3: undefined variable "Missing"`, "line 3, col 3: filter Frob", "line 4, col 4: not a valid expression", `line 5, col 17: undefined variable "i.Nope"`} {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings do not include %q:\n%s", w, joined)
		}
	}
	if len(r.Warnings) != 4 {
		t.Errorf("%d warnings, want 4 (a place repeated by a loop counts once):\n%s", len(r.Warnings), joined)
	}
}

// TestTextWithoutExpressions is returned as it is, even with hashes.
func TestTextWithoutExpressions(t *testing.T) {
	for _, s := range []string{"", "plain", "## ###x #", "{}#}"} {
		for _, mode := range []Mode{Strict, Lenient} {
			if r, err := Render(s, nil, mode); err != nil || r.Text != s {
				t.Errorf("Render(%q) = %q, %v", s, r.Text, err)
			}
		}
	}
}
