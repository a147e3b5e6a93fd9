package client_test

import (
	"context"
	"testing"

	"github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/client"
)

// TestDotNamesAreAddressed: a name that is a URL dot segment ("." or
// "..") is sent so that it reaches its route as that name. A variable may
// be called ".." (and older servers let spaces, users, teams and
// environments be so named). Before, DELETE
// /api/spaces/S/projects/P/variables/.. was answered with a redirect (307,
// which keeps the method) to the cleaned path /api/spaces/S/projects/P,
// and the client followed it: deleting the variable ".." deleted the
// project P with its releases (so the next set below found no project);
// a team or environment "..", the whole space. Asking for a space ".."
// answered "no API route" instead of "no space".
func TestDotNamesAreAddressed(t *testing.T) {
	ctx := context.Background()
	admin := client.New(serverURL, apiKey)
	if _, err := admin.CreateSpace(ctx, "Dots"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Apply(ctx, "Dots", []byte("environments: [{name: E}]\nlifecycles: [{name: L, phases: [{name: E, environments: [E]}]}]\nprojects: [{name: P, lifecycle: L}]\n"), api.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"..", "."} {
		if _, err := admin.SetVariable(ctx, "Dots", "P", api.SetVariableRequest{Name: name, Value: "x"}); err != nil {
			t.Fatalf("set %q: %v", name, err)
		}
		if _, err := admin.DeleteVariable(ctx, "Dots", "P", name, nil); err != nil {
			t.Errorf("delete variable %q: %v", name, err)
		}
		if _, err := admin.GetSpace(ctx, name); client.KindOf(err) != api.KindNotFound {
			t.Errorf("space %q: %v, want not found", name, err)
		}
	}
	vars, err := admin.ListVariables(ctx, "Dots", "P")
	if err != nil {
		t.Fatal(err)
	}
	if len(vars.Variables) != 0 {
		t.Errorf("variables left: %+v", vars.Variables)
	}
}
