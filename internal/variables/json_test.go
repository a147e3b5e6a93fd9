package variables

import "testing"

// TestJSONReader: what Json.NET accepts (and how it prints it back) is
// what a JSON value is.
func TestJSONReader(t *testing.T) {
	for _, c := range []struct {
		in, compact string // compact "" means not JSON
	}{
		{`{"a": 1, "b": [true, null, "x"]}`, `{"a":1,"b":[true,null,"x"]}`},
		{`{a: 'single', $b_1: 2,}`, `{"a":"single","$b_1":2}`},
		{"// comment\n[1, /* two */ 2.50, -3e2]", `[1,2.5,-300.0]`},
		{`{"a": 1, "a": 2}`, `{"a":2}`},
		{`{"s": "tab\tquote\" \u00e9 \ud83d\ude00"}`, `{"s":"tab\tquote\" é 😀"}`},
		{`[0x1F, NaN, Infinity, -Infinity, undefined]`, `[31,NaN,Infinity,-Infinity,undefined]`},
		{`123456789012345678901234567890`, `123456789012345678901234567890`},
		{`{Name: NoComma}`, ""},
		{`{"a": 1} extra`, ""},
		{`{"a": 1`, ""},
		{`.5`, ""},
		{`{"X-Large": 1}`, `{"X-Large":1}`},
		{`{X-Large: 1}`, ""},
		{``, ""},
		{`   `, ""},
		{`hello`, ""},
	} {
		v, ok := parseJSON(c.in)
		switch {
		case c.compact == "" && ok:
			t.Errorf("parseJSON(%q) accepted, want refused", c.in)
		case c.compact != "" && !ok:
			t.Errorf("parseJSON(%q) refused", c.in)
		case ok && v.text() != c.compact && (v.kind == jsonArray || v.kind == jsonObject):
			t.Errorf("parseJSON(%q) prints %q, want %q", c.in, v.text(), c.compact)
		}
	}
}
