// Package dashboard answers "where is every release?": for each project of
// a space, its latest release and state in every environment of its
// lifecycle — local ones from deployments, other spaces' from receipts.
package dashboard

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/provenance"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Service builds dashboards.
type Service struct {
	projects    store.Projects
	lifecycles  store.Lifecycles
	releases    store.Releases
	deployments store.Deployments
	receipts    store.Receipts
	remotes     store.RemoteSpaces
	tenants     store.Tenants
	access      access.Guard
	provenance  *provenance.Rules
	now         func() time.Time
}

// New returns a dashboard service. It only reads: projects, lifecycles,
// releases, deployments, receipts, remote spaces and tenants, and counts
// only the receipts the provenance rules accept.
func New(projects store.Projects, lifecycles store.Lifecycles, releases store.Releases, deployments store.Deployments, receipts store.Receipts, remotes store.RemoteSpaces,
	tenants store.Tenants, guard access.Guard, rules *provenance.Rules, now func() time.Time) *Service {
	return &Service{projects: projects, lifecycles: lifecycles, releases: releases, deployments: deployments, receipts: receipts, remotes: remotes, tenants: tenants,
		access: guard, provenance: rules, now: now}
}

// Dashboard is projects × environments, one page of projects at a time.
type Dashboard struct {
	Space        string   `json:"space"`
	Environments []string `json:"environments"` // every column of the page, in lifecycle order
	Projects     []Row    `json:"projects"`     // the page's projects, by name
	Total        int      `json:"total"`        // projects the caller may see, on every page
	Offset       int      `json:"offset"`       // of the page's first project
	Limit        int      `json:"limit"`        // the page size used
}

// Page picks projects by their place in the name order.
type Page struct {
	Offset int
	Limit  int // 0: DefaultLimit; at most MaxLimit
}

// Page sizes: a page's cost follows its number of projects × environments.
const (
	DefaultLimit = 100
	MaxLimit     = 500
)

func (p Page) normal() (Page, error) {
	if p.Offset < 0 || p.Limit < 0 {
		return p, domain.Invalidf("page offset and limit must not be negative")
	}
	if p.Limit == 0 {
		p.Limit = DefaultLimit
	}
	p.Limit = min(p.Limit, MaxLimit)
	return p, nil
}

// Row is one project's line.
type Row struct {
	Project   string `json:"project"`
	Lifecycle string `json:"lifecycle"`
	Remote    bool   `json:"remote,omitempty"`
	Cells     []Cell `json:"cells"` // one per environment of its lifecycle, in order
}

// Cell is a project's latest release in one environment.
type Cell struct {
	Environment string           `json:"environment"`
	Remote      bool             `json:"remote,omitempty"`
	Version     string           `json:"version,omitempty"`
	State       domain.TaskState `json:"state,omitempty"`
	At          *time.Time       `json:"at,omitempty"`
	AgeSeconds  int64            `json:"ageSeconds,omitempty"`
	DeployedBy  string           `json:"deployedBy,omitempty"`
	// From says where the cell's facts come from: "deployment" or
	// "receipt" (and then which space signed it).
	From string `json:"from,omitempty"`
	// Machines counts the deployment targets that ran it; nil when not
	// known (a receipt of a schema version before 3).
	Machines *int `json:"machines,omitempty"`
}

// Get builds one page of the dashboard of a space, or the dashboard of one
// project when project is set. Only the page's projects cost anything
// beyond their name: their cells are read for them alone.
func (s *Service) Get(ctx context.Context, space, project string, page Page) (Dashboard, error) {
	page, err := page.normal()
	if err != nil {
		return Dashboard{}, err
	}
	sp, err := s.access.Space(ctx, space, domain.PermView, "", "")
	if err != nil {
		return Dashboard{}, err
	}
	projects, total, err := s.page(ctx, sp, project, page)
	if err != nil {
		return Dashboard{}, err
	}
	if project != "" && total == 0 {
		return Dashboard{}, domain.NotFoundf("project %q not found in space %q", project, space)
	}
	d := Dashboard{Space: sp.Name, Environments: []string{}, Projects: []Row{},
		Total: total, Offset: page.Offset, Limit: page.Limit}
	if len(projects) == 0 {
		return d, nil
	}
	var (
		lcs   []domain.Lifecycle
		cells [][]Cell
	)
	err = parallel(
		func() (err error) { lcs, err = s.lifecycles.List(ctx, sp.ID); return err },
		func() (err error) { cells, err = s.cells(ctx, sp, projects); return err })
	if err != nil {
		return Dashboard{}, err
	}
	lifecycles := map[string]domain.Lifecycle{}
	for _, l := range lcs {
		lifecycles[l.Name] = l
	}
	now := s.now()
	seen := map[string]bool{}
	d.Projects = make([]Row, 0, len(projects))
	for i, p := range projects {
		known := make([]string, len(cells[i]))
		for k, c := range cells[i] {
			known[k] = c.Environment
		}
		envs := columns(lifecycles[p.Lifecycle], known)
		row := Row{Project: p.Name, Lifecycle: p.Lifecycle, Remote: p.IsRemote(), Cells: make([]Cell, 0, len(envs))}
		for _, env := range envs {
			c, ok := cellOf(cells[i], env)
			if !ok {
				c = Cell{Environment: env}
			}
			c.Remote = strings.Contains(env, ": ")
			if c.At != nil {
				c.AgeSeconds = int64(now.Sub(*c.At).Seconds())
			}
			row.Cells = append(row.Cells, c)
			if !seen[env] {
				seen[env] = true
				d.Environments = append(d.Environments, env)
			}
		}
		d.Projects = append(d.Projects, row)
	}
	return d, nil
}

// page returns the page's projects among those of sp the caller may view
// (only project, when set), and how many of those there are. When the
// caller may view every project, only the page's rows are read.
func (s *Service) page(ctx context.Context, sp domain.Space, project string, page Page) ([]store.ProjectSummary, int, error) {
	view, err := s.access.Viewable(ctx, sp)
	if err != nil {
		return nil, 0, err
	}
	if project == "" && view.Names() == nil {
		return s.projects.SummaryPage(ctx, sp.ID, page.Offset, page.Limit)
	}
	projects, err := s.projects.Summaries(ctx, sp.ID)
	if err != nil {
		return nil, 0, err
	}
	projects = slices.DeleteFunc(projects, func(p store.ProjectSummary) bool {
		return (project != "" && p.Name != project) || !view.Has(p.Name)
	})
	first := min(page.Offset, len(projects))
	return projects[first : first+min(page.Limit, len(projects)-first)], len(projects), nil
}

// columns lists a project's environments in lifecycle order; a phase entry
// naming a whole remote space expands to the environments that receipts
// report for it (known holds the project's environments with a cell).
// Other spaces' environments that receipts report but the lifecycle does
// not name — a space further along that a receipt was relayed from — come
// last, by name, so every receipt shows somewhere.
func columns(lc domain.Lifecycle, known []string) []string {
	out := lifecycleColumns(lc, known)
	var extra []string
	for _, k := range known {
		if strings.Contains(k, ": ") && !slices.Contains(out, k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	return append(out, extra...)
}

func lifecycleColumns(lc domain.Lifecycle, known []string) []string {
	out := make([]string, 0, max(len(known), len(lc.Phases)))
	for _, ph := range lc.Phases {
		for _, e := range ph.Environments {
			if strings.Contains(e, ": ") {
				out = append(out, e)
				continue
			}
			first := len(out)
			for _, k := range known {
				if inSpace(k, e) {
					out = append(out, k)
				}
			}
			if len(out) == first {
				out = append(out, e)
				continue
			}
			slices.Sort(out[first:])
		}
	}
	return out
}

// inSpace reports whether env is an environment of the remote space
// named space: "<space>: <environment>". (It builds no string: a page asks
// it for every environment of every project.)
func inSpace(env, space string) bool {
	return len(env) > len(space)+2 && env[len(space)] == ':' && env[len(space)+1] == ' ' && env[:len(space)] == space
}

// cells gathers the latest deployment of each project in each local
// environment, and the latest receipt in each other space's environment:
// out[i] are the cells of projects[i], in no particular order. Its three
// reads are independent of each other and run at once: on PostgreSQL each
// has its own connection and server process.
func (s *Service) cells(ctx context.Context, sp domain.Space, projects []store.ProjectSummary) ([][]Cell, error) {
	x := indexPage(sp, projects)
	var (
		latest   []store.DeploymentCell
		receipts []store.ReceiptCell
		signers  signerSet
	)
	err := parallel(
		func() (err error) { latest, err = s.deployments.LatestOf(ctx, sp.ID, x.ids); return err },
		func() (err error) { receipts, err = s.receipts.LatestOf(ctx, sp.ID, x.origins); return err },
		func() (err error) { signers, err = s.signers(ctx, sp); return err })
	if err != nil {
		return nil, err
	}
	out := x.sized(latest, receipts)
	machines := 0 // the deployments' cells do not count their targets: &0 for all
	for k := range latest {
		d := &latest[k] // At may point into it
		i, ok := x.byID[d.ProjectID]
		if !ok {
			continue
		}
		at := d.FinishedAt
		if at == nil {
			at = d.StartedAt
		}
		if at == nil {
			at = &d.CreatedAt
		}
		out[i] = putCell(out[i], Cell{Environment: d.Environment, Version: d.Version, State: d.State, At: at, DeployedBy: d.CreatedBy,
			From: "deployment", Machines: &machines})
	}
	from := map[string]string{} // deploying space → From
	for _, r := range receipts {
		i, ok := x.byOrigin[store.OriginProject{Fingerprint: r.OriginFingerprint, Project: r.OriginProject}]
		if !ok || !signers.speaksFor(r.SignerFingerprint, r.Environment) {
			continue
		}
		at := r.FinishedAt
		if at == nil {
			at = r.StartedAt
		}
		f, ok := from[r.DeployingSpace]
		if !ok {
			f = "receipt from " + r.DeployingSpace
			from[r.DeployingSpace] = f
		}
		out[i] = putCell(out[i], Cell{Environment: r.Environment, Version: r.Version, State: r.State, At: at, DeployedBy: r.DeployedBy,
			From: f, Machines: r.Machines})
	}
	return out, nil
}

// pageIndex finds a page's projects by what the cells' rows name them by.
type pageIndex struct {
	byID     map[int64]int               // project id → index in the page
	byOrigin map[store.OriginProject]int // origin space and project → index in the page
	ids      []int64                     // the page's project ids, in order
	origins  []store.OriginProject       // the page's origin projects, in order
}

// indexPage indexes a page of sp's projects: a local project's origin is
// sp itself, a remote one's the space it came from.
func indexPage(sp domain.Space, projects []store.ProjectSummary) pageIndex {
	x := pageIndex{byID: make(map[int64]int, len(projects)), byOrigin: make(map[store.OriginProject]int, len(projects)),
		ids: make([]int64, 0, len(projects)), origins: make([]store.OriginProject, 0, len(projects))}
	for i, p := range projects {
		x.byID[p.ID] = i
		x.ids = append(x.ids, p.ID)
		o := store.OriginProject{Fingerprint: sp.Fingerprint, Project: p.Name}
		if p.IsRemote() {
			o = store.OriginProject{Fingerprint: p.Origin.Fingerprint, Project: p.Origin.Project}
		}
		x.byOrigin[o] = i
		x.origins = append(x.origins, o)
	}
	return x
}

// sized returns an empty slice of cells per project of the page, each
// with room for the rows that name the project: slices of one array,
// sized before it is filled.
func (x pageIndex) sized(latest []store.DeploymentCell, receipts []store.ReceiptCell) [][]Cell {
	counts := make([]int, len(x.ids))
	for _, d := range latest {
		if i, ok := x.byID[d.ProjectID]; ok {
			counts[i]++
		}
	}
	for _, r := range receipts {
		if i, ok := x.byOrigin[store.OriginProject{Fingerprint: r.OriginFingerprint, Project: r.OriginProject}]; ok {
			counts[i]++
		}
	}
	out := make([][]Cell, len(x.ids))
	all, off := make([]Cell, len(latest)+len(receipts)), 0
	for i, n := range counts {
		out[i] = all[off : off : off+n]
		off += n
	}
	return out
}

// parallel runs each read on its own goroutine and returns the first
// error in their order. The dashboard is never read inside a transaction,
// whose one connection could not serve reads at once.
func parallel(reads ...func() error) error {
	errs := make([]error, len(reads))
	var wg sync.WaitGroup
	for i, read := range reads {
		wg.Go(func() { errs[i] = read() })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// putCell puts c into a project's cells, in place of the one of its
// environment if there is one: what is put later wins.
func putCell(cells []Cell, c Cell) []Cell {
	for i := range cells {
		if cells[i].Environment == c.Environment {
			cells[i] = c
			return cells
		}
	}
	return append(cells, c)
}

// cellOf returns a project's cell in env.
func cellOf(cells []Cell, env string) (Cell, bool) {
	for _, c := range cells {
		if c.Environment == env {
			return c, true
		}
	}
	return Cell{}, false
}

// signerSet is what the dashboard needs of the remote spaces to show only
// receipts that speak for their signer: the unrevoked ones, by fingerprint.
type signerSet map[string]string // fingerprint → name

func (s *Service) signers(ctx context.Context, sp domain.Space) (signerSet, error) {
	list, err := s.remotes.List(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	out := signerSet{}
	for _, r := range list {
		if !r.Revoked() {
			out[r.Fingerprint] = r.Name
		}
	}
	return out, nil
}

// speaksFor reports whether a stored receipt names an environment of its
// own signer, as this space calls it, and comes from a signer this space
// still trusts to say so. Receipts are checked in full when imported
// (internal/provenance); this keeps receipts stored by earlier versions, or
// signed by a space revoked since, off the dashboard.
func (ss signerSet) speaksFor(signer, env string) bool {
	name, ok := ss[signer]
	return ok && inSpace(env, name)
}
