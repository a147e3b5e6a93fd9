package variables

import (
	"strings"
	"testing"
)

func FuzzSubstitute(f *testing.F) {
	for _, seed := range []string{
		"", "plain text", "# not an expression", "#{Name}", "##{Name}", "#{Name | ToUpper | Truncate 2}",
		"#{if Flag}a#{else}b#{/if}", `#{if Name == "x"}y#{/if}`, "#{unless Flag}z#{/unless}",
		"#{each i in List}#{i}#{Ferry.Template.Each.Index}#{/each}", "#{Url[#{Env}]}", "#{Cyc}",
		"#{", "#{}", "#{/if}", "#{else}", "#{a b}", `#{Name | Replace "a" "b"}`, "#{Name | Substring 1 2}",
		"héllo #{Name}\n#{if", "#{Nested}",
	} {
		f.Add(seed)
	}
	s := NewSet()
	s.Set("Name", "World", false)
	s.Set("Flag", "True", false)
	s.Set("List", "a,b,,c", false)
	s.Set("Env", "Prod", false)
	s.Set("Url[Prod]", "https://x", false)
	s.Set("Cyc", "#{Cyc}", false)
	s.Set("Nested", "#{Name} #{if Flag}#{List}#{/if}", true)
	m := s.Masker()

	f.Fuzz(func(t *testing.T, text string) {
		got, err := Substitute(text, s) // must not panic
		if !strings.Contains(text, "#{") && (err != nil || got != text) {
			t.Fatalf("text without \"#{\" changed: %q -> %q, %v", text, got, err)
		}
		if err != nil && got != "" {
			t.Fatalf("output %q returned with error %v", got, err)
		}
		masked := m.Mask(text)
		if strings.Contains(masked, "World a,b,,c") {
			t.Fatalf("secret survived masking: %q", masked)
		}
	})
}
