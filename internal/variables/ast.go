package variables

import (
	"strings"
)

// A parsed template is a list of tokens. Each token can print itself back as
// Octostache prints it (canonical text): that text is what lenient mode
// leaves in the output when a token cannot be evaluated, so it must match
// Octostache's echo, not the source (`#{ Foo }` echoes as `#{Foo}`).
type token interface {
	canon(b *strings.Builder)
}

// textTok is literal output. Text produced by "##{" stays "#{"; raw text
// is the part of a malformed template that lenient parsing passed over.
type textTok struct {
	text string
}

// substTok is #{expression}.
type substTok struct {
	pos  int
	expr expr
}

// condTok is #{if}/#{unless} (unless is stored with its branches swapped,
// as Octostache does) with #{elseif} folded into nested conditions.
type condTok struct {
	pos  int
	cond condition
	then []token
	els  []token
}

// repTok is #{each item in Collection}.
type repTok struct {
	pos  int
	item string
	coll *symbolExpr
	body []token
}

// calcTok is #{calc ...}.
type calcTok struct {
	pos  int
	expr calcNode
}

// expr is a *symbolExpr or a *callExpr.
type expr interface {
	canon(b *strings.Builder)
}

// symbolExpr is a dotted and indexed name: Octopus.Action[Step A].Name.
// A plain dotted name of ASCII identifier characters (the common case) is
// kept as its text alone, which the evaluator walks segment by segment.
type symbolExpr struct {
	dotted string
	steps  []step
}

// stepList returns the symbol's steps, splitting a dotted name.
func (s *symbolExpr) stepList() []step {
	if s.dotted == "" {
		return s.steps
	}
	parts := strings.Split(s.dotted, ".")
	steps := make([]step, len(parts))
	for i, p := range parts {
		steps[i] = step{text: p}
	}
	return steps
}

// step is one part of a symbol: an identifier, a literal index [x] or an
// index computed from another symbol [#{Name}].
type step struct {
	text  string      // identifier text or literal index
	index bool        // an indexer
	sym   *symbolExpr // indexer computed from a symbol
}

// callExpr is "arg | Function options...". A nil arg is the empty symbol of
// "#{ | NowDate}".
type callExpr struct {
	fn   string
	arg  expr
	opts []token // *textTok or a tag token
}

// condition is the test of a conditional.
type condition struct {
	left     expr
	op       int // opTruthy, opEq or opNe
	rightStr *string
	right    expr
}

const (
	opTruthy = iota
	opEq
	opNe
)

// calcNode is a #{calc} operand or operation.
type calcNode interface {
	canon(b *strings.Builder)
}

type calcConst struct{ v float64 }
type calcVar struct{ sym *symbolExpr }
type calcOp struct {
	op          byte
	left, right calcNode
}

func canonString(t interface{ canon(*strings.Builder) }) string {
	var b strings.Builder
	t.canon(&b)
	return b.String()
}

func canonTokens(b *strings.Builder, toks []token) {
	for _, t := range toks {
		t.canon(b)
	}
}

func (t *textTok) canon(b *strings.Builder) {
	b.WriteString(strings.ReplaceAll(t.text, "#{", "##{"))
}

func (t *substTok) canon(b *strings.Builder) {
	b.WriteString("#{")
	if t.expr != nil {
		t.expr.canon(b)
	}
	b.WriteString("}")
}

func (t *condTok) canon(b *strings.Builder) {
	b.WriteString("#{if ")
	if t.cond.left != nil {
		t.cond.left.canon(b)
	}
	if t.cond.op != opTruthy {
		b.WriteString(" ")
		if t.cond.op == opEq {
			b.WriteString("==")
		} else {
			b.WriteString("!=")
		}
		b.WriteString(" ")
		if t.cond.rightStr != nil {
			b.WriteString(`"` + *t.cond.rightStr + `"`)
		} else {
			t.cond.right.canon(b)
		}
		b.WriteString(" ")
	}
	b.WriteString("}")
	canonTokens(b, t.then)
	if len(t.els) > 0 {
		b.WriteString("#{else}")
		canonTokens(b, t.els)
	}
	b.WriteString("#{/if}")
}

func (t *repTok) canon(b *strings.Builder) {
	b.WriteString("#{each " + t.item + " in ")
	t.coll.canon(b)
	b.WriteString("}")
	canonTokens(b, t.body)
	b.WriteString("#{/each}")
}

func (t *calcTok) canon(b *strings.Builder) {
	b.WriteString("#{")
	t.expr.canon(b)
	b.WriteString("}")
}

func (s *symbolExpr) canon(b *strings.Builder) {
	if s == nil {
		return
	}
	if s.dotted != "" {
		b.WriteString(s.dotted)
		return
	}
	for i, st := range s.steps {
		if !st.index {
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(st.text)
			continue
		}
		b.WriteByte('[')
		if st.sym != nil {
			b.WriteString("#{")
			st.sym.canon(b)
			b.WriteString("}")
		} else {
			b.WriteString(st.text)
		}
		b.WriteByte(']')
	}
}

func (c *callExpr) canon(b *strings.Builder) {
	if c.arg != nil {
		c.arg.canon(b)
	}
	b.WriteString(" | " + c.fn)
	for _, o := range c.opts {
		b.WriteByte(' ')
		if t, ok := o.(*textTok); ok {
			b.WriteByte('"')
			t.canon(b)
			b.WriteByte('"')
			continue
		}
		o.canon(b)
	}
}

func (c *calcConst) canon(b *strings.Builder) { b.WriteString(formatDouble(c.v)) }
func (c *calcVar) canon(b *strings.Builder)   { c.sym.canon(b) }
func (c *calcOp) canon(b *strings.Builder) {
	c.left.canon(b)
	b.WriteByte(c.op)
	c.right.canon(b)
}

// name returns the symbol's canonical text, the name used in messages.
func (s *symbolExpr) name() string {
	if s == nil {
		return ""
	}
	if s.dotted != "" {
		return s.dotted
	}
	return canonString(s)
}
