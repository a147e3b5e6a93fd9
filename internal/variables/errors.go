package variables

import (
	"errors"
	"fmt"
	"strings"
)

// ErrLimit is wrapped by errors returned when a template exceeds an expansion
// bound (output size, nesting depth or evaluation steps).
var ErrLimit = errors.New("expansion limit exceeded")

// UndefinedError reports a reference to a variable that is not in the set.
type UndefinedError struct {
	Name string
}

func (e *UndefinedError) Error() string {
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
