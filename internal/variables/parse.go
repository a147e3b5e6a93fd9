package variables

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds that keep a hostile template from exhausting memory or time.
const (
	maxDepth  = 32       // nested blocks, inner expressions and value references
	maxOutput = 64 << 20 // bytes produced by one expansion
	maxSteps  = 8 << 20  // nodes evaluated and loop iterations run by one Substitute call
)

// node is one piece of a parsed template. Offsets are byte offsets into the
// parsed text and are only used to report errors.
type node interface {
	offset() int
}

// textNode is literal output.
type textNode struct {
	off  int
	text string
}

// refNode is #{Name | Filter ...}.
type refNode struct {
	off     int
	name    nameExpr
	filters []filterCall
}

// nameExpr is a variable name, possibly built from inner expressions such as
// Url[#{Env}]. When parts is nil the name is the constant lit.
type nameExpr struct {
	lit   string
	parts []namePart
}

// namePart is either literal name text or an inner expression.
type namePart struct {
	lit string
	ref *refNode
}

// condition is the test of an if or unless block.
type condition struct {
	name    nameExpr
	op      string // "", "==" or "!="
	operand string
}

// ifNode is #{if}/#{unless} with an optional #{else}.
type ifNode struct {
	off    int
	negate bool // unless
	cond   condition
	then   []node
	els    []node
}

// eachNode is #{each item in List}.
type eachNode struct {
	off  int
	item string
	list nameExpr
	body []node
}

func (n *textNode) offset() int { return n.off }
func (n *refNode) offset() int  { return n.off }
func (n *ifNode) offset() int   { return n.off }
func (n *eachNode) offset() int { return n.off }

// block is an open #{if}, #{unless} or #{each} awaiting its closing tag.
type block struct {
	kind   string // "if", "unless" or "each"
	tag    string // opening tag text, for messages
	off    int
	ifn    *ifNode
	each   *eachNode
	inElse bool
}

// parser turns template text into a node tree. It reports the first error
// with its position in src.
type parser struct {
	src   string
	root  []node
	stack []*block
}

// parse parses a whole template. Nothing is evaluated, so a malformed
// template is rejected before any output exists.
func parse(src string) ([]node, error) {
	p := &parser{src: src}
	i := 0
	for i < len(src) {
		j := strings.Index(src[i:], "#{")
		if j < 0 {
			break
		}
		j += i
		if j > i && src[j-1] == '#' {
			// ##{ is an escape for the literal text #{.
			p.addText(i, src[i:j-1])
			p.addText(j-1, "#{")
			i = j + 2
			continue
		}
		p.addText(i, src[i:j])
		end, err := p.tagEnd(j)
		if err != nil {
			return nil, err
		}
		if err := p.tag(j, end); err != nil {
			return nil, err
		}
		i = end + 1
	}
	p.addText(i, src[i:])
	if len(p.stack) > 0 {
		b := p.stack[len(p.stack)-1]
		return nil, p.errf(b.off, "unclosed %q (missing \"#{/%s}\")", b.tag, b.kind)
	}
	return p.root, nil
}

// errf builds a SyntaxError at byte offset off of src.
func (p *parser) errf(off int, format string, args ...any) error {
	line, col := lineCol(p.src, off)
	return &SyntaxError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// lineCol converts a byte offset into a 1-based line and character column.
func lineCol(src string, off int) (line, col int) {
	if off > len(src) {
		off = len(src)
	}
	before := src[:off]
	line = 1 + strings.Count(before, "\n")
	lineStart := strings.LastIndexByte(before, '\n') + 1
	return line, 1 + utf8.RuneCountInString(before[lineStart:])
}

// add appends n where the innermost open block is collecting nodes.
func (p *parser) add(n node) {
	if len(p.stack) == 0 {
		p.root = append(p.root, n)
		return
	}
	b := p.stack[len(p.stack)-1]
	switch {
	case b.each != nil:
		b.each.body = append(b.each.body, n)
	case b.inElse:
		b.ifn.els = append(b.ifn.els, n)
	default:
		b.ifn.then = append(b.ifn.then, n)
	}
}

func (p *parser) addText(off int, text string) {
	if text != "" {
		p.add(&textNode{off: off, text: text})
	}
}

// tagEnd returns the offset of the "}" closing the tag that starts with "#{"
// at start. Inner "#{...}" pairs and "..." strings are skipped. Tags do not
// span lines, so a forgotten "}" is reported where it was forgotten.
func (p *parser) tagEnd(start int) (int, error) {
	depth := 0
	inQuote := false
	for i := start + 2; i < len(p.src); i++ {
		c := p.src[i]
		switch {
		case c == '\n':
			i = len(p.src) // a tag never continues on the next line
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '#' && i+1 < len(p.src) && p.src[i+1] == '{':
			depth++
			i++
		case c == '}':
			if depth == 0 {
				return i, nil
			}
			depth--
		}
	}
	if inQuote {
		return 0, p.errf(start, "unterminated string in %q", p.snippet(start))
	}
	return 0, p.errf(start, "unterminated %q (missing \"}\")", p.snippet(start))
}

// snippet returns the start of the tag at off, up to the end of its line,
// shortened for messages.
func (p *parser) snippet(off int) string {
	s := p.src[off:]
	if nl := strings.IndexByte(s, '\n'); nl >= 0 {
		s = s[:nl]
	}
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}

// tag handles one "#{...}" spanning src[start:end+1].
func (p *parser) tag(start, end int) error {
	tagText := p.src[start : end+1]
	c := &cursor{p: p, i: start + 2, end: end}
	c.skipSpace()
	body := strings.TrimRightFunc(p.src[c.i:end], unicode.IsSpace)
	switch {
	case body == "":
		return p.errf(start, "empty expression %q", tagText)
	case body == "else":
		return p.elseTag(start, tagText)
	case body == "/if" || body == "/unless" || body == "/each":
		return p.closeTag(start, tagText, body[1:])
	}
	for _, kw := range []string{"if", "unless", "each"} {
		rest, ok := keyword(body, kw)
		if !ok {
			continue
		}
		if strings.TrimSpace(rest) == "" {
			return p.errf(start, "%q needs %s", tagText, blockArgs(kw))
		}
		c.i += len(kw)
		if kw == "each" {
			return p.openEach(start, tagText, c)
		}
		return p.openIf(start, tagText, kw, c)
	}
	ref, err := p.parseRef(start, end, 0)
	if err != nil {
		return err
	}
	p.add(ref)
	return nil
}

// blockArgs describes what a block keyword must be followed by.
func blockArgs(kw string) string {
	if kw == "each" {
		return `"ITEM in LIST"`
	}
	return "a condition"
}

// keyword reports whether s is kw alone or kw followed by white space, and
// returns what follows it.
func keyword(s, kw string) (string, bool) {
	if !strings.HasPrefix(s, kw) {
		return "", false
	}
	rest := s[len(kw):]
	if rest == "" {
		return "", true
	}
	if r, _ := utf8.DecodeRuneInString(rest); unicode.IsSpace(r) {
		return rest, true
	}
	return "", false
}

func (p *parser) push(b *block) error {
	if len(p.stack) >= maxDepth {
		return p.errf(b.off, "blocks nested deeper than %d levels", maxDepth)
	}
	p.stack = append(p.stack, b)
	return nil
}

func (p *parser) openIf(start int, tagText, kind string, c *cursor) error {
	cond, err := c.condition()
	if err != nil {
		return err
	}
	n := &ifNode{off: start, negate: kind == "unless", cond: cond}
	p.add(n)
	return p.push(&block{kind: kind, tag: tagText, off: start, ifn: n})
}

func (p *parser) openEach(start int, tagText string, c *cursor) error {
	c.skipSpace()
	itemStart := c.i
	item, err := c.name(0)
	if err != nil {
		return err
	}
	if item.parts != nil {
		return p.errf(itemStart, "loop variable in %q cannot contain an expression", tagText)
	}
	c.skipSpace()
	if rest, ok := keyword(p.src[c.i:c.end], "in"); !ok || strings.TrimSpace(rest) == "" {
		return p.errf(c.i, "expected \"in LIST\" after %q in %q", item.lit, tagText)
	}
	c.i += len("in")
	c.skipSpace()
	list, err := c.name(0)
	if err != nil {
		return err
	}
	if err := c.expectEnd("after the list name"); err != nil {
		return err
	}
	n := &eachNode{off: start, item: item.lit, list: list}
	p.add(n)
	return p.push(&block{kind: "each", tag: tagText, off: start, each: n})
}

func (p *parser) elseTag(start int, tagText string) error {
	if len(p.stack) == 0 || p.stack[len(p.stack)-1].ifn == nil {
		return p.errf(start, "%q outside \"#{if}\"", tagText)
	}
	b := p.stack[len(p.stack)-1]
	if b.inElse {
		return p.errf(start, "second \"#{else}\" in %q", b.tag)
	}
	b.inElse = true
	return nil
}

func (p *parser) closeTag(start int, tagText, kind string) error {
	if len(p.stack) == 0 {
		return p.errf(start, "stray %q (no open \"#{%s}\")", tagText, kind)
	}
	b := p.stack[len(p.stack)-1]
	if b.kind != kind {
		line, col := lineCol(p.src, b.off)
		return p.errf(start, "unexpected %q: %q at line %d, col %d is still open (missing \"#{/%s}\")",
			tagText, b.tag, line, col, b.kind)
	}
	p.stack = p.stack[:len(p.stack)-1]
	return nil
}

// parseRef parses the expression "#{Name | Filter ...}" spanning
// src[start:end+1]; depth counts enclosing expressions.
func (p *parser) parseRef(start, end, depth int) (*refNode, error) {
	if depth >= maxDepth {
		return nil, p.errf(start, "expressions nested deeper than %d levels", maxDepth)
	}
	c := &cursor{p: p, i: start + 2, end: end}
	c.skipSpace()
	if c.eof() {
		return nil, p.errf(start, "empty expression %q", p.src[start:end+1])
	}
	name, err := c.name(depth)
	if err != nil {
		return nil, err
	}
	n := &refNode{off: start, name: name}
	for {
		c.skipSpace()
		if c.eof() {
			return n, nil
		}
		if c.peek() != '|' {
			word := c.word()
			if name.parts == nil && word != "" {
				return nil, p.errf(c.i, "unexpected %q after variable name %q (names cannot contain spaces)", word, name.lit)
			}
			return nil, p.errf(c.i, "unexpected %q in expression (expected \"|\" or \"}\")", c.rest())
		}
		c.i++
		f, err := c.filter()
		if err != nil {
			return nil, err
		}
		n.filters = append(n.filters, f)
	}
}

// cursor scans the inside of one tag, src[i:end].
type cursor struct {
	p      *parser
	i, end int
}

func (c *cursor) eof() bool  { return c.i >= c.end }
func (c *cursor) peek() byte { return c.p.src[c.i] }

func (c *cursor) rest() string { return c.p.src[c.i:c.end] }

func (c *cursor) skipSpace() {
	for !c.eof() {
		r, size := utf8.DecodeRuneInString(c.p.src[c.i:c.end])
		if !unicode.IsSpace(r) {
			return
		}
		c.i += size
	}
}

// word returns (without consuming) the run of non-space text at the cursor.
func (c *cursor) word() string {
	s := c.rest()
	if k := strings.IndexFunc(s, unicode.IsSpace); k >= 0 {
		s = s[:k]
	}
	return s
}

func (c *cursor) expectEnd(where string) error {
	c.skipSpace()
	if c.eof() {
		return nil
	}
	return c.p.errf(c.i, "unexpected %q %s", c.rest(), where)
}

// isNameRune reports whether r may appear in a variable name.
func isNameRune(r rune) bool {
	switch r {
	case '.', '_', '-', '[', ']':
		return true
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// name reads a variable name, including inner "#{...}" expressions.
func (c *cursor) name(depth int) (nameExpr, error) {
	start := c.i
	var parts []namePart
	litStart := c.i
	for !c.eof() {
		if strings.HasPrefix(c.p.src[c.i:c.end], "#{") {
			parts = appendLit(parts, c.p.src[litStart:c.i])
			innerEnd, err := c.p.tagEnd(c.i)
			if err != nil {
				return nameExpr{}, err
			}
			inner, err := c.p.parseRef(c.i, innerEnd, depth+1)
			if err != nil {
				return nameExpr{}, err
			}
			parts = append(parts, namePart{ref: inner})
			c.i = innerEnd + 1
			litStart = c.i
			continue
		}
		r, size := utf8.DecodeRuneInString(c.p.src[c.i:c.end])
		if !isNameRune(r) {
			break
		}
		c.i += size
	}
	if parts == nil {
		// The common case: a plain name, kept without a parts slice.
		if c.i > start {
			return nameExpr{lit: c.p.src[start:c.i]}, nil
		}
		return nameExpr{}, c.noName()
	}
	return nameExpr{parts: appendLit(parts, c.p.src[litStart:c.i])}, nil
}

func appendLit(parts []namePart, lit string) []namePart {
	if lit == "" {
		return parts
	}
	return append(parts, namePart{lit: lit})
}

// noName reports that a variable name was expected at the cursor.
func (c *cursor) noName() error {
	if c.eof() {
		return c.p.errf(c.i, "expected a variable name")
	}
	r, _ := utf8.DecodeRuneInString(c.rest())
	return c.p.errf(c.i, "expected a variable name, found %q", r)
}

// condition parses "Name", "Name == \"v\"" or "Name != \"v\"".
func (c *cursor) condition() (condition, error) {
	c.skipSpace()
	name, err := c.name(0)
	if err != nil {
		return condition{}, err
	}
	cond := condition{name: name}
	c.skipSpace()
	if c.eof() {
		return cond, nil
	}
	rest := c.rest()
	if !strings.HasPrefix(rest, "==") && !strings.HasPrefix(rest, "!=") {
		return condition{}, c.p.errf(c.i, "unexpected %q in condition (expected \"==\", \"!=\" or \"}\")", rest)
	}
	cond.op = rest[:2]
	c.i += 2
	c.skipSpace()
	if c.eof() || c.peek() != '"' {
		return condition{}, c.p.errf(c.i, "expected a quoted string after %q", cond.op)
	}
	if cond.operand, err = c.quoted(); err != nil {
		return condition{}, err
	}
	return cond, c.expectEnd("after the condition")
}

// quoted reads a "..." string in which only \" and \\ are escapes, so that
// Windows paths survive unchanged.
func (c *cursor) quoted() (string, error) {
	start := c.i
	var b strings.Builder
	for c.i++; c.i < c.end; c.i++ {
		ch := c.p.src[c.i]
		switch {
		case ch == '"':
			c.i++
			return b.String(), nil
		case ch == '\\' && c.i+1 < c.end && (c.p.src[c.i+1] == '"' || c.p.src[c.i+1] == '\\'):
			c.i++
			b.WriteByte(c.p.src[c.i])
		default:
			b.WriteByte(ch)
		}
	}
	return "", c.p.errf(start, "unterminated string")
}

// filter parses "Name arg ..." after a "|".
func (c *cursor) filter() (filterCall, error) {
	c.skipSpace()
	start := c.i
	for !c.eof() {
		r, size := utf8.DecodeRuneInString(c.rest())
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			break
		}
		c.i += size
	}
	name := c.p.src[start:c.i]
	if name == "" {
		return filterCall{}, c.p.errf(start, "expected a filter name after \"|\"")
	}
	var args []string
	for {
		c.skipSpace()
		if c.eof() || c.peek() == '|' {
			break
		}
		argStart := c.i
		if c.peek() == '"' {
			arg, err := c.quoted()
			if err != nil {
				return filterCall{}, err
			}
			args = append(args, arg)
			continue
		}
		for !c.eof() {
			r, size := utf8.DecodeRuneInString(c.rest())
			if unicode.IsSpace(r) || r == '|' || r == '"' {
				break
			}
			c.i += size
		}
		arg := c.p.src[argStart:c.i]
		if strings.Contains(arg, "#{") {
			return filterCall{}, c.p.errf(argStart, "filter arguments cannot contain expressions")
		}
		args = append(args, arg)
	}
	fn, err := buildFilter(name, args)
	if err != nil {
		return filterCall{}, c.p.errf(start, "%s", err)
	}
	return filterCall{name: name, fn: fn}, nil
}
