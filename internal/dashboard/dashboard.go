// Package dashboard answers "where is every release?": for each project of
// a space, its latest release and state in every environment of its
// lifecycle — local ones from deployments, other spaces' from receipts.
package dashboard

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Service builds dashboards.
type Service struct {
	store store.Store
	now   func() time.Time
}

// New returns a dashboard service.
func New(st store.Store, now func() time.Time) *Service { return &Service{store: st, now: now} }

// Dashboard is projects × environments.
type Dashboard struct {
	Space        string   `json:"space"`
	Environments []string `json:"environments"` // every column, in lifecycle order
	Projects     []Row    `json:"projects"`
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
}

type cellKey struct{ project, env string }

// Get builds the dashboard of a space, or of one project when project is set.
func (s *Service) Get(ctx context.Context, space, project string) (Dashboard, error) {
	sp, err := access.Space(ctx, s.store, space, domain.PermView, "", "")
	if err != nil {
		return Dashboard{}, err
	}
	projects, err := s.store.Projects().List(ctx, sp.ID)
	if err != nil {
		return Dashboard{}, err
	}
	names := make([]string, len(projects))
	for i, p := range projects {
		names[i] = p.Name
	}
	visible, err := access.Visible(ctx, s.store, sp, names)
	if err != nil {
		return Dashboard{}, err
	}
	projects = slices.DeleteFunc(projects, func(p domain.Project) bool { return !slices.Contains(visible, p.Name) })
	if project != "" {
		projects = slices.DeleteFunc(projects, func(p domain.Project) bool { return p.Name != project })
		if len(projects) == 0 {
			return Dashboard{}, domain.NotFoundf("project %q not found in space %q", project, space)
		}
	}
	lcs, err := s.store.Lifecycles().List(ctx, sp.ID)
	if err != nil {
		return Dashboard{}, err
	}
	lifecycles := map[string]domain.Lifecycle{}
	for _, l := range lcs {
		lifecycles[l.Name] = l
	}
	cells, err := s.cells(ctx, sp, projects)
	if err != nil {
		return Dashboard{}, err
	}
	known := map[string][]string{} // project → environments with a cell
	for k := range cells {
		known[k.project] = append(known[k.project], k.env)
	}
	now := s.now()
	d := Dashboard{Space: sp.Name, Environments: []string{}, Projects: []Row{}}
	seen := map[string]bool{}
	for _, p := range projects {
		row := Row{Project: p.Name, Lifecycle: p.Lifecycle, Remote: p.IsRemote(), Cells: []Cell{}}
		for _, env := range columns(lifecycles[p.Lifecycle], known[p.Name]) {
			c, ok := cells[cellKey{p.Name, env}]
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

// columns lists a project's environments in lifecycle order; a phase entry
// naming a whole remote space expands to the environments that receipts
// report for it (known holds the project's environments with a cell).
func columns(lc domain.Lifecycle, known []string) []string {
	var out []string
	for _, ph := range lc.Phases {
		for _, e := range ph.Environments {
			if strings.Contains(e, ": ") {
				out = append(out, e)
				continue
			}
			var under []string
			for _, k := range known {
				if strings.HasPrefix(k, e+": ") {
					under = append(under, k)
				}
			}
			if len(under) == 0 {
				out = append(out, e)
				continue
			}
			slices.Sort(under)
			out = append(out, under...)
		}
	}
	return out
}

// cells gathers the latest deployment of each project in each local
// environment, and the latest receipt in each other space's environment.
func (s *Service) cells(ctx context.Context, sp domain.Space, projects []domain.Project) (map[cellKey]Cell, error) {
	byID := map[int64]string{}
	byOrigin := map[[2]string]string{} // origin fingerprint, project → local name
	for _, p := range projects {
		byID[p.ID] = p.Name
		if p.IsRemote() {
			byOrigin[[2]string{p.Origin.Fingerprint, p.Origin.Project}] = p.Name
		} else {
			byOrigin[[2]string{sp.Fingerprint, p.Name}] = p.Name
		}
	}
	out := map[cellKey]Cell{}
	latest, err := s.store.Deployments().Latest(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	for _, d := range latest {
		name, ok := byID[d.ProjectID]
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
		out[cellKey{name, d.Environment}] = Cell{Environment: d.Environment, Version: d.Version, State: d.State, At: at, DeployedBy: d.CreatedBy, From: "deployment"}
	}
	receipts, err := s.store.Receipts().Latest(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	for _, r := range receipts {
		name, ok := byOrigin[[2]string{r.OriginFingerprint, r.OriginProject}]
		if !ok {
			continue
		}
		at := r.FinishedAt
		if at == nil {
			at = r.StartedAt
		}
		out[cellKey{name, r.Environment}] = Cell{Environment: r.Environment, Version: r.Version, State: r.State, At: at, DeployedBy: r.DeployedBy, From: "receipt from " + r.DeployingSpace}
	}
	return out, nil
}
