package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// testProjectSummaries checks that Summaries is List without the bodies.
func testProjectSummaries(t *testing.T, s store.Store) {
	sp := domain.Space{Name: "Summaries"}
	must(t, s.Spaces().Create(t.Context(), &sp))
	empty, err := s.Projects().Summaries(t.Context(), sp.ID)
	must(t, err)
	wantEqual(t, "no projects", len(empty), 0)
	for _, name := range []string{"web", "Api", "DevTest Space: Api", "api"} {
		p := domain.Project{SpaceID: sp.ID, Name: name, Lifecycle: "Main",
			Variables: []domain.Variable{{Name: "Key", Value: "secret", Sensitive: true}}}
		if name == "DevTest Space: Api" {
			p.Lifecycle = ""
			p.Origin = &domain.ProjectOrigin{Space: "DevTest Space", Project: "Api", Fingerprint: "sha256:dev"}
		}
		must(t, s.Projects().Put(t.Context(), &p))
	}
	other := domain.Space{Name: "Other"}
	must(t, s.Spaces().Create(t.Context(), &other))
	must(t, s.Projects().Put(t.Context(), &domain.Project{SpaceID: other.ID, Name: "elsewhere"}))

	full, err := s.Projects().List(t.Context(), sp.ID)
	must(t, err)
	want := []store.ProjectSummary{}
	for _, p := range full {
		want = append(want, store.ProjectSummary{ID: p.ID, Name: p.Name, Lifecycle: p.Lifecycle, Origin: p.Origin})
	}
	got, err := s.Projects().Summaries(t.Context(), sp.ID)
	must(t, err)
	wantEqual(t, "summaries", got, want)
	for offset := range len(want) + 2 {
		for limit := 1; limit <= len(want)+1; limit++ {
			page, total, err := s.Projects().SummaryPage(t.Context(), sp.ID, offset, limit)
			must(t, err)
			first := min(offset, len(want))
			wantEqual(t, fmt.Sprintf("summaries from %d, at most %d", offset, limit), page, want[first:min(first+limit, len(want))])
			wantEqual(t, "projects in all", total, len(want))
		}
	}
}

// testLatestOf checks Deployments().LatestOf and Receipts().LatestOf
// against a brute-force grouping of everything List returns, over three
// spaces, projects without deployments, and environment names that differ
// only in case or are empty; then again after each way a task's state and
// times change, since a cell's state is its task's now, not when the cell
// was written: claimed, finished, waiting for a manual intervention and
// queued again by its decision, failed by its own node's restart, and
// failed for a dead node.
func testLatestOf(t *testing.T, s store.Store) {
	ctx := t.Context()
	spaces := latestData(t, s)
	checkLatestOf(t, s, spaces)
	var decide []domain.Intervention
	for i := 0; ; i++ {
		node := []string{"node", "node", "restarted", "dead", "node"}[i%5]
		task, err := s.Tasks().Claim(ctx, node, at(i))
		if errors.Is(err, domain.ErrNotFound) {
			break
		}
		must(t, err)
		switch i % 5 {
		case 0:
			must(t, s.Tasks().Finish(ctx, task.ID, domain.TaskSuccess, "", at(i+1)))
		case 1:
			iv := domain.Intervention{TaskID: task.ID, Step: "Approve", Since: at(i + 1)}
			must(t, s.Interventions().Open(ctx, &iv))
			if i%2 == 1 { // every other one is decided below, the rest keep waiting
				decide = append(decide, iv)
			}
		}
	}
	checkLatestOf(t, s, spaces)
	for _, iv := range decide {
		ok, err := s.Interventions().Decide(ctx, iv.ID, "proceed", "ops", "", at(50))
		must(t, err)
		wantEqual(t, "decided", ok, true)
	}
	_, err := s.Tasks().FailExecuting(ctx, "restarted", "the node restarted", at(51))
	must(t, err)
	must(t, s.Nodes().Heartbeat(ctx, "node", at(59)))
	_, err = s.Nodes().FailTasksOfDeadNodes(ctx, at(58), "its node stopped", at(59))
	must(t, err)
	checkLatestOf(t, s, spaces)
}

func checkLatestOf(t *testing.T, s store.Store, spaces []latestSpace) {
	for _, sp := range spaces {
		all, err := s.Deployments().List(t.Context(), store.DeploymentFilter{SpaceID: sp.sp.ID})
		must(t, err)
		allReceipts, err := s.Receipts().List(t.Context(), sp.sp.ID, store.ReceiptFilter{})
		must(t, err)
		pages := [][]domain.Project{sp.projects, sp.projects[1:2], sp.projects[2:], {}}
		for _, page := range pages {
			got := checkLatestDeployments(t, s, sp.sp, page, all)
			gotR := checkLatestReceipts(t, s, sp.sp, page, allReceipts)
			if len(page) == len(sp.projects) && (len(got) < 10 || len(gotR) < 10) {
				t.Errorf("%s: only %d deployments and %d receipts: the test data is too thin", sp.sp.Name, len(got), len(gotR))
			}
		}
	}
}

// latestSpace is a space of testLatestOf's data and its projects.
type latestSpace struct {
	sp       domain.Space
	projects []domain.Project
}

// latestData makes three spaces of four projects, and four rounds of
// releases deployed to some of the environments, each with receipts from
// the space itself and from elsewhere.
func latestData(t *testing.T, s store.Store) []latestSpace {
	envs := []string{"Development", "development", "Test", "", "Prod Space: Production", "Zeta"}
	var spaces []latestSpace
	for i := range 3 {
		sp := domain.Space{Name: fmt.Sprintf("Latest %d", i), Fingerprint: fmt.Sprintf("sha256:space-%d", i)}
		must(t, s.Spaces().Create(t.Context(), &sp))
		spaces = append(spaces, latestSpace{sp: sp})
	}
	// Spaces take turns, so each one's deployments and receipts are
	// interleaved with the others' ids.
	n := 0
	for round := range 4 {
		for i := range spaces {
			sp := &spaces[i]
			if round == 0 {
				for p := range 4 { // project 3 never gets a deployment
					pr := domain.Project{SpaceID: sp.sp.ID, Name: fmt.Sprintf("P%d", p)}
					must(t, s.Projects().Put(t.Context(), &pr))
					sp.projects = append(sp.projects, pr)
				}
			}
			for p, pr := range sp.projects[:3] {
				rel := domain.Release{ProjectID: pr.ID, Version: fmt.Sprintf("1.%d.0", round)}
				must(t, s.Releases().Create(t.Context(), &rel))
				for e, env := range envs {
					n++
					if (n+p+e)%3 == 0 { // not every release reaches every environment
						continue
					}
					latestDeployment(t, s, sp.sp, pr, rel, env, n)
				}
			}
		}
	}
	return spaces
}

// latestDeployment records the n-th deployment (with a task every other
// time) and its two receipts.
func latestDeployment(t *testing.T, s store.Store, sp domain.Space, pr domain.Project, rel domain.Release, env string, n int) {
	d := domain.Deployment{SpaceID: sp.ID, ProjectID: pr.ID, ReleaseID: rel.ID, Environment: env, CreatedBy: fmt.Sprintf("user %d", n%5),
		Tenant: []string{"", "Acme"}[n%2], Targets: []string{"web-1"}, CreatedAt: at(n % 60),
		OnBehalfOf: []string{"", "trigger nightly"}[n%3%2]}
	if n%2 == 0 {
		task := domain.Task{SpaceID: sp.ID, Kind: domain.TaskDeploy, Description: "Deploy"}
		must(t, s.Tasks().Create(t.Context(), &task))
		d.TaskID = task.ID
	}
	must(t, s.Deployments().Create(t.Context(), &d))
	for _, fp := range []string{sp.Fingerprint, "sha256:elsewhere"} {
		r := domain.Receipt{SpaceID: sp.ID, Digest: fmt.Sprintf("sha256:r%d-%s", n, fp),
			DeployingSpace: "Prod Space", OriginFingerprint: fp, OriginProject: pr.Name,
			Version: rel.Version, Environment: env, State: domain.TaskSuccess,
			ReceivedAt: at(n % 60), Payload: []byte("signed"), Signature: []byte("sig"), SignerPEM: "PEM"}
		if n%3 != 0 { // receipts of schema 3 say how many targets ran it; earlier ones do not
			m := n % 7
			r.Machines = &m
		}
		_, err := s.Receipts().Create(t.Context(), &r)
		must(t, err)
	}
}

func byID(a, b int64) int { return cmp.Compare(a, b) }

// checkLatestDeployments compares Deployments().LatestOf for the page's
// projects with a brute force over all: the highest id of each group, as a
// cell shows it, by project id and environment.
func checkLatestDeployments(t *testing.T, s store.Store, sp domain.Space, page []domain.Project, all []domain.Deployment) []store.DeploymentCell {
	newest := map[[2]any]domain.Deployment{}
	ids := []int64{}
	for _, p := range page {
		ids = append(ids, p.ID)
	}
	for _, d := range all {
		k := [2]any{d.ProjectID, d.Environment}
		if slices.Contains(ids, d.ProjectID) && d.ID > newest[k].ID {
			newest[k] = d
		}
	}
	want := []store.DeploymentCell{}
	for _, d := range newest {
		want = append(want, store.DeploymentCell{ProjectID: d.ProjectID, Environment: d.Environment, Version: d.Version,
			State: d.State, CreatedAt: d.CreatedAt, StartedAt: d.StartedAt, FinishedAt: d.FinishedAt, CreatedBy: d.CreatedBy})
	}
	got, err := s.Deployments().LatestOf(t.Context(), sp.ID, ids)
	must(t, err)
	byCell := func(a, b store.DeploymentCell) int {
		return cmp.Or(cmp.Compare(a.ProjectID, b.ProjectID), strings.Compare(a.Environment, b.Environment))
	}
	slices.SortFunc(want, byCell)
	slices.SortFunc(got, byCell)
	wantEqual(t, fmt.Sprintf("%s: latest deployments of %d projects", sp.Name, len(ids)), got, want)
	return got
}

// checkLatestReceipts compares Receipts().LatestOf for the page's projects
// (and, with two or more, one from elsewhere and one from nobody) with a
// brute force over all.
func checkLatestReceipts(t *testing.T, s store.Store, sp domain.Space, page []domain.Project, allReceipts []domain.Receipt) []store.ReceiptCell {
	origins := []store.OriginProject{}
	for _, p := range page {
		origins = append(origins, store.OriginProject{Fingerprint: sp.Fingerprint, Project: p.Name})
	}
	if len(page) > 1 {
		origins = append(origins, store.OriginProject{Fingerprint: "sha256:elsewhere", Project: page[1].Name},
			store.OriginProject{Fingerprint: "sha256:nobody", Project: page[0].Name})
	}
	latest := map[[3]string]domain.Receipt{}
	for _, r := range allReceipts {
		k := [3]string{r.OriginFingerprint, r.OriginProject, r.Environment}
		if slices.Contains(origins, store.OriginProject{Fingerprint: r.OriginFingerprint, Project: r.OriginProject}) && r.ID > latest[k].ID {
			latest[k] = r
		}
	}
	wantR := []store.ReceiptCell{}
	for _, r := range latest {
		wantR = append(wantR, store.ReceiptCell{OriginFingerprint: r.OriginFingerprint, OriginProject: r.OriginProject,
			Environment: r.Environment, Version: r.Version, State: r.State, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
			DeployedBy: r.DeployedBy, Machines: r.Machines, DeployingSpace: r.DeployingSpace, SignerFingerprint: r.SignerFingerprint})
	}
	gotR, err := s.Receipts().LatestOf(t.Context(), sp.ID, origins)
	must(t, err)
	byCell := func(a, b store.ReceiptCell) int {
		return cmp.Or(strings.Compare(a.OriginFingerprint, b.OriginFingerprint), strings.Compare(a.OriginProject, b.OriginProject),
			strings.Compare(a.Environment, b.Environment))
	}
	slices.SortFunc(wantR, byCell)
	slices.SortFunc(gotR, byCell)
	wantEqual(t, fmt.Sprintf("%s: latest receipts of %d origin projects", sp.Name, len(origins)), gotR, wantR)
	return gotR
}
