package variables

import (
	"errors"
	"fmt"
	"strings"
)

// ErrLimit is wrapped by errors returned when a template exceeds an expansion
// bound (output size, nesting depth, evaluation steps or time in regular
// expressions).
var ErrLimit = errors.New("expansion limit exceeded")

// UndefinedError reports a reference to a variable that is not in the set,
// or that reads into a JSON value for a property or element it does not
// have (Reason then says which, never showing a sensitive value's text).
type UndefinedError struct {
	Name   string
	Reason string
}

func (e *UndefinedError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("undefined variable %q: %s", e.Name, e.Reason)
	}
	return fmt.Sprintf("undefined variable %q", e.Name)
}

// SyntaxError reports a malformed template. Line and Col are 1-based; Col
// counts characters (runes), not bytes.
type SyntaxError struct {
	Line, Col int
	Msg       string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, col %d: %s", e.Line, e.Col, e.Msg)
}

// CycleError reports variables whose values reference each other in a loop.
// Path starts and ends with the same name.
type CycleError struct {
	Path []string
}

func (e *CycleError) Error() string {
	return "variable cycle: " + strings.Join(e.Path, " -> ")
}

// FilterError reports a filter that could not be applied: unknown, given
// options it does not take, or given input it cannot read. Expr is the
// expression as written (it never holds a value).
type FilterError struct {
	Filter string
	Expr   string
	Reason string
}

func (e *FilterError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("filter %s cannot be applied in %s", e.Filter, e.Expr)
	}
	return fmt.Sprintf("filter %s in %s: %s", e.Filter, e.Expr, e.Reason)
}

// Problem is one place of a template that could not be substituted. Line
// and Col (1-based, Col in characters) point at the expression in the text
// that was rendered; Err says what is wrong and never holds a value.
type Problem struct {
	Line, Col int
	Err       error
}

func (p Problem) Error() string {
	return fmt.Sprintf("line %d, col %d: %v", p.Line, p.Col, p.Err)
}

func (p Problem) Unwrap() error { return p.Err }

// ProblemsError is the error of a strict render with problems; it lists
// each (errors.As reaches every one, e.g. an *UndefinedError).
type ProblemsError struct {
	Problems []Problem
}

func (e *ProblemsError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems: ", len(e.Problems))
	for i, p := range e.Problems {
		if i == 5 {
			fmt.Fprintf(&b, "; and %d more", len(e.Problems)-i)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.Error())
	}
	return b.String()
}

func (e *ProblemsError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// wrapLimit returns an error wrapping ErrLimit.
func wrapLimit(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrLimit}, args...)...)
}
