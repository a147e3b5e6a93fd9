package variables

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Mode says what a render does with a place it cannot substitute.
type Mode int

const (
	// Strict fails the render: an undefined variable, a malformed
	// expression or a filter that cannot be applied is an error naming it.
	// Scripts are rendered strictly.
	Strict Mode = iota
	// Lenient leaves such places as they are, as Octostache does (a
	// malformed expression stays as written, an undefined variable is
	// echoed as #{Name}), and lists each as a warning. Files substituted by
	// deploy-package are rendered leniently.
	Lenient
)

// Result is a rendered text.
type Result struct {
	Text string
	// Derived lists the values in Text computed from sensitive values
	// (through filters, nesting, loops, JSON or calc), for masking logs.
	Derived []string
	// Warnings lists the places left as they are (lenient mode), and notes
	// such as a value that is not a valid template (both modes).
	Warnings []Problem
	// Null is set when the template used the null filter, which in
	// Octostache makes the whole result null; Text is then empty.
	Null bool
}

// Render substitutes every #{...} expression of text using s. Text without
// "#{" is returned unchanged.
//
// Errors: in Strict mode a *SyntaxError for a text that does not parse, or
// a *ProblemsError listing each undefined variable (*UndefinedError) or
// filter that could not be applied (*FilterError). In both modes an error
// wrapping ErrLimit when a bound is exceeded, or a *CycleError when values
// refer to each other in a loop.
func Render(text string, s *Set, mode Mode) (Result, error) {
	return render(text, s, mode, limits{output: maxOutput, steps: maxSteps})
}

// Substitute renders text strictly and returns the text.
func Substitute(text string, s *Set) (string, error) {
	r, err := Render(text, s, Strict)
	return r.Text, err
}

func render(text string, s *Set, mode Mode, lim limits) (res Result, err error) {
	if !strings.Contains(text, "#{") {
		return Result{Text: text}, nil
	}
	parse := parseLenient
	if mode == Strict {
		parse = parseStrict
	}
	tpl, err := parse(text)
	if err != nil {
		return Result{}, err
	}
	e := &evaluator{mode: mode, lim: lim, src: text, loc: locator{src: text}, regexLeft: regexBudget}
	for _, sk := range tpl.skipped {
		e.addProblem(sk[0], fmt.Errorf("not a valid expression, left as it is: %q", snippet(text[sk[0]:])))
	}
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(fatal)
			if !ok {
				panic(r)
			}
			line, col := e.loc.at(e.pos)
			res, err = Result{}, fmt.Errorf("line %d, col %d: %w", line, col, f.err)
		}
	}()
	root := &ctx{root: s.binding()}
	o := e.newOutput()
	o.top = true
	o.b.Grow(len(text))
	e.evalTokens(tpl.toks, root, o)
	sortProblems(e)
	if mode == Strict && len(e.problems) > 0 {
		return Result{}, &ProblemsError{Problems: e.problems}
	}
	res = Result{Text: o.b.String(), Derived: e.derived, Warnings: append(e.problems, e.notes...), Null: e.null}
	if e.null {
		res.Text = ""
	}
	return res, nil
}

// sortProblems puts problems in text order (recovery warnings are found
// before evaluation).
func sortProblems(e *evaluator) {
	sort.SliceStable(e.problems, func(i, j int) bool {
		a, b := e.problems[i], e.problems[j]
		return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
	})
}

// syntaxError describes the token at offset at that did not parse; far is
// how far the parser got into it.
func syntaxError(src string, at, far int) error {
	line, col := lineCol(src, at)
	tag := snippet(src[at:])
	var msg string
	switch {
	case strings.HasPrefix(src[at:], "#{/"):
		msg = fmt.Sprintf("%q closes no open block (or its opening tag is malformed)", tag)
	case far >= len(src):
		msg = fmt.Sprintf("%q is not closed (missing \"}\" or closing tag)", tag)
	default:
		fl, fc := lineCol(src, far)
		r, _ := utf8.DecodeRuneInString(src[far:])
		msg = fmt.Sprintf("malformed expression %q: unexpected %q at line %d, col %d", tag, r, fl, fc)
	}
	return &SyntaxError{Line: line, Col: col, Msg: msg}
}

// snippet returns the start of the tag at the start of s, up to the end of
// its line, shortened for messages.
func snippet(s string) string {
	if len(s) > 256 { // 40 characters are at most 160 bytes
		s = s[:256]
	}
	if nl := strings.IndexByte(s, '\n'); nl >= 0 {
		s = s[:nl]
	}
	if end := strings.IndexByte(s, '}'); end >= 0 && end < 60 {
		s = s[:end+1]
	}
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "..."
	}
	return s
}
