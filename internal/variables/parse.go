package variables

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The grammar below is Octostache's (its TemplateParser, a Sprache parser
// combinator grammar), written as a recursive-descent parser that keeps the
// combinators' behaviour: ordered alternatives with backtracking, "many"
// loops that stop at the first item that does not parse, and — on failure —
// the furthest position any alternative reached, which is how far lenient
// parsing skips when it recovers. See docs/variables.md for the language.

// maxParseDepth bounds nesting (blocks in blocks, expressions in filter
// options and indexers). Deeper input is refused, not parsed differently.
const maxParseDepth = 100

// parser parses one template.
type parser struct {
	src     string
	depth   int
	tooDeep bool
	// memo holds conditional and repetition results by position: a block
	// that fails is retried as a plain substitution, and without the memo
	// nested failing blocks would make parsing exponential.
	memo map[memoKey]memoVal

	// Allocation in chunks: a large file has tens of thousands of tokens.
	chunk   int // tokens per chunk, from the number of tags in the text
	symbols []symbolExpr
	substs  []substTok
	texts   []textTok
}

func (p *parser) chunkSize() int {
	if p.chunk == 0 {
		p.chunk = min(256, max(4, strings.Count(p.src, "#{")+1))
	}
	return p.chunk
}

func (p *parser) newSymbol() *symbolExpr {
	if len(p.symbols) == 0 {
		p.symbols = make([]symbolExpr, p.chunkSize())
	}
	s := &p.symbols[0]
	p.symbols = p.symbols[1:]
	return s
}

func (p *parser) newSubst(pos int, e expr) *substTok {
	if len(p.substs) == 0 {
		p.substs = make([]substTok, p.chunkSize())
	}
	t := &p.substs[0]
	p.substs = p.substs[1:]
	t.pos, t.expr = pos, e
	return t
}

func (p *parser) newText(text string) *textTok {
	if len(p.texts) == 0 {
		p.texts = make([]textTok, p.chunkSize())
	}
	t := &p.texts[0]
	p.texts = p.texts[1:]
	t.text = text
	return t
}

type memoKey struct {
	pos  int
	kind byte
}

type memoVal struct {
	tok token
	end int
	ok  bool
}

// template is a parsed text.
type template struct {
	toks []token
	// skipped lists, in lenient parsing, the places passed over as text
	// because nothing parsed there: start and end byte offsets.
	skipped [][2]int
}

// parseStrict parses a whole template; any part that does not parse fails
// it, as Octostache's default (halt on error) parsing does, with a
// *SyntaxError at the token that did not parse (or an error wrapping
// ErrLimit for nesting past maxParseDepth).
func parseStrict(src string) (*template, error) {
	p := &parser{src: src}
	toks, end := p.tokensInto(make([]token, 0, 2*strings.Count(src, "#{")+1), 0, bodyFull)
	if p.tooDeep {
		return nil, tooDeepError()
	}
	if end == len(src) {
		return &template{toks: toks}, nil
	}
	_, far, _ := p.token(end)
	return nil, syntaxError(src, end, far)
}

func tooDeepError() error {
	return wrapLimit("expressions nested deeper than %d levels", maxParseDepth)
}

// parseLenient parses a template the way Octostache does when it continues
// on errors: where no token parses, the text up to the furthest position the
// parser reached is kept as literal text and parsing goes on after it.
func parseLenient(src string) (*template, error) {
	p := &parser{src: src}
	t := &template{toks: make([]token, 0, 2*strings.Count(src, "#{")+1)}
	for pos := 0; pos < len(src); {
		tok, end, ok := p.token(pos)
		if ok && end > pos {
			t.toks = append(t.toks, tok)
			pos = end
			continue
		}
		if end <= pos { // cannot happen: at "#{" the text rule reaches pos+1
			end = pos + 1
		}
		t.toks = append(t.toks, &textTok{text: src[pos:end]})
		t.skipped = append(t.skipped, [2]int{pos, end})
		pos = end
	}
	if p.tooDeep {
		return nil, tooDeepError()
	}
	return t, nil
}

// Body kinds: what ends a list of tokens besides a token that does not parse.
const (
	bodyFull   = iota // a whole template or an #{else} branch
	bodyIf            // stops at #{else} and #{elseif
	bodyUnless        // stops at #{else}
)

// tokens parses tokens until one does not parse (Token.Many()).
func (p *parser) tokens(i, kind int) ([]token, int) {
	return p.tokensInto(nil, i, kind)
}

func (p *parser) tokensInto(toks []token, i, kind int) ([]token, int) {
	for i < len(p.src) {
		if kind != bodyFull && strings.HasPrefix(p.src[i:], "#{else}") {
			break
		}
		if kind == bodyIf && p.elseIfDelim(i) {
			break
		}
		t, end, ok := p.token(i)
		if !ok || end == i {
			break
		}
		toks = append(toks, t)
		i = end
	}
	return toks, i
}

// elseIfDelim reports whether "#{elseif" and one white-space character
// start at i.
func (p *parser) elseIfDelim(i int) bool {
	if !strings.HasPrefix(p.src[i:], "#{elseif") {
		return false
	}
	r, _ := utf8.DecodeRuneInString(p.src[i+8:])
	return i+8 < len(p.src) && isWS(r)
}

// token parses one token at i: a tag, or text.
func (p *parser) token(i int) (token, int, bool) {
	if !strings.HasPrefix(p.src[i:], "#{") {
		return p.text(i)
	}
	t, end, ok := p.tag(i)
	if ok {
		return t, end, true
	}
	// The text rule fails one character in at "#{".
	return nil, max(end, i+1), false
}

// tag parses a conditional, calculation, repetition or substitution at i.
// On failure it returns the furthest position reached.
func (p *parser) tag(i int) (token, int, bool) {
	if t, end, ok := p.simpleSubst(i); ok {
		return t, end, true
	}
	far := i
	if t, end, ok := p.block(i, 'c', p.conditional); ok {
		return t, end, true
	} else {
		far = max(far, end)
	}
	if t, end, ok := p.calculation(i); ok {
		return t, end, true
	} else {
		far = max(far, end)
	}
	if t, end, ok := p.block(i, 'r', p.repetition); ok {
		return t, end, true
	} else {
		far = max(far, end)
	}
	if t, end, ok := p.substitution(i); ok {
		return t, end, true
	} else {
		far = max(far, end)
	}
	return nil, far, false
}

// simpleSubst is a fast path for the common #{Name.Other-Name_2}: ASCII
// identifier characters in dot-separated segments, then "}". No other
// rule can read such a tag differently (blocks and calc need white space).
func (p *parser) simpleSubst(i int) (token, int, bool) {
	src := p.src
	segStart := i + 2
	for j := segStart; j < len(src); j++ {
		c := src[j]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' {
			continue
		}
		if c != '.' && c != '}' || j == segStart {
			return nil, 0, false
		}
		if c == '}' {
			s := p.newSymbol()
			s.dotted = src[i+2 : j]
			return p.newSubst(i, s), j + 1, true
		}
		segStart = j + 1
	}
	return nil, 0, false
}

// block parses a conditional ('c') or repetition ('r') at i, remembering
// the result of every attempt that gets past the keyword.
func (p *parser) block(i int, kind byte, f func(int) (token, int, bool)) (token, int, bool) {
	// Most tags are plain expressions: fail them without the memo.
	j, ok := p.ldelim(i)
	if !ok {
		return nil, j, false
	}
	j = p.ws(j)
	if kind == 'r' {
		if e, ok := p.keyword(j, "each"); !ok {
			return nil, e, false
		}
	} else {
		e, ok := p.keyword(j, "if")
		if !ok {
			e2, ok2 := p.keyword(j, "unless")
			if !ok2 {
				return nil, max(e, e2), false
			}
		}
	}
	k := memoKey{i, kind}
	if v, ok := p.memo[k]; ok {
		return v.tok, v.end, v.ok
	}
	t, end, ok := f(i)
	if p.memo == nil {
		p.memo = make(map[memoKey]memoVal)
	}
	p.memo[k] = memoVal{t, end, ok}
	return t, end, ok
}

// enter counts one level of nesting; it fails past maxParseDepth.
func (p *parser) enter() bool {
	if p.depth >= maxParseDepth {
		p.tooDeep = true
		return false
	}
	p.depth++
	return true
}

func (p *parser) leave() { p.depth-- }

// text parses literal text at i, with Octostache's hash rules: "##{" is the
// literal "#{", "###{x}" is "#" followed by the expression, and any other
// "#" is itself. It stops before "#{".
func (p *parser) text(i int) (token, int, bool) {
	src := p.src
	n := len(src)
	k, seg := i, i
	var b *strings.Builder
	emit := func(to int, lit string) {
		if b == nil {
			b = &strings.Builder{}
		}
		b.WriteString(src[seg:to])
		b.WriteString(lit)
	}
	for k < n {
		j := strings.IndexByte(src[k:], '#')
		if j < 0 {
			k = n
			break
		}
		k += j
		if k+1 == n {
			k++
			break
		}
		switch src[k+1] {
		case '#':
			if p.followedBy(k+2, "#{") {
				emit(k, "#")
				k += 2
				seg = k
				continue
			}
			if k+2 < n && src[k+2] == '{' {
				emit(k, "#{")
				k += 3
				seg = k
				continue
			}
			k += 2
			continue
		case '{':
		default:
			_, size := utf8.DecodeRuneInString(src[k+1:])
			k += 1 + size
			continue
		}
		break // "#{" starts a tag
	}
	if k == i {
		return nil, i + 1, false
	}
	if b == nil {
		return p.newText(src[i:k]), k, true
	}
	b.WriteString(src[seg:k])
	return p.newText(b.String()), k, true
}

// followedBy is Octostache's look-ahead: s at pos, with at least one more
// character after it (the original compares against the end that way).
func (p *parser) followedBy(pos int, s string) bool {
	return pos < len(p.src)-len(s) && p.src[pos:pos+len(s)] == s
}

// lit matches s exactly at i; on failure it returns the first offset that
// differs.
func (p *parser) lit(i int, s string) (int, bool) {
	for k := 0; k < len(s); k++ {
		if i+k >= len(p.src) || p.src[i+k] != s[k] {
			return i + k, false
		}
	}
	return i + len(s), true
}

// keyword matches s case-insensitively (s is lower-case ASCII).
func (p *parser) keyword(i int, s string) (int, bool) {
	for k := 0; k < len(s); k++ {
		if i+k >= len(p.src) || lowerASCII(p.src[i+k]) != s[k] {
			return i + k, false
		}
	}
	return i + len(s), true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isWS(r rune) bool { return unicode.IsSpace(r) }

// ws skips white space.
func (p *parser) ws(i int) int {
	for i < len(p.src) {
		c := p.src[i]
		if c < utf8.RuneSelf {
			if c != ' ' && (c < '\t' || c > '\r') {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(p.src[i:])
		if !isWS(r) {
			return i
		}
		i += size
	}
	return i
}

// wsOne requires at least one white-space character.
func (p *parser) wsOne(i int) (int, bool) {
	if i >= len(p.src) {
		return i, false
	}
	r, _ := utf8.DecodeRuneInString(p.src[i:])
	if !isWS(r) {
		return i, false
	}
	return p.ws(i), true
}

// ldelim matches "#{" that does not start "#{/".
func (p *parser) ldelim(i int) (int, bool) {
	if strings.HasPrefix(p.src[i:], "#{/") {
		return i, false
	}
	return p.lit(i, "#{")
}

// identRune reports whether r may appear in an identifier.
func identRune(r rune, allowWS bool) bool {
	switch r {
	case '_', '-', ':', '/', '~', '(', ')', '@':
		return true
	}
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' ||
			allowWS && (r == ' ' || '\t' <= r && r <= '\r')
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || allowWS && isWS(r)
}

// identifier parses a name segment; with allowWS it may contain white space
// except before "|", "}" or a keyword (in, ==, !=). The text is trimmed.
func (p *parser) identifier(i int, allowWS bool) (string, int, bool) {
	k := i
	for k < len(p.src) {
		r, size := utf8.DecodeRuneInString(p.src[k:])
		if !identRune(r, allowWS) {
			break
		}
		if allowWS && isWS(r) {
			if p.followedBy(k+size, "|") || p.followedBy(k+size, "}") {
				break
			}
			if p.beforeKeyword(k + size) {
				if k == i {
					return "", k + size, false
				}
				break
			}
		}
		k += size
	}
	if k == i {
		return "", i, false
	}
	return strings.TrimFunc(p.src[i:k], isWS), k, true
}

// beforeKeyword reports whether "in", "==" or "!=" and white space follow pos.
func (p *parser) beforeKeyword(pos int) bool {
	if len(p.src) <= pos+2 {
		return false
	}
	r, _ := utf8.DecodeRuneInString(p.src[pos+2:])
	if !isWS(r) {
		return false
	}
	kw := p.src[pos : pos+2]
	return kw == "in" || kw == "==" || kw == "!="
}

// symbol parses Name(.Name | [index])*.
func (p *parser) symbol(i int) (*symbolExpr, int, bool) {
	id, end, ok := p.identifier(i, true)
	if !ok {
		return nil, end, false
	}
	s := p.newSymbol()
	s.steps = append(make([]step, 0, 4), step{text: id})
	k := end
	for k < len(p.src) {
		switch p.src[k] {
		case '.':
			id, e, ok := p.identifier(k+1, true)
			if !ok {
				return s, k, true
			}
			s.steps = append(s.steps, step{text: id})
			k = e
			continue
		case '[':
			st, e, ok := p.indexer(k)
			if !ok {
				return s, k, true
			}
			s.steps = append(s.steps, st)
			k = e
			continue
		}
		break
	}
	return s, k, true
}

// indexer parses [#{Symbol}] or a literal [index] (which may hold nested
// brackets: [containers[0].name]).
func (p *parser) indexer(k int) (step, int, bool) {
	if !p.enter() {
		return step{}, k, false
	}
	defer p.leave()
	m := p.ws(k + 1)
	if strings.HasPrefix(p.src[m:], "#{") {
		if t, e, ok := p.substitution(m); ok {
			if sym, isSym := t.(*substTok).expr.(*symbolExpr); isSym {
				e = p.ws(e)
				if e < len(p.src) && p.src[e] == ']' {
					return step{index: true, sym: sym}, e + 1, true
				}
			}
		}
	}
	idx, e, ok := p.stringIndex(k)
	if !ok {
		return step{}, e, false
	}
	return step{text: idx, index: true}, e, true
}

// stringIndex parses a literal [index]; leading white space is dropped.
func (p *parser) stringIndex(k int) (string, int, bool) {
	if k >= len(p.src) || p.src[k] != '[' {
		return "", k, false
	}
	m := p.ws(k + 1)
	start := m
	var b *strings.Builder
	for m < len(p.src) {
		c := p.src[m]
		if c == ']' {
			break
		}
		if c == '[' {
			if !p.enter() {
				return "", m, false
			}
			sub, e, ok := p.stringIndex(m)
			p.leave()
			if !ok {
				break
			}
			if b == nil {
				b = &strings.Builder{}
			}
			b.WriteString(p.src[start:m])
			b.WriteString("[" + sub + "]")
			m, start = e, e
			continue
		}
		m++
	}
	if m >= len(p.src) || p.src[m] != ']' {
		return "", m, false
	}
	if b == nil {
		return p.src[start:m], m + 1, true
	}
	b.WriteString(p.src[start:m])
	return b.String(), m + 1, true
}

// substitution parses #{expression}.
func (p *parser) substitution(i int) (token, int, bool) {
	j, ok := p.ldelim(i)
	if !ok {
		return nil, j, false
	}
	if !p.enter() {
		return nil, j, false
	}
	defer p.leave()
	e, end, ok := p.expression(p.ws(j))
	if !ok {
		return nil, end, false
	}
	end = p.ws(end)
	if end >= len(p.src) || p.src[end] != '}' {
		return nil, end, false
	}
	return p.newSubst(i, e), end + 1, true
}

// expression parses a filter chain, else a symbol.
func (p *parser) expression(i int) (expr, int, bool) {
	c, cend, ok, sym, symEnd := p.filterChain(i)
	if ok {
		return c, cend, true
	}
	if sym != nil && p.ws(i) == i {
		return sym, symEnd, true // what symbol(i) would parse again
	}
	s, send, ok := p.symbol(i)
	if ok {
		return s, send, true
	}
	return nil, max(cend, send), false
}

// filterChain parses [symbol] | Fn options... (| Fn options...)*.
// When there is no "|", it also returns the symbol it parsed and its end.
func (p *parser) filterChain(i int) (expr, int, bool, *symbolExpr, int) {
	var arg expr
	var sym *symbolExpr
	k, symEnd := i, i
	if s, e, ok := p.symbol(p.ws(i)); ok {
		arg, sym, k, symEnd = s, s, p.ws(e), e
	}
	first := true
	for {
		if k >= len(p.src) || p.src[k] != '|' {
			if first {
				return nil, k, false, sym, symEnd
			}
			return arg, k, true, nil, 0
		}
		m := p.ws(k + 1)
		fn, e, ok := p.identifier(m, false)
		if !ok {
			if first {
				return nil, e, false, nil, 0
			}
			return arg, k, true, nil, 0
		}
		m = p.ws(e)
		opts, m := p.options(m)
		arg = &callExpr{fn: fn, arg: arg, opts: opts}
		k, first = m, false
	}
}

// options parses filter options: tags, bare words and quoted text.
func (p *parser) options(m int) ([]token, int) {
	var opts []token
	for m < len(p.src) {
		o, e, ok := p.option(m)
		if !ok || e == m {
			break
		}
		opts = append(opts, o)
		m = e
	}
	return opts, m
}

func (p *parser) option(m int) (token, int, bool) {
	if strings.HasPrefix(p.src[m:], "#{") {
		if t, e, ok := p.tag(m); ok {
			return t, e, true
		}
	}
	k := p.ws(m)
	if id, e, ok := p.identifier(k, false); ok {
		return &textTok{text: id}, p.ws(e), true
	}
	if s, e, ok := p.quoted(m); ok {
		return &textTok{text: s}, e, true
	}
	return nil, m, false
}

// quoted parses "text" (no '#' inside, no escapes) or \"text\" (anything
// up to the next \"), with white space around either.
func (p *parser) quoted(i int) (string, int, bool) {
	j := p.ws(i)
	far := j
	if j < len(p.src) && p.src[j] == '"' {
		k := j + 1
		for k < len(p.src) && p.src[k] != '"' && p.src[k] != '#' {
			k++
		}
		if k < len(p.src) && p.src[k] == '"' {
			return p.src[j+1 : k], p.ws(k + 1), true
		}
		far = k
	}
	e, ok := p.lit(j, `\"`)
	if !ok {
		return "", max(far, e), false
	}
	idx := strings.Index(p.src[e:], `\"`)
	if idx < 0 {
		return "", len(p.src), false
	}
	return p.src[e : e+idx], p.ws(e + idx + 2), true
}

// conditional parses #{if cond}...[#{elseif cond}...]*[#{else}...]#{/if}
// and #{unless cond}...[#{else}...]#{/unless}.
func (p *parser) conditional(i int) (token, int, bool) {
	j, ok := p.ldelim(i)
	if !ok {
		return nil, j, false
	}
	j = p.ws(j)
	kw := "if"
	e, ok := p.keyword(j, "if")
	if !ok {
		e2, ok2 := p.keyword(j, "unless")
		if !ok2 {
			return nil, max(e, e2), false
		}
		kw, e = "unless", e2
	}
	j, ok = p.wsOne(e)
	if !ok {
		return nil, j, false
	}
	if !p.enter() {
		return nil, j, false
	}
	defer p.leave()
	cond, j, ok := p.condition(j)
	if !ok {
		return nil, j, false
	}
	j = p.ws(j)
	if j >= len(p.src) || p.src[j] != '}' {
		return nil, j, false
	}
	kind := bodyIf
	if kw == "unless" {
		kind = bodyUnless
	}
	body, j := p.tokens(j+1, kind)
	type clause struct {
		cond condition
		body []token
		pos  int
	}
	var elseifs []clause
	for kw == "if" && p.elseIfDelim(j) {
		c, e, ok := p.condition(j + 8)
		if !ok {
			break
		}
		e = p.ws(e)
		if e >= len(p.src) || p.src[e] != '}' {
			break
		}
		b, e := p.tokens(e+1, bodyIf)
		elseifs = append(elseifs, clause{c, b, j})
		j = e
	}
	var els []token
	if strings.HasPrefix(p.src[j:], "#{else}") {
		els, j = p.tokens(j+7, bodyFull)
	}
	end, ok := p.lit(j, "#{/"+kw+"}")
	if !ok {
		return nil, end, false
	}
	for k := len(elseifs) - 1; k >= 0; k-- {
		els = []token{&condTok{pos: elseifs[k].pos, cond: elseifs[k].cond, then: elseifs[k].body, els: els}}
	}
	t := &condTok{pos: i, cond: cond, then: body, els: els}
	if kw == "unless" {
		t.then, t.els = els, body
	}
	return t, end, true
}

// condition parses one of: A == B, "x" == A, A == "x", A (with != too).
func (p *parser) condition(i int) (condition, int, bool) {
	far := i
	// A == B
	l, e, ok := p.expression(p.ws(i))
	if ok {
		if op, e2, ok := p.compare(p.ws(e)); ok {
			if r, e3, ok := p.expression(p.ws(e2)); ok {
				return condition{left: l, op: op, right: r}, p.ws(e3), true
			} else {
				far = max(far, e3)
			}
		} else {
			far = max(far, e2)
		}
	} else {
		far = max(far, e)
	}
	// "x" == A
	if s, e, ok := p.quoted(i); ok {
		if op, e2, ok := p.compare(e); ok {
			if r, e3, ok := p.expression(p.ws(e2)); ok {
				return condition{left: r, op: op, rightStr: &s}, p.ws(e3), true
			} else {
				far = max(far, e3)
			}
		} else {
			far = max(far, e2)
		}
	} else {
		far = max(far, e)
	}
	// A == "x", A
	if l != nil {
		if op, e2, ok := p.compare(p.ws(e)); ok {
			if s, e3, ok := p.quoted(e2); ok {
				return condition{left: l, op: op, rightStr: &s}, p.ws(e3), true
			} else {
				far = max(far, e3)
			}
		}
		return condition{left: l}, p.ws(e), true
	}
	return condition{}, far, false
}

// compare parses == or != with white space around.
func (p *parser) compare(i int) (int, int, bool) {
	if e, ok := p.lit(i, "=="); ok {
		return opEq, p.ws(e), true
	}
	if e, ok := p.lit(i, "!="); ok {
		return opNe, p.ws(e), true
	}
	return 0, i + 1, false
}

// repetition parses #{each item in Collection}...#{/each}.
func (p *parser) repetition(i int) (token, int, bool) {
	j, ok := p.ldelim(i)
	if !ok {
		return nil, j, false
	}
	j, ok = p.keyword(p.ws(j), "each")
	if !ok {
		return nil, j, false
	}
	if j, ok = p.wsOne(j); !ok {
		return nil, j, false
	}
	item, j, ok := p.identifier(p.ws(j), true)
	if !ok {
		return nil, j, false
	}
	if j, ok = p.keyword(p.ws(j), "in"); !ok {
		return nil, j, false
	}
	coll, j, ok := p.symbol(p.ws(j))
	if !ok {
		return nil, j, false
	}
	j = p.ws(j)
	if j >= len(p.src) || p.src[j] != '}' {
		return nil, j, false
	}
	if !p.enter() {
		return nil, j, false
	}
	defer p.leave()
	body, j := p.tokens(j+1, bodyFull)
	end, ok := p.lit(j, "#{/each}")
	if !ok {
		return nil, end, false
	}
	return &repTok{pos: i, item: item, coll: coll, body: body}, end, true
}

// calculation parses #{calc expression} with + - * / and parentheses.
func (p *parser) calculation(i int) (token, int, bool) {
	j, ok := p.ldelim(i)
	if !ok {
		return nil, j, false
	}
	j, ok = p.keyword(p.ws(j), "calc")
	if !ok {
		return nil, j, false
	}
	if j, ok = p.wsOne(j); !ok {
		return nil, j, false
	}
	if !p.enter() {
		return nil, j, false
	}
	defer p.leave()
	c, j, ok := p.calcChain(j, "+-")
	if !ok {
		return nil, j, false
	}
	j = p.ws(j)
	if j >= len(p.src) || p.src[j] != '}' {
		return nil, j, false
	}
	return &calcTok{pos: i, expr: c}, j + 1, true
}

// calcChain parses operands joined by left-associative operators: "+-"
// over terms, "*/" over factors.
func (p *parser) calcChain(i int, ops string) (calcNode, int, bool) {
	operand := p.calcTerm
	if ops == "*/" {
		operand = p.calcFactor
	}
	left, k, ok := operand(i)
	if !ok {
		return nil, k, false
	}
	for {
		m := p.ws(k)
		if m >= len(p.src) || strings.IndexByte(ops, p.src[m]) < 0 {
			return left, k, true
		}
		right, e, ok := operand(p.ws(m + 1))
		if !ok {
			return left, k, true
		}
		left = &calcOp{op: p.src[m], left: left, right: right}
		k = e
	}
}

func (p *parser) calcTerm(i int) (calcNode, int, bool) { return p.calcChain(i, "*/") }

func (p *parser) calcFactor(i int) (calcNode, int, bool) {
	if i < len(p.src) && p.src[i] == '(' {
		if !p.enter() {
			return nil, i, false
		}
		defer p.leave()
		c, e, ok := p.calcChain(i+1, "+-")
		if !ok {
			return nil, e, false
		}
		if e >= len(p.src) || p.src[e] != ')' {
			return nil, e, false
		}
		return c, e + 1, true
	}
	// A number, {Symbol} or Symbol.
	if i < len(p.src) && (p.src[i] >= '0' && p.src[i] <= '9' || p.src[i] == '.') {
		return p.calcNumber(i)
	}
	if i < len(p.src) && p.src[i] == '{' {
		s, e, ok := p.symbol(p.ws(i + 1))
		if !ok {
			return nil, e, false
		}
		e = p.ws(e)
		if e >= len(p.src) || p.src[e] != '}' {
			return nil, e, false
		}
		return &calcVar{sym: s}, e + 1, true
	}
	s, e, ok := p.symbol(p.ws(i))
	if !ok {
		return nil, e, false
	}
	return &calcVar{sym: s}, p.ws(e), true
}

// calcNumber parses digits[.digits] or .digits.
func (p *parser) calcNumber(i int) (calcNode, int, bool) {
	k := i
	for k < len(p.src) && p.src[k] >= '0' && p.src[k] <= '9' {
		k++
	}
	if k < len(p.src) && p.src[k] == '.' {
		f := k + 1
		for f < len(p.src) && p.src[f] >= '0' && p.src[f] <= '9' {
			f++
		}
		if f == k+1 {
			return nil, f, false
		}
		k = f
	}
	v, err := parseFloatInvariant(p.src[i:k])
	if err != nil {
		return nil, k, false
	}
	return &calcConst{v: v}, k, true
}

// parseName parses a variable name as a symbol, accepting the longest
// prefix that parses (as Octostache binds names). ok is false for names
// that do not start with an identifier.
func parseName(name string) (*symbolExpr, bool) {
	p := &parser{src: name}
	s, _, ok := p.symbol(0)
	return s, ok && !p.tooDeep
}
