package api

import "testing"

// TestRoutesNamed: every route carries its field name, which the OpenAPI
// document's operationId and the client's method are named after.
func TestRoutesNamed(t *testing.T) {
	ops := Endpoints(Routes())
	seen := map[string]bool{}
	for _, op := range ops {
		if op.Name == "" || seen[op.Name] {
			t.Errorf("%s is named %q", op.Pattern(), op.Name)
		}
		seen[op.Name] = true
	}
	r := Routes()
	if r.CreateRelease.Name != "CreateRelease" || r.CreateRelease.Operation().ID() != "createRelease" {
		t.Errorf("CreateRelease is named %q, operationId %q", r.CreateRelease.Name, r.CreateRelease.Operation().ID())
	}
}
