package variables

import (
	"reflect"
	"testing"
)

func TestResolve(t *testing.T) {
	env := func(envs ...string) Scope { return Scope{Environments: envs} }
	cands := []Candidate{
		{Name: "Banner", Value: "plain"},
		{Name: "Banner", Value: "staging", Scope: env("Staging")},
		{Name: "Banner", Value: "live", Scope: env("Live", "DR")},
		{Name: "Banner", Value: "live-acme", Scope: Scope{Environments: []string{"Live"}, Tenants: []string{"acme"}}},
		{Name: "Tenant", Value: "acme-any-env", Scope: Scope{Tenants: []string{"acme"}}},
		{Name: "OnlyDev", Value: "dev", Scope: env("Dev")},
		{Name: "Tie", Value: "first", Scope: env("Live")},
		{Name: "Tie", Value: "second", Scope: env("Live")},
		{Name: "TieMixed", Value: "env", Scope: env("Live")},
		{Name: "TieMixed", Value: "tenant", Scope: Scope{Tenants: []string{"acme"}}},
		{Name: "Token", Value: "s3cret", Sensitive: true},
		{Name: "token", Value: "lower"}, // the same variable: names are case-insensitive
	}
	tests := []struct {
		name string
		ctx  Context
		want map[string]string
	}{
		{"no scope matches: unscoped only", Context{Environment: "Dev"},
			map[string]string{"Banner": "plain", "OnlyDev": "dev", "Token": "s3cret"}},
		{"env beats unscoped", Context{Environment: "Staging"},
			map[string]string{"Banner": "staging", "Token": "s3cret"}},
		{"any listed env matches", Context{Environment: "DR"},
			map[string]string{"Banner": "live", "Token": "s3cret"}},
		{"ties go to the earlier candidate", Context{Environment: "Live"},
			map[string]string{"Banner": "live", "Tie": "first", "TieMixed": "env", "Token": "s3cret"}},
		{"env+tenant beats env", Context{Environment: "Live", Tenant: "acme"},
			map[string]string{"Banner": "live-acme", "Tenant": "acme-any-env", "Tie": "first", "TieMixed": "env", "Token": "s3cret"}},
		{"other tenant excluded", Context{Environment: "Live", Tenant: "globex"},
			map[string]string{"Banner": "live", "Tie": "first", "TieMixed": "env", "Token": "s3cret"}},
		{"scoped candidates need a context value", Context{},
			map[string]string{"Banner": "plain", "Token": "s3cret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Resolve(cands, tt.ctx)
			values := map[string]string{}
			for _, name := range got.Names() {
				values[name], _ = got.Get(name)
			}
			if !reflect.DeepEqual(values, tt.want) {
				t.Errorf("Resolve(%+v) = %v, want %v", tt.ctx, values, tt.want)
			}
			// "token" is "Token", whose earlier unscoped candidate wins.
			if !got.IsSensitive("Token") || !got.IsSensitive("TOKEN") {
				t.Errorf("sensitivity: Token=%v TOKEN=%v", got.IsSensitive("Token"), got.IsSensitive("TOKEN"))
			}
		})
	}
}

func TestResolveTieIgnoresLaterLowerAndEqualRanks(t *testing.T) {
	cands := []Candidate{
		{Name: "V", Value: "env-first", Scope: Scope{Environments: []string{"Live"}}},
		{Name: "V", Value: "unscoped-later"},
		{Name: "V", Value: "env-later", Scope: Scope{Environments: []string{"Live"}}},
	}
	if v, _ := Resolve(cands, Context{Environment: "Live"}).Get("V"); v != "env-first" {
		t.Errorf("got %q, want env-first", v)
	}
}

func TestSet(t *testing.T) {
	s := NewSet()
	s.Set("b", "1", true)
	s.Set("a", "2", false)
	s.Set("b", "3", false) // overwrite, including sensitivity
	if got := s.Names(); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("Names() = %v", got)
	}
	if v, ok := s.Get("b"); !ok || v != "3" || s.IsSensitive("b") {
		t.Errorf("Get(b) = %q, %v, sensitive %v", v, ok, s.IsSensitive("b"))
	}
	if _, ok := s.Get("missing"); ok {
		t.Error("Get(missing) reported ok")
	}
	var zero Set
	zero.Set("x", "y", false) // the zero value is usable
	if v, _ := zero.Get("x"); v != "y" {
		t.Errorf("zero Set: got %q", v)
	}
}
