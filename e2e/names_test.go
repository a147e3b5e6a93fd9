package e2e

import (
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// TestLookalikeNamesAreRefused: through the CLI (the API behind it), a
// user whose name reads as the server's own ("SYSTEM", Cyrillic "ѕуѕtem",
// full-width) or as an existing user's ("Bob" beside "bob", "b0b") is
// refused with a message naming what it is too like and saying what to do
// (exit 3 for the reserved name, 6 beside an existing user), and so is a
// team too like an existing team; before, all were accepted.
func TestLookalikeNamesAreRefused(t *testing.T) {
	srv := ferrytest.Build(t).StartServer(t)
	srv.Must("user", "create", "bob")
	for _, name := range []string{"SYSTEM", "ѕуѕtem", "ｓｙｓｔｅｍ"} {
		r := srv.Fail("user", "create", name)
		if r.Code != 3 {
			t.Errorf("user %q: exit %d, want 3", name, r.Code)
		}
		contains(t, r.Stderr, "reserved for the server itself", "choose another name")
	}
	for _, name := range []string{"Bob", "b0b", "bоb"} {
		r := srv.Fail("user", "create", name)
		if r.Code != 6 {
			t.Errorf("user %q: exit %d, want 6", name, r.Code)
		}
		contains(t, r.Stderr, `is too like existing user "bob"`, "choose another name")
	}
	srv.Must("team", "create", "Approvers", "--role", "viewer", "--user", "bob")
	r := srv.Fail("team", "create", "APPROVERS", "--role", "deployer", "--user", "bob")
	contains(t, r.Stderr, `too like existing team "Approvers"`)
	users := srv.Must("user", "list", "-o", "json").Stdout
	if strings.Count(users, `"name"`) != 2 { // admin and bob
		t.Errorf("users after the refusals:\n%s", users)
	}
}
