package compat

import (
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// A file written in the current version for a remote space whose version is
// unknown says what to run if that space refuses it; otherwise nothing.
func TestUnknown(t *testing.T) {
	r := domain.RemoteSpace{Name: "Prod"}
	n := Unknown(r, Current, "`ferry receipt export`")
	for _, want := range []string{`"Prod"`, "not known yet", "`ferry receipt export` again with --schema-version 2", "reads only 2"} {
		if !strings.Contains(n, want) {
			t.Errorf("note %q lacks %q", n, want)
		}
	}
	if n := Unknown(r, Previous, "x"); n != "" {
		t.Errorf("previous version: %q", n)
	}
	r.SchemaVersion = Current
	if n := Unknown(r, Current, "x"); n != "" {
		t.Errorf("known version: %q", n)
	}
}
