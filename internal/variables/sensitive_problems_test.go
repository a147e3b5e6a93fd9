package variables

import (
	"errors"
	"strings"
	"testing"
)

// TestProblemsInSensitiveValuesShowNoText: a problem met while expanding a
// sensitive value (or a value reached through one) names the variable
// but shows none of the value's text. Before, an undefined name inside a
// password ("Pa55#{Hunter2}word") was printed in the step's error and the
// task log, which anyone who may view the project reads.
func TestProblemsInSensitiveValuesShowNoText(t *testing.T) {
	for name, secret := range map[string]string{
		"undefined variable": "Pa55#{Hunter2-Secret-Part}word",
		"unknown filter":     "Pa55#{Known | Hunter2Filter}word",
		"undefined, nested":  "Pa55#{Inner}word",
	} {
		s := NewSet()
		s.Set("Known", "k", false)
		s.Set("Inner", "x#{Hunter2-Inside}y", false) // reached through the secret
		s.Set("Tok", secret, true)
		_, err := Substitute("run --token #{Tok}", s)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), "Hunter2") {
			t.Errorf("%s: the error shows the secret's text: %v", name, err)
		}
		if !strings.Contains(err.Error(), `"Tok"`) {
			t.Errorf("%s: the error does not name the variable: %v", name, err)
		}
		var p *ProblemsError
		if errors.As(err, &p) && len(p.Problems) == 0 {
			t.Errorf("%s: no problems listed", name)
		}
	}
	// A plain value's problem still says what is wrong.
	s := NewSet()
	s.Set("Plain", "a#{Nope}b", false)
	if _, err := Substitute("#{Plain}", s); err == nil || !strings.Contains(err.Error(), "Nope") {
		t.Errorf("a plain value's problem: %v, want it named", err)
	}
}
