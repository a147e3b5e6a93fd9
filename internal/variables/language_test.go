package variables

import (
	"errors"
	"strings"
	"testing"
)

// vars builds a set from name, value pairs, in order.
func vars(pairs ...string) *Set {
	s := NewSet()
	for i := 0; i+1 < len(pairs); i += 2 {
		s.Set(pairs[i], pairs[i+1], false)
	}
	return s
}

// langCase is one expectation of Octostache's behaviour, checked in
// lenient mode (what Octopus does) unless noted.
type langCase struct {
	name string
	tpl  string
	set  *Set
	want string
}

func runLenient(t *testing.T, cases []langCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Render(c.tpl, c.set, Lenient)
			if err != nil {
				t.Fatalf("Render(%q): %v", c.tpl, err)
			}
			if r.Text != c.want {
				t.Errorf("Render(%q)\n got %q\nwant %q", c.tpl, r.Text, c.want)
			}
		})
	}
}

func TestReferences(t *testing.T) {
	runLenient(t, []langCase{
		{"plain", "#{Colour}", vars("Colour", "teal"), "teal"},
		{"case-insensitive", "#{COLOUR} #{colour}", vars("Colour", "teal"), "teal teal"},
		{"value refers to another", "#{Url}", vars("Url", "https://#{Host}/", "Host", "shop.example"), "https://shop.example/"},
		{"value with a filter", "#{Url}", vars("Url", "#{Host | ToUpper}", "Host", "shop"), "SHOP"},
		{"chain of values", "#{A}", vars("A", "a#{B}", "B", "b#{C}", "C", "c"), "abc"},
		{"spaces in a name", "#{Blue Green Red}", vars("Blue Green Red", "rgb"), "rgb"},
		{"white space inside the braces", "#{   Colour\t}", vars("Colour", "teal"), "teal"},
		{"no space needed around the pipe", "#{Colour|ToUpper}", vars("Colour", "teal"), "TEAL"},
		{"slash in a name", "#{left/right}", vars("left/right", "lr"), "lr"},
		{"tilde in a name", "#{x~y}", vars("x~y", "xy"), "xy"},
		{"parentheses in a name", "#{(grp)}", vars("(grp)", "g"), "g"},
		{"at sign in a name", "#{@who} #{me@host}", vars("@who", "w", "me@host", "h"), "w h"},
		{"colon in a name", "#{Ns:Key}", vars("Ns:Key", "k"), "k"},
		{"text around", "<#{A}|#{B}>", vars("A", "1", "B", "2"), "<1|2>"},
		{"multi-line text", "a\n#{A}\nb", vars("A", "1"), "a\n1\nb"},
		{"empty value", "[#{E}]", vars("E", ""), "[]"},
		{"octopus alias of a ferry variable", "#{Octopus.Environment.Name}", vars("Ferry.Environment.Name", "Staging"), "Staging"},
		{"ferry alias of an octopus variable", "#{Ferry.Action[Build].Name}", vars("Octopus.Action[Build].Name", "b"), "b"},
		{"alias is case-insensitive", "#{octopus.environment.name}", vars("Ferry.Environment.Name", "Staging"), "Staging"},
	})
}

func TestMissingAndMalformed(t *testing.T) {
	runLenient(t, []langCase{
		{"undefined is echoed", "#{Nope}", vars(), "#{Nope}"},
		{"undefined among defined", "#{A}#{Nope}", vars("A", "#{B}", "B", "x"), "x#{Nope}"},
		{"echo is canonical", "#{  Nope  }", vars(), "#{Nope}"},
		{"echo of a filter chain", "#{Nope|ToUpper|Trim}", vars(), "#{Nope | ToUpper | Trim}"},
		{"undefined inside a value is echoed in it", "#{P}", vars("P", "x #{Q} y"), "x #{Q} y"},
		{"undefined inside a loop, per item", "#{each a in Act}#{a.Size}#{/each}", vars("Act[x].Name", "1", "Act[y].Name", "2"), "#{a.Size}#{a.Size}"},
		{"unterminated", "#{Colour", vars("Colour", "teal"), "#{Colour"},
		{"unterminated index", "#{Ab[c}", vars("Ab", "x", "Ab[c]", "y"), "#{Ab[c}"},
		{"each without its end", "#{each a in List}", vars("List[a]", "1"), "#{each a in List}"},
		{"empty expression", "#{}", vars("", "x"), "#{}"},
		{"blank expression", "#{ }", vars(" ", "x"), "#{ }"},
		{"lone hashes", "# ## ### #x #} { }", vars(), "# ## ### #x #} { }"},
		{"even runs of hashes", "###### a #{A}", vars("A", "1"), "###### a 1"},
		{"odd runs of hashes", "####### b #{A}", vars("A", "1"), "####### b 1"},
		{"double hash escapes", "##{A}", vars("A", "1"), "#{A}"},
		{"triple hash is a hash and a value", "###{A}", vars("A", "1"), "#1"},
		{"escape inside a value", "#{V}", vars("V", "a##{b"), "a#{b"},
		{"parsing goes on after a malformed tag", `x="#{"===s; y="#{A}"`, vars("A", "1"), `x="#{"===s; y="1"`},
		{"malformed at the end", `a #{A} b "#{`, vars("A", "1"), `a 1 b "#{`},
		{"stray close", "a#{/if}b#{A}", vars("A", "1"), "a#{/if}b1"},
		{"block without end reads as a name", "#{if A}x#{A}", vars("A", "1"), "#{if A}x1"},
		{"unknown filter is echoed", "#{A | Frobnicate}", vars("A", "1"), "#{A | Frobnicate}"},
		{"unknown filter options are echoed quoted", "#{A | Frobnicate 6 x}", vars("A", "1"), `#{A | Frobnicate "6" "x"}`},
		{"value that is not a template is used as it is", "#{Pw}", vars("Pw", "p#{ss"), "p#{ss"},
		{"missing index variable echoes the original", "#{Svc[#{Which}].Port}", vars("Svc[a].Port", "80"), "#{Svc[#{Which}].Port}"},
		{"self-indexed value", "#{MyVar}", vars("MyVar", "#{MyVar[#{k}]}", "k", "v"), "#{MyVar[#{k}]}"},
	})
}

func TestIndexers(t *testing.T) {
	runLenient(t, []langCase{
		{"named index with spaces", "#{Octopus.Action[Step One].Output.Tag}", vars("Octopus.Action[Step One].Output.Tag", "v7"), "v7"},
		{"index from a variable", "#{Svc[#{Which}].Port}", vars("Which", "api", "Svc[api].Port", "8080"), "8080"},
		{"index from a nested value", "#{Step[#{a.Name}]}", vars("a.Name", "Items[#{i}].x", "i", "2", "Step[Items[2].x]", "ok"), "ok"},
		{"nested brackets", "#{Pkg[boxes[0].box].Registry}", vars("Pkg[boxes[0].box].Registry", "hub"), "hub"},
		{"deeply nested brackets", "#{Pkg[a[b].c[0].d].R}", vars("Pkg[a[b].c[0].d].R", "deep"), "deep"},
		{"index is case-insensitive", "#{Svc[API].Port}", vars("Svc[api].Port", "1"), "1"},
		{"wildcard takes the first", "#{Svc[*].Port}", vars("Svc[one].Port", "1", "Svc[two].Port", "2"), "1"},
		{"empty index", "#{Svc[].Port}", vars("Svc[].Port", "0"), "0"},
		{"index becomes defined", "#{L[#{C}]}", vars("L[eu]", "Madrid", "C", "eu"), "Madrid"},
		{"undefined index variable", "#{L[#{C}]}", vars("L[eu]", "Madrid"), "#{L[#{C}]}"},
		{"expression text after a nested tag is a literal index", "#{L[#{C}x]}", vars("L[#{C}x]", "lit", "C", "eu"), "lit"},
		{"an indexed name has its index as value", "#{Svc[api]}", vars("Svc[api].Port", "1"), "api"},
	})
}

func TestConditionals(t *testing.T) {
	set := vars("Yes", "true", "No", "false", "Name", "octo", "Same", "octo", "Upper", "OCTO", "Zero", "0",
		"Padded", " Octo ", "Word", "no", "Blank", "")
	runLenient(t, []langCase{
		{"if true", "#{if Yes}y#{/if}", set, "y"},
		{"if false", "#{if No}y#{/if}", set, ""},
		{"else", "#{if No}y#{else}n#{/if}", set, "n"},
		{"unless", "#{unless No}u#{/unless}", set, "u"},
		{"unless with else", "#{unless Yes}u#{else}e#{/unless}", set, "e"},
		{"undefined is false", "#{if Nope}y#{else}n#{/if}", set, "n"},
		{"unless undefined", "#{unless Nope}u#{/unless}", set, "u"},
		{"falsy words", "#{if Zero}1#{/if}#{if Word}2#{/if}#{if Blank}3#{/if}#{if No}4#{/if}", set, ""},
		{"FALSE and No in any case", "#{if X}1#{/if}#{if Y}2#{/if}", vars("X", " FALSE ", "Y", "No"), ""},
		{"anything else is true", "#{if Name}1#{/if}#{if Padded}2#{/if}", set, "12"},
		{"keyword case", "#{IF Yes}y#{/if}", set, "y"},
		{"white space", "#{  if   Yes  }y#{/if}#{ unless No}u#{/unless}", set, "yu"},
		{"equals text right", `#{if Name == "octo"}eq#{/if}`, set, "eq"},
		{"equals text left", `#{if "octo" == Name }eq#{/if}`, set, "eq"},
		{"not equals", `#{if Name != "x"}ne#{/if}#{if "x" != Name}ne#{/if}`, set, "nene"},
		{"no space around ==", `#{if Name=="octo"}eq#{/if}`, set, "eq"},
		{"two variables", "#{if Name == Same}eq#{/if}", set, "eq"},
		{"two undefined are equal", "#{if U1 == U2}eq#{/if}", set, "eq"},
		{"filter on the left", `#{if Upper | ToLower == "octo"}eq#{/if}`, set, "eq"},
		{"filter on both sides", "#{if Upper | ToLower == Padded | Trim | ToLower}eq#{/if}", set, "eq"},
		{"filter in a truth test", `#{if Name | Contains "ct"}has#{/if}`, set, "has"},
		{"filter with a nested option", "#{if Padded | ToLower | Contains #{Name | ToLower} }has#{/if}", set, "has"},
		{"escaped quotes in a condition", `{"b":"#{if Name == \"octo\"}yes#{/if}"}`, set, `{"b":"yes"}`},
		{"nested", `#{if Yes}a#{if Name == "octo"}b#{else}c#{/if}d#{/if}`, set, "abd"},
		{"elseif taken", "#{if No}1#{elseif Yes}2#{else}3#{/if}", set, "2"},
		{"first branch wins", "#{if Yes}1#{elseif Yes}2#{/if}", set, "1"},
		{"falls to else", "#{if No}1#{elseif No}2#{else}3#{/if}", set, "3"},
		{"elseif without else", "#{if No}1#{elseif Nope}2#{/if}", set, ""},
		{"elseif chain", `#{if Name == "a"}A#{elseif Name == "b"}B#{elseif Name == "octo"}O#{else}?#{/if}`, set, "O"},
		{"elseif with filters", `#{if No}1#{elseif Name | ToUpper == "OCTO"}2#{/if}`, set, "2"},
		{"elseif nested", "#{if No}1#{elseif Yes}#{if No}x#{elseif Yes}y#{/if}#{else}3#{/if}", set, "y"},
		{"elseif on lines", "#{if No}\na\n#{elseif Yes}\nb\n#{/if}", set, "\nb\n"},
		{"unknown filter echoes the block", "#{if Name | Frob}#{Name}#{/if}", set, "#{if Name | Frob}#{Name}#{/if}"},
		{"undefined with a filter echoes the block", "#{if Nope | ToUpper}x#{/if}", set, "#{if Nope | ToUpper}x#{/if}"},
		{"unless echoes as Octostache prints it", "#{unless Nope | ToUpper}x#{/unless}", set, "#{if Nope | ToUpper}#{else}x#{/if}"},
		{"echo with a comparison", `#{if Nope | ToUpper == "A"}x#{else}y#{/if}`, set, `#{if Nope | ToUpper == "A" }x#{else}y#{/if}`},
		{"elseif is not for unless", `#{unless No}a#{elseif Yes == "x"}b#{/unless}`, set, `#{unless No}a#{elseif Yes == "x"}b#{/unless}`},
		{"spaced else is a variable", "#{if No}a#{ else }b#{/if}", set, ""},
	})
}

func TestNullFilter(t *testing.T) {
	for _, tc := range []struct {
		tpl      string
		null     bool
		wantText string
	}{
		{"#{ | null}", true, ""},
		{"#{if Yes}ok#{else}#{ | null }#{/if}", false, "ok"},
		{"#{if No}ok#{else}#{ | null }#{/if}", true, ""},
		{"#{ | Null}", false, "#{ | Null}"}, // Octostache tests the name exactly
	} {
		r, err := Render(tc.tpl, vars("Yes", "true", "No", "false"), Lenient)
		if err != nil || r.Null != tc.null || r.Text != tc.wantText {
			t.Errorf("%q: text %q null %v err %v; want %q null %v", tc.tpl, r.Text, r.Null, err, tc.wantText, tc.null)
		}
	}
}

func TestRepetition(t *testing.T) {
	actions := vars("Octopus.Action[Build it].Name", "B", "Octopus.Action[Test it].Name", "T", "Octopus.Action[].Name", "E",
		"Octopus.Action[Build it].Roles", "web,db", "Octopus.Action[Test it].Roles", "qa", "Octopus.Action[].Roles", "x")
	runLenient(t, []langCase{
		{"indexed collection", "#{each a in Octopus.Action}#{a}=#{a.Name};#{/each}", actions, "Build it=B;Test it=T;=E;"},
		{"white space", "#{ each  a  in  Octopus.Action  }#{ a }#{/each}", actions, "Build itTest it"},
		{"nested", "#{each a in Octopus.Action}#{each r in a.Roles}#{a.Name}#{r}#{/each}#{/each}", actions, "BwebBdbTqaEx"},
		{"comma list, exactly as split", "#{each x in L}[#{x}]#{/each}", vars("L", "a, b,,c"), "[a][ b][][c]"},
		{"empty value iterates once", "#{each x in L}[#{x}]#{/each}", vars("L", ""), "[]"},
		{"undefined collection is empty", "ok#{each x in Nope}#{x}#{/each}", vars(), "ok"},
		{"specials", "#{each x in L}#{x}#{Octopus.Template.Each.Index}#{Octopus.Template.Each.First}#{Octopus.Template.Each.Last} #{/each}", vars("L", "a,b,c"), "a0TrueFalse b1FalseFalse c2FalseTrue "},
		{"ferry specials", "#{each x in L}#{Ferry.Template.Each.Index}#{/each}", vars("L", "a,b"), "01"},
		{"values see the root, not the loop", "#{each x in L}#{V}#{/each}", vars("L", "a", "V", "v"), "v"},
		{"values of items are evaluated", "#{each a in Act}#{a.Name}#{/each}", vars("Pa", "A", "Pb", "B", "Act[x].Name", "#{Pa}", "Act[y].Name", "#{Pb}"), "AB"},
		{"index from the item", `#{each a in Act}#{if Step[#{a.Step}].Status != "Skipped"}#{Step[#{a.Step}].Detail}#{/if}#{/each}`,
			vars("Act[1].Step", "S1", "Act[2].Step", "S2", "Step[S1].Detail", "d1", "Step[S2].Detail", "d2", "Step[S1].Status", "Skipped", "Step[S2].Status", "Running"), "d2"},
		{"index from the root in a loop", `#{each a in Act}#{Step[#{Other}].Detail}#{/each}`, vars("Act[1].x", "", "Act[2].x", "", "Other", "S", "Step[S].Detail", "d"), "dd"},
		{"nested index names", "#{each p in Pkg}#{p}: #{p.Name} #{/each}", vars("Pkg[c[0]].Name", "A", "Pkg[c[1]].Name", "B"), "c[0]: A c[1]: B "},
		{"loop variable with spaces", "#{each my x in L}#{my x}#{/each}", vars("L", "1,2"), "12"},
		{"loop keyword case", "#{EACH x in L}#{x}#{/each}", vars("L", "1,2"), "12"},
		{"in must be lower case before the collection", "#{each x IN L}#{x}#{/each}", vars("L", "1,2"), "#{each x IN L}#{x}#{/each}"},
		{"loop variable shadows", "#{each A in L}#{A}#{/each}#{A}", vars("L", "1,2", "A", "root"), "12root"},
		{"item value is a template", "#{each x in L}#{x}#{/each}", vars("L", "#{Q},b", "Q", "q"), "qb"},
	})
}

func TestJSONValues(t *testing.T) {
	j := `{"Hello": "World", "Deep": {"A": {"B": {"C": 12}}}, "Items": [{"Name": "Toast"}, {"Name": "Bread"}], "Obj": {"Bar":"11"}, "Nil": null, "@type": "W", "T": true, "F": 1.50}`
	runLenient(t, []langCase{
		{"property by index", "#{J[Hello]}", vars("J", j), "World"},
		{"property by dot", "#{J.Hello}", vars("J", j), "World"},
		{"deep", "#{J[Deep][A][B][C]} #{J.Deep.A.B.C}", vars("J", j), "12 12"},
		{"array element", "#{J.Items[1].Name} #{J.Items[0].Name}", vars("J", j), "Bread Toast"},
		{"object as compact JSON", "#{J.Obj}", vars("J", j), `{"Bar":"11"}`},
		{"array as compact JSON", "#{J.Items}", vars("J", j), `[{"Name":"Toast"},{"Name":"Bread"}]`},
		{"null is empty", "a#{J.Nil}b", vars("J", j), "ab"},
		{"null through a filter", "a#{J.Nil | ToUpper}b", vars("J", j), "ab"},
		// ferry differs from Octostache here: what a JSON value lacks is
		// undefined, echoed (TestMissingJSONIsUndefined), not empty.
		{"missing property is undefined", "a#{J.Nope}b", vars("J", j), "a#{J.Nope}b"},
		{"property names are case-sensitive", "a#{J.hello}b", vars("J", j), "a#{J.hello}b"},
		{"out of range is undefined", "a#{A[9]}b #{A[2]}", vars("A", "[2,3]"), "a#{A[9]}b #{A[2]}"},
		{"@ in a property", "#{J.@type}#{J[@type]}", vars("J", j), "WW"},
		{"booleans and numbers as .NET prints them", "#{J.T} #{J.F}", vars("J", j), "True 1.5"},
		{"forgiving JSON", "#{J.Name} #{J.Other}", vars("J", `{Name: 'single', /* c */ Other: 15.00,}`), "single 15"},
		{"variables win over JSON", "#{J.Hello} #{J[Deep]}", vars("J", j, "J.Hello", "Go away", "J[Deep]", "nope"), "Go away nope"},
		{"JSON built from variables", "#{J[Foo]} #{J.Foo} #{J[#{P}]}", vars("P", "Foo", "V", "Bar", "J", `{#{P}: "#{V}"}`), "Bar Bar Bar"},
		{"property refers back to the value", "#{J.Name}", vars("J", `{Name: "#{J.Value}", Value: 12}`), "12"},
		{"not JSON", "#{J.Name}", vars("J", "{Name: NoComma}"), "#{J.Name}"},
		{"trailing text is not JSON", "#{J.A}", vars("J", `{"A": 1} x`), "#{J.A}"},
		{"a scalar has no properties", "#{N.x}", vars("N", "42"), "#{N.x}"},
		{"each over an array", `#{each n in A}#{n}#{if Octopus.Template.Each.Last == "False"}-#{/if}#{/each}`, vars("A", "[2,3,5,8]"), "2-3-5-8"},
		{"each over an object", "#{each s in O}#{s}:#{s.Value},#{/each}", vars("O", `{"Small": "11.5", Large: 15.21}`), "Small:11.5,Large:15.21,"},
		{"each over an object, key and inner value", "#{each s in O}#{s.Key} - #{s.Value.Error}#{/each}", vars("O", `{"X-Large": {"Error": "Not Stocked"}}`), "X-Large - Not Stocked"},
		{"each over null", "<#{each n in J.Nil}#{n}#{/each}>", vars("J", j), "<>"},
	})
}

func TestCalc(t *testing.T) {
	set := vars("A", "5", "B", "7", "The/Var", "9", "Another-Var", "11", "Text", "abc")
	runLenient(t, []langCase{
		{"add", "#{calc 3+2}", set, "5"},
		{"subtract", "#{calc 3-2}", set, "1"},
		{"multiply", "#{calc 3*2}", set, "6"},
		{"divide", "#{calc 3/2}", set, "1.5"},
		{"precedence", "#{calc 3*2+2*4}", set, "14"},
		{"parentheses", "#{calc 3*(2+2)*4}", set, "48"},
		{"variables", "#{calc A+2} #{calc A+B}", set, "7 12"},
		{"spaces", "#{calc A + B * 2}", set, "19"},
		{"undefined is echoed", "#{calc C+2}", set, "#{C+2}"},
		{"braced variable", "#{calc {B}-2}", set, "5"},
		{"number first", "#{calc 2-B}", set, "-5"},
		{"negative result", "#{calc 2-4}", set, "-2"},
		{"group then subtract", "#{calc (B*2)-2} #{calc 2-(B*2)}", set, "12 -12"},
		{"fractions", "#{calc 2/4} #{calc 0.2*B} #{calc 2/7}", set, "0.5 1.4000000000000001 0.2857142857142857"},
		{"braced names with operators", "#{calc {Another-Var}-2} #{calc {The/Var}-2}", set, "9 7"},
		{"a name may hold - and /", "#{calc B-2} #{calc B/2}", set, "#{B-2} #{B/2}"},
		{"not a number", "#{calc Text*2}", set, "#{Text*2}"},
		{"large results", "#{calc 1000000*1000000000} #{calc 100000*1000000000}", set, "1E+15 100000000000000"},
		{"division by zero", "#{calc 1/0}", set, "∞"},
	})
}

// TestSelfReferencingJSON: a JSON value whose properties refer back into
// it terminates: with a value, or a cycle error, as in Octostache.
func TestSelfReferencingJSON(t *testing.T) {
	for _, tpl := range []string{"#{T.A.B}", "#{T.A.C}", "#{each x in T.A}#{x}#{/each}"} {
		_, err := Render(tpl, vars("T", `{A: {B: "#{T.A.C}", C: "#{T.A.B}"}}`), Lenient)
		var ce *CycleError
		if err != nil && !errors.As(err, &ce) {
			t.Errorf("%s: %v", tpl, err)
		}
	}
}

// TestCycles: a value that refers to itself stops the render, in both modes.
func TestCycles(t *testing.T) {
	for _, c := range []struct {
		set  *Set
		path string
	}{
		{vars("Foo", "#{Foo}"), "Foo -> Foo"},
		{vars("Foo", "#{Fox}", "Fox", "#{Fax}", "Fax", "#{Fix}", "Fix", "#{Foo}"), "Foo -> Fox -> Fax -> Fix -> Foo"},
		{vars("Foo", "x#{Foo | ToUpper}"), "Foo -> Foo"},
	} {
		for _, mode := range []Mode{Strict, Lenient} {
			_, err := Render("#{Foo}", c.set, mode)
			var ce *CycleError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.path) {
				t.Errorf("mode %d: error %v, want a cycle %s", mode, err, c.path)
			}
		}
	}
}

// TestSilentDifferences pins Octopus's result where ferry used to differ
// without saying so (issue 17): Replace is a regular expression, one-number
// Substring is a length, UriEscape is .NET's EscapeUriString, and hashes
// before "#{" follow Octostache.
func TestSilentDifferences(t *testing.T) {
	runLenient(t, []langCase{
		{"Replace is a regular expression", `#{V | Replace "[0-9]+" X}`, vars("V", "ab12c3"), "abXcX"},
		{"Replace dot means any character", `#{V | Replace . x}`, vars("V", "a.b"), `#{V | Replace . x}`},
		{"Replace with a quoted dot", `#{V | Replace "\." x}`, vars("V", "a.b"), "axb"},
		{"Replace groups", `#{V | Replace "(.)b(.)" "$2X$1"}`, vars("V", "abc"), "cXa"},
		{"Substring N is the first N characters", "#{V | Substring 7}", vars("V", "Octopus Deploy"), "Octopus"},
		{"Substring START LENGTH", "#{V | Substring 8 6}", vars("V", "Octopus Deploy"), "Deploy"},
		{"UriEscape keeps reserved characters", "#{V | UriEscape}", vars("V", "A b:c+d/e?f=g&h"), "A%20b:c+d/e?f=g&h"},
		{"UriDataEscape escapes them", "#{V | UriDataEscape}", vars("V", "A b:c+d/e"), "A%20b%3Ac%2Bd%2Fe"},
		{"##{foo} is the text #{foo}", "##{foo}", vars("foo", "Abc"), "#{foo}"},
		{"###{foo} is # and the value", "###{foo}", vars("foo", "Abc"), "#Abc"},
		{"####{foo}", "####{foo}", vars("foo", "Abc"), "###{foo}"},
		{"HtmlEscape also escapes /", "#{V | HtmlEscape}", vars("V", "a/b"), "a&#x2F;b"},
		{"JsonEscape leaves < and control characters", "#{V | JsonEscape}", vars("V", "<\b>"), "<\b>"},
	})
}

func TestLoopVariableCase(t *testing.T) {
	runLenient(t, []langCase{
		{"loop variable in another case", "#{each Item in L}#{item}#{ITEM | ToLower}#{/each}", vars("L", "A,B"), "AaBb"},
	})
}
