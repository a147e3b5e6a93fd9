package variables

import (
	"slices"
	"strings"
	"testing"
)

// secretSet holds sensitive values (S, list, JSON, number) and plain ones
// built from them.
func secretSet() *Set {
	s := NewSet()
	s.Set("S", "Hunter2-Secret", true)
	s.Set("List", "alpha-item,bravo-item", true)
	s.Set("Js", `{"pw": "json-pw-1", "n": {"deep": "deep-pw-2"}}`, true)
	s.Set("Num", "1234", true)
	s.Set("Idx", "b", true)
	s.Set("Conn", "Server=db;Password=#{S}", false)
	s.Set("Plain", "plain", false)
	s.Set("Map[a]", "value-a", false)
	s.Set("Map[b]", "value-b", false)
	return s
}

// TestDerivedValues: every value computed from a sensitive one that reaches
// the output is reported for masking, whatever the path.
func TestDerivedValues(t *testing.T) {
	for _, c := range []struct {
		tpl     string
		derived []string
	}{
		{"#{S | ToUpper}", []string{"HUNTER2-SECRET"}},
		{"#{S | ToLower}", []string{"hunter2-secret"}},
		{"#{S | ToBase64}", []string{"SHVudGVyMi1TZWNyZXQ="}},
		{"#{S | Base64Encode}", []string{"SHVudGVyMi1TZWNyZXQ="}},
		{"#{S | Substring 6}", []string{"Hunter"}},
		{`#{S | Replace "e" "3"}`, []string{"Hunt3r2-S3cr3t"}},
		{"#{S | Truncate 4}", []string{"Hunt..."}},
		{"#{S | Sha256 4}", []string{"e3b557fb"}},
		{"#{S | ToUpper | ToBase64 | ToLower}", []string{"sfvovevsmi1trunsrvq="}},
		{"#{Conn | ToUpper}", []string{"SERVER=DB;PASSWORD=HUNTER2-SECRET"}},
		{"#{Conn}", []string{"Server=db;Password=Hunter2-Secret"}},
		{"#{Plain | Append #{S | ToLower}}", []string{"plainhunter2-secret"}},
		{`#{Plain | Replace "a" #{S}}`, []string{"plHunter2-Secretin"}},
		{"#{each x in List}[#{x | ToUpper}]#{/each}", []string{"ALPHA-ITEM", "BRAVO-ITEM"}},
		{"#{Js.pw} #{Js.n.deep | ToUpper} #{Js.n}", []string{"json-pw-1", "DEEP-PW-2", `{"deep":"deep-pw-2"}`}},
		{"#{each p in Js}#{p.Value}#{/each}", []string{"json-pw-1", `{"deep":"deep-pw-2"}`}},
		{"#{calc Num * 2}", []string{"2468"}},
		{"#{Map[#{Idx}]}", []string{"value-b"}},
		{"#{if Plain}#{S | ToUpper}#{/if}", []string{"HUNTER2-SECRET"}},
		{`#{if S | StartsWith "Hunter"}yes#{/if}`, nil},         // a branch's own text is not secret
		{`#{S | StartsWith "Hunter"} #{S | Contains "x"}`, nil}, // one bit: true/false is not masked
		{"#{Plain | ToUpper} #{Plain}", nil},
	} {
		r, err := Render(c.tpl, secretSet(), Strict)
		if err != nil {
			t.Errorf("%s: %v", c.tpl, err)
			continue
		}
		for _, d := range c.derived {
			if !slices.Contains(r.Derived, d) {
				t.Errorf("%s = %q: derived %q not reported (got %q)", c.tpl, r.Text, d, r.Derived)
			}
		}
		if c.derived == nil && len(r.Derived) > 0 {
			t.Errorf("%s: reported %q, want nothing", c.tpl, r.Derived)
		}
		// Masking the output with the set's masker and the derived values
		// leaves none of them.
		m := secretSet().Masker().With(r.Derived...)
		masked := m.Mask(r.Text)
		for _, d := range c.derived {
			if strings.Contains(masked, d) {
				t.Errorf("%s: %q survives masking: %q", c.tpl, d, masked)
			}
		}
	}
}

// TestMaskerCoversExpandedSecrets: a sensitive value built from others is
// masked as stored and as expanded.
func TestMaskerCoversExpandedSecrets(t *testing.T) {
	s := NewSet()
	s.Set("User", "svc-user", false)
	s.Set("Token", "tok-#{User}-77", true)
	s.Set("Multi", "line-one-secret\nline-two-secret", true)
	m := s.Masker()
	for _, line := range []string{"tok-svc-user-77", "raw tok-#{User}-77", "line-two-secret"} {
		if got := m.Mask(line); strings.Contains(got, "tok-") || strings.Contains(got, "line-two") {
			t.Errorf("Mask(%q) = %q", line, got)
		}
	}
	if got := m.Mask("svc-user"); got != "svc-user" {
		t.Errorf("a plain value was masked: %q", got)
	}
}
