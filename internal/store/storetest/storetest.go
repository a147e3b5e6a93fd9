// Package storetest is the conformance suite for store.Store: every
// implementation runs Run against a fresh, empty database and must pass it.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Run runs the suite. open must return a new, empty store each time it is
// called; Run closes it when the test that opened it ends. Subtests run in
// parallel, each with its own store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Spaces", testSpaces},
		{"Users", testUsers},
		{"APIKeys", testAPIKeys},
		{"Environments", testEnvironments},
		{"Lifecycles", testLifecycles},
		{"Projects", testProjects},
		{"Releases", testReleases},
		{"WithTx", testWithTx},
		{"Tasks", testTasks},
		{"TaskClaimOrder", testClaimOrder},
		{"TaskClaimConcurrent", testClaimConcurrent},
		{"TaskFinish", testFinish},
		{"TaskFailExecuting", testFailExecuting},
		{"ReceiptsUnrecorded", testUnrecorded},
		{"TaskLog", testTaskLog},
		{"Deployments", testDeployments},
		{"DeploymentsLatestOf", testLatestOf},
		{"ProjectSummaries", testProjectSummaries},
		{"Audit", testAudit},
		{"SpaceIdentity", testSpaceIdentity},
		{"RemoteSpaces", testRemoteSpaces},
		{"SchemaVersions", testSchemaVersions},
		{"Deliverers", testDeliverers},
		{"Packages", testPackages},
		{"Outbox", testOutbox},
		{"PendingBundles", testPendingBundles},
		{"ReceivedChunks", testReceivedChunks},
		{"Removal", testRemoval},
		{"ProjectChannelsTriggers", testProjectSettings},
		{"Interventions", testInterventions},
		{"InterventionAfterCancel", testInterventionAfterCancel},
		{"TriggerStates", testTriggerStates},
		{"TriggerClaimConcurrent", testTriggerClaimConcurrent},
		{"Sessions", testSessions},
		{"Figures", testFigures},
	}
	tests = append(tests, targetTests...)
	tests = append(tests, struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{"Tenants", testTenants})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close store: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

// at is a fixed time with a sub-microsecond part that a store may drop.
func at(minute int) time.Time {
	return time.Date(2025, 3, 1, 12, minute, 0, 123456789, time.UTC)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantKind checks that err is a domain error of kind whose message holds
// every one of words.
func wantKind(t *testing.T, err error, kind domain.Kind, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", kind)
	}
	if got := domain.KindOf(err); got != kind {
		t.Fatalf("got %v (kind %s), want kind %s", err, got, kind)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// fixture is a space with one project of one release, which most tests
// need.
type fixture struct {
	space   domain.Space
	project domain.Project
	release domain.Release
}

func newFixture(t *testing.T, s store.Store, space string) fixture {
	t.Helper()
	f := fixture{space: domain.Space{Name: space}}
	must(t, s.Spaces().Create(t.Context(), &f.space))
	for _, env := range []string{"Development", "Test"} {
		must(t, s.Environments().Create(t.Context(), &domain.Environment{SpaceID: f.space.ID, Name: env}))
	}
	f.project = domain.Project{SpaceID: f.space.ID, Name: "Shop", Lifecycle: "Main", Process: []domain.Step{
		{Name: "Hello", Type: domain.StepScript, Script: "echo hello"},
	}}
	must(t, s.Projects().Put(t.Context(), &f.project))
	f.release = domain.Release{ProjectID: f.project.ID, Version: "1.0.0", CreatedBy: "admin",
		Snapshot: domain.Snapshot{Process: f.project.Process}}
	must(t, s.Releases().Create(t.Context(), &f.release))
	return f
}

// deploy creates a queued deployment task and its deployment, linked both
// ways, as the deploy service does.
func (f fixture) deploy(t *testing.T, s store.Store, env string) domain.Deployment {
	t.Helper()
	task := domain.Task{SpaceID: f.space.ID, Kind: domain.TaskDeploy, Description: "Deploy to " + env}
	must(t, s.Tasks().Create(t.Context(), &task))
	d := domain.Deployment{SpaceID: f.space.ID, ProjectID: f.project.ID, ReleaseID: f.release.ID,
		Environment: env, TaskID: task.ID, CreatedBy: "admin"}
	must(t, s.Deployments().Create(t.Context(), &d))
	must(t, s.Tasks().SetDeployment(t.Context(), task.ID, d.ID))
	return d
}

func testSpaces(t *testing.T, s store.Store) {
	b := domain.Space{Name: "B Space", Fingerprint: "ab:cd"}
	must(t, s.Spaces().Create(t.Context(), &b))
	if b.ID == 0 || b.CreatedAt.IsZero() {
		t.Fatalf("Create did not set ID and CreatedAt: %+v", b)
	}
	a := domain.Space{Name: "A Space", CreatedAt: at(1)}
	must(t, s.Spaces().Create(t.Context(), &a))
	wantEqual(t, "CreatedAt given", a.CreatedAt, at(1).Truncate(time.Microsecond))

	got, err := s.Spaces().Get(t.Context(), "B Space")
	must(t, err)
	wantEqual(t, "Get", got, b)
	got, err = s.Spaces().GetByID(t.Context(), a.ID)
	must(t, err)
	wantEqual(t, "GetByID", got, a)
	list, err := s.Spaces().List(t.Context())
	must(t, err)
	wantEqual(t, "List (by name)", list, []domain.Space{a, b})

	wantKind(t, s.Spaces().Create(t.Context(), &domain.Space{Name: "A Space"}), domain.KindConflict, `"A Space"`, "already exists")
	_, err = s.Spaces().Get(t.Context(), "Nope")
	wantKind(t, err, domain.KindNotFound, `"Nope"`)
	if !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("errors.Is(%v, ErrNotFound) = false", err)
	}
	_, err = s.Spaces().GetByID(t.Context(), 9999)
	wantKind(t, err, domain.KindNotFound, "9999")
}

func testUsers(t *testing.T, s store.Store) {
	n, err := s.Users().Count(t.Context())
	must(t, err)
	if n != 0 {
		t.Fatalf("Count of an empty store = %d", n)
	}
	admin := domain.User{Name: "admin", IsAdmin: true}
	bob := domain.User{Name: "bob"}
	must(t, s.Users().Create(t.Context(), &bob))
	must(t, s.Users().Create(t.Context(), &admin))

	got, err := s.Users().Get(t.Context(), "admin")
	must(t, err)
	wantEqual(t, "Get", got, admin)
	got, err = s.Users().GetByID(t.Context(), bob.ID)
	must(t, err)
	wantEqual(t, "GetByID", got, bob)
	list, err := s.Users().List(t.Context())
	must(t, err)
	wantEqual(t, "List (by name)", list, []domain.User{admin, bob})
	n, err = s.Users().Count(t.Context())
	must(t, err)
	if n != 2 {
		t.Errorf("Count = %d, want 2", n)
	}

	wantKind(t, s.Users().Create(t.Context(), &domain.User{Name: "bob"}), domain.KindConflict, `"bob"`)
	_, err = s.Users().Get(t.Context(), "carol")
	wantKind(t, err, domain.KindNotFound, `"carol"`)
	_, err = s.Users().GetByID(t.Context(), 9999)
	wantKind(t, err, domain.KindNotFound)
}

func testAPIKeys(t *testing.T, s store.Store) {
	u := domain.User{Name: "admin", IsAdmin: true}
	must(t, s.Users().Create(t.Context(), &u))
	k := domain.APIKey{UserID: u.ID, Name: "laptop", Hash: "hash-1"}
	must(t, s.Users().CreateKey(t.Context(), &k))
	if k.ID == 0 || k.CreatedAt.IsZero() {
		t.Fatalf("CreateKey did not set ID and CreatedAt: %+v", k)
	}
	revoked := at(5)
	must(t, s.Users().CreateKey(t.Context(), &domain.APIKey{UserID: u.ID, Name: "old", Hash: "hash-2", RevokedAt: &revoked}))

	gotKey, gotUser, err := s.Users().KeyByHash(t.Context(), "hash-1")
	must(t, err)
	wantEqual(t, "key", gotKey, k)
	wantEqual(t, "key's user", gotUser, u)

	_, _, err = s.Users().KeyByHash(t.Context(), "hash-2")
	wantKind(t, err, domain.KindNotFound)
	_, _, err = s.Users().KeyByHash(t.Context(), "no-such-hash")
	wantKind(t, err, domain.KindNotFound)
	if err != nil && strings.Contains(err.Error(), "no-such-hash") {
		t.Errorf("error %q echoes the key hash", err)
	}
	wantKind(t, s.Users().CreateKey(t.Context(), &domain.APIKey{UserID: u.ID, Name: "dup", Hash: "hash-1"}), domain.KindConflict)

	must(t, s.Users().TouchKey(t.Context(), k.ID, at(7)))
	gotKey, _, err = s.Users().KeyByHash(t.Context(), "hash-1")
	must(t, err)
	if gotKey.LastUsed == nil || !gotKey.LastUsed.Equal(at(7).Truncate(time.Microsecond)) {
		t.Errorf("LastUsed = %v, want %v", gotKey.LastUsed, at(7))
	}
	wantKind(t, s.Users().TouchKey(t.Context(), 9999, at(7)), domain.KindNotFound)
}

func testEnvironments(t *testing.T, s store.Store) {
	one, two := domain.Space{Name: "One"}, domain.Space{Name: "Two"}
	must(t, s.Spaces().Create(t.Context(), &one))
	must(t, s.Spaces().Create(t.Context(), &two))
	test := domain.Environment{SpaceID: one.ID, Name: "Test"}
	dev := domain.Environment{SpaceID: one.ID, Name: "Dev"}
	prod := domain.Environment{SpaceID: one.ID, Name: "Two: Production", RemoteSpace: "Two"}
	for _, e := range []*domain.Environment{&test, &dev, &prod} {
		must(t, s.Environments().Create(t.Context(), e))
	}
	must(t, s.Environments().Create(t.Context(), &domain.Environment{SpaceID: two.ID, Name: "Test"}))

	got, err := s.Environments().Get(t.Context(), one.ID, "Two: Production")
	must(t, err)
	wantEqual(t, "Get", got, prod)
	if !got.IsRemote() {
		t.Errorf("remote environment lost its remote space: %+v", got)
	}
	list, err := s.Environments().List(t.Context(), one.ID)
	must(t, err)
	wantEqual(t, "List (creation order)", list, []domain.Environment{test, dev, prod})

	err = s.Environments().Create(t.Context(), &domain.Environment{SpaceID: one.ID, Name: "Test"})
	wantKind(t, err, domain.KindConflict, `environment "Test" already exists`)
	_, err = s.Environments().Get(t.Context(), two.ID, "Dev")
	wantKind(t, err, domain.KindNotFound, `"Dev"`)
}

func testLifecycles(t *testing.T, s store.Store) {
	sp := domain.Space{Name: "One"}
	must(t, s.Spaces().Create(t.Context(), &sp))
	main := domain.Lifecycle{SpaceID: sp.ID, Name: "Main", Phases: []domain.Phase{
		{Name: "Dev", Environments: []string{"Development"}},
		{Name: "Test", Environments: []string{"Test", "QA"}},
	}}
	hotfix := domain.Lifecycle{SpaceID: sp.ID, Name: "Hotfix", Phases: []domain.Phase{
		{Name: "Prod", Environments: []string{"Prod Space: Production"}},
	}}
	must(t, s.Lifecycles().Put(t.Context(), &main))
	must(t, s.Lifecycles().Put(t.Context(), &hotfix))
	if main.ID == 0 || hotfix.ID == 0 || main.ID == hotfix.ID {
		t.Fatalf("Put did not set distinct IDs: %d, %d", main.ID, hotfix.ID)
	}

	replaced := domain.Lifecycle{SpaceID: sp.ID, Name: "Main", Phases: main.Phases[:1]}
	must(t, s.Lifecycles().Put(t.Context(), &replaced))
	if replaced.ID != main.ID {
		t.Errorf("replacing Put changed the ID from %d to %d", main.ID, replaced.ID)
	}
	got, err := s.Lifecycles().Get(t.Context(), sp.ID, "Main")
	must(t, err)
	wantEqual(t, "Get after replace", got, replaced)
	list, err := s.Lifecycles().List(t.Context(), sp.ID)
	must(t, err)
	wantEqual(t, "List (by name)", list, []domain.Lifecycle{hotfix, replaced})

	_, err = s.Lifecycles().Get(t.Context(), sp.ID, "Other")
	wantKind(t, err, domain.KindNotFound, `"Other"`)
}

func testProjects(t *testing.T, s store.Store) {
	sp := domain.Space{Name: "One"}
	must(t, s.Spaces().Create(t.Context(), &sp))
	shop := domain.Project{
		SpaceID:   sp.ID,
		Name:      "Shop",
		Lifecycle: "Main",
		Process: []domain.Step{
			{Name: "Announce", Type: domain.StepScript, Script: "echo #{Banner}"},
			{Name: "Live only", Type: domain.StepScript, Script: "echo live", Environments: []string{"Prod: Live"}, TimeoutSeconds: 30},
		},
		Variables: []domain.Variable{
			{Name: "Banner", Value: "plain"},
			{Name: "Banner", Value: "live", Environments: []string{"Prod: Live"}},
			{Name: "Token", Value: "s3cret-token-value", Sensitive: true},
			{Name: "Empty", Value: "", Sensitive: true},
		},
		Templates: []domain.Template{
			{Name: "DbUrl", Label: "Database URL", Type: domain.TemplateSensitive, Required: true},
			{Name: "Size", Type: domain.TemplateSelect, Options: []string{"S", "M"}, Default: "S"},
		},
	}
	must(t, s.Projects().Put(t.Context(), &shop))
	if shop.ID == 0 || shop.CreatedAt.IsZero() || shop.UpdatedAt.IsZero() {
		t.Fatalf("Put did not set ID and times: %+v", shop)
	}
	got, err := s.Projects().Get(t.Context(), sp.ID, "Shop")
	must(t, err)
	wantEqual(t, "Get (sensitive values included)", got, shop)
	got, err = s.Projects().GetByID(t.Context(), shop.ID)
	must(t, err)
	wantEqual(t, "GetByID", got, shop)

	replaced := domain.Project{SpaceID: sp.ID, Name: "Shop", Lifecycle: "Other",
		Variables: []domain.Variable{{Name: "Token", Value: "rotated", Sensitive: true}}}
	must(t, s.Projects().Put(t.Context(), &replaced))
	if replaced.ID != shop.ID || !replaced.CreatedAt.Equal(shop.CreatedAt) {
		t.Errorf("replacing Put changed ID or CreatedAt: %+v, was %+v", replaced, shop)
	}
	got, err = s.Projects().Get(t.Context(), sp.ID, "Shop")
	must(t, err)
	wantEqual(t, "Get after replace", got, replaced)

	cart := domain.Project{SpaceID: sp.ID, Name: "Cart", Lifecycle: "Main"}
	must(t, s.Projects().Put(t.Context(), &cart))
	list, err := s.Projects().List(t.Context(), sp.ID)
	must(t, err)
	wantEqual(t, "List (by name)", list, []domain.Project{cart, replaced})

	_, err = s.Projects().Get(t.Context(), sp.ID, "Nope")
	wantKind(t, err, domain.KindNotFound, `project "Nope" not found`)
	_, err = s.Projects().GetByID(t.Context(), 9999)
	wantKind(t, err, domain.KindNotFound)
}

func testReleases(t *testing.T, s store.Store) {
	f := newFixture(t, s, "One")
	if f.release.ID == 0 || f.release.CreatedAt.IsZero() || f.release.Project != "Shop" {
		t.Fatalf("Create did not set ID, CreatedAt and Project: %+v", f.release)
	}
	second := domain.Release{ProjectID: f.project.ID, Version: "1.1.0", Notes: "Fixes", Channel: "Default",
		CreatedBy: "bob", Snapshot: domain.Snapshot{
			Process:   []domain.Step{{Name: "Run", Type: domain.StepScript, Script: "run"}},
			Variables: []domain.Variable{{Name: "Plain", Value: "p"}, {Name: "Secret", Value: "frozen-secret", Sensitive: true}},
			Templates: []domain.Template{{Name: "T", Type: domain.TemplateText}},
		}}
	must(t, s.Releases().Create(t.Context(), &second))

	got, err := s.Releases().Get(t.Context(), f.project.ID, "1.1.0")
	must(t, err)
	wantEqual(t, "Get (frozen snapshot)", got, second)
	got, err = s.Releases().GetByID(t.Context(), f.release.ID)
	must(t, err)
	wantEqual(t, "GetByID", got, f.release)
	list, err := s.Releases().List(t.Context(), f.project.ID)
	must(t, err)
	wantEqual(t, "List (newest first)", list, []domain.Release{second, f.release})

	again := domain.Release{ProjectID: f.project.ID, Version: "1.0.0", Notes: "different"}
	wantKind(t, s.Releases().Create(t.Context(), &again), domain.KindConflict, `"1.0.0"`, `"Shop"`)
	got, err = s.Releases().Get(t.Context(), f.project.ID, "1.0.0")
	must(t, err)
	wantEqual(t, "release after a clashing Create", got, f.release)

	_, err = s.Releases().Get(t.Context(), f.project.ID, "9.9.9")
	wantKind(t, err, domain.KindNotFound, `release "9.9.9" of project "Shop" not found`)
	_, err = s.Releases().GetByID(t.Context(), 9999)
	wantKind(t, err, domain.KindNotFound)
	wantKind(t, s.Releases().Create(t.Context(), &domain.Release{ProjectID: 9999, Version: "1"}), domain.KindNotFound)
}

func testWithTx(t *testing.T, s store.Store) {
	boom := errors.New("boom")
	err := s.WithTx(t.Context(), func(ctx context.Context) error {
		if err := s.Spaces().Create(ctx, &domain.Space{Name: "Rolled back"}); err != nil {
			return err
		}
		if _, err := s.Spaces().Get(ctx, "Rolled back"); err != nil {
			return fmt.Errorf("a transaction does not see its own write: %w", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WithTx returned %v, want fn's error", err)
	}
	_, err = s.Spaces().Get(t.Context(), "Rolled back")
	wantKind(t, err, domain.KindNotFound)

	// A nested WithTx joins the outer transaction: the outer error undoes
	// the inner write too.
	err = s.WithTx(t.Context(), func(ctx context.Context) error {
		err := s.WithTx(ctx, func(ctx context.Context) error {
			return s.Spaces().Create(ctx, &domain.Space{Name: "Inner"})
		})
		if err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("nested WithTx returned %v, want fn's error", err)
	}
	_, err = s.Spaces().Get(t.Context(), "Inner")
	wantKind(t, err, domain.KindNotFound)

	// A domain error from fn comes back with its kind.
	err = s.WithTx(t.Context(), func(ctx context.Context) error {
		_, err := s.Spaces().Get(ctx, "Missing")
		return err
	})
	wantKind(t, err, domain.KindNotFound, `"Missing"`)

	// A panic rolls back and keeps going up.
	func() {
		defer func() {
			if recover() == nil {
				t.Error("WithTx swallowed a panic")
			}
		}()
		s.WithTx(t.Context(), func(ctx context.Context) error {
			s.Spaces().Create(ctx, &domain.Space{Name: "Panicked"})
			panic("boom")
		})
	}()
	_, err = s.Spaces().Get(t.Context(), "Panicked")
	wantKind(t, err, domain.KindNotFound)

	err = s.WithTx(t.Context(), func(ctx context.Context) error {
		for _, name := range []string{"Kept 1", "Kept 2"} {
			if err := s.Spaces().Create(ctx, &domain.Space{Name: name}); err != nil {
				return err
			}
		}
		return nil
	})
	must(t, err)
	list, err := s.Spaces().List(t.Context())
	must(t, err)
	if len(list) != 2 {
		t.Errorf("after a committed WithTx: %+v, want Kept 1 and Kept 2", list)
	}
}

func testTasks(t *testing.T, s store.Store) {
	one := domain.Space{Name: "One"}
	must(t, s.Spaces().Create(t.Context(), &one))
	first := domain.Task{SpaceID: one.ID, Kind: domain.TaskDeploy, Description: "Deploy 1"}
	must(t, s.Tasks().Create(t.Context(), &first))
	if first.ID == 0 || first.State != domain.TaskQueued || first.QueuedAt.IsZero() {
		t.Fatalf("Create did not set ID, state and QueuedAt: %+v", first)
	}
	system := domain.Task{Kind: "retention", Description: "Clean up", QueuedAt: at(3)}
	must(t, s.Tasks().Create(t.Context(), &system))
	third := domain.Task{SpaceID: one.ID, Kind: domain.TaskDeploy, Description: "Deploy 2"}
	must(t, s.Tasks().Create(t.Context(), &third))

	got, err := s.Tasks().Get(t.Context(), first.ID)
	must(t, err)
	first.Space = "One"
	wantEqual(t, "Get (space name filled)", got, first)
	got, err = s.Tasks().Get(t.Context(), system.ID)
	must(t, err)
	wantEqual(t, "Get system task", got, system)

	list, err := s.Tasks().List(t.Context(), store.TaskFilter{SpaceID: one.ID})
	must(t, err)
	third.Space = "One"
	wantEqual(t, "List of a space (newest first)", list, []domain.Task{third, first})
	list, err = s.Tasks().List(t.Context(), store.TaskFilter{Limit: 2})
	must(t, err)
	wantEqual(t, "List all, limit 2", list, []domain.Task{third, system})

	must(t, s.Tasks().SetDeployment(t.Context(), first.ID, 42))
	must(t, s.Tasks().RequestCancel(t.Context(), first.ID, at(5)))
	must(t, s.Tasks().RequestCancel(t.Context(), first.ID, at(6))) // the first request's time stays
	got, err = s.Tasks().Get(t.Context(), first.ID)
	must(t, err)
	if got.DeploymentID != 42 || !got.CancelRequested || got.CancelRequestedAt == nil || !got.CancelRequestedAt.Equal(at(5).Truncate(time.Microsecond)) {
		t.Errorf("after SetDeployment and RequestCancel: %+v", got)
	}

	_, err = s.Tasks().Get(t.Context(), 9999)
	wantKind(t, err, domain.KindNotFound, "task 9999 not found")
	wantKind(t, s.Tasks().SetDeployment(t.Context(), 9999, 1), domain.KindNotFound)
	wantKind(t, s.Tasks().RequestCancel(t.Context(), 9999, time.Now()), domain.KindNotFound)
	wantKind(t, s.Tasks().Finish(t.Context(), 9999, domain.TaskSuccess, "", at(1)), domain.KindNotFound)
}

func testClaimOrder(t *testing.T, s store.Store) {
	_, err := s.Tasks().Claim(t.Context(), "node-a", at(1))
	wantKind(t, err, domain.KindNotFound)

	var ids []int64
	for i := range 3 {
		task := domain.Task{Kind: "test", Description: fmt.Sprint("task ", i)}
		must(t, s.Tasks().Create(t.Context(), &task))
		ids = append(ids, task.ID)
	}
	for i, want := range ids {
		got, err := s.Tasks().Claim(t.Context(), "node-a", at(10+i))
		must(t, err)
		if got.ID != want || got.State != domain.TaskExecuting || got.Node != "node-a" ||
			got.StartedAt == nil || !got.StartedAt.Equal(at(10+i).Truncate(time.Microsecond)) {
			t.Errorf("claim %d: got %+v, want task %d executing on node-a since %v", i, got, want, at(10+i))
		}
	}
	_, err = s.Tasks().Claim(t.Context(), "node-a", at(20))
	wantKind(t, err, domain.KindNotFound)
}

func testClaimConcurrent(t *testing.T, s store.Store) {
	const tasks, workers = 40, 8
	for i := range tasks {
		must(t, s.Tasks().Create(t.Context(), &domain.Task{Kind: "test", Description: fmt.Sprint("task ", i)}))
	}
	var (
		mu      sync.Mutex
		claimed = map[int64]string{}
		wg      sync.WaitGroup
	)
	for w := range workers {
		node := fmt.Sprint("node-", w)
		wg.Go(func() {
			for {
				task, err := s.Tasks().Claim(t.Context(), node, time.Now())
				if errors.Is(err, domain.ErrNotFound) {
					return
				}
				if err != nil {
					t.Errorf("%s: Claim: %v", node, err)
					return
				}
				mu.Lock()
				if prev, dup := claimed[task.ID]; dup {
					t.Errorf("task %d claimed by %s and %s", task.ID, prev, node)
				}
				claimed[task.ID] = node
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claimed) != tasks {
		t.Errorf("%d tasks claimed, want %d", len(claimed), tasks)
	}
}

func testFinish(t *testing.T, s store.Store) {
	task := domain.Task{Kind: "test"}
	must(t, s.Tasks().Create(t.Context(), &task))
	_, err := s.Tasks().Claim(t.Context(), "node-a", at(1))
	must(t, err)

	wantKind(t, s.Tasks().Finish(t.Context(), task.ID, domain.TaskExecuting, "", at(2)), domain.KindInvalid)
	must(t, s.Tasks().Finish(t.Context(), task.ID, domain.TaskFailed, "step Hello failed", at(2)))
	must(t, s.Tasks().Finish(t.Context(), task.ID, domain.TaskSuccess, "", at(3)))
	must(t, s.Tasks().RequestCancel(t.Context(), task.ID, time.Now()))
	got, err := s.Tasks().Get(t.Context(), task.ID)
	must(t, err)
	if got.State != domain.TaskFailed || got.Error != "step Hello failed" || got.CancelRequested ||
		got.FinishedAt == nil || !got.FinishedAt.Equal(at(2).Truncate(time.Microsecond)) {
		t.Errorf("a final state was overwritten: %+v", got)
	}

	// A queued task can be cancelled without ever starting.
	queued := domain.Task{Kind: "test"}
	must(t, s.Tasks().Create(t.Context(), &queued))
	must(t, s.Tasks().Finish(t.Context(), queued.ID, domain.TaskCancelled, "", at(4)))
	got, err = s.Tasks().Get(t.Context(), queued.ID)
	must(t, err)
	if got.State != domain.TaskCancelled || got.StartedAt != nil || got.FinishedAt == nil {
		t.Errorf("cancelled queued task: %+v", got)
	}
	_, err = s.Tasks().Claim(t.Context(), "node-a", at(5))
	wantKind(t, err, domain.KindNotFound)
}

func testFailExecuting(t *testing.T, s store.Store) {
	var ids []int64
	for range 4 {
		task := domain.Task{Kind: "test"}
		must(t, s.Tasks().Create(t.Context(), &task))
		ids = append(ids, task.ID)
	}
	for _, node := range []string{"node-a", "node-a", "node-b"} {
		_, err := s.Tasks().Claim(t.Context(), node, at(1))
		must(t, err)
	}
	ids, err := s.Tasks().FailExecuting(t.Context(), "node-a", "server restarted", at(2))
	n := len(ids)
	must(t, err)
	if n != 2 {
		t.Errorf("FailExecuting marked %d tasks, want 2", n)
	}
	want := []domain.TaskState{domain.TaskFailed, domain.TaskFailed, domain.TaskExecuting, domain.TaskQueued}
	for i, id := range ids {
		got, err := s.Tasks().Get(t.Context(), id)
		must(t, err)
		if got.State != want[i] {
			t.Errorf("task %d: state %s, want %s", id, got.State, want[i])
		}
		if got.State == domain.TaskFailed && (got.Error != "server restarted" || got.FinishedAt == nil) {
			t.Errorf("task %d: failed without reason or time: %+v", id, got)
		}
	}
	ids, err = s.Tasks().FailExecuting(t.Context(), "node-a", "again", at(3))
	n = len(ids)
	must(t, err)
	if n != 0 {
		t.Errorf("second FailExecuting marked %d tasks, want 0", n)
	}
}

func testTaskLog(t *testing.T, s store.Store) {
	task, other := domain.Task{Kind: "test"}, domain.Task{Kind: "test"}
	must(t, s.Tasks().Create(t.Context(), &task))
	must(t, s.Tasks().Create(t.Context(), &other))

	lines := []domain.LogLine{{Level: "info", Text: "one", At: at(1)}, {Level: "info", Text: "two", At: at(1)}}
	must(t, s.Tasks().AppendLog(t.Context(), task.ID, lines))
	must(t, s.Tasks().AppendLog(t.Context(), other.ID, []domain.LogLine{{Level: "info", Text: "elsewhere"}}))
	must(t, s.Tasks().AppendLog(t.Context(), task.ID, []domain.LogLine{
		{Level: "error", Text: "three", At: at(2)}, {Level: "info", Text: "four", At: at(2)}, {Level: "info", Text: "five", At: at(2)},
	}))
	must(t, s.Tasks().AppendLog(t.Context(), task.ID, nil))

	all, err := s.Tasks().Log(t.Context(), task.ID, 0, 0)
	must(t, err)
	var texts []string
	for i, l := range all {
		if l.Seq != int64(i+1) {
			t.Errorf("line %d has Seq %d, want %d", i, l.Seq, i+1)
		}
		texts = append(texts, l.Text)
	}
	wantEqual(t, "log", texts, []string{"one", "two", "three", "four", "five"})
	if len(all) == 5 {
		wantEqual(t, "line 3", all[2], domain.LogLine{Seq: 3, At: at(2).Truncate(time.Microsecond), Level: "error", Text: "three"})
	}

	page, err := s.Tasks().Log(t.Context(), task.ID, 2, 2)
	must(t, err)
	if len(page) != 2 || page[0].Seq != 3 || page[1].Seq != 4 {
		t.Errorf("Log(after 2, limit 2) = %+v, want Seq 3 and 4", page)
	}
	page, err = s.Tasks().Log(t.Context(), task.ID, 5, 10)
	must(t, err)
	if len(page) != 0 {
		t.Errorf("Log after the last line = %+v, want none", page)
	}
	otherLog, err := s.Tasks().Log(t.Context(), other.ID, 0, 0)
	must(t, err)
	if len(otherLog) != 1 || otherLog[0].Seq != 1 || otherLog[0].At.IsZero() {
		t.Errorf("other task's log = %+v, want one stamped line with Seq 1", otherLog)
	}

	wantKind(t, s.Tasks().AppendLog(t.Context(), 9999, []domain.LogLine{{Text: "x"}}), domain.KindNotFound, "9999")
}

func testDeployments(t *testing.T, s store.Store) {
	f := newFixture(t, s, "One")
	dev := deploymentFollowsItsTask(t, s, f)
	test, dev2 := checkDeploymentFilters(t, s, f, dev)
	checkTaskFilters(t, s, f, dev, test, dev2)
	_, err := s.Deployments().Get(t.Context(), 9999)
	wantKind(t, err, domain.KindNotFound, "deployment 9999")
}

// deploymentFollowsItsTask deploys f's release to Development and checks
// the deployment takes its state and times from its task.
func deploymentFollowsItsTask(t *testing.T, s store.Store, f fixture) domain.Deployment {
	dev := f.deploy(t, s, "Development")
	if dev.ID == 0 || dev.CreatedAt.IsZero() {
		t.Fatalf("Create did not set ID and CreatedAt: %+v", dev)
	}
	got, err := s.Deployments().Get(t.Context(), dev.ID)
	must(t, err)
	if got.Project != "Shop" || got.Version != "1.0.0" || got.State != domain.TaskQueued ||
		got.StartedAt != nil || got.TaskID != dev.TaskID || got.Environment != "Development" {
		t.Errorf("new deployment: %+v", got)
	}
	task, err := s.Tasks().Get(t.Context(), dev.TaskID)
	must(t, err)
	if task.DeploymentID != dev.ID {
		t.Errorf("task's DeploymentID = %d, want %d", task.DeploymentID, dev.ID)
	}

	_, err = s.Tasks().Claim(t.Context(), "node-a", at(1))
	must(t, err)
	got, err = s.Deployments().Get(t.Context(), dev.ID)
	must(t, err)
	if got.State != domain.TaskExecuting || got.StartedAt == nil || got.FinishedAt != nil {
		t.Errorf("executing deployment: %+v", got)
	}
	must(t, s.Tasks().Finish(t.Context(), dev.TaskID, domain.TaskSuccess, "", at(2)))
	got, err = s.Deployments().Get(t.Context(), dev.ID)
	must(t, err)
	want := dev
	want.Project, want.Version, want.State = "Shop", "1.0.0", domain.TaskSuccess
	started, finished := at(1).Truncate(time.Microsecond), at(2).Truncate(time.Microsecond)
	want.StartedAt, want.FinishedAt = &started, &finished
	wantEqual(t, "finished deployment", got, want)
	return dev
}

// checkDeploymentFilters deploys more (f's release to Test, a second
// release to Development, and in another space) and checks every filter
// of Deployments().List. It returns the deployments to Test and the
// second one to Development.
func checkDeploymentFilters(t *testing.T, s store.Store, f fixture, dev domain.Deployment) (test, dev2 domain.Deployment) {
	second := domain.Release{ProjectID: f.project.ID, Version: "1.1.0"}
	must(t, s.Releases().Create(t.Context(), &second))
	f2 := f
	f2.release = second
	test = f.deploy(t, s, "Test")
	dev2 = f2.deploy(t, s, "Development")
	other := newFixture(t, s, "Two")
	otherDev := other.deploy(t, s, "Development")

	ids := func(f store.DeploymentFilter) []int64 {
		t.Helper()
		list, err := s.Deployments().List(t.Context(), f)
		must(t, err)
		out := []int64{}
		for _, d := range list {
			out = append(out, d.ID)
		}
		return out
	}
	wantEqual(t, "all, newest first", ids(store.DeploymentFilter{}), []int64{otherDev.ID, dev2.ID, test.ID, dev.ID})
	wantEqual(t, "space", ids(store.DeploymentFilter{SpaceID: f.space.ID}), []int64{dev2.ID, test.ID, dev.ID})
	wantEqual(t, "project and environment", ids(store.DeploymentFilter{ProjectID: f.project.ID, Environment: "Development"}), []int64{dev2.ID, dev.ID})
	wantEqual(t, "release", ids(store.DeploymentFilter{ReleaseID: f.release.ID}), []int64{test.ID, dev.ID})
	wantEqual(t, "limit", ids(store.DeploymentFilter{SpaceID: f.space.ID, Limit: 1}), []int64{dev2.ID})
	wantEqual(t, "no match", ids(store.DeploymentFilter{Environment: "Production"}), []int64{})
	wantEqual(t, "no viewable project", ids(store.DeploymentFilter{SpaceID: f.space.ID, Projects: []string{}}), []int64{})
	wantEqual(t, "viewable projects", ids(store.DeploymentFilter{SpaceID: f.space.ID, Projects: []string{"Nope", f.project.Name}}), []int64{dev2.ID, test.ID, dev.ID})
	wantEqual(t, "another project only", ids(store.DeploymentFilter{SpaceID: f.space.ID, Projects: []string{"Nope"}}), []int64{})

	return test, dev2
}

// checkTaskFilters: a task knows the project it deploys; a project filter
// keeps the tasks of no project.
func checkTaskFilters(t *testing.T, s store.Store, f fixture, dev, test, dev2 domain.Deployment) {
	task, err := s.Tasks().Get(t.Context(), test.TaskID)
	must(t, err)
	if task.Project != f.project.Name {
		t.Errorf("task of a deployment of %q: Project %q", f.project.Name, task.Project)
	}
	loose := domain.Task{SpaceID: f.space.ID, Kind: "other", Description: "not a deployment"}
	must(t, s.Tasks().Create(t.Context(), &loose))
	taskIDs := func(f store.TaskFilter) []int64 {
		t.Helper()
		list, err := s.Tasks().List(t.Context(), f)
		must(t, err)
		out := []int64{}
		for _, tk := range list {
			out = append(out, tk.ID)
		}
		return out
	}
	wantEqual(t, "tasks, no viewable project", taskIDs(store.TaskFilter{SpaceID: f.space.ID, Projects: []string{}}), []int64{loose.ID})
	wantEqual(t, "tasks, viewable project", taskIDs(store.TaskFilter{SpaceID: f.space.ID, Projects: []string{f.project.Name}}), []int64{loose.ID, dev2.TaskID, test.TaskID, dev.TaskID})
	wantEqual(t, "tasks, every project", taskIDs(store.TaskFilter{SpaceID: f.space.ID}), []int64{loose.ID, dev2.TaskID, test.TaskID, dev.TaskID})

}

func testAudit(t *testing.T, s store.Store) {
	one, two := domain.Space{Name: "One"}, domain.Space{Name: "Two"}
	must(t, s.Spaces().Create(t.Context(), &one))
	must(t, s.Spaces().Create(t.Context(), &two))
	events := []domain.AuditEvent{
		{SpaceID: one.ID, Actor: "admin", Action: "environment.create", Subject: "Test", At: at(1)},
		{Actor: "admin", Action: "user.create", Subject: "bob", At: at(2)},
		{SpaceID: two.ID, Actor: "bob", Action: "project.put", Subject: "Shop", Details: map[string]string{"lifecycle": "Main"}},
		{SpaceID: one.ID, Actor: "bob", Action: "release.create", Subject: "Shop 1.0.0", Details: map[string]string{"version": "1.0.0", "notes": "x"}},
	}
	for i := range events {
		must(t, s.Audit().Append(t.Context(), &events[i]))
		if events[i].ID == 0 || events[i].At.IsZero() {
			t.Fatalf("Append did not set ID and At: %+v", events[i])
		}
	}
	events[0].Space, events[2].Space, events[3].Space = "One", "Two", "One"

	list, err := s.Audit().List(t.Context(), store.AuditFilter{SpaceID: one.ID})
	must(t, err)
	wantEqual(t, "space One, newest first", list, []domain.AuditEvent{events[3], events[0]})
	list, err = s.Audit().List(t.Context(), store.AuditFilter{})
	must(t, err)
	wantEqual(t, "all events", list, []domain.AuditEvent{events[3], events[2], events[1], events[0]})
	list, err = s.Audit().List(t.Context(), store.AuditFilter{Limit: 2})
	must(t, err)
	wantEqual(t, "limit 2", list, []domain.AuditEvent{events[3], events[2]})
	list, err = s.Audit().List(t.Context(), store.AuditFilter{SpaceID: 9999})
	must(t, err)
	if len(list) != 0 {
		t.Errorf("events of an unknown space: %+v", list)
	}

	// Events name their project; a project filter keeps events of none.
	secret := domain.AuditEvent{SpaceID: one.ID, Actor: "admin", Action: "release.create", Subject: "Secret 1", Project: "Secret"}
	shop := domain.AuditEvent{SpaceID: one.ID, Actor: "admin", Action: "release.create", Subject: "Shop 2", Project: "Shop"}
	must(t, s.Audit().Append(t.Context(), &secret))
	must(t, s.Audit().Append(t.Context(), &shop))
	secret.Space, shop.Space = "One", "One"
	list, err = s.Audit().List(t.Context(), store.AuditFilter{SpaceID: one.ID, Projects: []string{"Shop"}})
	must(t, err)
	wantEqual(t, "events of Shop and of no project", list, []domain.AuditEvent{shop, events[3], events[0]})
	list, err = s.Audit().List(t.Context(), store.AuditFilter{SpaceID: one.ID, Projects: []string{}})
	must(t, err)
	wantEqual(t, "events of no project", list, []domain.AuditEvent{events[3], events[0]})
}
