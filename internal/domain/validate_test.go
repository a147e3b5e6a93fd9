package domain

import (
	"strings"
	"testing"
)

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

func TestValidateNameRefusesWhatCannotBeSeen(t *testing.T) {
	for _, ok := range []string{"Prod Space", "Café", "東京 Space", "Prod  Space", "a-b_c.d (e)", "...", ".a", "a/../b", "．．"} {
		if err := ValidateName("space", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{
		"", " Prod", "Prod ", "Prod:Space", "Prod：Space", "Prod﹕Space", "a\x00b", "a\x1bb", "a\u0085b",
		"Prod\u200bSpace", "Prod\u200dSpace", "\u202eecapS", "Prod\u200fSpace", "\ufeffProd", "Pro\u00adduction",
		"Prod\u00a0Space", "Prod\u2009Space", "Prod\u3000Space", "Prod\u2028Space",
		// A URL path's dot segments: a thing so named could be created but
		// never addressed (/api/spaces/../environments is /api/environments).
		".", "..",
	} {
		if err := ValidateName("space", bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func TestNameKey(t *testing.T) {
	same := [][]string{
		{"Prod Space", "prod space", "PROD SPACE", "Prod  Space", "Prod\u00a0Space", "Ｐｒｏｄ Space", "Prod Space\u200b", " Prod\tSpace "},
		{"Straße", "STRASSE", "strasse"},
		{"ﬁnance", "finance"},
	}
	for _, group := range same {
		for _, n := range group[1:] {
			if NameKey(n) != NameKey(group[0]) {
				t.Errorf("NameKey(%q) = %q, NameKey(%q) = %q", n, NameKey(n), group[0], NameKey(group[0]))
			}
		}
	}
	for _, pair := range [][2]string{{"Prod Space", "Prod Spaces"}, {"Prod Space", "ProdSpace"}, {"Test", "Test 2"}} {
		if NameKey(pair[0]) == NameKey(pair[1]) {
			t.Errorf("%q and %q share a key", pair[0], pair[1])
		}
	}
}

// TestTriggerOnTenantedProjectRefused: a trigger deploys untenanted, so a
// project that deploys only to tenants refuses it at apply instead of
// failing every firing; "both" takes it.
func TestTriggerOnTenantedProjectRefused(t *testing.T) {
	known := func(string) bool { return true }
	for _, tr := range []Trigger{
		{Name: "nightly", Type: TriggerSchedule, Cron: "0 3 * * *", SourceEnvironment: "Test", Environment: "Production"},
		{Name: "arrive", Type: TriggerOnArrival, Environment: "Production"},
	} {
		p := Project{Name: "Shop", TenantedDeployments: TenantedTenanted, Triggers: []Trigger{tr}}
		err := p.ValidateSettings(known)
		if err == nil || !strings.Contains(err.Error(), "tenantedDeployments: both") {
			t.Errorf("trigger %s on a tenanted project: %v, want a refusal saying what to do", tr.Name, err)
		}
		p.TenantedDeployments = TenantedBoth
		if err := p.ValidateSettings(known); err != nil {
			t.Errorf("trigger %s on a project deploying both ways: %v", tr.Name, err)
		}
	}
}

// TestValidateTagRefusesInvisibleAndControlRunes: a tag is shown in
// terminals and pages and travels in bundles, so beyond ASCII it holds
// letters and digits only (before, any rune above 127 passed: bidi
// overrides, zero-width joiners, C1 controls such as CSI).
func TestValidateTagRefusesInvisibleAndControlRunes(t *testing.T) {
	for _, ok := range []string{"Region/Europe", "Tier/Gold 2", "Région/Île-de-France", "地域/東京", "a.b/c_d-e"} {
		if err := ValidateTag(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"Region/Eu\u202erope", "Region/\u2066x\u2069", "Tier/Gold\u200b", "Tier/\u009b31mred", "Tier/a\u2028b",
		"Tier/\u00a0Gold", "Tier/a\u00adb", "Tier/\ufeffx", "Tier/€", "Region/a\x1b[31m", "Region", "/x", "a/b/c", " a/b"} {
		if err := ValidateTag(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

// TestLookAlike: names a person could take for one another (case, width,
// compatibility forms, invisible characters, Cyrillic and Greek letters,
// digits that read as letters, "rn" for "m") look alike; names that differ
// in a letter a person sees do not.
func TestLookAlike(t *testing.T) {
	for _, p := range [][2]string{
		{"system", "SYSTEM"}, {"system", "ѕуѕtem"}, {"system", "ｓｙｓｔｅｍ"}, {"system", "ſystem"},
		{"system", "system\u200b"}, {"system", "sys\u00adtem"}, {"system", "systern"},
		{"bob", "Bob"}, {"bob", "b0b"}, {"bob", "Ьob"}, {"alice", "aIice"}, {"alice", "a1ice"}, {"alice", "ALICE"},
		{"admin", "ΑDMIN"}, {"Prod Space", "prod  space"}, {"ops", "ｏｐｓ"},
	} {
		if !LookAlike(p[0], p[1]) || !LookAlike(p[1], p[0]) {
			t.Errorf("%q and %q should look alike", p[0], p[1])
		}
	}
	for _, p := range [][2]string{
		{"bob", "rob"}, {"bob", "bobby"}, {"alice", "alicia"}, {"system", "systems"}, {"bob", "bób"}, {"ops", "ops-team"},
	} {
		if LookAlike(p[0], p[1]) {
			t.Errorf("%q and %q should not look alike", p[0], p[1])
		}
	}
}

// TestInvisibleButNotFormatCharactersLookAlike: characters that show
// nothing but are not format (Cf) characters — the combining grapheme
// joiner, Hangul fillers, the Khmer inherent vowels, variation selectors
// (Unicode's Default_Ignorable_Code_Point) and the blank Braille pattern —
// made "sys\u034ftem" a new user distinct from "system" before.
func TestInvisibleButNotFormatCharactersLookAlike(t *testing.T) {
	for _, s := range []string{
		"sys\u034ftem", "system\u3164", "sys\u115ftem", "system\uffa0", "sys\u17b4tem",
		"system\ufe0f", "sys\u180btem", "sys\U000E0100tem", "system\u2800",
	} {
		if !LookAlike(s, "system") {
			t.Errorf("%q should look like %q", s, "system")
		}
		if NameKey(s) != "system" {
			t.Errorf("NameKey(%q) = %q, want %q", s, NameKey(s), "system")
		}
	}
	for _, s := range []string{"sys\u034ftem", "system\u3164", "sys\u17b4tem"} {
		if err := ValidateName("user", s); err == nil || !strings.Contains(err.Error(), "invisible") {
			t.Errorf("ValidateName(%q) = %v, want it refused as invisible", s, err)
		}
	}
	// An emoji's presentation selector is how phones type it: allowed in
	// a name, and the same name as without it.
	if err := ValidateName("project", "Rocket \U0001F680\ufe0f"); err != nil {
		t.Errorf("an emoji with its variation selector: %v", err)
	}
}
