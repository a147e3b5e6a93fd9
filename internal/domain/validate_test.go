package domain

import "testing"

func TestValidateSafeName(t *testing.T) {
	for _, ok := range []string{"Acme", "acme-eu.2", "x_1", "9lives", "Ünïcode", "東京", "a"} {
		if err := ValidateSafeName("tenant", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{
		"", "$(id>x)", "`id`", "a;id", "a&&id", "a|id", "a>x", "a<x", "a\nid", "a\tb", "a b", " a",
		`a"b`, "a'b", `a\b`, "*", "a?", "[a]", "{a,b}", "~root", "-rf", "--help", ".", "..", ".hidden",
		"a/b", "a:b", "a=b", "a#b", "a!b", "a%b", "a\x00b", "a\u00a0b", "a\u202eb",
		string(make([]byte, 101)),
	} {
		if err := ValidateSafeName("tenant", bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}
