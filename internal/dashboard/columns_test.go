package dashboard

import "testing"

func TestInSpace(t *testing.T) {
	for _, c := range []struct {
		env, space string
		want       bool
	}{
		{"Prod: Live", "Prod", true},
		{"Prod Space: Live", "Prod Space", true},
		{"Prod Space: Live", "Prod", false},
		{"Prod: ", "Prod", false}, // no environment after the space
		{"Prod:Live", "Prod", false},
		{"Prod", "Prod", false},
		{"prod: Live", "Prod", false},
		{"Production: Live", "Prod", false},
		{"Live", "", false},
	} {
		if got := inSpace(c.env, c.space); got != c.want {
			t.Errorf("inSpace(%q, %q) = %v, want %v", c.env, c.space, got, c.want)
		}
	}
}
