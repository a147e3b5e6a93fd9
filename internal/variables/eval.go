package variables

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Names of the variables an #{each} block defines besides its loop variable.
const (
	eachIndex = "Ferry.Template.Each.Index"
	eachFirst = "Ferry.Template.Each.First"
	eachLast  = "Ferry.Template.Each.Last"
)

// Substitute expands every expression in text using s. Values may themselves
// contain expressions (nested references), which are expanded recursively
// with cycle detection. Text without "#{" is returned unchanged.
//
// Errors are a *SyntaxError for malformed text, or a positioned error
// wrapping *UndefinedError, *CycleError, *SyntaxError (in a value) or
// ErrLimit; use errors.As / errors.Is.
func Substitute(text string, s *Set) (string, error) {
	return substitute(text, s, limits{output: maxOutput, steps: maxSteps})
}

// limits bounds the work of one Substitute call. It is a parameter rather
// than constants so tests can reach the bounds cheaply.
type limits struct {
	output int // bytes in any one expansion
	steps  int // nodes evaluated plus loop iterations
}

func substitute(text string, s *Set, lim limits) (string, error) {
	if !strings.Contains(text, "#{") {
		return text, nil
	}
	nodes, err := parse(text)
	if err != nil {
		return "", err
	}
	e := &evaluator{set: s, lim: lim, cache: make(map[string]string)}
	out := e.newOutput()
	out.b.Grow(len(text))
	if err := e.eval(nodes, nil, out); err != nil {
		var ne *nodeError
		if errors.As(err, &ne) {
			line, col := lineCol(text, ne.off)
			return "", fmt.Errorf("line %d, col %d: %w", line, col, ne.err)
		}
		return "", err
	}
	return out.b.String(), nil
}

// nodeError records which node of the text being evaluated failed, so the
// caller that owns that text can turn the offset into a line and column.
type nodeError struct {
	off int
	err error
}

func (e *nodeError) Error() string { return e.err.Error() }
func (e *nodeError) Unwrap() error { return e.err }

// at attaches the offset of n to err unless a deeper node already did.
func at(n node, err error) error {
	if _, ok := err.(*nodeError); ok {
		return err
	}
	return &nodeError{off: n.offset(), err: err}
}

// evaluator holds the state of one Substitute call.
type evaluator struct {
	set    *Set
	lim    limits
	cache  map[string]string // fully expanded values by name
	active []string          // names being expanded, outermost first
	steps  int
}

// frame holds the variables one #{each} iteration defines; inner frames
// shadow outer ones and all of them shadow the set. The Each.* values are
// computed on lookup, which keeps an iteration allocation-free.
type frame struct {
	item, value  string
	index, count int
	parent       *frame
}

// get returns the value of name if this frame defines it.
func (f *frame) get(name string) (string, bool) {
	switch name {
	case f.item:
		return f.value, true
	case eachIndex:
		return strconv.Itoa(f.index), true
	case eachFirst:
		return boolText(f.index == 0), true
	case eachLast:
		return boolText(f.index == f.count-1), true
	}
	return "", false
}

// output accumulates expanded text up to max bytes.
type output struct {
	b   strings.Builder
	max int
}

func (e *evaluator) newOutput() *output {
	return &output{max: e.lim.output}
}

func (o *output) write(s string) error {
	if o.b.Len()+len(s) > o.max {
		return fmt.Errorf("%w: output would exceed %s", ErrLimit, sizeText(o.max))
	}
	o.b.WriteString(s)
	return nil
}

func sizeText(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// step counts one unit of work against the step limit.
func (e *evaluator) step() error {
	if e.steps++; e.steps > e.lim.steps {
		return fmt.Errorf("%w: more than %d evaluation steps", ErrLimit, e.lim.steps)
	}
	return nil
}

func (e *evaluator) eval(nodes []node, f *frame, out *output) error {
	for _, n := range nodes {
		if err := e.step(); err != nil {
			return at(n, err)
		}
		var err error
		switch n := n.(type) {
		case *textNode:
			err = out.write(n.text)
		case *refNode:
			err = e.evalRef(n, f, out)
		case *ifNode:
			err = e.evalIf(n, f, out)
		case *eachNode:
			err = e.evalEach(n, f, out)
		}
		if err != nil {
			return at(n, err)
		}
	}
	return nil
}

func (e *evaluator) evalRef(n *refNode, f *frame, out *output) error {
	v, err := e.ref(n, f)
	if err != nil {
		return err
	}
	return out.write(v)
}

// ref returns the filtered value of an expression.
func (e *evaluator) ref(n *refNode, f *frame) (string, error) {
	name, err := e.name(n.name, f)
	if err != nil {
		return "", err
	}
	v, ok, err := e.lookup(name, f)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", &UndefinedError{Name: name}
	}
	for _, fc := range n.filters {
		if v, err = fc.fn(v); err != nil {
			return "", fmt.Errorf("filter %s on %q: %w", fc.name, name, err)
		}
	}
	return v, nil
}

// name evaluates a name, expanding inner expressions such as Url[#{Env}].
func (e *evaluator) name(ne nameExpr, f *frame) (string, error) {
	if ne.parts == nil {
		return ne.lit, nil
	}
	var b strings.Builder
	for _, part := range ne.parts {
		if part.ref == nil {
			b.WriteString(part.lit)
			continue
		}
		v, err := e.ref(part.ref, f)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// lookup finds name in the loop frames, then in the set, and returns its
// fully expanded value.
func (e *evaluator) lookup(name string, f *frame) (string, bool, error) {
	for ; f != nil; f = f.parent {
		if v, ok := f.get(name); ok {
			return v, true, nil // loop values come from expanded lists
		}
	}
	raw, ok := e.set.Get(name)
	if !ok {
		return "", false, nil
	}
	v, err := e.expand(name, raw)
	return v, err == nil, err
}

// expand substitutes the expressions inside the value of name. Values are
// expanded in the global scope (no loop variables), which makes the result
// cacheable for the rest of the call.
func (e *evaluator) expand(name, raw string) (string, error) {
	if !strings.Contains(raw, "#{") {
		return raw, nil
	}
	if v, ok := e.cache[name]; ok {
		return v, nil
	}
	for i, a := range e.active {
		if a == name {
			path := append(append([]string(nil), e.active[i:]...), name)
			return "", &CycleError{Path: path}
		}
	}
	if len(e.active) >= maxDepth {
		return "", fmt.Errorf("%w: variable references nested deeper than %d levels", ErrLimit, maxDepth)
	}
	e.active = append(e.active, name)
	defer func() { e.active = e.active[:len(e.active)-1] }()

	v, err := e.expandNodes(raw)
	if err != nil {
		var cycle *CycleError
		if errors.As(err, &cycle) {
			return "", cycle // the path already names every variable involved
		}
		return "", fmt.Errorf("in variable %q: %w", name, err)
	}
	e.cache[name] = v
	return v, nil
}

func (e *evaluator) expandNodes(raw string) (string, error) {
	nodes, err := parse(raw)
	if err != nil {
		return "", err
	}
	out := e.newOutput()
	if err := e.eval(nodes, nil, out); err != nil {
		if ne, ok := err.(*nodeError); ok {
			err = ne.err // the offset is within the value, not the caller's text
		}
		return "", err
	}
	return out.b.String(), nil
}

func (e *evaluator) evalIf(n *ifNode, f *frame, out *output) error {
	ok, err := e.test(n.cond, f)
	if err != nil {
		return err
	}
	if ok != n.negate {
		return e.eval(n.then, f, out)
	}
	return e.eval(n.els, f, out)
}

// test evaluates a condition. An undefined name is not an error: it is
// false, and it equals no string (so != is true).
func (e *evaluator) test(c condition, f *frame) (bool, error) {
	name, err := e.name(c.name, f)
	if err != nil {
		return false, err
	}
	v, defined, err := e.lookup(name, f)
	if err != nil {
		return false, err
	}
	switch c.op {
	case "==":
		return defined && v == c.operand, nil
	case "!=":
		return !defined || v != c.operand, nil
	}
	return defined && truthy(v), nil
}

func truthy(v string) bool {
	switch v {
	case "", "0", "false", "False", "FALSE", "no":
		return false
	}
	return true
}

func (e *evaluator) evalEach(n *eachNode, f *frame, out *output) error {
	listName, err := e.name(n.list, f)
	if err != nil {
		return err
	}
	list, ok, err := e.lookup(listName, f)
	if err != nil {
		return err
	}
	if !ok {
		return &UndefinedError{Name: listName}
	}
	items := splitList(list)
	// One frame serves every iteration: nothing keeps a reference to it.
	inner := &frame{item: n.item, count: len(items), parent: f}
	for i, item := range items {
		// Count iterations too, or loops with empty bodies would run unbounded.
		if err := e.step(); err != nil {
			return err
		}
		inner.value, inner.index = item, i
		if err := e.eval(n.body, inner, out); err != nil {
			return err
		}
	}
	return nil
}

// splitList splits a comma-separated value, trimming elements and skipping
// empty ones.
func splitList(v string) []string {
	var items []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

func boolText(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
