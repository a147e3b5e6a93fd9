package storetest

import (
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// testTenants stores a tenant with tags, connections and values (one
// sensitive, sealed at rest), updates, lists and deletes it; a second
// tenant of the same name conflicts; a project's tenantedDeployments and
// a variable's tenant scopes round-trip.
func testTenants(t *testing.T, s store.Store) {
	ctx := t.Context()
	f := newFixture(t, s, "Tenants")
	tn := domain.Tenant{SpaceID: f.space.ID, Name: "acme", Tags: []string{"Region/EU"},
		Projects: map[string][]string{"Shop": {"Development"}},
		Values: []domain.TenantValue{
			{Project: "Shop", Environment: "Development", Name: "Url", Value: "https://acme.dev"},
			{Project: "Shop", Environment: "Development", Name: "Db", Value: "s3cret-acme", Sensitive: true},
		}}
	must(t, s.Tenants().Create(ctx, &tn))
	wantKind(t, s.Tenants().Create(ctx, &domain.Tenant{SpaceID: f.space.ID, Name: "acme"}), domain.KindConflict, "acme")
	got, err := s.Tenants().Get(ctx, f.space.ID, "acme")
	must(t, err)
	if v, ok := got.ValueOf("Shop", "Development", "Db"); !ok || v.Value != "s3cret-acme" || !v.Sensitive {
		t.Fatalf("sensitive value did not round-trip: %+v", got.Values)
	}
	wantEqual(t, "projects", got.Projects, tn.Projects)
	got.Tags = append(got.Tags, "Tier/Gold")
	got.Projects["Shop"] = append(got.Projects["Shop"], "Test")
	must(t, s.Tenants().Update(ctx, &got))
	must(t, s.Tenants().Create(ctx, &domain.Tenant{SpaceID: f.space.ID, Name: "bravo"}))
	list, err := s.Tenants().List(ctx, f.space.ID)
	must(t, err)
	if len(list) != 2 || list[0].Name != "acme" || len(list[0].Tags) != 2 || !list[0].ConnectedTo("Shop", "Test") {
		t.Fatalf("list = %+v", list)
	}
	must(t, s.Tenants().Delete(ctx, list[1].ID))
	wantKind(t, func() error { _, err := s.Tenants().Get(ctx, f.space.ID, "bravo"); return err }(), domain.KindNotFound, "bravo")

	f.project.TenantedDeployments = domain.TenantedBoth
	f.project.Variables = []domain.Variable{{Name: "Greeting", Value: "hi", Tenants: []string{"acme"}, TenantTags: []string{"Region/EU"}}}
	must(t, s.Projects().Put(ctx, &f.project))
	p, err := s.Projects().Get(ctx, f.space.ID, "Shop")
	must(t, err)
	if p.TenantedDeployments != domain.TenantedBoth || strings.Join(p.Variables[0].TenantTags, ",") != "Region/EU" || p.Variables[0].Tenants[0] != "acme" {
		t.Fatalf("project = %+v", p)
	}
}
