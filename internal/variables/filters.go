package variables

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"
)

// A filter takes the value on its left (absent when the expression has no
// value: an undefined variable, or "#{ | NowDate}") and its options, and
// gives a value or none. Giving none makes the expression unusable: lenient
// mode echoes it, strict mode fails naming the reason. Each filter follows
// Octostache's function of the same name, including when it gives none.
type filterFunc func(e *evaluator, arg string, hasArg bool, opts []string) (string, bool, string)

// filters is keyed by lower-cased name: filter names are case-insensitive.
var filters = map[string]filterFunc{
	"tolower":                  noOpts(strings.ToLower),
	"toupper":                  noOpts(strings.ToUpper),
	"tobase64":                 toBase64,
	"frombase64":               fromBase64,
	"htmlescape":               noOpts(htmlEscape),
	"xmlescape":                noOpts(xmlEscape),
	"jsonescape":               noOpts(jsonEscape),
	"uriescape":                noOpts(uriEscape),
	"uridataescape":            noOpts(uriDataEscape),
	"yamlsinglequoteescape":    noOpts(yamlSingleQuoteEscape),
	"yamldoublequoteescape":    noOpts(yamlDoubleQuoteEscape),
	"propertieskeyescape":      noOpts(propertiesKeyEscape),
	"propertiesvalueescape":    noOpts(propertiesValueEscape),
	"markdown":                 noOpts(markdownToHTML),
	"markdowntohtml":           noOpts(markdownToHTML),
	"nowdate":                  nowDate(false),
	"nowdateutc":               nowDate(true),
	"addhours":                 addTime(time.Hour),
	"adddays":                  addTime(24 * time.Hour),
	"format":                   format,
	"match":                    match,
	"replace":                  replace,
	"startswith":               compareWith(strings.HasPrefix),
	"endswith":                 compareWith(strings.HasSuffix),
	"contains":                 compareWith(strings.Contains),
	"substring":                substring,
	"truncate":                 truncate,
	"trim":                     trim,
	"indent":                   indent,
	"uripart":                  uriPart,
	"versionmajor":             versionPart(func(v version) string { return v.major }),
	"versionminor":             versionPart(func(v version) string { return v.minor }),
	"versionpatch":             versionPart(func(v version) string { return v.patch }),
	"versionrevision":          versionPart(func(v version) string { return v.revision }),
	"versionprerelease":        versionPart(func(v version) string { return v.release }),
	"versionprereleaseprefix":  versionPart(func(v version) string { return v.releasePrefix }),
	"versionprereleasecounter": versionPart(func(v version) string { return v.releaseCounter }),
	"versionmetadata":          versionPart(func(v version) string { return v.metadata }),
	"append":                   appendFilter(false),
	"prepend":                  appendFilter(true),
	"md5":                      hashFilter(md5.New),
	"sha1":                     hashFilter(sha1.New),
	"sha256":                   hashFilter(sha256.New),
	"sha384":                   hashFilter(sha512.New384),
	"sha512":                   hashFilter(sha512.New),
	"null":                     func(*evaluator, string, bool, []string) (string, bool, string) { return "", false, "" },
}

// extensions are ferry's own names, tried (as Octostache tries extension
// functions) only when no built-in filter gives a value.
var extensions = map[string]filterFunc{
	"base64encode": toBase64,
	"base64decode": fromBase64,
}

// callFilter applies the filter named fn. reason explains a failure.
func (e *evaluator) callFilter(fn, arg string, hasArg bool, opts []string) (string, bool, string) {
	key := strings.ToLower(fn)
	f, known := filters[key]
	if known {
		if out, ok, reason := f(e, arg, hasArg, opts); ok {
			return out, true, ""
		} else if ext, isExt := extensions[key]; !isExt {
			return "", false, reason
		} else {
			return ext(e, arg, hasArg, opts)
		}
	}
	if ext, ok := extensions[key]; ok {
		return ext(e, arg, hasArg, opts)
	}
	return "", false, "unknown filter (see docs/variables.md for the list)"
}

const (
	noInput   = "it has no input"
	noOptions = "it takes no options"
)

func noOpts(f func(string) string) filterFunc {
	return func(_ *evaluator, arg string, hasArg bool, opts []string) (string, bool, string) {
		if len(opts) > 0 {
			return "", false, noOptions
		}
		if !hasArg {
			return "", false, noInput
		}
		return f(arg), true, ""
	}
}

// textEncoding is the encoding option of ToBase64, FromBase64 and the
// hashes: utf8 (the default) or unicode (UTF-16 little-endian).
func encodeText(s, enc string) ([]byte, bool) {
	switch strings.ToLower(enc) {
	case "", "utf8", "utf-8":
		return []byte(s), true
	case "unicode":
		u := utf16.Encode([]rune(s))
		b := make([]byte, 2*len(u))
		for i, c := range u {
			b[2*i], b[2*i+1] = byte(c), byte(c>>8)
		}
		return b, true
	}
	return nil, false
}

func decodeText(b []byte, enc string) (string, bool) {
	switch strings.ToLower(enc) {
	case "", "utf8", "utf-8":
		return strings.ToValidUTF8(string(b), "\uFFFD"), true
	case "unicode":
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
		}
		s := string(utf16.Decode(u))
		if len(b)%2 == 1 {
			s += "\uFFFD"
		}
		return s, true
	}
	return "", false
}

// fromBase64Bytes decodes like .NET's Convert.FromBase64String, which
// ignores white space.
func fromBase64Bytes(s string) ([]byte, bool) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
	b, err := base64.StdEncoding.DecodeString(s)
	return b, err == nil
}

func toBase64(_ *evaluator, arg string, hasArg bool, opts []string) (string, bool, string) {
	if len(opts) > 1 || !hasArg {
		return "", false, "it takes one optional encoding (utf8 or unicode) and needs input"
	}
	enc := ""
	if len(opts) == 1 {
		enc = opts[0]
	}
	b, ok := encodeText(arg, enc)
	if !ok {
		return "", false, "the encoding must be utf8 or unicode"
	}
	return base64.StdEncoding.EncodeToString(b), true, ""
}

func fromBase64(_ *evaluator, arg string, hasArg bool, opts []string) (string, bool, string) {
	if len(opts) > 1 || !hasArg {
		return "", false, "it takes one optional encoding (utf8 or unicode) and needs input"
	}
	enc := ""
	if len(opts) == 1 {
		enc = opts[0]
	}
	b, ok := fromBase64Bytes(arg)
	if !ok {
		return "", false, "the input is not base64"
	}
	s, ok := decodeText(b, enc)
	if !ok {
		return "", false, "the encoding must be utf8 or unicode"
	}
	return s, true, ""
}

func escapeRunes(s string, f func(r rune, i int) string) string {
	var b strings.Builder
	b.Grow(len(s))
	i := 0
	for _, r := range s {
		b.WriteString(f(r, i))
		i++
	}
	return b.String()
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;", "/", "&#x2F;")
var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")
var jsonEscaper = strings.NewReplacer(`"`, `\"`, "\r", `\r`, "\t", `\t`, "\n", `\n`, `\`, `\\`)

func htmlEscape(s string) string { return htmlEscaper.Replace(s) }
func xmlEscape(s string) string  { return xmlEscaper.Replace(s) }

// jsonEscape escapes exactly what Octostache's JsonEscape does: quotes,
// backslashes, CR, LF and tab.
func jsonEscape(s string) string { return jsonEscaper.Replace(s) }

// uriEscape is .NET's Uri.EscapeUriString: everything but unreserved and
// reserved URI characters is percent-encoded (UTF-8, upper-case hex).
func uriEscape(s string) string {
	return percentEncode(s, "-_.~:/?#[]@!$&'()*+,;=")
}

// uriDataEscape is .NET's Uri.EscapeDataString: everything but unreserved
// characters is percent-encoded.
func uriDataEscape(s string) string { return percentEncode(s, "-_.~") }

func percentEncode(s, keep string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c < utf8.RuneSelf && strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// yamlSingleQuoteEscape doubles quotes, and doubles each run of line breaks
// (YAML folds a single line break in a single-quoted scalar into a space).
func yamlSingleQuoteEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '\n' || s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			j := i
			for j < len(s) && (s[j] == '\n' || s[j] == '\r' && j+1 < len(s) && s[j+1] == '\n') {
				if s[j] == '\r' {
					j += 2
				} else {
					j++
				}
			}
			if s[i] == '\r' {
				b.WriteString("\r\n")
			} else {
				b.WriteString("\n")
			}
			b.WriteString(s[i:j])
			i = j
			continue
		}
		if s[i] == '\'' {
			b.WriteString("''")
		} else {
			b.WriteByte(s[i])
		}
		i++
	}
	return b.String()
}

// utf16Escapes writes r as \uXXXX escapes, one per UTF-16 code unit.
func utf16Escapes(r rune) string {
	if r > 0xFFFF {
		hi, lo := utf16.EncodeRune(r)
		return `\u` + hex4(int(hi)) + `\u` + hex4(int(lo))
	}
	return `\u` + hex4(int(r))
}

func yamlDoubleQuoteEscape(s string) string {
	return escapeRunes(s, func(r rune, _ int) string {
		switch r {
		case '\r':
			return `\r`
		case '\n':
			return `\n`
		case '\t':
			return `\t`
		case '\\':
			return `\\`
		case '"':
			return `\"`
		}
		if r >= 0x20 && r <= 0x7E {
			return string(r)
		}
		return utf16Escapes(r)
	})
}

func propertiesCommon(r rune) string {
	switch r {
	case '\\':
		return `\\`
	case '\r':
		return `\r`
	case '\n':
		return `\n`
	case '\t':
		return `\t`
	}
	if r < 0xFF {
		return string(r)
	}
	return utf16Escapes(r)
}

func propertiesKeyEscape(s string) string {
	return escapeRunes(s, func(r rune, _ int) string {
		switch r {
		case ' ':
			return `\ `
		case ':':
			return `\:`
		case '=':
			return `\=`
		}
		return propertiesCommon(r)
	})
}

func propertiesValueEscape(s string) string {
	return escapeRunes(s, func(r rune, i int) string {
		if r == ' ' && i == 0 {
			return `\ `
		}
		return propertiesCommon(r)
	})
}

var markdown = goldmark.New(
	goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify),
	goldmark.WithRendererOptions(html.WithUnsafe()),
)

// markdownToHTML renders CommonMark with pipe tables, strike-through and
// automatic links, as Octostache's Markdig pipeline does.
func markdownToHTML(s string) string {
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(strings.TrimFunc(s, isWS)), &buf); err != nil {
		return ""
	}
	return buf.String() + "\n"
}

// regex compiles a .NET regular expression; matching is bounded in time.
func (e *evaluator) regex(pattern string) (*regexp2.Regexp, bool) {
	re, err := regexp2.Compile(pattern, regexp2.None)
	if err != nil {
		return nil, false
	}
	timeout := min(e.regexLeft, 100*time.Millisecond)
	if timeout <= 0 {
		e.fail(wrapLimit("regular expressions took more than %s in one render", regexBudget))
	}
	re.MatchTimeout = timeout
	return re, true
}

// spend charges time spent matching to the render's budget.
func (e *evaluator) spend(start time.Time, err error) {
	e.regexLeft -= time.Since(start)
	if err != nil {
		e.fail(wrapLimit("a regular expression took too long (%v)", err))
	}
}

func match(e *evaluator, arg string, hasArg bool, opts []string) (string, bool, string) {
	if !hasArg || len(opts) != 1 {
		return "", false, "it takes one regular expression and needs input"
	}
	re, ok := e.regex(opts[0])
	if !ok {
		return "", false, "not a valid regular expression"
	}
	start := time.Now()
	m, err := re.MatchString(arg)
	e.spend(start, err)
	return strconv.FormatBool(m), true, ""
}

// replace is a regular-expression replace (.NET syntax: $1, ${name}, $$ in
// the replacement); one option removes the matches.
func replace(e *evaluator, arg string, hasArg bool, opts []string) (string, bool, string) {
	if !hasArg || len(opts) == 0 {
		return "", false, "it takes a regular expression and an optional replacement, and needs input"
	}
	re, ok := e.regex(opts[0])
	if !ok {
		return "", false, "not a valid regular expression"
	}
	repl := ""
	if len(opts) > 1 {
		repl = opts[1]
	}
	start := time.Now()
	out, err := re.Replace(arg, repl, -1, -1)
	if err != nil && !isTimeout(err) {
		e.regexLeft -= time.Since(start)
		return "", false, "not a valid replacement"
	}
	e.spend(start, err)
	return out, true, ""
}

func isTimeout(err error) bool {
	return err != nil && strings.Contains(err.Error(), "timeout")
}

func compareWith(f func(s, sub string) bool) filterFunc {
	return func(_ *evaluator, arg string, hasArg bool, opts []string) (string, bool, string) {
		if !hasArg || len(opts) != 1 {
			return "", false, "it takes one option and needs input"
		}
		return strconv.FormatBool(f(arg, opts[0])), true, ""
	}
}

// parseIntDotNet is int.TryParse: optional white space and sign around
// decimal digits, within 32 bits.
func parseIntDotNet(s string) (int, bool) {
	s = strings.TrimFunc(s, isWS)
	if s == "" {
		return 0, false
	}
	for i, c := range s {
		if !(c >= '0' && c <= '9' || i == 0 && (c == '-' || c == '+')) {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 32)
	return int(n), err == nil
}

// substring is Octostache's: "Substring N" is the first N characters,
// "Substring START LENGTH" the LENGTH characters from START (clipped at
// the end); a START past the end gives no value.
func substring(_ *evaluator, arg string, hasArg bool, opts []string) (string, bool, string) {
	const usage = "it takes LENGTH or START LENGTH (non-negative integers)"
	if !hasArg || len(opts) == 0 || len(opts) > 2 {
		return "", false, usage
	}
	nums := make([]int, len(opts))
	for i, o := range opts {
		n, ok := parseIntDotNet(o)
		if !ok || n < 0 {
			return "", false, usage
		}
		nums[i] = n
	}
	start, length := 0, nums[0]
	if len(nums) == 2 {
		start, length = nums[0], nums[1]
	}
	r := []rune(arg)
	if start > len(r) {
		return "", false, "START is past the end of the input"
	}
	if start+length > len(r) {
		length = len(r) - start
	}
	return string(r[start : start+length]), true, ""
}

// truncate keeps the first N characters and adds a suffix ("..." unless
// given) when anything was cut.
func truncate(_ *evaluator, arg string, hasArg bool, opts []string) (string, bool, string) {
	if !hasArg || len(opts) == 0 {
		return "", false, "it takes LENGTH [SUFFIX] and needs input"
	}
	n, ok := parseIntDotNet(opts[0])
	if !ok || n < 0 {
		return "", false, "LENGTH must be a non-negative integer"
	}
	suffix := "..."
	if len(opts) > 1 {
		suffix = opts[1]
	}
	r := []rune(arg)
	if n < len(r) {
		return string(r[:n]) + suffix, true, ""
	}
	return arg, true, ""
}

func trim(_ *evaluator, arg string, hasArg bool, opts []string) (string, bool, string) {
	if !hasArg {
		return "", false, noInput
	}
	if len(opts) == 0 {
		return strings.TrimFunc(arg, isWS), true, ""
	}
	switch strings.ToLower(opts[0]) {
	case "start":
		return strings.TrimLeftFunc(arg, isWS), true, ""
	case "end":
		return strings.TrimRightFunc(arg, isWS), true, ""
	}
	return "", false, "the option must be start or end"
}

// indent prefixes the first line and every later line: "Indent" with four
// spaces, "Indent N" with N spaces (at most 255), "Indent I/S" with I
// spaces first and S after, "Indent /S" later lines only, "Indent TEXT" or
// "Indent FIRST LATER" with text.
func indent(_ *evaluator, arg string, hasArg bool, opts []string) (string, bool, string) {
	if !hasArg {
		return "", false, noInput
	}
	if arg == "" {
		return "", true, ""
	}
	first, later := "    ", "    "
	switch len(opts) {
	case 0:
	case 1:
		first, later = indentSizes(opts[0])
	case 2:
		first, later = opts[0], opts[1]
	default:
		return "", false, "it takes at most two options"
	}
	return first + strings.ReplaceAll(arg, "\n", "\n"+later), true, ""
}

func indentSizes(opt string) (string, string) {
	spaces := func(s string) (string, bool) {
		if s == "" || len(s) > 3 {
			return "", false
		}
		n, err := strconv.Atoi(s)
		if err != nil || n > 255 || strings.ContainsAny(s, "+-") {
			return "", false
		}
		return strings.Repeat(" ", n), true
	}
	if slash := strings.IndexByte(opt, '/'); slash >= 0 && strings.Count(opt, "/") == 1 {
		sub, ok := spaces(opt[slash+1:])
		if ok && slash == 0 {
			return "", sub
		}
		if init, ok2 := spaces(opt[:slash]); ok && ok2 {
			return init, sub
		}
		return opt, opt
	}
	if all, ok := spaces(opt); ok {
		return all, all
	}
	return opt, opt
}

func appendFilter(prepend bool) filterFunc {
	return func(_ *evaluator, arg string, hasArg bool, opts []string) (string, bool, string) {
		if len(opts) == 0 {
			return "", false, "it takes the text to add"
		}
		add := strings.Join(opts, "")
		if !hasArg {
			return add, true, ""
		}
		if prepend {
			return add + arg, true, ""
		}
		return arg + add, true, ""
	}
}

// hashFilter gives a lower-case hex digest. Options, in either order: the
// encoding of the input (utf8, unicode or base64) and the number of bytes
// of the digest to keep.
func hashFilter(newHash func() hash.Hash) filterFunc {
	return func(_ *evaluator, arg string, hasArg bool, opts []string) (string, bool, string) {
		const usage = "it takes an optional encoding (utf8, unicode, base64) and digest size in bytes"
		if !hasArg || len(opts) > 2 {
			return "", false, usage
		}
		enc, size := "", 0
		for i, o := range opts {
			if n, ok := parseIntDotNet(o); ok {
				if n <= 0 || i == 1 && size != 0 {
					return "", false, usage
				}
				size = n
				continue
			}
			if i == 1 && enc != "" || !validHashEncoding(o) {
				return "", false, usage
			}
			enc = o
		}
		var input []byte
		if strings.EqualFold(enc, "base64") {
			b, ok := fromBase64Bytes(arg)
			if !ok {
				return "", false, "the input is not base64"
			}
			input = b
		} else {
			input, _ = encodeText(arg, enc)
		}
		h := newHash()
		h.Write(input)
		sum := h.Sum(nil)
		if size > 0 && size < len(sum) {
			sum = sum[:size]
		}
		return hex.EncodeToString(sum), true, ""
	}
}

func validHashEncoding(s string) bool {
	switch strings.ToLower(s) {
	case "utf8", "utf-8", "unicode", "base64":
		return true
	}
	return false
}

func isLetterOrDigit(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
