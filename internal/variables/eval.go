package variables

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Bounds that keep a hostile template from exhausting memory or time.
const (
	maxDepth    = 64              // variable values expanding other values
	maxOutput   = 64 << 20        // bytes produced by one expansion or filter
	maxSteps    = 8 << 20         // tokens evaluated and loop iterations run by one render
	regexBudget = 1 * time.Second // time spent in regular expressions by one render
)

// limits bounds the work of one render. It is a value rather than constants
// so tests can reach the bounds cheaply; now is the clock of the date
// filters (time.Now when nil).
type limits struct {
	output int
	steps  int
	now    func() time.Time
}

// val is an evaluated string and whether it derives from a sensitive value.
type val struct {
	s    string
	sens bool
}

// ctx is an evaluation scope: the set's tree at the root, an #{each}
// iteration's variables in a child. Names not found in a scope are looked up
// in its parent.
type ctx struct {
	root   *node
	parent *ctx
}

// fatal carries an error that stops the whole render (a limit, a cycle).
type fatal struct{ err error }

type cacheEntry struct {
	v     val
	inner []error
}

// evaluator holds the state of one render.
type evaluator struct {
	mode  Mode
	lim   limits
	steps int

	expanding []*node              // values being expanded, outermost first
	frames    []*[]error           // problems met by each expansion in progress
	cache     map[*node]cacheEntry // expansions of values found at the root
	parsed    map[string]*template // values parsed as templates (nil: not a template)
	jsonCache map[string]*jsonVal  // values read as JSON (nil: not JSON)
	caught    bool                 // a cycle was caught while reading JSON: do not cache
	missing   string               // why the last JSON step found nothing ("" when it was not JSON's doing)

	pos      int // offset of the top-level token being evaluated
	problems []Problem
	notes    []Problem // never fail a render
	seen     map[string]bool
	src      string
	loc      locator // positions in src

	derived     []string
	derivedSeen map[string]bool
	null        bool
	regexLeft   time.Duration
}

func (e *evaluator) fail(err error) { panic(fatal{err}) }

func (e *evaluator) clock() time.Time {
	if e.lim.now != nil {
		return e.lim.now()
	}
	return time.Now()
}

// step counts one unit of work against the step limit.
func (e *evaluator) step() {
	if e.steps++; e.steps > e.lim.steps {
		e.fail(fmt.Errorf("%w: more than %d evaluation steps", ErrLimit, e.lim.steps))
	}
}

// problem records a place that could not be substituted.
func (e *evaluator) problem(err error) {
	if x := e.sensitiveExpanding(); x != nil {
		err = &hiddenProblem{name: x.name, err: err}
	} else if n := len(e.expanding); n > 0 && e.expanding[n-1].name != "" {
		err = fmt.Errorf("in the value of %q: %w", e.expanding[n-1].name, err)
	}
	for _, f := range e.frames {
		*f = append(*f, err)
	}
	e.addProblem(e.pos, err)
}

// sensitiveExpanding is the outermost sensitive value being expanded, or
// nil: a problem met inside it (or in a value it reaches) is reported by
// its name alone, since the problem's own words quote its text.
func (e *evaluator) sensitiveExpanding() *node {
	for _, x := range e.expanding {
		if x.sens && x.name != "" {
			return x
		}
	}
	return nil
}

// hiddenProblem is a problem inside a sensitive value: its message names
// the variable but shows nothing of the value (an undefined name, a
// filter's arguments, an expression are parts of it); errors.As still
// reaches the problem itself.
type hiddenProblem struct {
	name string
	err  error
}

func (h *hiddenProblem) Error() string {
	return fmt.Sprintf("in the value of %q (sensitive): an expression in it cannot be substituted; what is wrong is not shown, as it would show part of the value (check the value where it is set)", h.name)
}

func (h *hiddenProblem) Unwrap() error { return h.err }

func (e *evaluator) addProblem(pos int, err error) {
	key := strconv.Itoa(pos) + err.Error()
	if e.seen[key] {
		return
	}
	if e.seen == nil {
		e.seen = make(map[string]bool)
	}
	e.seen[key] = true
	line, col := e.loc.at(pos)
	e.problems = append(e.problems, Problem{Line: line, Col: col, Err: err})
}

// output accumulates expanded text up to max bytes.
type output struct {
	b       strings.Builder
	max     int
	tainted bool
	top     bool // the render's own output: tainted values are reported
}

func (e *evaluator) newOutput() *output { return &output{max: e.lim.output} }

func (e *evaluator) write(o *output, v val) {
	if o.b.Len()+len(v.s) > o.max {
		e.fail(fmt.Errorf("%w: output would exceed %s", ErrLimit, sizeText(o.max)))
	}
	o.b.WriteString(v.s)
	if v.sens && v.s != "" {
		o.tainted = true
		if o.top {
			e.addDerived(v.s)
		}
	}
}

// addDerived remembers a value computed from a sensitive one, for masking.
// A bare true or false (the answer of a comparison filter) carries one bit
// and would mask every boolean in a log, so it is not kept.
func (e *evaluator) addDerived(s string) {
	if strings.EqualFold(s, "true") || strings.EqualFold(s, "false") || strings.TrimSpace(s) == "" {
		return
	}
	if e.derivedSeen == nil {
		e.derivedSeen = make(map[string]bool)
	}
	if !e.derivedSeen[s] {
		e.derivedSeen[s] = true
		e.derived = append(e.derived, s)
	}
}

func sizeText(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// evalTokens evaluates tokens into o.
func (e *evaluator) evalTokens(toks []token, c *ctx, o *output) {
	for _, t := range toks {
		e.step()
		switch t := t.(type) {
		case *textTok:
			e.write(o, val{s: t.text})
		case *substTok:
			e.at(t.pos)
			e.evalSubst(t, c, o)
		case *condTok:
			e.at(t.pos)
			e.evalCond(t, c, o)
		case *repTok:
			e.at(t.pos)
			e.evalEach(t, c, o)
		case *calcTok:
			e.at(t.pos)
			e.evalCalc(t, c, o)
		}
	}
}

// at notes the position of a token of the rendered text itself (tokens of
// variable values report at the reference that led to them).
func (e *evaluator) at(pos int) {
	if len(e.expanding) == 0 {
		e.pos = pos
	}
}

func (e *evaluator) evalSubst(t *substTok, c *ctx, o *output) {
	v, ok, why := e.calc(t.expr, c)
	if ok {
		e.write(o, v)
		return
	}
	if call, isCall := t.expr.(*callExpr); isCall && call.fn == "null" {
		e.null = true
		if e.mode == Strict {
			e.problem(&FilterError{Filter: "null", Expr: canonString(t), Reason: "it makes the whole text null"})
		}
	} else {
		e.problem(blockHint(t, why))
	}
	e.write(o, val{s: canonString(t)})
}

// blockHint explains "#{if X}" that was read as a variable named "if X":
// Octostache reads a block that does not parse (say, its #{/if} is
// missing) as a plain expression.
func blockHint(t *substTok, why error) error {
	s, ok := t.expr.(*symbolExpr)
	if !ok {
		return why
	}
	first := strings.ToLower(s.stepList()[0].text)
	for _, kw := range []string{"if", "unless", "each", "elseif", "calc", "else"} {
		if first == kw || strings.HasPrefix(first, kw+" ") || strings.HasPrefix(first, kw+"\t") {
			return fmt.Errorf("%q is not a complete #{%s}: check its syntax and that its closing tag follows (%w)", canonString(t), kw, why)
		}
	}
	return why
}

// calc evaluates an expression. ok is false when it has no value (an
// undefined variable, or a filter that gives none); why then says which.
func (e *evaluator) calc(x expr, c *ctx) (val, bool, error) {
	switch x := x.(type) {
	case *symbolExpr:
		v, ok := e.lookupOrWhy(x, c)
		if !ok {
			return val{}, false, &UndefinedError{Name: x.name(), Reason: e.missing}
		}
		return v, true, nil
	case *callExpr:
		var arg val
		argOK, hasArg := false, x.arg != nil
		var why error
		if hasArg {
			arg, argOK, why = e.calc(x.arg, c)
		}
		opts := make([]string, len(x.opts))
		sens := arg.sens
		for i, o := range x.opts {
			ov := e.option(o, c)
			opts[i], sens = ov.s, sens || ov.sens
		}
		out, ok, reason := e.callFilter(x.fn, arg.s, argOK, opts)
		if !ok {
			if why == nil || !hasArg {
				why = &FilterError{Filter: x.fn, Expr: "#{" + canonString(x) + "}", Reason: reason}
			}
			return val{}, false, why
		}
		if len(out) > maxOutput {
			e.fail(fmt.Errorf("%w: filter %s would produce more than %s", ErrLimit, x.fn, sizeText(maxOutput)))
		}
		if why != nil {
			// Octostache lets "#{Undefined | Append x}" give "x"; ferry
			// still names the undefined variable.
			e.problem(why)
		}
		return val{s: out, sens: sens}, true, nil
	}
	return val{}, false, errors.New("empty expression")
}

// option evaluates a filter option: literal text, or a tag evaluated into a
// string (an undefined variable there is echoed, as Octostache does).
func (e *evaluator) option(t token, c *ctx) val {
	if tt, ok := t.(*textTok); ok {
		return val{s: tt.text}
	}
	o := e.newOutput()
	e.evalTokens([]token{t}, c, o)
	return val{s: o.b.String(), sens: o.tainted}
}

// lookup finds a symbol and returns its evaluated value.
func (e *evaluator) lookup(s *symbolExpr, c *ctx) (val, bool) {
	n, found, sens := e.resolve(s, c)
	if n == nil {
		return val{}, false
	}
	v, ok := e.final(n, found)
	v.sens = v.sens || sens
	return v, ok
}

// lookupOrWhy is lookup that, when the symbol has no value because a JSON
// value lacks the property or element it names, leaves the reason in
// e.missing (else "").
func (e *evaluator) lookupOrWhy(s *symbolExpr, c *ctx) (val, bool) {
	e.missing = ""
	v, ok := e.lookup(s, c)
	if ok {
		e.missing = ""
	}
	return v, ok
}

// resolve finds the node a symbol names: indexers computed from other
// symbols are evaluated first, then the path is walked in the innermost
// scope, then in each enclosing one. Octopus.* and Ferry.* are one root.
// It returns the scope the node was found in, and whether a computed
// index was sensitive.
func (e *evaluator) resolve(s *symbolExpr, c *ctx) (*node, *ctx, bool) {
	if s.dotted != "" {
		for cc := c; cc != nil; cc = cc.parent {
			if n, ok := e.walkDotted(cc.root, s.dotted, cc); ok {
				return n, cc, false
			}
			first, rest, _ := strings.Cut(s.dotted, ".")
			if alias, ok := aliasRoot(strings.ToLower(first)); ok {
				if rest != "" {
					alias += "." + rest
				}
				if n, ok := e.walkDotted(cc.root, alias, cc); ok {
					return n, cc, false
				}
			}
		}
		return nil, nil, false
	}
	steps, sens, ok := e.literalSteps(s, c)
	if !ok {
		return nil, nil, false
	}
	for cc := c; cc != nil; cc = cc.parent {
		if n, ok := e.walk(cc.root, steps, cc); ok {
			return n, cc, sens
		}
		if alias, ok := aliasRoot(strings.ToLower(steps[0].text)); ok {
			aliased := append([]step{{text: alias}}, steps[1:]...)
			if n, ok := e.walk(cc.root, aliased, cc); ok {
				return n, cc, sens
			}
		}
	}
	return nil, nil, false
}

// literalSteps replaces [#{Symbol}] indexers by the symbol's value.
func (e *evaluator) literalSteps(s *symbolExpr, c *ctx) ([]step, bool, bool) {
	steps := s.steps
	sens, copied := false, false
	for i, st := range s.steps {
		if st.sym == nil {
			continue
		}
		if !copied {
			steps, copied = append([]step(nil), s.steps...), true
		}
		v, ok := e.lookup(st.sym, c)
		if !ok {
			return nil, false, false
		}
		steps[i] = step{text: v.s, index: true}
		sens = sens || v.sens
	}
	return steps, sens, true
}

// walk follows steps from n. A step that names no child may still be a
// property of a JSON value.
func (e *evaluator) walk(n *node, steps []step, c *ctx) (*node, bool) {
	for _, st := range steps {
		if st.index && st.text == "*" && len(n.order) > 0 {
			n = n.order[0]
			continue
		}
		if ch := n.get(st.text, st.index); ch != nil {
			n = ch
			continue
		}
		sub, ok := e.jsonProperty(n, st.text, c)
		if !ok {
			return nil, false
		}
		n = sub
	}
	return n, true
}

// walkDotted walks a plain dotted name segment by segment.
func (e *evaluator) walkDotted(n *node, path string, c *ctx) (*node, bool) {
	for path != "" {
		seg := path
		if dot := strings.IndexByte(path, '.'); dot >= 0 {
			seg, path = path[:dot], path[dot+1:]
		} else {
			path = ""
		}
		if ch := n.get(seg, false); ch != nil {
			n = ch
			continue
		}
		sub, ok := e.jsonProperty(n, seg, c)
		if !ok {
			return nil, false
		}
		n = sub
	}
	return n, true
}

// final evaluates the value of the node a symbol named, in the scope it
// was found in. A node without a value has none (nil is undefined).
func (e *evaluator) final(n *node, c *ctx) (val, bool) {
	if !n.hasItem {
		return val{}, false
	}
	if !strings.Contains(n.item, "#{") {
		return val{s: n.item, sens: n.sens}, true
	}
	v, cycle := e.expand(n, c)
	if cycle {
		e.fail(e.cycleError(n))
	}
	return v, true
}

func (e *evaluator) cycleError(n *node) error {
	var path []string
	start := 0
	for i, x := range e.expanding {
		if x == n {
			start = i
			break
		}
	}
	for _, x := range e.expanding[start:] {
		path = append(path, x.name)
	}
	return &CycleError{Path: append(path, n.name)}
}

// expand evaluates a value that holds expressions, in scope c. cycle is
// true when the value is already being expanded (it refers to itself).
func (e *evaluator) expand(n *node, c *ctx) (val, bool) {
	root := c.parent == nil
	if root {
		if ce, ok := e.cache[n]; ok {
			for _, err := range ce.inner {
				e.problem(err)
			}
			return ce.v, false
		}
	}
	for _, x := range e.expanding {
		// Nodes made while rendering (JSON properties) are new each time
		// they are read, so they are known by their text.
		if x == n || x.made && n.made && x.item == n.item {
			return val{}, true
		}
	}
	if len(e.expanding) >= maxDepth {
		e.fail(fmt.Errorf("%w: variable values nested deeper than %d levels", ErrLimit, maxDepth))
	}
	tpl := e.parseValue(n.item)
	if tpl == nil {
		// Octostache uses a value that is not a valid template as it is
		// (a password may well contain "#{"): a note, never a failure.
		if n.name != "" {
			line, col := e.loc.at(e.pos)
			e.notes = append(e.notes, Problem{Line: line, Col: col,
				Err: fmt.Errorf("the value of %q is not a valid template; it is used as it is", n.name)})
		}
		return val{s: n.item, sens: n.sens}, false
	}
	var inner []error
	e.expanding = append(e.expanding, n)
	e.frames = append(e.frames, &inner)
	caught := e.caught
	e.caught = false
	o := e.newOutput()
	e.evalTokens(tpl.toks, c, o)
	e.expanding = e.expanding[:len(e.expanding)-1]
	e.frames = e.frames[:len(e.frames)-1]
	v := val{s: o.b.String(), sens: n.sens || o.tainted}
	if root && !e.caught {
		if e.cache == nil {
			e.cache = make(map[*node]cacheEntry)
		}
		e.cache[n] = cacheEntry{v: v, inner: inner}
	}
	e.caught = e.caught || caught
	return v, false
}

// parseValue parses a variable's value as a template, the all-or-nothing
// way Octostache parses values; nil when it does not parse.
func (e *evaluator) parseValue(s string) *template {
	if t, ok := e.parsed[s]; ok {
		return t
	}
	t, err := parseStrict(s)
	if err != nil {
		t = nil
	}
	if e.parsed == nil {
		e.parsed = make(map[string]*template)
	}
	e.parsed[s] = t
	return t
}

// jsonProperty reads property (or array index) prop of n's value as JSON.
// A property the object does not have, an index past the end of the
// array, or any property of a scalar is no value — undefined, as a
// variable that is not in the set is (Octostache reads these as empty;
// ferry fails the step instead of deploying an empty setting) — and
// e.missing says why, naming the path but, for a sensitive value, nothing
// of what it holds.
func (e *evaluator) jsonProperty(n *node, prop string, c *ctx) (*node, bool) {
	e.missing = ""
	if !n.hasItem || n.item == "" || prop == "" {
		return nil, false
	}
	text, sens := n.item, n.sens
	if strings.Contains(text, "#{") {
		v, cycle := e.expand(n, c)
		e.missing = ""
		if cycle {
			e.caught = true
			return nil, false
		}
		text, sens = v.s, v.sens
	}
	jv := e.json(text)
	if jv == nil {
		return nil, false
	}
	name := n.name + "." + prop
	switch jv.kind {
	case jsonArray:
		i, ok := parseIntDotNet(prop)
		if !ok || i < 0 {
			return nil, false
		}
		if i >= len(jv.arr) {
			e.missing = missingText(n.name, sens, fmt.Sprintf("is a JSON array of %d element(s): [%s] is past its end", len(jv.arr), prop), "["+prop+"]")
			return nil, false
		}
		return jsonNode(jv.arr[i], sens, name), true
	case jsonObject:
		if _, ok := jv.vals[prop]; !ok {
			e.missing = missingText(n.name, sens, fmt.Sprintf("is a JSON object without property %q (property names are case-sensitive)", prop), prop)
			return nil, false
		}
		return jsonNode(jv.vals[prop], sens, name), true
	case jsonNull, jsonUndefined:
		return nil, false
	}
	e.missing = missingText(n.name, sens, fmt.Sprintf("is a single JSON value, without property %q", prop), prop)
	return nil, false
}

// missingText says why a JSON step found nothing: what the value is when
// it is not sensitive, and only the step asked for when it is.
func missingText(name string, sens bool, what, step string) string {
	if sens {
		return fmt.Sprintf("the sensitive value of %q has no JSON property or element %q (nothing of the value is shown)", name, step)
	}
	return fmt.Sprintf("the value of %q %s", name, what)
}

func jsonNode(v *jsonVal, sens bool, name string) *node {
	return &node{item: v.text(), hasItem: true, sens: sens, made: true, name: name}
}

func (e *evaluator) json(text string) *jsonVal {
	if v, ok := e.jsonCache[text]; ok {
		return v
	}
	e.steps += len(text) >> 6 // reading JSON is work too
	v, ok := parseJSON(text)
	if !ok {
		v = nil
	}
	if e.jsonCache == nil {
		e.jsonCache = make(map[string]*jsonVal)
	}
	e.jsonCache[text] = v
	return v
}

func (e *evaluator) evalCond(t *condTok, c *ctx, o *output) {
	left, ok := e.condSide(t.cond.left, c)
	if !ok {
		e.write(o, val{s: canonString(t)})
		return
	}
	var result bool
	switch {
	case t.cond.op == opTruthy:
		result = truthy(left)
	case t.cond.rightStr != nil:
		result = (left == *t.cond.rightStr) == (t.cond.op == opEq)
	default:
		right, ok := e.condSide(t.cond.right, c)
		if !ok {
			e.write(o, val{s: canonString(t)})
			return
		}
		result = (left == right) == (t.cond.op == opEq)
	}
	if result {
		e.evalTokens(t.then, c, o)
	} else {
		e.evalTokens(t.els, c, o)
	}
}

// condSide evaluates one side of a condition: an undefined variable is the
// empty string there (that is how #{if Name} tests for a value); a filter
// that gives no value makes the whole condition unusable.
func (e *evaluator) condSide(x expr, c *ctx) (string, bool) {
	if s, ok := x.(*symbolExpr); ok {
		v, _ := e.lookup(s, c)
		return v.s, true
	}
	v, ok, why := e.calc(x, c)
	if !ok {
		e.problem(why)
		return "", false
	}
	return v.s, true
}

// truthy is Octostache's test: anything but "", "0", "no" and "false"
// (case-insensitive, ignoring surrounding white space for the words).
func truthy(v string) bool {
	if v == "" || v == "0" {
		return false
	}
	t := strings.TrimFunc(v, isWS)
	return !strings.EqualFold(t, "no") && !strings.EqualFold(t, "false")
}

func (e *evaluator) evalEach(t *repTok, c *ctx, o *output) {
	items, ok := e.items(t.coll, c)
	if !ok {
		e.problem(&UndefinedError{Name: t.coll.name()})
		return
	}
	itemKey := strings.ToLower(t.item)
	for i, item := range items {
		e.step()
		locals := eachLocals(i, len(items))
		locals.setChild(itemKey, item)
		e.evalTokens(t.body, &ctx{root: locals, parent: c}, o)
	}
}

// items returns the elements #{each} visits: the indexed children of a
// name (Octopus.Action[...]), else the elements of a JSON array or the
// properties of a JSON object (each with .Key and .Value), else the
// comma-separated parts of the value, exactly as split.
func (e *evaluator) items(s *symbolExpr, c *ctx) ([]*node, bool) {
	n, found, sens := e.resolve(s, c)
	if n == nil {
		return nil, false
	}
	if !n.hasItem {
		return n.order, true
	}
	v, _ := e.final(n, found)
	sens = sens || v.sens
	if jv := e.json(v.s); jv != nil && (jv.kind == jsonArray || jv.kind == jsonObject) {
		var items []*node
		if jv.kind == jsonArray {
			for i, el := range jv.arr {
				items = append(items, jsonNode(el, sens, fmt.Sprintf("%s[%d]", n.name, i)))
			}
			return items, true
		}
		for _, k := range jv.keys {
			it := &node{item: k, hasItem: true, sens: sens, made: true}
			it.setChild("key", &node{item: k, hasItem: true, sens: sens, made: true})
			it.setChild("value", jsonNode(jv.vals[k], sens, n.name+"."+k))
			items = append(items, it)
		}
		return items, true
	}
	parts := strings.Split(v.s, ",")
	items := make([]*node, len(parts))
	for i, p := range parts {
		items[i] = &node{item: p, hasItem: true, sens: sens, made: true}
	}
	return items, true
}

// eachLocals builds Octopus.Template.Each.{Index,First,Last} for one
// iteration (Ferry.Template.Each.* reaches them through the alias).
func eachLocals(i, count int) *node {
	each := &node{}
	each.setChild("index", &node{item: strconv.Itoa(i), hasItem: true})
	each.setChild("first", &node{item: boolText(i == 0), hasItem: true})
	each.setChild("last", &node{item: boolText(i == count-1), hasItem: true})
	tpl := &node{}
	tpl.setChild("each", each)
	oct := &node{}
	oct.setChild("template", tpl)
	locals := &node{}
	locals.setChild("octopus", oct)
	return locals
}

func boolText(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func (e *evaluator) evalCalc(t *calcTok, c *ctx, o *output) {
	f, sens, why := e.calcNum(t.expr, c)
	if why != nil {
		e.problem(why)
		e.write(o, val{s: canonString(t)})
		return
	}
	e.write(o, val{s: formatDouble(f), sens: sens})
}

func (e *evaluator) calcNum(n calcNode, c *ctx) (float64, bool, error) {
	switch n := n.(type) {
	case *calcConst:
		return n.v, false, nil
	case *calcVar:
		v, ok := e.lookupOrWhy(n.sym, c)
		if !ok {
			return 0, false, &UndefinedError{Name: n.sym.name(), Reason: e.missing}
		}
		f, ok := parseDoubleDotNet(v.s)
		if !ok {
			return 0, false, fmt.Errorf("#{calc}: the value of %q is not a number", n.sym.name())
		}
		return f, v.sens, nil
	case *calcOp:
		l, ls, err := e.calcNum(n.left, c)
		if err != nil {
			return 0, false, err
		}
		r, rs, err := e.calcNum(n.right, c)
		if err != nil {
			return 0, false, err
		}
		switch n.op {
		case '+':
			l += r
		case '-':
			l -= r
		case '*':
			l *= r
		case '/':
			l /= r
		}
		return l, ls || rs, nil
	}
	return 0, false, errors.New("empty calculation")
}

// lineCol converts a byte offset into a 1-based line and character column.
func lineCol(src string, off int) (line, col int) {
	l := locator{src: src}
	return l.at(off)
}

// locator converts byte offsets of one text into lines and columns.
// Problems are mostly found in text order, so it goes on from the last
// offset it was asked for: a text with many problems costs its length, not
// its length times the number of problems.
type locator struct {
	src            string
	off, line, col int // the last answer; line 0 before the first
}

func (l *locator) at(off int) (line, col int) {
	off = min(max(off, 0), len(l.src))
	if l.line == 0 || off < l.off {
		l.off, l.line, l.col = 0, 1, 1
	}
	for _, r := range l.src[l.off:off] {
		if r == '\n' {
			l.line, l.col = l.line+1, 1
		} else {
			l.col++
		}
	}
	l.off = off
	return l.line, l.col
}
