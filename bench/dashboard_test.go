package bench

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/api"
	"github.com/ferrydeploy/ferry/internal/audit"
	"github.com/ferrydeploy/ferry/internal/auth"
	"github.com/ferrydeploy/ferry/internal/dashboard"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/provenance"
	"github.com/ferrydeploy/ferry/internal/secrets"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/store/pgtest"
	"github.com/ferrydeploy/ferry/internal/store/sqlstore"
)

// The dashboard data set: the scale issue 5 asks for.
const (
	dashProjects     = 1000
	dashReleases     = 100 // per project
	dashLocalEnvs    = 17
	dashRemoteEnvs   = 3  // "Prod Space: EnvN", reported by receipts
	dashReceiptsCell = 10 // receipts per remote cell: the last releases that reached Prod
	dashSpace        = "DevTest Space"
	dashFingerprint  = "sha256:devtest-bench-fingerprint"
	// dashProdFingerprint is Prod Space's, which signs the receipts.
	dashProdFingerprint = "sha256:prod-bench-fingerprint"
)

// dashDataVersion names the cached data set. Change it whenever the data
// shape or the way it is built changes, so that a stale cache is not reused.
// (Schema migrations added later are applied to the cached file when it is
// opened.)
const dashDataVersion = "dashboard-v3"

// BenchmarkDashboard measures the dashboard of a space with 1,000 projects ×
// 20 environments (17 local, 3 in another space) × 100 releases each, a page
// of projects at a time: "page-first" and "page-middle" are
// dashboard.Service.Get of the first and of the sixth page of 100 projects,
// "all" every page of 500 one after the other (what `ferry dashboard`
// fetches), "store" the two queries behind a page's cells
// (Deployments().LatestOf and Receipts().LatestOf for 100 projects), and
// "http" the whole GET /api/spaces/{space}/dashboard of the first page.
// Besides ns/op each reports the p50 and p99 latency of its b.N calls and
// the CPU time per call (cpu-ms/op: the process's, every thread), so
// give it enough calls for a p99 to mean something.
//
// The database (1.67 million deployments and tasks, 100,000 releases, 30,000
// receipts) takes a minute or more to build, so it is built once and kept in
// $XDG_CACHE_HOME/ferry-bench/dashboard-v3/ (~/.cache/...) for later runs; delete that folder to
// build it again.
//
//	go test -run x -bench Dashboard -benchtime 50x ./bench/
func BenchmarkDashboard(b *testing.B) {
	dir := dashboardData(b)
	env := servicetest.New(b, servicetest.Data(dir))
	benchDashboard(b, env.Store, env.Set.Dashboard)
	b.Run("http", func(b *testing.B) {
		key, err := os.ReadFile(filepath.Join(dir, "admin.key"))
		if err != nil {
			b.Fatal(err)
		}
		h := api.Handler(env.Set, slog.New(slog.NewTextHandler(io.Discard, nil)))
		srv := httptest.NewServer(h)
		b.Cleanup(srv.Close)
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/spaces/"+url.PathEscape(dashSpace)+"/dashboard?limit=100", nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(key)))
		var size int64
		latencies(b, func() error {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			n, err := io.Copy(io.Discard, resp.Body)
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("GET dashboard: %s", resp.Status)
			}
			size = n
			return err
		})
		b.ReportMetric(float64(size)/1e6, "MB/response")
	})
}

// BenchmarkDashboardPostgres is BenchmarkDashboard's page-first,
// page-middle, all and store on the same data set in PostgreSQL (a
// throwaway cluster: set FERRY_TEST_POSTGRES=1, see internal/store/pgtest).
// The data set is built anew on every run (a few minutes), then ANALYZEd,
// as autovacuum would have done on a server that wrote it over time.
//
//	FERRY_TEST_POSTGRES=1 go test -run x -bench DashboardPostgres -benchtime 50x -timeout 30m ./bench/
func BenchmarkDashboardPostgres(b *testing.B) {
	dsn := pgtest.NewDatabase(b)
	ctx := domain.WithActor(context.Background(), domain.System)
	box, err := secrets.LoadOrCreateKey(filepath.Join(b.TempDir(), "master.key"))
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlstore.OpenPostgres(ctx, dsn, box)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	start := time.Now()
	d, err := fillDashboard(ctx, st)
	if err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := insertDeployments(ctx, db, func(i int) string { return fmt.Sprintf("$%d", i) }, d); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Logf("built the dashboard data set in %s", time.Since(start).Round(time.Second))
	svc := dashboard.New(st.Projects(), st.Lifecycles(), st.Releases(), st.Deployments(), st.Receipts(), st.RemoteSpaces(), st.Tenants(),
		access.NewGuard(st.Spaces(), st.Teams()), provenance.New(st.RemoteSpaces(), st.Projects(), st.Bundles()), func() time.Time { return time.Now().UTC() })
	benchDashboard(b, st, svc)
}

// benchDashboard runs the page-first, page-middle, all and store
// benchmarks on a store holding the data set.
func benchDashboard(b *testing.B, st store.Store, svc *dashboard.Service) {
	ctx := domain.WithActor(context.Background(), domain.System)
	all := func() (dashboard.Dashboard, error) {
		var d dashboard.Dashboard
		for {
			p, err := svc.Get(ctx, dashSpace, "", dashboard.Page{Offset: len(d.Projects), Limit: dashboard.MaxLimit})
			if err != nil || len(p.Projects) == 0 {
				return d, err
			}
			d.Space, d.Total, d.Projects = p.Space, p.Total, append(d.Projects, p.Projects...)
			for _, e := range p.Environments {
				if !slices.Contains(d.Environments, e) {
					d.Environments = append(d.Environments, e)
				}
			}
		}
	}
	d, err := all()
	if err != nil {
		b.Fatal(err)
	}
	checkDashboard(b, d, 0, dashProjects)
	const pageSize, middle = 100, 500
	for _, offset := range []int{0, middle} {
		d, err := svc.Get(ctx, dashSpace, "", dashboard.Page{Offset: offset, Limit: pageSize})
		if err != nil {
			b.Fatal(err)
		}
		checkDashboard(b, d, offset, pageSize)
	}

	page := func(offset int) func(b *testing.B) {
		return func(b *testing.B) {
			latencies(b, func() error {
				_, err := svc.Get(ctx, dashSpace, "", dashboard.Page{Offset: offset, Limit: pageSize})
				return err
			})
		}
	}
	b.Run("page-first", page(0))
	b.Run("page-middle", page(middle))
	b.Run("all", func(b *testing.B) {
		latencies(b, func() error {
			_, err := all()
			return err
		})
	})
	sp, err := st.Spaces().Get(ctx, dashSpace)
	if err != nil {
		b.Fatal(err)
	}
	summaries, err := st.Projects().Summaries(ctx, sp.ID)
	if err != nil {
		b.Fatal(err)
	}
	var ids []int64
	var origins []store.OriginProject
	for _, p := range summaries[middle : middle+pageSize] {
		ids = append(ids, p.ID)
		origins = append(origins, store.OriginProject{Fingerprint: dashFingerprint, Project: p.Name})
	}
	b.Run("store", func(b *testing.B) {
		latencies(b, func() error {
			if _, err := st.Deployments().LatestOf(ctx, sp.ID, ids); err != nil {
				return err
			}
			_, err := st.Receipts().LatestOf(ctx, sp.ID, origins)
			return err
		})
	})
}

// latencies runs call b.N times and reports the median and 99th percentile
// of its durations.
func latencies(b *testing.B, call func() error) {
	var took []time.Duration
	cpu0 := cpuTime(b)
	for b.Loop() {
		start := time.Now()
		if err := call(); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	pct := func(p float64) float64 {
		return float64(took[int(p*float64(len(took)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(len(took))/float64(time.Millisecond), "cpu-ms/op")
}

// checkDashboard makes sure the benchmark measures full pages: the
// projects from offset on, by name, each with a release in every
// environment, the remote ones from receipts.
func checkDashboard(b *testing.B, d dashboard.Dashboard, offset, n int) {
	b.Helper()
	if d.Total != dashProjects || len(d.Projects) != n || len(d.Environments) != dashLocalEnvs+dashRemoteEnvs {
		b.Fatalf("dashboard has %d of %d projects and %d environments", len(d.Projects), d.Total, len(d.Environments))
	}
	for i, row := range d.Projects {
		if want := fmt.Sprintf("Project%04d", offset+i); row.Project != want {
			b.Fatalf("project %d is %s, want %s", offset+i, row.Project, want)
		}
		if len(row.Cells) != dashLocalEnvs+dashRemoteEnvs {
			b.Fatalf("project %s has %d cells", row.Project, len(row.Cells))
		}
		for _, c := range row.Cells {
			if c.Version == "" || c.State == "" || c.At == nil || c.Remote != strings.HasPrefix(c.From, "receipt") {
				b.Fatalf("project %s, environment %s: cell %+v", row.Project, c.Environment, c)
			}
		}
	}
}

// dashboardData returns the folder holding the benchmark's database
// (ferry.db), its master key and the administrator's API key, building them
// first unless an earlier run did. The cache lives in the user's own cache
// folder, not under a fixed name in the shared temporary folder, where any
// other user could have put a database and key of their choosing.
func dashboardData(b *testing.B) string {
	cache, err := os.UserCacheDir()
	if err != nil {
		b.Logf("no cache folder (%v): building the data set in a temporary folder", err)
		cache = b.TempDir()
	}
	parent := filepath.Join(cache, "ferry-bench")
	if err := os.MkdirAll(parent, 0o700); err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(parent, dashDataVersion)
	if _, err := os.Stat(filepath.Join(dir, "ferry.db")); err == nil {
		return dir
	}
	// Build beside the cache and rename, so an interrupted build leaves
	// nothing that looks finished.
	tmp, err := os.MkdirTemp(parent, "building-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	start := time.Now()
	if err := buildDashboardData(tmp); err != nil {
		b.Fatal(err)
	}
	b.Logf("built the dashboard data set in %s", time.Since(start).Round(time.Second))
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, "ferry.db")); statErr != nil {
			b.Fatal(err)
		}
		// Another run built it at the same time: use that one.
	}
	return dir
}

// dashTime is when the data set's history starts; release k of every
// project is created k hours later and moves through the environments ten
// minutes apart.
var dashTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func releaseTime(k int) time.Time { return dashTime.Add(time.Duration(k) * time.Hour) }

// reaches reports whether release k got as far as local environment e:
// later environments lag a few releases behind, as they do in life.
func reaches(k, e int) bool { return k < dashReleases-e/4 }

// dashState is the final state of a deployment: mostly successes, a few
// failures and cancellations.
func dashState(p, k, e int) domain.TaskState {
	switch h := (p*31 + k*17 + e*7) % 100; {
	case h < 3:
		return domain.TaskFailed
	case h < 4:
		return domain.TaskCancelled
	default:
		return domain.TaskSuccess
	}
}

var dashUsers = []string{"alice", "bob", "carol", "dave", "erin"}

// buildDashboardData builds the data set in dir. The space, environments,
// lifecycle, projects, releases and receipts go through the store, in a few
// transactions. The 1.7 million tasks and deployments do not: one by one
// through the store they take minutes, so they are written with multi-row
// INSERTs in one transaction on the same file, which the store then opens
// as it is.
func buildDashboardData(dir string) error {
	ctx := domain.WithActor(context.Background(), domain.System)
	box, err := secrets.LoadOrCreateKey(filepath.Join(dir, "master.key"))
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "ferry.db")
	st, err := sqlstore.OpenSQLite(ctx, path, box)
	if err != nil {
		return err
	}
	defer st.Close()
	now := func() time.Time { return time.Now().UTC() }
	if _, err := auth.New(st, st.Users(), st.Sessions(), audit.New(st.Audit(), now), now).Bootstrap(ctx, filepath.Join(dir, "admin.key"), ""); err != nil {
		return err
	}
	d, err := fillDashboard(ctx, st)
	if err != nil {
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)")
	if err != nil {
		return err
	}
	defer db.Close()
	return insertDeployments(ctx, db, func(int) string { return "?" }, d)
}

// dashData is what fillDashboard made that the deployments refer to.
type dashData struct {
	spaceID    int64
	local      []string  // the local environments' names
	projectIDs []int64   // by project number
	names      []string  // by project number
	releases   [][]int64 // releases[p][k] is the ID of release k of project p
}

// fillDashboard writes, through the store, the space (with the remote
// space whose receipts it shows), environments, lifecycle, projects,
// releases and receipts of the data set.
func fillDashboard(ctx context.Context, st *sqlstore.DB) (dashData, error) {
	sp := domain.Space{Name: dashSpace, CreatedAt: dashTime}
	if err := st.Spaces().Create(ctx, &sp); err != nil {
		return dashData{}, err
	}
	if err := st.Spaces().SetIdentity(ctx, sp.ID, []byte("-----BEGIN CERTIFICATE-----\nbench\n-----END CERTIFICATE-----\n"),
		dashFingerprint, []byte("bench private key")); err != nil {
		return dashData{}, err
	}
	// The dashboard shows a receipt only from a remote space this space
	// trusts, naming one of that space's environments.
	prod := domain.RemoteSpace{SpaceID: sp.ID, Name: "Prod Space", CertPEM: "-----BEGIN CERTIFICATE-----\nprod\n-----END CERTIFICATE-----\n",
		Fingerprint: dashProdFingerprint, Trust: domain.Trust{domain.TrustPromote, domain.TrustReceipts}, CreatedAt: dashTime, UpdatedAt: dashTime}
	if err := st.RemoteSpaces().Create(ctx, &prod); err != nil {
		return dashData{}, err
	}
	d := dashData{spaceID: sp.ID}
	lc := domain.Lifecycle{SpaceID: sp.ID, Name: "Main"}
	var remote []string
	for e := range dashLocalEnvs + dashRemoteEnvs {
		env := domain.Environment{SpaceID: sp.ID, Name: fmt.Sprintf("Env%02d", e+1), CreatedAt: dashTime}
		if e >= dashLocalEnvs {
			env.RemoteSpace = "Prod Space"
			env.Name = env.RemoteSpace + ": " + env.Name
			remote = append(remote, env.Name)
		} else {
			d.local = append(d.local, env.Name)
		}
		if err := st.Environments().Create(ctx, &env); err != nil {
			return dashData{}, err
		}
		lc.Phases = append(lc.Phases, domain.Phase{Name: fmt.Sprintf("Phase%02d", e+1), Environments: []string{env.Name}})
	}
	if err := st.Lifecycles().Put(ctx, &lc); err != nil {
		return dashData{}, err
	}

	d.releases = make([][]int64, dashProjects)
	d.names = make([]string, dashProjects)
	d.projectIDs = make([]int64, dashProjects)
	const perTx = 100 // projects
	for first := 0; first < dashProjects; first += perTx {
		err := st.WithTx(ctx, func(ctx context.Context) error {
			for p := first; p < min(first+perTx, dashProjects); p++ {
				pr := dashProject(sp.ID, p)
				if err := st.Projects().Put(ctx, &pr); err != nil {
					return err
				}
				d.names[p], d.projectIDs[p] = pr.Name, pr.ID
				snap := domain.Snapshot{Process: pr.Process, Variables: pr.Variables, Templates: pr.Templates}
				for k := range dashReleases {
					r := domain.Release{ProjectID: pr.ID, Version: fmt.Sprintf("1.0.%d", k+1), Snapshot: snap,
						SnapshotDigest: fmt.Sprintf("sha256:%064x", p*dashReleases+k), CreatedAt: releaseTime(k),
						CreatedBy: dashUsers[k%len(dashUsers)]}
					if err := st.Releases().Create(ctx, &r); err != nil {
						return err
					}
					d.releases[p] = append(d.releases[p], r.ID)
				}
				if err := dashReceipts(ctx, st, sp.ID, p, pr.Name, remote); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return dashData{}, err
		}
	}
	return d, nil
}

// dashProject is project p: 5 steps, 10 variables (two sensitive), 2
// templates, as in the apply benchmarks.
func dashProject(spaceID int64, p int) domain.Project {
	pr := domain.Project{SpaceID: spaceID, Name: fmt.Sprintf("Project%04d", p), Lifecycle: "Main",
		CreatedAt: dashTime, UpdatedAt: dashTime,
		Templates: []domain.Template{{Name: "DbUrl", Type: "sensitive", Required: true}, {Name: "Region", Type: "text", Default: "eu"}}}
	for v := range 10 {
		pr.Variables = append(pr.Variables, domain.Variable{Name: fmt.Sprintf("Var%d", v), Value: fmt.Sprintf("value-%d-%d", p, v), Sensitive: v < 2})
	}
	for s := range 5 {
		pr.Process = append(pr.Process, domain.Step{Name: fmt.Sprintf("Step%d", s), Type: domain.StepScript,
			Script: fmt.Sprintf("echo \"#{Var%d} on #{Ferry.Environment.Name}\"\n", s)})
	}
	return pr
}

// dashReceipts stores the receipts Prod Space sent back for project p: the
// last dashReceiptsCell releases that reached each of its environments,
// with payloads of a realistic size.
func dashReceipts(ctx context.Context, st *sqlstore.DB, spaceID int64, p int, project string, remote []string) error {
	payload := []byte(strings.Repeat("x", 600))
	signer := "-----BEGIN CERTIFICATE-----\n" + strings.Repeat("MIIBbench", 60) + "\n-----END CERTIFICATE-----\n"
	for j, env := range remote {
		last := dashReleases - dashLocalEnvs/4 - j // Prod lags behind the last local environment
		for k := last - dashReceiptsCell; k < last; k++ {
			at := releaseTime(k).Add(time.Duration(dashLocalEnvs+j) * 10 * time.Minute)
			end := at.Add(45 * time.Second)
			r := domain.Receipt{SpaceID: spaceID, Digest: fmt.Sprintf("sha256:receipt-%d-%d-%d", p, j, k),
				DeployingSpace: "Prod Space", SignerFingerprint: dashProdFingerprint,
				OriginSpace: dashSpace, OriginFingerprint: dashFingerprint, OriginProject: project,
				Version: fmt.Sprintf("1.0.%d", k+1), SnapshotDigest: fmt.Sprintf("sha256:%064x", p*dashReleases+k),
				Environment: env, State: dashState(p, k, dashLocalEnvs+j), StartedAt: &at, FinishedAt: &end,
				DeployedBy: "ops-" + dashUsers[k%len(dashUsers)], ReceivedFrom: "Prod Space", ReceivedAt: end.Add(time.Hour),
				Payload: payload, Signature: make([]byte, 64), SignerPEM: signer}
			if _, err := st.Receipts().Create(ctx, &r); err != nil {
				return err
			}
		}
	}
	return nil
}

// insertDeployments writes a task and a deployment for every release that
// reached each local environment, straight into the database (ph(i) is
// its i-th parameter placeholder), in the order they happened (release by
// release, project by project). A task and its deployment share an ID.
func insertDeployments(ctx context.Context, db *sql.DB, ph func(int) string, d dashData) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	const batch = 1000 // rows per INSERT; 11 columns stay well under SQLite's 32766 parameters
	tasks := newBatchInsert(tx, `INSERT INTO tasks (id, space_id, kind, description, state, deployment_id,
		queued_at, started_at, finished_at, node, error) VALUES `, 11, batch, ph)
	deps := newBatchInsert(tx, `INSERT INTO deployments (id, space_id, project_id, release_id, environment,
		tenant, task_id, created_at, created_by) VALUES `, 9, batch, ph)
	var id int64
	for k := range dashReleases {
		for p := range d.releases {
			for e, env := range d.local {
				if !reaches(k, e) {
					continue
				}
				id++
				queued := releaseTime(k).Add(time.Duration(e) * 10 * time.Minute)
				state := dashState(p, k, e)
				errMsg := ""
				if state == domain.TaskFailed {
					errMsg = "step Step3 failed: exit status 1"
				}
				who := dashUsers[(p+k+e)%len(dashUsers)]
				err := tasks.add(ctx, id, d.spaceID, domain.TaskDeploy,
					fmt.Sprintf("Deploy %s 1.0.%d to %s", d.names[p], k+1, env), string(state), id,
					queued.UnixMicro(), queued.Add(time.Second).UnixMicro(), queued.Add(30*time.Second).UnixMicro(), "bench", errMsg)
				if err != nil {
					return err
				}
				if err := deps.add(ctx, id, d.spaceID, d.projectIDs[p], d.releases[p][k], env, "", id, queued.UnixMicro(), who); err != nil {
					return err
				}
			}
		}
	}
	if err := tasks.flush(ctx); err != nil {
		return err
	}
	if err := deps.flush(ctx); err != nil {
		return err
	}
	// The store writes a deployment's dashboard cell with it; these rows
	// did not go through the store.
	if _, err := tx.ExecContext(ctx, `INSERT INTO deployment_cells (space_id, project_id, environment, deployment_id,
			release_id, version, tenant, task_id, created_at, created_by, on_behalf_of, state, started_at, finished_at)
		SELECT d.space_id, d.project_id, d.environment, d.id, d.release_id, r.version, d.tenant, d.task_id, d.created_at, d.created_by,
			d.on_behalf_of, t.state, t.started_at, t.finished_at
		FROM deployments d JOIN releases r ON r.id = d.release_id LEFT JOIN tasks t ON t.id = d.task_id
		WHERE d.id IN (SELECT MAX(id) FROM deployments GROUP BY space_id, project_id, environment)`); err != nil {
		return err
	}
	return tx.Commit()
}

// batchInsert gathers rows and writes them n at a time with one multi-row
// INSERT statement, prepared once.
type batchInsert struct {
	tx     *sql.Tx
	prefix string
	cols   int
	n      int
	ph     func(int) string
	full   *sql.Stmt
	args   []any
}

func newBatchInsert(tx *sql.Tx, prefix string, cols, n int, ph func(int) string) *batchInsert {
	return &batchInsert{tx: tx, prefix: prefix, cols: cols, n: n, ph: ph}
}

func (bi *batchInsert) add(ctx context.Context, row ...any) error {
	bi.args = append(bi.args, row...)
	if len(bi.args) < bi.cols*bi.n {
		return nil
	}
	if bi.full == nil {
		stmt, err := bi.tx.PrepareContext(ctx, bi.statement(bi.n))
		if err != nil {
			return err
		}
		bi.full = stmt
	}
	_, err := bi.full.ExecContext(ctx, bi.args...)
	bi.args = bi.args[:0]
	return err
}

func (bi *batchInsert) flush(ctx context.Context) error {
	if len(bi.args) > 0 {
		if _, err := bi.tx.ExecContext(ctx, bi.statement(len(bi.args)/bi.cols), bi.args...); err != nil {
			return err
		}
		bi.args = bi.args[:0]
	}
	if bi.full != nil {
		return bi.full.Close()
	}
	return nil
}

func (bi *batchInsert) statement(rows int) string {
	var q strings.Builder
	q.WriteString(bi.prefix)
	for r := range rows {
		if r > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(")
		for c := range bi.cols {
			if c > 0 {
				q.WriteString(", ")
			}
			q.WriteString(bi.ph(r*bi.cols + c + 1))
		}
		q.WriteString(")")
	}
	return q.String()
}
