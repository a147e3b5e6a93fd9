package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/catalog"
	"github.com/ferrydeploy/ferry/internal/config"
	"github.com/ferrydeploy/ferry/internal/servicetest"
)

// spaceYAML builds a space with n projects, each with 5 steps, 10 variables
// (two of them sensitive) and 2 templates, over 10 environments.
func spaceYAML(n int) []byte {
	var b strings.Builder
	b.WriteString("environments:\n")
	for e := 0; e < 10; e++ {
		fmt.Fprintf(&b, "  - name: Env%d\n", e)
	}
	b.WriteString("lifecycles:\n  - name: Main\n    phases:\n")
	for e := 0; e < 10; e++ {
		fmt.Fprintf(&b, "      - name: P%d\n        environments: [Env%d]\n", e, e)
	}
	b.WriteString("projects:\n")
	for p := 0; p < n; p++ {
		fmt.Fprintf(&b, "  - name: Project%d\n    lifecycle: Main\n    templates:\n", p)
		b.WriteString("      - {name: DbUrl, type: sensitive, required: true}\n      - {name: Region, type: text, default: eu}\n")
		b.WriteString("    variables:\n")
		for v := 0; v < 10; v++ {
			fmt.Fprintf(&b, "      - name: Var%d\n        value: value-%d-%d\n", v, p, v)
			if v < 2 {
				b.WriteString("        sensitive: true\n")
			}
			if v%3 == 0 {
				fmt.Fprintf(&b, "        environments: [Env%d]\n", v)
			}
		}
		b.WriteString("    process:\n")
		for s := 0; s < 5; s++ {
			fmt.Fprintf(&b, "      - name: Step%d\n        type: script\n        script: |\n          echo \"#{Var%d} on #{Ferry.Environment.Name}\"\n", s, s)
		}
	}
	return []byte(b.String())
}

func newCatalog(b *testing.B) (*catalog.Service, context.Context) {
	b.Helper()
	env := servicetest.New(b)
	env.CreateSpace("Default")
	return env.Set.Catalog, env.Ctx
}

// BenchmarkApply500Projects applies a 500-project space to an empty space
// (parse + validate + one transaction of inserts).
func BenchmarkApply500Projects(b *testing.B) {
	data := spaceYAML(500)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cat, ctx := newCatalog(b)
		b.StartTimer()
		doc, err := config.Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := cat.Apply(ctx, "Default", doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReapply500ProjectsUnchanged re-applies the same file: everything is
// compared and nothing is written.
func BenchmarkReapply500ProjectsUnchanged(b *testing.B) {
	data := spaceYAML(500)
	cat, ctx := newCatalog(b)
	doc, err := config.Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := cat.Apply(ctx, "Default", doc); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		doc, err := config.Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		res, err := cat.Apply(ctx, "Default", doc)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Updated)+len(res.Created) != 0 {
			b.Fatalf("re-apply changed %v %v", res.Created, res.Updated)
		}
	}
}
