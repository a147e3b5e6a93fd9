package variables

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestLimits: hostile templates and values stop with an error wrapping
// ErrLimit, quickly, in both modes.
func TestLimits(t *testing.T) {
	s := NewSet()
	s.Set("V0", "ab", false)
	for i := 1; i <= 40; i++ {
		s.Set(fmt.Sprintf("V%d", i), fmt.Sprintf("#{V%d}#{V%d}", i-1, i-1), false)
	}
	for i := 0; i < 100; i++ {
		s.Set(fmt.Sprintf("D%d", i), fmt.Sprintf("#{D%d}", i+1), false)
	}
	s.Set("D100", "end", false)
	s.Set("Many", strings.Repeat("a,", 300), false)
	s.Set("Lines", strings.Repeat("a\n", 1<<20), false)
	s.Set("Evil", strings.Repeat("a", 40)+"!", false)

	small := limits{output: 1 << 20, steps: 1 << 16}
	real := limits{output: maxOutput, steps: maxSteps}
	for _, c := range []struct {
		name, text string
		lim        limits
		msg        string
	}{
		{"output doubling", "#{V30}", small, "output would exceed 1 MiB"},
		{"output in loops", "#{each a in Many}#{V12}#{/each}", small, "output would exceed 1 MiB"},
		{"value chain depth", "#{D0}", real, "nested deeper than 64 levels"},
		{"empty loops", "#{each a in Many}#{each b in Many}#{each c in Many}#{/each}#{/each}#{/each}", small, "evaluation steps"},
		{"block nesting", strings.Repeat("#{if A}", 150) + strings.Repeat("#{/if}", 150), real, "nested deeper than 100 levels"},
		{"index nesting", strings.Repeat("#{X[", 150) + strings.Repeat("]}", 150), real, "nested deeper than 100 levels"},
		{"filter growth", "#{Lines | Indent 200}", real, "more than 64 MiB"},
		{"catastrophic regex", `#{Evil | Replace "(a+)+$" x}`, real, "regular expression"},
	} {
		for _, mode := range []Mode{Strict, Lenient} {
			t.Run(fmt.Sprintf("%s/%d", c.name, mode), func(t *testing.T) {
				start := time.Now()
				_, err := render(c.text, s, mode, c.lim)
				if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), c.msg) {
					t.Fatalf("error = %v, want ErrLimit with %q", err, c.msg)
				}
				if d := time.Since(start); d > 10*time.Second {
					t.Errorf("took %v", d)
				}
			})
		}
	}
}

// TestFailingBlocksStayPolynomial: blocks that never close are retried as
// expressions; without memoisation each would re-parse the rest.
func TestFailingBlocksStayPolynomial(t *testing.T) {
	text := strings.Repeat("#{if A}#{each x in L}#{unless B}", 30) + strings.Repeat("#{A} text ", 20000)
	done := make(chan error, 1)
	go func() {
		_, err := Render(text, vars("A", "1", "L", "x"), Lenient)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("parsing unclosed blocks did not finish")
	}
}

// TestDeepJSONIsNotRead: JSON nested past Json.NET's limit is not JSON.
func TestDeepJSONIsNotRead(t *testing.T) {
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	r, err := Render("#{J[0]}", vars("J", deep), Lenient)
	if err != nil || r.Text != "#{J[0]}" {
		t.Fatalf("got %q, %v", r.Text, err)
	}
}

// TestManyProblemsStayLinear: a file full of "#{" that is not an
// expression (minified JavaScript, say) is one warning per place, found in
// one pass. Each warning used to scan the text before it for its line and
// the text after it for its snippet, so 200,000 of them ran for many
// minutes.
func TestManyProblemsStayLinear(t *testing.T) {
	for _, unit := range []string{"#{", `#{A | Replace "`, "#{A | ", "#{calc (", "#{Missing}", "#{if "} {
		text := strings.Repeat(unit, 100000)
		done := make(chan Result, 1)
		go func() {
			r, _ := Render(text, vars("A", "1"), Lenient)
			done <- r
		}()
		select {
		case r := <-done:
			if len(r.Warnings) == 0 || r.Warnings[len(r.Warnings)-1].Line != 1 {
				t.Errorf("%q: %d warnings, last %v", unit, len(r.Warnings), r.Warnings[len(r.Warnings)-1:])
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("%q × 100,000 did not finish", unit)
		}
	}
	// Positions are still exact when problems are found out of text order
	// (recovery warnings first, then evaluation).
	r, _ := Render("é#{\n  #{Missing} #{", vars(), Lenient)
	var got []string
	for _, w := range r.Warnings {
		got = append(got, fmt.Sprintf("%d:%d", w.Line, w.Col))
	}
	if strings.Join(got, " ") != "1:2 2:3 2:14" {
		t.Errorf("positions %v, want 1:2 2:3 2:14", got)
	}
}
