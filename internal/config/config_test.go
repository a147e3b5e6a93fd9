package config_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/config"
	"github.com/ferrydeploy/ferry/internal/domain"
)

const doc = `environments:
  - name: Dev
  - name: Test
lifecycles:
  - name: Main
    phases:
      - {name: Dev, environments: [Dev]}
projects:
  - name: Shop
    lifecycle: Main
    variables:
      - {name: A, value: "1"}
      - {name: Secret, sensitive: true, keep: true}
    process:
      - {name: Hello, type: script, script: "echo hi"}
`

func TestParseRemembersLines(t *testing.T) {
	d, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for path, line := range map[string]int{
		"environments[1]":          3,
		"lifecycles[0]":            5,
		"projects[0]":              9,
		"projects[0].variables[1]": 13,
		"projects[0].process[0]":   15,
		"projects[0].lifecycle":    10,
		"projects[7]":              0,
	} {
		if got := d.Line(path); got != line {
			t.Errorf("line of %s: %d, want %d", path, got, line)
		}
	}
	if got := d.At("projects[0].variables[1]", "bad"); got != "line 13: bad" {
		t.Errorf("At: %q", got)
	}
	if got := d.At("nowhere", "bad"); got != "bad" {
		t.Errorf("At of an unknown path: %q", got)
	}
	if v := d.Projects[0].Variables[1]; !v.Sensitive || !v.KeepExisting || v.Value != "" {
		t.Errorf("a kept secret: %+v", v)
	}
}

func TestParseRefusesWhatItDoesNotKnow(t *testing.T) {
	for name, text := range map[string]string{
		"an unknown field":    "environments: [{name: Dev, colour: red}]\n",
		"an unknown section":  "servers: []\n",
		"two documents":       "environments: []\n---\nprojects: []\n",
		"malformed YAML":      "environments: [\n",
		"a list for a string": "projects: [{name: [a, b]}]\n",
		"a map for a string":  "projects: [{name: \"a\", lifecycle: {x: 1}}]\n",
	} {
		_, err := config.Parse([]byte(text))
		if domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("%s: %v", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "yaml: ") {
			t.Errorf("%s: the library's prefix shows: %v", name, err)
		}
	}
	if _, err := config.Parse([]byte(strings.Repeat("#", config.MaxSize+1))); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("an oversized file: %v", err)
	}
	empty, err := config.Parse(nil)
	if err != nil || len(empty.Projects) != 0 {
		t.Errorf("an empty file: %+v %v", empty, err)
	}
}

func TestMarshalReadsBack(t *testing.T) {
	d, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	out, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	again, err := config.Parse(out)
	if err != nil {
		t.Fatalf("what Marshal wrote does not parse: %v\n%s", err, out)
	}
	back, _ := again.Marshal()
	if string(back) != string(out) {
		t.Errorf("marshal is not stable:\n%s\n---\n%s", out, back)
	}
	if strings.Contains(string(out), "keep: false") || !strings.Contains(string(out), "keep: true") {
		t.Errorf("marshalled:\n%s", out)
	}
}

// TestParseBoundsWhatItReads: any viewer may send a document to apply
// (dry run or not), so what Parse reads is bounded by the document's marks
// and keys, not by its size. Before, 16 MB of "a," took 4 GB and 24 s to
// read, and a mapping of one key written 3,000 times (6 kB) made yaml.v3
// write 4.5 million errors (a 10,000-key one, 20 kB, took 11 minutes and
// 24 GB). A refusal names at most 20 problems: 140,000 list items with an
// unknown field each (560 kB) were a refusal of 20 MB.
func TestParseBoundsWhatItReads(t *testing.T) {
	for name, c := range map[string]struct {
		doc  string
		rule string
	}{
		"16 MB of list items":            {"[" + strings.Repeat("a,", config.MaxSize/2-2) + "a]", domain.RuleSize},
		"too many marks":                 {strings.Repeat("-", config.MaxMarks+1), domain.RuleSize},
		"too many line breaks":           {strings.Repeat("\n", config.MaxMarks+1), domain.RuleSize},
		"one key 3,000 times":            {"{" + strings.Repeat("a,", 2999) + "a}", ""},
		"one key 3,000 times, deep":      {"projects:\n  - name: x\n    lifecycle: {" + strings.Repeat("a: 1, ", 2999) + "a: 1}\n", ""},
		"a repeated field":               {"environments: []\nenvironments: []\n", ""},
		"an unknown field 140,000 times": {"projects: [" + strings.Repeat("{a},", 139_999) + "{a}]\n", ""},
		"too many keys":                  {"tenants: [{name: t, projects: {" + keys(config.MaxKeys+1) + "}}]\n", domain.RuleSize},
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := config.Parse([]byte(c.doc))
		runtime.ReadMemStats(&after)
		if domain.KindOf(err) != domain.KindInvalid || (c.rule != "" && !strings.Contains(err.Error(), "["+c.rule+"]")) {
			t.Errorf("%s: %v, want refused", name, err)
		}
		if err != nil && len(err.Error()) > 3000 {
			t.Errorf("%s: a refusal of %d bytes", name, len(err.Error()))
		}
		bound := uint64(64)
		if strings.HasPrefix(name, "an unknown field") {
			bound = 256 // within MaxMarks, read whole
		}
		if mb := (after.TotalAlloc - before.TotalAlloc) >> 20; mb > bound {
			t.Errorf("%s: reading it allocated %d MB", name, mb)
		}
	}
	// A tenant of MaxKeys projects is read.
	d, err := config.Parse([]byte("tenants: [{name: t, projects: {" + keys(config.MaxKeys) + "}}]\n"))
	if err != nil || len(d.Tenants[0].Projects) != config.MaxKeys {
		t.Errorf("a tenant of %d projects: %v", config.MaxKeys, err)
	}
}

func keys(n int) string {
	ks := make([]string, n)
	for i := range ks {
		ks[i] = fmt.Sprintf("P%d: [Dev]", i)
	}
	return strings.Join(ks, ", ")
}
