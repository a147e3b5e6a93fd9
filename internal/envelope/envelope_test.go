package envelope

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

type inner struct {
	Name  string   `json:"name"`
	Scope []string `json:"environments,omitempty"`
}

type doc struct {
	Kind  string  `json:"kind"`
	Items []inner `json:"items"`
	Sub   *inner  `json:"sub,omitempty"`
}

// TestStrictRefusesWhatToolsReadDifferently: every document here is valid
// JSON that encoding/json would decode without complaint, but that jq or a
// browser could show differently from what ferry would import.
func TestStrictRefusesWhatToolsReadDifferently(t *testing.T) {
	for name, in := range map[string]string{
		"duplicate at the top":       `{"kind":"a","kind":"b","items":[]}`,
		"duplicate in an array item": `{"kind":"a","items":[{"name":"x","name":"y"}]}`,
		"duplicate in a nested one":  `{"kind":"a","items":[],"sub":{"name":"x","environments":[],"environments":["Prod"]}}`,
		"duplicate, escaped":         `{"kind":"a","\u006bind":"b","items":[]}`,
		"case only":                  `{"Kind":"a","items":[]}`,
		"case only, nested":          `{"kind":"a","items":[{"NAME":"x"}]}`,
		"case beside the real one":   `{"kind":"a","KIND":"b","items":[]}`,
		"unknown at the top":         `{"kind":"a","items":[],"extra":1}`,
		"unknown nested":             `{"kind":"a","items":[{"name":"x","script":"rm -rf /"}]}`,
		"invalid UTF-8":              "{\"kind\":\"a\xff\",\"items\":[]}",
		"trailing data":              `{"kind":"a","items":[]} {"kind":"b"}`,
		"trailing garbage":           `{"kind":"a","items":[]}x`,
	} {
		var d doc
		if err := Strict([]byte(in), &d); err == nil {
			t.Errorf("%s: accepted %s as %+v", name, in, d)
		}
	}
	var d doc
	if err := Strict([]byte(`{"kind":"a","items":[{"name":"x","environments":["Prod"]}],"sub":{"name":"y"}}`+"\n"), &d); err != nil {
		t.Fatalf("a well-formed document: %v", err)
	}
	if d.Kind != "a" || d.Items[0].Scope[0] != "Prod" || d.Sub.Name != "y" {
		t.Errorf("decoded %+v", d)
	}
}

// TestStrictReadsWhatFerryWrites: documents written by encoding/json (as
// ferry's writers do) are read back unchanged.
func TestStrictReadsWhatFerryWrites(t *testing.T) {
	in := doc{Kind: "k<&>\u2028", Items: []inner{{Name: "a", Scope: []string{"Prod Space: Production"}}}}
	b, _ := json.Marshal(in)
	var out doc
	if err := Strict(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Kind != in.Kind || out.Items[0].Scope[0] != in.Items[0].Scope[0] {
		t.Errorf("round trip: %+v", out)
	}
}

func TestOpenVersions(t *testing.T) {
	sign := func(b []byte) ([]byte, error) { return []byte("sig"), nil }
	for _, v := range []int{1, 2, 3} {
		data, err := Seal("f", v, []byte(`{}`), []byte("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"), sign)
		if err != nil {
			t.Fatal(err)
		}
		_, err = OpenVersions(data, "f", 1, 2, 1<<20, "thing")
		switch {
		case v <= 2 && err != nil:
			t.Errorf("version %d refused: %v", v, err)
		case v == 3 && (err == nil || !strings.Contains(err.Error(), "schema versions 1 to 2") || !strings.Contains(err.Error(), "Upgrade")):
			t.Errorf("version 3: %v", err)
		}
	}
}

// A file newer than this server reads is refused naming the versions it
// reads and the command to run on the exporting side, with the flag that
// writes a version it reads.
func TestOpenVersionsNewerSaysWhatToRun(t *testing.T) {
	sign := func(b []byte) ([]byte, error) { return []byte("sig"), nil }
	for what, cmd := range map[string]string{
		"release bundle":        "`ferry promote` with --schema-version 3",
		"receipt file":          "`ferry receipt export` with --schema-version 3",
		"package transfer file": "`ferry package export` with --schema-version 3",
		"thing":                 "the command that wrote it with --schema-version 3",
	} {
		for _, v := range []int{4, 9, 1 << 30} {
			data, err := Seal("f", v, []byte(`{}`), []byte("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"), sign)
			if err != nil {
				t.Fatal(err)
			}
			_, err = OpenVersions(data, "f", 2, 3, 1<<20, what)
			if err == nil || !strings.Contains(err.Error(), "this server reads schema versions 2 to 3") || !strings.Contains(err.Error(), cmd) ||
				!strings.Contains(err.Error(), "[schema-version]") {
				t.Errorf("%s of version %d: %v", what, v, err)
			}
		}
	}
}

// benchPayload is a payload the size of a release bundle with 2,000
// variables and 50 steps.
func benchPayload() []byte {
	var b bytes.Buffer
	b.WriteString(`{"kind":"k","items":[`)
	for i := 0; i < 2050; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"name":"Variable` + strings.Repeat("x", i%40) + `","environments":["Prod Space: Production","Test"]}`)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// BenchmarkStrict decodes a bundle-sized payload exactly (go-json-experiment);
// BenchmarkStrictBaseline is what Strict cost before (encoding/json with
// DisallowUnknownFields), in the same run.
func BenchmarkStrict(b *testing.B) {
	data := benchPayload()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var d doc
		if err := Strict(data, &d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStrictBaseline(b *testing.B) {
	data := benchPayload()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var d doc
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&d); err != nil {
			b.Fatal(err)
		}
	}
}

func TestStrictSaysWhat(t *testing.T) {
	for in, want := range map[string]string{
		`{"kind":"a","items":[{"name":"x","name":"y"}]}`: `duplicate field "name" in /items/0`,
		`{"Kind":"a","items":[]}`:                        `unknown field "Kind"`,
		`{"kind":"a","items":[]}  []`:                    `trailing data`,
	} {
		var d doc
		if err := Strict([]byte(in), &d); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want %q", in, err, want)
		}
	}
}
