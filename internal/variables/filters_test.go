package variables

import (
	"strings"
	"testing"
	"time"
)

// filterCase renders "#{V | <filter>}" with V = in (or no V when in is nil).
type filterCase struct {
	filter string
	in     any // string, or nil for an undefined V
	want   string
}

func runFilters(t *testing.T, cases []filterCase) {
	t.Helper()
	runFiltersAt(t, nil, cases)
}

// runFiltersAt renders with the date filters' clock set to now.
func runFiltersAt(t *testing.T, now func() time.Time, cases []filterCase) {
	t.Helper()
	for _, c := range cases {
		tpl := "#{V | " + c.filter + "}"
		set := NewSet()
		if s, ok := c.in.(string); ok {
			set.Set("V", s, false)
		}
		t.Run(c.filter+"/"+strings.ReplaceAll(tpl, "/", "∕"), func(t *testing.T) {
			r, err := render(tpl, set, Lenient, limits{output: maxOutput, steps: maxSteps, now: now})
			if err != nil {
				t.Fatalf("Render(%q): %v", tpl, err)
			}
			if r.Text != c.want {
				t.Errorf("Render(%q) with V=%q\n got %q\nwant %q", tpl, c.in, r.Text, c.want)
			}
		})
	}
}

func TestFilterNamesAndChains(t *testing.T) {
	runFilters(t, []filterCase{
		{"ToUpper", "Abc", "ABC"},
		{"toupper", "Abc", "ABC"},
		{"TOLOWER", "Abc", "abc"},
		{"ToUpper | ToLower", "Abc", "abc"},
		{"ToUpper  |  Trim", " a ", "A"},
		{"ToUpper x", "Abc", `#{V | ToUpper "x"}`},
		{"ToUpper", nil, "#{V | ToUpper}"},
		{"HtmlEscape", nil, "#{V | HtmlEscape}"},
		{"Markdown", nil, "#{V | Markdown}"},
		{"Bazooka", "Abc", "#{V | Bazooka}"},
	})
}

func TestEscapeFilters(t *testing.T) {
	runFilters(t, []filterCase{
		{"HtmlEscape", "A&'bc", "A&amp;&apos;bc"},
		{"HtmlEscape", `<a href="/x">`, "&lt;a href=&quot;&#x2F;x&quot;&gt;"},
		{"HtmlEscape", "", ""},
		{"XmlEscape", "A&'bc<\"/>", "A&amp;&apos;bc&lt;&quot;/&gt;"},
		{"JsonEscape", "Te\"st", `Te\"st`},
		{"JsonEscape", "a\rb\nc\td\\e", `a\rb\nc\td\\e`},
		{"JsonEscape", `C:\Work\Api Test\1`, `C:\\Work\\Api Test\\1`},
		{"UriEscape", "A b:c+d/e", "A%20b:c+d/e"},
		{"UriEscape", "é 100%", "%C3%A9%20100%25"},
		{"UriDataEscape", "A b:c+d/e", "A%20b%3Ac%2Bd%2Fe"},
		{"UriDataEscape", "a-b_c.d~e", "a-b_c.d~e"},
		{"YamlSingleQuoteEscape", "single'quote", "single''quote"},
		{"YamlSingleQuoteEscape", `\'`, `\''`},
		{"YamlSingleQuoteEscape", "a\n\tb\n\tc", "a\n\n\tb\n\n\tc"},
		{"YamlSingleQuoteEscape", "a\r\nb", "a\r\n\r\nb"},
		{"YamlSingleQuoteEscape", "a\n\r\nb", "a\n\n\r\nb"},
		{"YamlDoubleQuoteEscape", "double\"quote", `double\"quote`},
		{"YamlDoubleQuoteEscape", "\\", `\\`},
		{"YamlDoubleQuoteEscape", "\r\n\t", `\r\n\t`},
		{"YamlDoubleQuoteEscape", "single'quote", "single'quote"},
		{"YamlDoubleQuoteEscape", "我叫章鱼", `\u6211\u53eb\u7ae0\u9c7c`},
		{"YamlDoubleQuoteEscape", "❤\U0001F600", `\u2764\ud83d\ude00`},
		{"PropertiesKeyEscape", " ", `\ `},
		{"PropertiesKeyEscape", "Hey: x=y", `Hey\:\ x\=y`},
		{"PropertiesKeyEscape", " a \n b ", `\ a\ \n\ b\ `},
		{"PropertiesKeyEscape", "我叫章鱼", `\u6211\u53eb\u7ae0\u9c7c`},
		{"PropertiesKeyEscape", "÷ü", "÷ü"},
		{"PropertiesValueEscape", "a\\b=c:d", `a\\b=c:d`},
		{"PropertiesValueEscape", " a \n b ", `\ a \n b `},
		{"PropertiesValueEscape", "a ", "a "},
		{"PropertiesValueEscape", "\t", `\t`},
	})
}

func TestConversionFilters(t *testing.T) {
	runFilters(t, []filterCase{
		{"ToBase64", "Foo Bar", "Rm9vIEJhcg=="},
		{"tobase64", "Baz", "QmF6"},
		{"ToBase64 unicode", "Baz", "QgBhAHoA"},
		{"ToBase64 utf-8", "Baz", "QmF6"},
		{"ToBase64 ascii", "Baz", `#{V | ToBase64 "ascii"}`},
		{"FromBase64", "QmF6", "Baz"},
		{"FromBase64 unicode", "QgBhAHoA", "Baz"},
		{"FromBase64", "QmF 6", "Baz"},
		{"FromBase64", "not base64!", "#{V | FromBase64}"},
		{"Base64Encode", "Baz", "QmF6"},
		{"Base64Decode", "QmF6", "Baz"},
		{"Markdown", "_yeah!_", "<p><em>yeah!</em></p>\n\n"},
		{"MarkdownToHtml", "https://octopus.com", "<p><a href=\"https://octopus.com\">https://octopus.com</a></p>\n\n"},
		{"Markdown", "[Some link](https://octopus.com)", "<p><a href=\"https://octopus.com\">Some link</a></p>\n\n"},
		{"Markdown", "|Header1|Header2|\n|-|-|\n|Cell1|Cell2|", "<table>\n<thead>\n<tr>\n<th>Header1</th>\n<th>Header2</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>Cell1</td>\n<td>Cell2</td>\n</tr>\n</tbody>\n</table>\n\n"},
		{"Markdown", "~~gone~~", "<p><del>gone</del></p>\n\n"},
	})
}

func TestTextFilters(t *testing.T) {
	const od = "Octopus Deploy"
	runFilters(t, []filterCase{
		// Replace is a .NET regular expression.
		{"Replace abc def", "abc", "def"},
		{"Replace a", "abc", "bc"},
		{"Replace", "abc", "#{V | Replace}"},
		{"Replace abc def", "ABC", "ABC"},
		{`Replace "ab c" "d ef"`, "ab c", "d ef"},
		{`Replace "a'b" "d'e"`, "a'b", "d'e"},
		{`Replace "[a-z]+" 1`, "a'b", "1'1"},
		{`Replace "a\(b" "d(e"`, "a(b", "d(e"},
		{`Replace "o(.+)o([a-z]*)s" "o$2o$1s"`, "opuocts", "octopus"},
		{`Replace "(?<first>\w+) (?<last>\w+)" "${last}, ${first}"`, "Ada Lovelace", "Lovelace, Ada"},
		{`Replace "a" x`, "ababa", "xbxbx"},
		{`Replace "^a" x`, "ababa", "xbaba"},
		{`Replace "a$" x`, "ababa", "ababx"},
		{`Replace "(?<=a)b" X`, "abcb", "aXcb"},
		{`Replace "\\" "\\\\"`, `a\b`, `a\\\\b`}, // backslashes are literal in .NET replacements
		{`Replace "[" x`, "a[b", `#{V | Replace "[" "x"}`},
		{`Replace "\d+" "$$"`, "a12b", "a$b"},
		// Substring: one number is a length.
		{"Substring 7", od, "Octopus"},
		{"Substring 8 6", od, "Deploy"},
		{"Substring 2 3", od, "top"},
		{"Substring 20", od, od},
		{"Substring 14 5", od, ""},
		{"Substring 8 7", od, "Deploy"},
		{"Substring 8 | Trim", od, "Octopus"},
		{"Substring", od, "#{V | Substring}"},
		{"Substring 1 2 3", od, `#{V | Substring "1" "2" "3"}`},
		{"Substring a", od, `#{V | Substring "a"}`},
		{"Substring 0 a", od, `#{V | Substring "0" "a"}`},
		{"Substring -1", od, `#{V | Substring "-1"}`},
		{"Substring 0 -1", od, `#{V | Substring "0" "-1"}`},
		{"Substring 20 5", od, `#{V | Substring "20" "5"}`},
		{"Substring 1 3", "héllo", "éll"},
		// Truncate.
		{"Truncate 7", od, "Octopus..."},
		{`Truncate 7 "<|>"`, od, "Octopus<|>"},
		{`Truncate 7 ""`, od, "Octopus"},
		{"Truncate 50", od, od},
		{`Truncate 50 "<|>"`, od, od},
		{"Truncate", od, "#{V | Truncate}"},
		{"Truncate a", od, `#{V | Truncate "a"}`},
		{"Truncate -1", od, `#{V | Truncate "-1"}`},
		// Trim.
		{"Trim", " Octopus Deploy ", od},
		{"Trim start", " Octopus Deploy ", "Octopus Deploy "},
		{"Trim End", " Octopus Deploy ", " Octopus Deploy"},
		{"Trim Both", od, `#{V | Trim "Both"}`},
		// Indent.
		{"Indent", "", ""},
		{"Indent", od, "    Octopus Deploy"},
		{"Indent", "a\nb\nc", "    a\n    b\n    c"},
		{"Indent 2", "a\nb", "  a\n  b"},
		{"Indent /3", "a\nb\nc", "a\n   b\n   c"},
		{"Indent 3/2", "a\nb", "   a\n  b"},
		{"Indent //", "a\nb", "//a\n//b"},
		{`Indent "/* " " * "`, "a\nb\nc", "/* a\n * b\n * c"},
		{"Indent 255", "a", strings.Repeat(" ", 255) + "a"},
		{"Indent 256", "a\nb", "256a\n256b"},
		{"Indent /256", "a\nb", "/256a\n/256b"},
		{"Indent 256/3", "a\nb", "256/3a\n256/3b"},
		{"Indent abc 123 def", "foo", `#{V | Indent "abc" "123" "def"}`},
		{`Indent \"# \"`, "a\nb", "# a\n# b"},
		// Append and Prepend.
		{"Append value", "bar", "barvalue"},
		{"Append value1 value2", "bar", "barvalue1value2"},
		{`Append value1 " " value2`, "bar", "barvalue1 value2"},
		{`Append " " #{V} " " value`, "bar", "bar bar value"},
		{"Append", "bar", "#{V | Append}"},
		{"Prepend value", "bar", "valuebar"},
		{`Prepend " " #{V} " " value`, "bar", " bar valuebar"},
		{"Prepend x", nil, "x"},
		// Comparisons.
		{"Match abc", "abc def", "true"},
		{"Match cba", "abc def", "false"},
		{"Match ABC", "abc def", "false"},
		{`Match ".*"`, "abc def", "true"},
		{`Match "[0-9]+"`, "abc def1", "true"},
		{`Match "c\(d"`, "abc(def", "true"},
		{"Match", "abc", "#{V | Match}"},
		{"Match a b", "abc", `#{V | Match "a" "b"}`},
		{"StartsWith abc", "abc def", "true"},
		{"StartsWith bc", "abc def", "false"},
		{`StartsWith "abc d"`, "abc def", "true"},
		{"StartsWith", "abc", "#{V | StartsWith}"},
		{"EndsWith def", "abc def", "true"},
		{"EndsWith DEF", "abc def", "false"},
		{`Contains "c de"`, "abc def", "true"},
		{"Contains ed", "abc def", "false"},
		{"Contains a b", "abc", `#{V | Contains "a" "b"}`},
	})
	set := vars("foo", "abc", "regex", "b", "replacement", "x", "q", `a"`, "r", `"c`, "str", "c d")
	runLenient(t, []langCase{
		{"options from variables, adjacent", "#{foo | Replace #{regex}#{replacement}}", set, "axc"},
		{"an option from a variable, then a word", "#{foo | Replace #{regex} _}", set, "a_c"},
		{"quotes through variables", "#{V | Replace #{q}#{r}}", vars("V", `a"b`, "q", `a"`, "r", `"c`), `"cb`},
		{"Match with a variable", "#{V | Match #{regex}}", vars("V", "abc", "regex", "c$"), "true"},
		{"Contains with a variable", "#{V | Contains #{str}}", vars("V", "abc def", "str", "c d"), "true"},
		{"Append with no input", "#{|Append foo}", vars(), "foo"},
		{"Append needs an option", "#{ | Append}", vars(), "#{ | Append}"},
		// A space ends the options: the tag does not parse up to the second
		// option, which is then read on its own.
		{"space between two variable options", "#{foo | Replace #{regex} #{replacement}}", set, "#{foo | Replace #{regex} x}"},
	})
}

func TestHashFilters(t *testing.T) {
	const dog = "The quick brown fox jumps over the lazy dog"
	runFilters(t, []filterCase{
		{"Md5", "", "d41d8cd98f00b204e9800998ecf8427e"},
		{"Md5", dog, "9e107d9d372bb6826bd81d3542a419d6"},
		{"Md5 3", dog, "9e107d"},
		{"Md5 800", dog, "9e107d9d372bb6826bd81d3542a419d6"},
		{"Md5 unicode", dog, "b0986ae6ee1eefee8a4a399090126837"},
		{"Md5 base64", "VGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdmVyIHRoZSBsYXp5IGRvZw==", "9e107d9d372bb6826bd81d3542a419d6"},
		{"Sha1", dog, "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"},
		{"Sha1 unicode 3", "", "da39a3"},
		{"Sha1 3 unicode", "", "da39a3"},
		{"Sha256", dog, "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"},
		{"Sha256 utf-8 4", "", "e3b0c442"},
		{"Sha384 2", dog + ".", "ed89"},
		{"Sha512 4", "", "cf83e135"},
		{"Sha512", dog, "07e547d9586f6a73f73fbac0435ed76951218fb7d0c8d788a309d785436bbb642e93a252a954f23912547d1e8a3b5ed6e1bfd7097821233fa0538f3db854fee6"},
	})
	for _, bad := range []string{"-1", "0", "bar", "utf8 0", "0 utf8", "bar 12", "12 bar", "utf8 12 extra", "12 utf8 extra", "base64", "12 12", "utf8 unicode"} {
		for _, h := range []string{"Md5", "Sha1", "Sha256", "Sha384", "Sha512"} {
			tpl := "#{V | " + h + " " + bad + "}"
			r, err := Render(tpl, vars("V", "bar"), Lenient)
			if err != nil || strings.ReplaceAll(r.Text, `"`, "") != tpl {
				t.Errorf("%s: got %q, %v; want it echoed", tpl, r.Text, err)
			}
		}
	}
	if r, _ := Render("#{ | Sha256}", vars(), Lenient); r.Text != "#{ | Sha256}" {
		t.Errorf("hash of nothing: %q", r.Text)
	}
}

func TestVersionFilters(t *testing.T) {
	parts := []string{"VersionMajor", "VersionMinor", "VersionPatch", "VersionRevision", "VersionPreRelease", "VersionPreReleasePrefix", "VersionPreReleaseCounter", "VersionMetadata"}
	for _, c := range []struct {
		in   string
		want [8]string
	}{
		{"1", [8]string{"1", "0", "0", "0", "", "", "", ""}},
		{"1.2", [8]string{"1", "2", "0", "0", "", "", "", ""}},
		{"1.2.3.4", [8]string{"1", "2", "3", "4", "", "", "", ""}},
		{"1.2.3.4-branch.1+meta", [8]string{"1", "2", "3", "4", "branch.1", "branch", "1", "meta"}},
		{"V1.2.3.4-branch-hithere+meta", [8]string{"1", "2", "3", "4", "branch-hithere", "branch", "hithere", "meta"}},
		{"v1.2.3.4-branch_hithere+meta", [8]string{"1", "2", "3", "4", "branch_hithere", "branch", "hithere", "meta"}},
		{"1.2.3.4-my-branch.1.2+build10", [8]string{"1", "2", "3", "4", "my-branch.1.2", "my", "branch.1.2", "build10"}},
		{"19.0.0.Final", [8]string{"19", "0", "0", "0", "Final", "Final", "", ""}},
		{"284.0.0-debian_component_based", [8]string{"284", "0", "0", "0", "debian_component_based", "debian", "component_based", ""}},
		{"latest", [8]string{"0", "0", "0", "0", "latest", "latest", "", ""}},
		{"v1.2.3", [8]string{"1", "2", "3", "0", "", "", "", ""}},
	} {
		for i, p := range parts {
			r, err := Render("#{V | "+p+"}", vars("V", c.in), Lenient)
			if err != nil || r.Text != c.want[i] {
				t.Errorf("%s of %q = %q, %v; want %q", p, c.in, r.Text, err, c.want[i])
			}
		}
	}
	runFilters(t, []filterCase{{"VersionMajor", "", "#{V | VersionMajor}"}, {"VersionMajor", "not a version!", "#{V | VersionMajor}"}})
}

func TestUriPart(t *testing.T) {
	runFilters(t, []filterCase{
		{"UriPart Host", "/docs", "[UriPart Host error: This operation is not supported for a relative URI.]"},
		{"UriPart IsAbsoluteUri", "/docs", "false"},
		{"UriPart", "https://octopus.com/docs", "[UriPart error: no argument given]"},
		{"UriPart bar", "https://octopus.com/docs", "[UriPart bar error: argument 'bar' not supported]"},
		{"UriPart AbsolutePath", "https://octopus.com/docs", "/docs"},
		{"UriPart AbsoluteUri", "https://octopus.com/docs", "https://octopus.com/docs"},
		{"UriPart AbsoluteUri", "HTTPS://Octopus.com", "https://octopus.com/"},
		{"UriPart Authority", "https://octopus.com/docs", "octopus.com"},
		{"UriPart Authority", "https://octopus.com:8443/docs", "octopus.com:8443"},
		{"UriPart DnsSafeHost", "https://octopus.com/docs", "octopus.com"},
		{"UriPart Fragment", "https://octopus.com/docs#filters", "#filters"},
		{"UriPart Host", "https://octopus.com/docs", "octopus.com"},
		{"UriPart HostAndPort", "https://octopus.com/docs", "octopus.com:443"},
		{"UriPart HostNameType", "https://octopus.com/docs", "Dns"},
		{"UriPart HostNameType", "http://10.1.2.3/", "IPv4"},
		{"UriPart IsAbsoluteUri", "https://octopus.com/docs", "true"},
		{"UriPart IsDefaultPort", "https://octopus.com/docs", "true"},
		{"UriPart IsDefaultPort", "https://octopus.com:8443/", "false"},
		{"UriPart IsFile", "https://octopus.com/docs", "false"},
		{"UriPart IsLoopback", "http://localhost:8080/", "true"},
		{"UriPart IsUnc", "https://octopus.com/docs", "false"},
		{"UriPart Path", "https://octopus.com/docs", "/docs"},
		{"UriPart PathAndQuery", "https://octopus.com/docs?filter=faq", "/docs?filter=faq"},
		{"UriPart Port", "https://octopus.com/docs", "443"},
		{"UriPart Port", "http://octopus.com:81/docs", "81"},
		{"UriPart Query", "https://octopus.com/docs?filter=faq", "?filter=faq"},
		{"UriPart Scheme", "https://octopus.com/docs", "https"},
		{"UriPart SchemeAndServer", "https://octopus.com/docs", "https://octopus.com"},
		{"UriPart UserInfo", "https://username:password@octopus.com", "username:password"},
		{"UriPart host", "https://octopus.com/docs", "octopus.com"},
	})
}

func TestDateAndFormatFilters(t *testing.T) {
	fixed := time.Date(2026, 11, 3, 8, 53, 11, 94644800, time.UTC)
	clock := func() time.Time { return fixed }
	const when = "2030/05/22 09:05:00"
	runFiltersAt(t, clock, []filterCase{
		{`Format Date "HH dd-MMM-yyy"`, when, "09 22-May-2030"},
		{`Format DateTime "HH dd-MMM-yyyy" `, when, "09 22-May-2030"},
		{`Format DateTime \"HH dd-MMM-yyyy\" `, when, "09 22-May-2030"},
		{"Format yyyy", when, "2030"},
		{`Format "dddd, MMMM d"`, when, "Wednesday, May 22"},
		{`Format "hh:mm tt"`, "2030-05-22 15:04:00", "03:04 PM"},
		{"Format s", when, "2030-05-22T09:05:00"},
		{"Format yyyy", "hello World", `#{V | Format "yyyy"}`},
		{"Format C", "23.4", "$23.40"},
		{"Format Double C", "23.4", "$23.40"},
		{"Format N2", "1234567.891", "1,234,567.89"},
		{"Format F0", "2.5", "3"},
		{`Format "0.00"`, "3.14159", "3.14"},
		{`Format \"#,##0.0\"`, "12345.67", "12,345.7"},
		{`Format "#,##0.0"`, "12345.67", `#{V | Format "#,##0.0"}`}, // "..." cannot hold a #
		{`Format "000"`, "7", "007"},
		{"Format Int D5", "42", "00042"},
		{"Format Int X", "255", "FF"},
		{"Format Decimal D5", "42", `#{V | Format "Decimal" "D5"}`},
		{"Format Double E2", "1234.5", "1.23E+003"},
		{"Format P1", "0.256", "25.6%"},
		{`Format Int \"#,#\"`, "1234567", "1,234,567"},
		{"Format", "1", "#{V | Format}"},
		{"AddHours 2 | Format \"yyyy-MM-dd HH:mm:ss\"", "2030-05-22 09:05:00", "2030-05-22 11:05:00"},
		{"AddHours -2 | Format \"yyyy-MM-dd HH:mm:ss\"", "2030-05-22 09:05:00", "2030-05-22 07:05:00"},
		{"AddHours \"1.5\" | Format \"yyyy-MM-dd HH:mm:ss\"", "2030-05-22 09:05:00", "2030-05-22 10:35:00"},
		{"AddHours 24 | Format \"yyyy-MM-dd HH:mm:ss\"", "2030-05-22 09:05:00", "2030-05-23 09:05:00"},
		{"AddDays 10 | Format \"yyyy-MM-dd HH:mm:ss\"", "2030-05-22 09:05:00", "2030-06-01 09:05:00"},
		{"AddDays 1 | AddHours 2 | Format \"yyyy-MM-dd HH:mm:ss\"", "2030-05-22 09:05:00", "2030-05-23 11:05:00"},
		{"AddHours 8", "2030-05-22 09:05:00", "2030-05-22T17:05:00.0000000"},
		{"AddHours 2", "2030-05-22T09:05:00+02:00", "2030-05-22T11:05:00.0000000+02:00"},
		{"AddHours 2", "2030-05-22T09:05:00Z", "2030-05-22T11:05:00.0000000Z"},
		{"AddHours", "2030-05-22 09:05:00", "#{V | AddHours}"},
		{"AddHours 2 3", "2030-05-22 09:05:00", `#{V | AddHours "2" "3"}`},
		{"AddHours abc", "2030-05-22 09:05:00", `#{V | AddHours "abc"}`},
		{"AddHours 2", "hello World", `#{V | AddHours "2"}`},
		{"AddDays 2", nil, `#{V | AddDays "2"}`},
		{"NowDate", "x", "#{V | NowDate}"},
	})
	for _, c := range []langCase{
		{"NowDate", "#{ | NowDate}", vars(), "2026-11-03T08:53:11.0946448"},
		{"NowDateUtc", "#{ | NowDateUtc}", vars(), "2026-11-03T08:53:11.0946448Z"},
		{"NowDate with a format", "#{ | NowDate yyyy}", vars(), "2026"},
		{"NowDate format from a variable", "#{ | NowDate #{F}}", vars("F", "dd-MM-yyyy"), "03-11-2026"},
		{"NowDateUtc offset", "#{ | NowDateUtc zz}", vars(), "+00"},
		{"NowDate chained", "#{ | NowDate | Format Date MMM}", vars(), "Nov"},
		{"NowDateUtc as offset", "#{ | NowDateUtc | Format DateTimeOffset zz}", vars(), "+00"},
		{"format from a variable", "#{D | Format Date #{F}}", vars("D", when, "F", "HH dd-MMM-yyyy"), "09 22-May-2030"},
		{"undefined with Append", "#{Nope | Append x}", vars(), "x"},
	} {
		r, err := render(c.tpl, c.set, Lenient, limits{output: maxOutput, steps: maxSteps, now: clock})
		if err != nil || r.Text != c.want {
			t.Errorf("%s: %q → %q, %v; want %q", c.name, c.tpl, r.Text, err, c.want)
		}
	}
}
