package config

import (
	"regexp"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// goWords are signs of Go's words in a message meant for a YAML writer.
var goWords = regexp.MustCompile(`config\.|domain\.|\[\]|map\[|\bstring\b|\bbool\b|\bint\b|!!`)

// TestProblemsInYAMLWords: every type problem of a document is reported at
// once, each with its line, in the words of YAML — never a Go type name.
func TestProblemsInYAMLWords(t *testing.T) {
	doc := `environments:
  - name: Dev
    colour: blue
lifecycles:
  - name: Main
    phases: yes
projects:
  - name: Shop
    lifecycle: [Main]
    variables:
      - name: A
        value: {x: 1}
        sensitive: maybe
    process:
      - name: Step
        type: script
        scirpt: echo
`
	_, err := Parse([]byte(doc))
	if domain.KindOf(err) != domain.KindInvalid {
		t.Fatalf("Parse: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"line 3: unknown field \"colour\" in an environment (its fields: name)",
		"line 6: ",
		"line 9: a list where text belongs",
		"line 12: a mapping",
		"line 13: \"maybe\" (text) where true or false belongs",
		"line 17: unknown field \"scirpt\" in a step (its fields: name, type,",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the problems lack %q:\n%s", want, msg)
		}
	}
	if goWords.MatchString(msg) {
		t.Errorf("the problems speak Go:\n%s", msg)
	}
	if n := strings.Count(msg, "\n  line "); n < 6 {
		t.Errorf("%d problems listed, want all 6:\n%s", n, msg)
	}
}

func TestSyntaxErrorInYAMLWords(t *testing.T) {
	for _, doc := range []string{"projects:\n  - name: [\n", "environments: {name: a\n", "a:\n\tb: c\n", "projects: [\"x\"]\n", "environments: 5\n"} {
		_, err := Parse([]byte(doc))
		if err == nil {
			t.Errorf("Parse(%q) = nil", doc)
			continue
		}
		if goWords.MatchString(err.Error()) || !strings.Contains(err.Error(), "line ") {
			t.Errorf("Parse(%q): %v", doc, err)
		}
	}
}

// TestCommentCutsAPlainValue: ` #{Color}` after a plain value is a YAML
// comment; the value is cut, and apply says so.
func TestCommentCutsAPlainValue(t *testing.T) {
	doc, err := Parse([]byte(`projects:
  - name: Shop
    lifecycle: Main
    variables:
      - name: Url
        value: http://#{Host}/x #{Path}
    process:
      - name: A
        type: script
        script: echo #{Color}
      - name: B
        type: script
        script: echo "#{Color}"
      - name: C
        type: script
        script: echo done # a real comment
      - name: D
        type: script
        script: |
          echo #{Color}
`))
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(doc.Warnings(), "\n")
	for _, want := range []string{`line 6: value was cut to "http://#{Host}/x"`, `line 10: script was cut to "echo"`, "script: |"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
	if len(doc.Warnings()) != 2 {
		t.Errorf("%d warnings, want 2:\n%s", len(doc.Warnings()), w)
	}
}
