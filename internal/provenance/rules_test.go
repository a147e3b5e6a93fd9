package provenance_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestEveryRuleIsDocumented: each rule name a refusal can carry
// (internal/domain/rules.go) is explained in docs/trust.md, and the doc
// names no rule that does not exist.
func TestEveryRuleIsDocumented(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "../domain/rules.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/trust.md")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || !strings.HasPrefix(vs.Names[0].Name, "Rule") {
			return true
		}
		lit, ok := vs.Values[0].(*ast.BasicLit)
		if !ok {
			return true
		}
		name, _ := strconv.Unquote(lit.Value)
		names[name] = true
		if !strings.Contains(string(doc), "| `"+name+"` |") {
			t.Errorf("rule %q is not in docs/trust.md's tables", name)
		}
		return true
	})
	if len(names) < 20 {
		t.Fatalf("found only %d rules in rules.go", len(names))
	}
	for _, line := range strings.Split(string(doc), "\n") {
		if name, ok := strings.CutPrefix(line, "| `"); ok {
			name, _, _ = strings.Cut(name, "`")
			if strings.Contains(line, "` | ") && !names[name] && strings.Contains(name, "-") {
				t.Errorf("docs/trust.md names rule %q, which does not exist", name)
			}
		}
	}
}
