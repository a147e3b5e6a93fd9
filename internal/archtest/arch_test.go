package archtest

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

const module = "github.com/ferrydeploy/ferry"

type pkg struct {
	ImportPath string
	Doc        string
	Imports    []string
	Name       string
	Dir        string
	GoFiles    []string
}

var (
	listOnce sync.Once
	listed   []pkg
	listErr  error
)

// listPackages lists the module's packages once per test binary.
func listPackages(t *testing.T) []pkg {
	t.Helper()
	listOnce.Do(func() { listed, listErr = goList() })
	if listErr != nil {
		t.Fatal(listErr)
	}
	return listed
}

func goList() ([]pkg, error) {
	cmd := exec.Command("go", "list", "-json", module+"/...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var pkgs []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, cmd.Wait()
}

// tier is a rank of packages. A package may import any package of a lower
// tier, a package of its own tier only along an edge listed in sameTier,
// and nothing above.
type tier struct {
	name     string
	packages []string // relative to the module
}

// tiers places every package of the module that ships in the binary,
// lowest first. docs/architecture.md shows the same table
// (TestArchitectureDocMatches), and a new package fails
// TestEveryPackagePlaced until it is placed here and there.
var tiers = []tier{
	// The public API contract (routes, wire types, error kinds): it imports
	// nothing of ferry's, so code outside the module can use it, and
	// anything may.
	{"contract", []string{"api"}},
	{"domain", []string{"internal/domain"}},
	{"store", []string{"internal/store"}},
	{"store implementations", []string{"internal/store/sqlstore"}},
	// Primitives import no service and no store: each does one thing
	// (often a security-sensitive one) and is tested on its own.
	{"primitives", []string{
		"internal/agentproto", "internal/archive", "internal/compat", "internal/config", "internal/envelope", "internal/identity",
		"internal/packages/delta", "internal/packages/expand", "internal/packages/puff",
		"internal/sandbox", "internal/schedule", "internal/scratch", "internal/seal", "internal/secrets", "internal/signing", "internal/step", "internal/variables",
		"internal/versions",
	}},
	// Core services: one space's own things.
	{"core", []string{
		"internal/access", "internal/audit", "internal/auth", "internal/catalog", "internal/dashboard",
		"internal/deploy", "internal/provenance", "internal/release", "internal/tenants", "internal/trigger", "internal/trust",
	}},
	// Cross-space services: what travels between spaces, as files.
	{"cross-space", []string{"internal/bundle", "internal/packages", "internal/receipt"}},
	// Delivery: the same, over the network.
	// Delivery: the same, over the network; and deployment targets, their
	// agents and the protocol between them.
	{"delivery", []string{"internal/agent", "internal/outbox", "internal/targets", "internal/transport"}},
	{"upkeep", []string{"internal/retention"}},
	{"wiring", []string{"internal/services"}},
	{"front ends", []string{"internal/api", "internal/web"}},
	{"server", []string{"internal/server"}},
	{"cli", []string{"internal/cli"}},
	{"main", []string{"cmd/ferry"}},
}

// sameTier lists the imports allowed between packages of one tier.
var sameTier = map[string][]string{
	"internal/agentproto":      {"internal/identity"},
	"internal/step":            {"internal/archive", "internal/sandbox", "internal/variables"},
	"internal/signing":         {"internal/identity"},
	"internal/packages/expand": {"internal/packages/puff"},
	"internal/access":          {"internal/audit"},
	"internal/auth":            {"internal/access", "internal/audit"},
	"internal/catalog":         {"internal/access", "internal/audit"},
	"internal/dashboard":       {"internal/access", "internal/provenance"},
	"internal/deploy":          {"internal/access", "internal/audit", "internal/provenance"},
	"internal/provenance":      {"internal/release", "internal/trust"},
	"internal/release":         {"internal/access", "internal/audit"},
	"internal/tenants":         {"internal/access", "internal/audit"},
	"internal/trigger":         {"internal/access", "internal/audit", "internal/deploy"},
	"internal/trust":           {"internal/access", "internal/audit"},
	"internal/outbox":          {"internal/transport"},
}

// onlyImportedBy limits who may import a package, beyond the tiers.
var onlyImportedBy = map[string][]string{
	// The service set is for the front ends and the server that runs
	// them; everything else takes the few services it needs.
	"internal/services": {"internal/api", "internal/web", "internal/server", "internal/servicetest"},
}

// outside are packages outside the tiers: the public client, which imports
// only the public contract (api), and tools and test helpers, which may
// import anything but no tiered package may import (except the cli, the
// client).
var outside = []string{
	"client", "e2e", "bench", "bench/mkpackages", "bench/netemtool", "internal/archtest",
	"internal/ferrytest", "internal/servicetest", "internal/store/storetest", "internal/store/pgtest",
}

// tierOf returns the tier index of a package (relative path), or -1 when
// it is outside the tiers, or -2 when it is placed nowhere.
func tierOf(rel string) int {
	for i, t := range tiers {
		if slices.Contains(t.packages, rel) {
			return i
		}
	}
	if slices.Contains(outside, rel) {
		return -1
	}
	return -2
}

func relative(path string) string {
	return strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
}

// TestEveryPackagePlaced: each package is in one tier or outside, and
// each name in the tables is a package.
func TestEveryPackagePlaced(t *testing.T) {
	have := map[string]bool{}
	for _, p := range listPackages(t) {
		rel := relative(p.ImportPath)
		have[rel] = true
		if tierOf(rel) == -2 {
			t.Errorf("package %s is in no tier: place it in internal/archtest's tiers (or outside) and in docs/architecture.md", rel)
		}
	}
	placed := slices.Clone(outside)
	for _, tr := range tiers {
		placed = append(placed, tr.packages...)
	}
	seen := map[string]bool{}
	for _, rel := range placed {
		if !have[rel] {
			t.Errorf("%s is placed in the tiers but is not a package", rel)
		}
		if seen[rel] {
			t.Errorf("%s is placed twice", rel)
		}
		seen[rel] = true
	}
	for from, tos := range sameTier {
		for _, to := range tos {
			if tierOf(from) != tierOf(to) || tierOf(from) < 0 {
				t.Errorf("sameTier edge %s → %s joins two tiers", from, to)
			}
		}
	}
}

// TestDependencyRule enforces the tiers: no package imports one above it,
// imports within a tier follow sameTier, no tiered package imports a
// tool or test helper, and the client imports only the public api.
func TestDependencyRule(t *testing.T) {
	used := map[string]bool{}
	for _, p := range listPackages(t) {
		rel := relative(p.ImportPath)
		lvl := tierOf(rel)
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			to := relative(imp)
			toLvl := tierOf(to)
			if allowed, ok := onlyImportedBy[to]; ok && !slices.Contains(allowed, rel) {
				t.Errorf("%s imports %s, which only %s may import", rel, to, strings.Join(allowed, ", "))
			}
			switch {
			case rel == "client" && to != "api":
				t.Errorf("the public client imports %s; it may import only the public api package", to)
			case rel == "client":
			case lvl < 0:
				// tools and test helpers may use anything
			case toLvl == -1 && !(rel == "internal/cli" && to == "client"):
				t.Errorf("%s (%s) imports the tool or test helper %s", rel, tiers[lvl].name, to)
			case tiers[lvl].name == "primitives" && toLvl < lvl && to != "internal/domain":
				t.Errorf("%s (primitives) imports %s: a primitive imports no store and no service, only domain", rel, to)
			case toLvl > lvl:
				t.Errorf("%s (%s) imports %s (%s): dependencies point down the tiers", rel, tiers[lvl].name, to, tiers[toLvl].name)
			case toLvl == lvl:
				if !slices.Contains(sameTier[rel], to) {
					t.Errorf("%s imports %s, both %s: add the edge to sameTier (and docs/architecture.md) if it is meant", rel, to, tiers[lvl].name)
				}
				used[rel+" → "+to] = true
			}
		}
		if rel == "internal/domain" {
			for _, imp := range p.Imports {
				if imp == "net/http" || imp == "database/sql" {
					t.Errorf("domain imports %s; it must know nothing of HTTP or storage", imp)
				}
			}
		}
	}
	for from, tos := range sameTier {
		for _, to := range tos {
			if !used[from+" → "+to] {
				t.Errorf("sameTier allows %s → %s, which nothing uses: remove it", from, to)
			}
		}
	}
}

// TestArchitectureDocMatches: the tier table of docs/architecture.md (between
// <!-- tiers --> and <!-- /tiers -->) names the same tiers, in the same
// order, with the same packages and the same edges within a tier.
func TestArchitectureDocMatches(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start, end := strings.Index(text, "<!-- tiers -->"), strings.Index(text, "<!-- /tiers -->")
	if start < 0 || end < start {
		t.Fatal("docs/architecture.md has no <!-- tiers --> … <!-- /tiers --> table")
	}
	code := regexp.MustCompile("`([a-z0-9/]+)`")
	edge := regexp.MustCompile(`([a-z0-9/]+) → ([a-z0-9/]+)`)
	var names []string
	docTiers := map[string][]string{}
	docEdges := map[string][]string{}
	for _, line := range strings.Split(text[start:end], "\n") {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if len(cells) < 2 || strings.HasPrefix(strings.TrimSpace(cells[0]), "-") || strings.TrimSpace(cells[0]) == "tier" {
			continue
		}
		name := strings.TrimSpace(cells[0])
		names = append(names, name)
		for _, m := range code.FindAllStringSubmatch(cells[1], -1) {
			docTiers[name] = append(docTiers[name], m[1])
		}
		if len(cells) > 2 {
			for _, m := range edge.FindAllStringSubmatch(cells[2], -1) {
				docEdges["internal/"+m[1]] = append(docEdges["internal/"+m[1]], "internal/"+m[2])
			}
		}
	}
	var want []string
	for _, tr := range tiers {
		want = append(want, tr.name)
		got := slices.Sorted(slices.Values(docTiers[tr.name]))
		if pk := slices.Sorted(slices.Values(tr.packages)); !slices.Equal(got, pk) {
			t.Errorf("docs/architecture.md tier %q lists %v; the code places %v", tr.name, got, pk)
		}
	}
	want = append(want, "outside")
	if got := slices.Sorted(slices.Values(docTiers["outside"])); !slices.Equal(got, slices.Sorted(slices.Values(outside))) {
		t.Errorf("docs/architecture.md lists %v outside the tiers; the code %v", got, slices.Sorted(slices.Values(outside)))
	}
	if !slices.Equal(names, want) {
		t.Errorf("docs/architecture.md's tiers are %v; the code's %v", names, want)
	}
	for _, from := range slices.Sorted(maps.Keys(sameTier)) {
		if got, w := slices.Sorted(slices.Values(docEdges[from])), slices.Sorted(slices.Values(sameTier[from])); !slices.Equal(got, w) {
			t.Errorf("docs/architecture.md lets %s import %v within its tier; the code %v", from, got, w)
		}
	}
	for from := range docEdges {
		if _, ok := sameTier[from]; !ok {
			t.Errorf("docs/architecture.md lets %s import %v within its tier; the code nothing", from, docEdges[from])
		}
	}
}

// TestPackageDocs requires a doc comment on every package.
func TestPackageDocs(t *testing.T) {
	for _, p := range listPackages(t) {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no doc comment", p.ImportPath)
		}
	}
}

// maxFuncLines bounds a function, from its func line to its closing brace:
// past it, a function is split into named stages that read like the flow.
const maxFuncLines = 80

// TestFunctionLength lists every hand-written function over maxFuncLines
// lines. Tests (_test.go) read as scenarios and are
// not counted; test helper packages are.
func TestFunctionLength(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, p := range listPackages(t) {
		for _, name := range p.GoFiles {
			path := filepath.Join(p.Dir, name)
			f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if ast.IsGenerated(f) {
				continue
			}
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				if n := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1; n > maxFuncLines {
					at := fset.Position(fd.Pos())
					file, _ := filepath.Rel(root, at.Filename)
					t.Errorf("%s:%d: %s is %d lines (at most %d): split it into named stages", file, at.Line, funcName(fd), n, maxFuncLines)
				}
			}
		}
	}
}

func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	typ := fd.Recv.List[0].Type
	if s, ok := typ.(*ast.StarExpr); ok {
		typ = s.X
	}
	if ix, ok := typ.(*ast.IndexExpr); ok {
		typ = ix.X
	}
	if id, ok := typ.(*ast.Ident); ok {
		return id.Name + "." + fd.Name.Name
	}
	return fd.Name.Name
}
