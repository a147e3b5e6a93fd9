package variables

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// hostileSet has cycles, JSON, lists, sensitive values and deep chains.
func hostileSet() *Set {
	s := NewSet()
	for _, kv := range [][2]string{
		{"Name", "World"}, {"Flag", "True"}, {"List", "a,b,,c"}, {"Env", "Prod"}, {"Url[Prod]", "https://x"},
		{"Cyc", "#{Cyc}"}, {"A", "#{B}"}, {"B", "#{A}"}, {"Json", `{"a": [1, {"b": "#{Json.a}"}], "c": "#{Name}"}`},
		{"Octopus.Action[Step A].Name", "a"}, {"Octopus.Action[Step B].Name", "#{Name}"},
		{"Double", "#{Name}#{Name}"}, {"Quad", "#{Double}#{Double}"}, {"Num", "12.5"},
	} {
		s.Set(kv[0], kv[1], false)
	}
	s.Set("Secret", "fuzz-secret-value", true)
	s.Set("Nested", "#{Name} #{if Flag}#{List}#{/if}", true)
	return s
}

func FuzzRender(f *testing.F) {
	for _, seed := range []string{
		"", "plain text", "# not an expression", "#{Name}", "##{Name}", "###{Name}", "#{Name | ToUpper | Truncate 2}",
		"#{if Flag}a#{elseif Name}b#{else}c#{/if}", `#{if Name == "x"}y#{/if}`, "#{unless Flag}z#{/unless}",
		"#{each i in List}#{i}#{Octopus.Template.Each.Index}#{/each}", "#{Url[#{Env}]}", "#{Cyc}", "#{A}",
		"#{", "#{}", "#{/if}", "#{else}", "#{a b}", `#{Name | Replace "a" "b"}`, "#{Name | Substring 1 2}",
		"héllo #{Name}\n#{if", "#{Nested}", "#{Json.a[1].b}", "#{each x in Json}#{x.Value}#{/each}",
		"#{calc (Num+1)*2}", "#{each a in Octopus.Action}#{a}#{a.Name}#{/each}", `#{Secret | Replace "(e)" "$1$1"}`,
		"#{Quad | Indent 3/2}", `#{Name | Format \"0.00\"}`, "#{ | NowDate yyyy}", "#{Name | Markdown}",
		strings.Repeat("#{if Flag}", 30) + strings.Repeat("#{/if}", 30), strings.Repeat("#{X[", 20),
	} {
		f.Add(seed)
	}
	s := hostileSet()
	m := s.Masker()
	small := limits{output: 1 << 20, steps: 1 << 16}
	f.Fuzz(func(t *testing.T, text string) {
		for _, mode := range []Mode{Strict, Lenient} {
			start := time.Now()
			r, err := render(text, s, mode, small) // must not panic
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("render took %v", d)
			}
			if !strings.Contains(text, "#{") && (err != nil || r.Text != text) {
				t.Fatalf("text without \"#{\" changed: %q -> %q, %v", text, r.Text, err)
			}
			if err != nil && r.Text != "" {
				t.Fatalf("output %q returned with error %v", r.Text, err)
			}
			var ce *CycleError
			if mode == Lenient && err != nil && !errors.Is(err, ErrLimit) && !errors.As(err, &ce) {
				t.Fatalf("lenient render failed with %v", err)
			}
			if masked := m.With(r.Derived...).Mask(r.Text); strings.Contains(masked, "fuzz-secret-value") || strings.Contains(masked, "FUZZ-SECRET-VALUE") {
				t.Fatalf("secret survived masking: %q", masked)
			}
		}
	})
}
