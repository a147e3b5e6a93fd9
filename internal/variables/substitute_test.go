package variables

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// testSet is the variable set most substitution tests run against.
func testSet() *Set {
	s := NewSet()
	for name, value := range map[string]string{
		"Name":         "World",
		"Greeting":     "Hello, #{Name}!",
		"Padded":       "  spaced  ",
		"Html":         `<a href="x">Tom & Jerry's</a>`,
		"Json":         "say \"hi\"\n\tand \\ bye",
		"Query":        "a b&c=d/e",
		"B64":          "aGVsbG8=",
		"Long":         "Octopus Deploy",
		"Env":          "Prod",
		"Url[Prod]":    "https://prod.example",
		"Url[Test]":    "https://test.example",
		"Deploy":       "True",
		"Off":          "False",
		"Zero":         "0",
		"No":           "no",
		"Empty":        "",
		"Servers":      " web1, web2 ,, db1 ",
		"Regions":      "eu,us",
		"Blank":        " , ,",
		"OnFlag":       "#{Deploy}",
		"OffFlag":      "#{Off}",
		"Level1":       "1-#{Level2}",
		"Level2":       "2-#{Level3}",
		"Level3":       "3",
		"RefUndefined": "x #{Nope} y",
		"Escaped":      "##{Name}",
		"Unicode":      "héllo wörld",
		"a.b_c-d[0]":   "odd name",
		"CycA":         "#{CycB}",
		"CycB":         "#{CycA}",
		"Self":         "#{Self}",
		"BadValue":     "#{if x}",
		"ListRef":      "#{Regions},ap",
	} {
		s.Set(name, value, false)
	}
	return s
}

func TestSubstitute(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		// Plain text.
		{"empty", "", ""},
		{"plain", "echo hello\n", "echo hello\n"},
		{"lone hash", "# comment #x #} { }", "# comment #x #} { }"},
		{"hash at end", "price #", "price #"},

		// References.
		{"simple", "Hi #{Name}.", "Hi World."},
		{"trimmed name", "#{  Name\t}", "World"},
		{"adjacent", "#{Name}#{Name}", "WorldWorld"},
		{"odd name chars", "#{a.b_c-d[0]}", "odd name"},
		{"empty value", "[#{Empty}]", "[]"},
		{"multi-line text", "a\n#{Name}\nb", "a\nWorld\nb"},

		// Filters.
		{"ToUpper", "#{Name | ToUpper}", "WORLD"},
		{"ToLower", "#{Name|ToLower}", "world"},
		{"filter case-insensitive", "#{Name | toupper}", "WORLD"},
		{"Trim", "[#{Padded | Trim}]", "[spaced]"},
		{"HtmlEscape", "#{Html | HtmlEscape}", "&lt;a href=&#34;x&#34;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"},
		{"XmlEscape", "#{Html | XmlEscape}", "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&apos;s&lt;/a&gt;"},
		{"JsonEscape", "#{Json | JsonEscape}", `say \"hi\"\n\tand \\ bye`},
		{"UriEscape", "#{Query | UriEscape}", "a+b%26c%3Dd%2Fe"},
		{"Base64Encode", "#{Name | Base64Encode}", "V29ybGQ="},
		{"Base64Decode", "#{B64 | Base64Decode}", "hello"},
		{"Replace quoted", `#{Long | Replace "Deploy" "Server"}`, "Octopus Server"},
		{"Replace bare", "#{Long | Replace o 0}", "Oct0pus Depl0y"},
		{"Replace with escapes", `#{Long | Replace " " "\" \\"}`, `Octopus" \Deploy`},
		{"Replace with brace", `#{Long | Replace " " "}"}`, "Octopus}Deploy"},
		{"Truncate", "#{Long | Truncate 7}", "Octopus..."},
		{"Truncate no-op", "#{Long | Truncate 50}", "Octopus Deploy"},
		{"Truncate unicode", "#{Unicode | Truncate 2}", "hé..."},
		{"Substring start", "#{Long | Substring 8}", "Deploy"},
		{"Substring start length", "#{Long | Substring 2 3}", "top"},
		{"Substring clamps", "#{Long | Substring 20 3}", ""},
		{"Substring unicode", "#{Unicode | Substring 1 4}", "éllo"},
		{"chain", "#{Padded | Trim | ToUpper | Replace \"S\" \"$\"}", "$PACED"},
		{"filter on nested value", "#{Greeting | ToUpper}", "HELLO, WORLD!"},

		// Conditions.
		{"if true", "#{if Deploy}yes#{/if}", "yes"},
		{"if false", "#{if Off}yes#{/if}", ""},
		{"if else true", "#{if Deploy}yes#{else}no#{/if}", "yes"},
		{"if else false", "#{if Off}yes#{else}no#{/if}", "no"},
		{"falsy 0", "#{if Zero}y#{else}n#{/if}", "n"},
		{"falsy no", "#{if No}y#{else}n#{/if}", "n"},
		{"falsy empty", "#{if Empty}y#{else}n#{/if}", "n"},
		{"truthy text", "#{if Name}y#{else}n#{/if}", "y"},
		{"undefined is false", "#{if Missing}y#{else}n#{/if}", "n"},
		{"truth after substitution", "#{if OnFlag}y#{else}n#{/if}#{if OffFlag}y#{else}n#{/if}", "yn"},
		{"equals", `#{if Env == "Prod"}prod#{else}other#{/if}`, "prod"},
		{"equals false", `#{if Env == "Test"}test#{else}other#{/if}`, "other"},
		{"not equals", `#{if Env != "Test"}not test#{/if}`, "not test"},
		{"not equals same", `#{if Env != "Prod"}x#{else}same#{/if}`, "same"},
		{"equals undefined", `#{if Missing == ""}x#{else}undefined equals nothing#{/if}`, "undefined equals nothing"},
		{"not equals undefined", `#{if Missing != "a"}differs#{/if}`, "differs"},
		{"equals empty string", `#{if Empty == ""}empty#{/if}`, "empty"},
		{"unless", "#{unless Off}ran#{/unless}", "ran"},
		{"unless true", "#{unless Deploy}ran#{else}skipped#{/unless}", "skipped"},
		{"unless undefined", "#{unless Missing}ran#{/unless}", "ran"},
		{"nested ifs", "#{if Deploy}A#{if Off}B#{else}C#{if Name}D#{/if}#{/if}E#{/if}", "ACDE"},
		{"undefined ref in untaken branch", "#{if Off}#{Missing}#{/if}ok", "ok"},
		{"multi-line blocks", "start\n#{if Deploy}\nyes\n#{else}\nno\n#{/if}\nend", "start\n\nyes\n\nend"},

		// Loops.
		{"each", "#{each s in Servers}[#{s}]#{/each}", "[web1][web2][db1]"},
		{"each index first last", "#{each s in Servers}#{Ferry.Template.Each.Index}:#{s}:#{Ferry.Template.Each.First}:#{Ferry.Template.Each.Last};#{/each}",
			"0:web1:True:False;1:web2:False:False;2:db1:False:True;"},
		{"each empty list", "a#{each s in Blank}x#{/each}b", "ab"},
		{"each filters", "#{each s in Servers}#{s | ToUpper} #{/each}", "WEB1 WEB2 DB1 "},
		{"each if", `#{each s in Servers}#{if Ferry.Template.Each.Last}#{s}#{else}#{s},#{/if}#{/each}`, "web1,web2,db1"},
		{"nested each", "#{each r in Regions}#{each s in Servers}#{r}-#{s}@#{Ferry.Template.Each.Index} #{/each}|#{Ferry.Template.Each.Index} #{/each}",
			"eu-web1@0 eu-web2@1 eu-db1@2 |0 us-web1@0 us-web2@1 us-db1@2 |1 "},
		{"inner shadows outer", "#{each x in Regions}#{each x in Servers}#{x}#{/each};#{x} #{/each}", "web1web2db1;eu web1web2db1;us "},
		{"loop var shadows set", "#{each Name in Regions}#{Name}#{/each}#{Name}", "euusWorld"},
		{"each over nested value", "#{each r in ListRef}#{r};#{/each}", "eu;us;ap;"},

		// Nested references.
		{"nested value", "#{Greeting}", "Hello, World!"},
		{"deeply nested value", "#{Level1}", "1-2-3"},
		{"inner expression in name", "#{Url[#{Env}]}", "https://prod.example"},
		{"inner expression with filter", `#{Url[#{Env | Replace "Prod" "Test"}]}`, "https://test.example"},
		{"inner expression in condition", "#{if Url[#{Env}]}y#{/if}", "y"},
		{"inner expression in each list", "#{each x in #{Env | Replace \"Prod\" \"Regions\"}}#{x}#{/each}", "euus"},
		{"values expanded once, output not re-expanded", "#{Escaped}", "#{Name}"},

		// Escapes.
		{"escape", "##{Name}", "#{Name}"},
		{"escape beside ref", "##{Name} is #{Name}", "#{Name} is World"},
		{"escape unclosed", "##{ not a tag", "#{ not a tag"},
		{"triple hash", "###{Name}", "##{Name}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Substitute(tt.text, testSet())
			if err != nil {
				t.Fatalf("Substitute(%q): %v", tt.text, err)
			}
			if got != tt.want {
				t.Errorf("Substitute(%q)\n got %q\nwant %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestSubstitutePassthroughIsIdentical(t *testing.T) {
	text := "#!/bin/sh\n# no expressions { here }\necho ${HOME} $#\n"
	got, err := Substitute(text, nil)
	if err != nil || got != text {
		t.Fatalf("got %q, %v", got, err)
	}
	if unsafe.StringData(got) != unsafe.StringData(text) {
		t.Error("text without expressions was copied; the fast path should return it as is")
	}
}

func TestSubstituteUndefined(t *testing.T) {
	tests := []struct {
		name, text, missing, msg string
	}{
		{"plain", "echo #{Missing}", "Missing", `line 1, col 6: undefined variable "Missing"`},
		{"position", "a\nbb #{Missing}", "Missing", `line 2, col 4: undefined variable "Missing"`},
		{"in value", "#{RefUndefined}", "Nope", `line 1, col 1: in variable "RefUndefined": undefined variable "Nope"`},
		{"inner name", "#{Url[#{Stage}]}", "Stage", `undefined variable "Stage"`},
		{"built name", "#{Url[#{Name}]}", "Url[World]", `undefined variable "Url[World]"`},
		{"each list", "#{each x in Nope}#{/each}", "Nope", `undefined variable "Nope"`},
		{"inside each", "#{each x in Regions}#{y}#{/each}", "y", `undefined variable "y"`},
		{"loop var out of scope", "#{each x in Regions}#{/each}#{x}", "x", `undefined variable "x"`},
		{"taken branch", "#{if Deploy}\n  #{Missing}#{/if}", "Missing", `line 2, col 3: undefined variable "Missing"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Substitute(tt.text, testSet())
			var ue *UndefinedError
			if !errors.As(err, &ue) {
				t.Fatalf("Substitute(%q) = %q, %v; want *UndefinedError", tt.text, got, err)
			}
			if ue.Name != tt.missing {
				t.Errorf("Name = %q, want %q", ue.Name, tt.missing)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
		})
	}
}

func TestSubstituteCycle(t *testing.T) {
	tests := []struct {
		text string
		path string
	}{
		{"#{CycA}", "CycA -> CycB -> CycA"},
		{"x\n#{CycB}", "CycB -> CycA -> CycB"},
		{"#{Self}", "Self -> Self"},
		{"#{if CycA}x#{/if}", "CycA -> CycB -> CycA"},
	}
	for _, tt := range tests {
		_, err := Substitute(tt.text, testSet())
		var ce *CycleError
		if !errors.As(err, &ce) {
			t.Fatalf("Substitute(%q) error = %v, want *CycleError", tt.text, err)
		}
		if got := strings.Join(ce.Path, " -> "); got != tt.path {
			t.Errorf("Substitute(%q) path = %s, want %s", tt.text, got, tt.path)
		}
		if !strings.Contains(err.Error(), "variable cycle: "+tt.path) {
			t.Errorf("message %q", err)
		}
	}
}

func TestSubstituteSyntaxErrors(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		line, col int
		msg       string
	}{
		{"unterminated", "echo #{Name", 1, 6, `unterminated "#{Name" (missing "}")`},
		{"unterminated at line end", "a #{Name\n}", 1, 3, `unterminated`},
		{"unterminated string", `#{Name | Replace "a}`, 1, 1, `unterminated string`},
		{"empty", "x #{}", 1, 3, `empty expression "#{}"`},
		{"blank", "#{   }", 1, 1, `empty expression`},
		{"space in name", "#{My Var}", 1, 6, `unexpected "Var" after variable name "My" (names cannot contain spaces)`},
		{"bad name char", "#{a/b}", 1, 4, `unexpected "/b"`},
		{"not a name", "#{?}", 1, 3, `expected a variable name, found '?'`},
		{"unknown filter", "#{Name | Shout}", 1, 10, `unknown filter "Shout" (known: Base64Decode, Base64Encode, HtmlEscape, JsonEscape, Replace, Substring, ToLower, ToUpper, Trim, Truncate, UriEscape, XmlEscape)`},
		{"Format not supported", "#{Name | Format C}", 1, 10, `unknown filter "Format"`},
		{"missing filter", "#{Name | }", 1, 10, `expected a filter name after "|"`},
		{"too few args", `#{Name | Replace "a"}`, 1, 10, `filter Replace takes 2 arguments, got 1`},
		{"too many args", `#{Name | ToUpper x}`, 1, 10, `filter ToUpper takes no arguments, got 1`},
		{"bad number", `#{Name | Truncate x}`, 1, 10, `length "x" is not a non-negative integer`},
		{"empty replace", `#{Name | Replace "" "x"}`, 1, 10, `must not be empty`},
		{"unclosed if", "a\nb #{if Deploy}\nc", 2, 3, `unclosed "#{if Deploy}" (missing "#{/if}")`},
		{"unclosed each", "#{each x in L}", 1, 1, `unclosed "#{each x in L}" (missing "#{/each}")`},
		{"unclosed inner", "#{if A}#{if B}#{/if}", 1, 1, `unclosed "#{if A}"`},
		{"stray /if", "x\n  #{/if}", 2, 3, `stray "#{/if}" (no open "#{if}")`},
		{"stray /each", "#{/each}", 1, 1, `stray "#{/each}"`},
		{"mismatched close", "#{each x in L}\n#{/if}", 2, 1, `unexpected "#{/if}": "#{each x in L}" at line 1, col 1 is still open (missing "#{/each}")`},
		{"else outside if", "a #{else}", 1, 3, `"#{else}" outside "#{if}"`},
		{"else in each", "#{each x in L}#{else}#{/each}", 1, 15, `outside "#{if}"`},
		{"double else", "#{if A}#{else}#{else}#{/if}", 1, 15, `second "#{else}" in "#{if A}"`},
		{"if without condition", "#{if}", 1, 1, `"#{if}" needs a condition`},
		{"each without list", "#{each }", 1, 1, `needs "ITEM in LIST"`},
		{"each without in", "#{each x of L}", 1, 10, `expected "in LIST" after "x"`},
		{"each extra", "#{each x in L M}", 1, 15, `unexpected "M" after the list name`},
		{"bad operator", "#{if A = \"x\"}#{/if}", 1, 8, `expected "==", "!=" or "}"`},
		{"unquoted operand", "#{if A == x}#{/if}", 1, 11, `expected a quoted string after "=="`},
		{"error in inner expression", "#{Url[#{}]}", 1, 7, `empty expression`},
		{"column counts characters", "héllo wörld #{", 1, 13, `unterminated`},
		{"syntax before evaluation", "#{Missing}\n#{if", 2, 1, `unterminated`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Substitute(tt.text, testSet())
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Substitute(%q) = %q, %v; want *SyntaxError", tt.text, got, err)
			}
			if se.Line != tt.line || se.Col != tt.col {
				t.Errorf("position = %d:%d, want %d:%d (%v)", se.Line, se.Col, tt.line, tt.col, err)
			}
			if !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("message %q does not contain %q", se.Msg, tt.msg)
			}
			if got != "" {
				t.Errorf("output %q produced despite syntax error", got)
			}
		})
	}
}

func TestSubstituteRuntimeErrors(t *testing.T) {
	s := testSet()
	s.Set("NotB64", "!!!", false)
	tests := []struct {
		name, text string
		target     any
		msg        string
	}{
		{"syntax error in value", "#{BadValue}", new(*SyntaxError), `in variable "BadValue": line 1, col 1: unclosed "#{if x}"`},
		{"filter failure", "#{NotB64 | Base64Decode}", nil, `filter Base64Decode on "NotB64": not valid base64`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Substitute(tt.text, s)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.target != nil && !errors.As(err, tt.target) {
				t.Errorf("error %v is not a %T", err, tt.target)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
		})
	}
}

func TestSubstituteLimits(t *testing.T) {
	// Each variable doubles the previous one: 2^40 KiB if unbounded.
	s := NewSet()
	s.Set("V0", strings.Repeat("x", 1024), false)
	for i := 1; i <= 30; i++ {
		s.Set(name("V", i), "#{"+name("V", i-1)+"}#{"+name("V", i-1)+"}", false)
	}
	// A chain of references deeper than the nesting limit.
	for i := 0; i < 40; i++ {
		s.Set(name("D", i), "#{"+name("D", i+1)+"}", false)
	}
	s.Set("D40", "end", false)
	s.Set("Many", strings.Repeat("a,", 300), false)
	s.Set("Huge", strings.Repeat("ab", 1<<20), false)

	small := limits{output: 1 << 20, steps: 1 << 16}
	real := limits{output: maxOutput, steps: maxSteps}
	tests := []struct {
		name, text string
		lim        limits
		msg        string
	}{
		{"output size", "#{V30}", small, "output would exceed 1 MiB"},
		{"output size in loop", "#{each a in Many}#{V8}#{/each}", small, "output would exceed 1 MiB"},
		{"real output size", "#{each a in Many}#{Huge}#{/each}", real, "output would exceed 64 MiB"}, // slow: skipped with -short
		{"reference depth", "#{D0}", real, "variable references nested deeper than 32 levels"},
		{"empty loops", "#{each a in Many}#{each b in Many}#{each c in Many}#{/each}#{/each}#{/each}", small, "more than 65536 evaluation steps"},
		{"Replace growth", `#{Huge | Replace "a" "` + strings.Repeat("0123456789", 8) + `"}`, real, "Replace result would exceed 64 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if testing.Short() && tt.lim.output > small.output && strings.Contains(tt.msg, "output") {
				t.Skip("builds 64 MiB")
			}
			_, err := substitute(tt.text, s, tt.lim)
			if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error = %v, want ErrLimit with %q", err, tt.msg)
			}
		})
	}
}

func TestSubstituteNestingLimits(t *testing.T) {
	tests := []struct{ name, text, msg string }{
		{"block depth", strings.Repeat("#{if A}", 40) + strings.Repeat("#{/if}", 40), "blocks nested deeper than 32 levels"},
		{"expression depth", strings.Repeat("#{X[", 40) + strings.Repeat("]}", 40), "expressions nested deeper than 32 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Substitute(tt.text, NewSet())
			var se *SyntaxError
			if !errors.As(err, &se) || !strings.Contains(se.Msg, tt.msg) {
				t.Fatalf("error = %v, want SyntaxError with %q", err, tt.msg)
			}
		})
	}
}

func name(prefix string, i int) string {
	return prefix + strconv.Itoa(i)
}
