package variables

import (
	"errors"
	"strings"
	"testing"
)

// TestMissingJSONIsUndefined: a name that reads into a JSON value for a
// property it does not have, an element past the end of an array, or a
// property of a single value fails a script (Strict) as an undefined
// variable does, naming the variable and the missing path; before, it
// rendered empty and the step ran with an empty setting. Tests of
// presence (#{if}, #{unless}, #{each}) still just test.
func TestMissingJSONIsUndefined(t *testing.T) {
	set := vars("K", `{"present": "yes", "Deep": {"A": 1}, "List": [10, 20], "Nil": null}`, "L", "[1,2,3]", "N", "42")
	for tpl, want := range map[string][]string{
		"#{K.missing}":                     {`undefined variable "K.missing"`, `the value of "K" is a JSON object without property "missing"`},
		"#{K[missing]}":                    {`undefined variable "K[missing]"`, `without property "missing"`},
		"#{K.Present}":                     {`without property "Present"`, "case-sensitive"},
		"#{K.Deep.B}":                      {`undefined variable "K.Deep.B"`, `the value of "K.Deep" is a JSON object without property "B"`},
		"#{K.List[2]}":                     {`undefined variable "K.List[2]"`, `"K.List" is a JSON array of 2 element(s): [2] is past its end`},
		"#{L[3]}":                          {`undefined variable "L[3]"`, `"L" is a JSON array of 3 element(s): [3] is past its end`},
		"#{L[99] | ToUpper}":               {`undefined variable "L[99]"`, "past its end"},
		"#{N.x}":                           {`undefined variable "N.x"`, `"N" is a single JSON value, without property "x"`},
		"#{calc K.missing + 1}":            {`undefined variable "K.missing"`},
		"x#{each i in K.nope}#{i}#{/each}": {`undefined variable "K.nope"`},
	} {
		r, err := Render(tpl, set, Strict)
		var u *UndefinedError
		if err == nil || !errors.As(err, &u) {
			t.Errorf("Render(%q) = %q, %v; want an undefined variable", tpl, r.Text, err)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Render(%q): %v\nwant it to say %s", tpl, err, w)
			}
		}
	}
	// What is there still reads, and testing for presence does not fail.
	for tpl, want := range map[string]string{
		"#{K.present} #{K.Deep.A} #{K.List[1]} #{L[0]} <#{K.Nil}>": "yes 1 20 1 <>",
		"#{if K.missing}has#{else}none#{/if}":                      "none",
		"#{if K.present}has#{else}none#{/if}":                      "has",
		"#{unless K.Deep.B}no B#{/unless}":                         "no B",
		"#{if L[5]}five#{/if}.":                                    ".",
		`#{if K.missing == ""}empty#{/if}`:                         "empty",
		"#{each i in K.List}#{i};#{/each}":                         "10;20;",
		"#{if K.List[1]}#{K.List[1]}#{else}#{K.List[0]}#{/if}":     "20",
	} {
		r, err := Render(tpl, set, Strict)
		if err != nil || r.Text != want {
			t.Errorf("Render(%q) = %q, %v; want %q", tpl, r.Text, err, want)
		}
	}
}

// TestMissingJSONInSensitiveValues: when the JSON value is sensitive, the
// problem names the variable and the path asked for, but nothing of the
// value — not its kind, its length or its properties.
func TestMissingJSONInSensitiveValues(t *testing.T) {
	s := NewSet()
	s.Set("Db", `{"user": "app", "password": "Hunter2-pw", "hosts": ["h1-secret", "h2-secret"]}`, true)
	s.Set("Conn", "#{Db.port}", true) // a sensitive value that reads a missing property
	for _, tpl := range []string{"#{Db.port}", "#{Db.hosts[7]}", "#{Db.password.x}", "#{Conn}"} {
		_, err := Substitute("run "+tpl, s)
		if err == nil {
			t.Errorf("%s: no error", tpl)
			continue
		}
		msg := err.Error()
		for _, leak := range []string{"Hunter2", "secret", "array", "object", "element(s)", "user"} {
			if strings.Contains(msg, leak) {
				t.Errorf("%s: the error shows %q of the value: %v", tpl, leak, msg)
			}
		}
		if !strings.Contains(msg, `"Db`) && !strings.Contains(msg, `"Conn"`) {
			t.Errorf("%s: the error does not name the variable: %v", tpl, msg)
		}
	}
}
