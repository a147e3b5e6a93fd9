package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/ferrydeploy/ferry"

type pkg struct {
	ImportPath string
	Doc        string
	Imports    []string
	Name       string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// layer names where a package sits; dependencies may only point to lower
// layers (or within the same package tree where noted).
func layer(path string) (string, int) {
	rel := strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
	switch {
	case rel == "cmd/ferry":
		return "cmd", 6
	case strings.HasPrefix(rel, "internal/cli"), strings.HasPrefix(rel, "internal/server"):
		return "entry", 5
	case strings.HasPrefix(rel, "internal/api"), strings.HasPrefix(rel, "internal/web"):
		return "transport", 4
	case rel == "internal/domain":
		return "domain", 0
	case rel == "api":
		// The public contract: routes and wire types. Anything may use it.
		return "contract", 0
	case rel == "internal/store":
		return "store", 1
	case strings.HasPrefix(rel, "internal/store/"):
		return "store implementation", 2
	case rel == "client", strings.HasPrefix(rel, "internal/ferrytest"), strings.HasPrefix(rel, "internal/archtest"), rel == "e2e", rel == "bench":
		return "outside", -1
	default:
		// Capability services (catalog, deploy, trust, ...) and the small
		// packages they use (variables, signing, seal, ...).
		return "capability", 3
	}
}

// TestDependencyRule enforces cmd → cli/server → api/web → capabilities →
// store → domain: no package imports one above it.
func TestDependencyRule(t *testing.T) {
	for _, p := range listPackages(t) {
		name, lvl := layer(p.ImportPath)
		if lvl < 0 {
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			impName, impLvl := layer(imp)
			if impLvl < 0 && imp != module+"/client" {
				t.Errorf("%s (%s) imports test or outside package %s", p.ImportPath, name, imp)
			}
			cliRunsServer := strings.HasSuffix(p.ImportPath, "/internal/cli") && strings.HasSuffix(imp, "/internal/server")
			if !cliRunsServer && (impLvl > lvl || (impLvl == lvl && lvl != 3 && !strings.HasPrefix(imp, p.ImportPath))) {
				t.Errorf("%s (%s) imports %s (%s): dependencies must point down the layers", p.ImportPath, name, imp, impName)
			}
		}
		if name == "domain" {
			for _, imp := range p.Imports {
				if imp == "net/http" || imp == "database/sql" {
					t.Errorf("domain imports %s; it must know nothing of HTTP or storage", imp)
				}
			}
		}
	}
}

// TestPublicPackages: the public packages stand on their own — api
// imports nothing of ferry's, client only api — so code outside the
// module can use them (nothing internal in their exported API).
func TestPublicPackages(t *testing.T) {
	allowed := map[string][]string{module + "/api": nil, module + "/client": {module + "/api"}}
	for _, p := range listPackages(t) {
		ok, public := allowed[p.ImportPath]
		if !public {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, module) && !slices.Contains(ok, imp) {
				t.Errorf("public package %s imports %s", p.ImportPath, imp)
			}
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
