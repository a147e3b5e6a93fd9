package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/catalog"
	"github.com/ferrydeploy/ferry/internal/config"
	"github.com/ferrydeploy/ferry/internal/dashboard"
	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/release"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/trigger"
)

// maxForm bounds ordinary (non-upload) form bodies.
const maxForm = 4 << 20

type homePage struct {
	Spaces []domain.Space
	Admin  bool
}

func (homePage) title() string { return "Spaces" }

// home is the space picker.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) error {
	spaces, err := h.s.Catalog.Spaces(r.Context())
	if err != nil {
		return err
	}
	a, _ := domain.ActorFrom(r.Context())
	h.render(w, r, http.StatusOK, "home", homePage{Spaces: spaces, Admin: a.IsAdmin})
	return nil
}

func (h *Handler) createSpace(w http.ResponseWriter, r *http.Request) error {
	sp, err := h.s.Catalog.CreateSpace(r.Context(), strings.TrimSpace(r.PostFormValue("name")))
	if err != nil {
		return err
	}
	return h.redirect(w, r, spacePath(sp.Name), "Created space "+sp.Name+".")
}

// dashboardPage is a page of projects × environments, columns in lifecycle
// order. Prev and Next link the pages around it ("" when there is none).
type dashboardPage struct {
	Space      string
	Columns    []column
	Rows       []dashRow
	First      int // places of the first and last rows among all projects, from 1
	Last       int
	Total      int
	Prev, Next string
}

func (p dashboardPage) title() string { return p.Space + " — dashboard" }

type column struct {
	Name   string
	Remote bool
}

type dashRow struct {
	Project   string
	Lifecycle string
	Remote    bool
	Cells     []cellView // one per column
}

type cellView struct {
	dashboard.Cell
	InLifecycle bool
}

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) error {
	space := r.PathValue("space")
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset")) // a bad one shows the first page
	d, err := h.s.Dashboard.Get(r.Context(), space, "", dashboard.Page{Offset: max(offset, 0)})
	if err != nil {
		return err
	}
	p := dashboardPage{Space: d.Space, First: d.Offset + 1, Total: d.Total}
	if d.Offset > 0 {
		p.Prev = fmt.Sprintf("%s?offset=%d", spacePath(d.Space), max(d.Offset-d.Limit, 0))
	}
	if d.Offset+d.Limit < d.Total {
		p.Next = fmt.Sprintf("%s?offset=%d", spacePath(d.Space), d.Offset+d.Limit)
	}
	for _, e := range d.Environments {
		p.Columns = append(p.Columns, column{Name: e, Remote: strings.Contains(e, ": ")})
	}
	for _, row := range d.Projects {
		dr := dashRow{Project: row.Project, Lifecycle: row.Lifecycle, Remote: row.Remote}
		for _, col := range d.Environments {
			i := slices.IndexFunc(row.Cells, func(c dashboard.Cell) bool { return c.Environment == col })
			if i < 0 {
				dr.Cells = append(dr.Cells, cellView{Cell: dashboard.Cell{Environment: col}})
				continue
			}
			dr.Cells = append(dr.Cells, cellView{Cell: row.Cells[i], InLifecycle: true})
		}
		p.Rows = append(p.Rows, dr)
	}
	p.Last = d.Offset + len(p.Rows)
	h.render(w, r, http.StatusOK, "dashboard", p)
	return nil
}

// projectPage is a project: its pipeline, releases and what can be done.
type projectPage struct {
	Space        string
	Project      domain.Project
	Remote       bool
	Phases       []phaseView
	Releases     []releaseRow
	Versions     []string
	DeployEnvs   []string
	Targets      []string
	Connected    bool
	Variables    []variableView
	Templates    []templateView
	LocalEnvs    []string
	Process      []domain.Step
	HasLifecycle bool
	Triggers     []trigger.Status
	// Packages are the feed's versions of each package the process
	// deploys, newest first, for a new release.
	Packages []packageChoice
	// What the visitor may do here: the pages offer no control they may
	// not use (the services check every action all the same).
	MayDeploy, MayPromote, MayRelease bool
	// Admin and Editor: the visitor may delete the project, and change
	// (delete) its variables; the page offers only those forms.
	Admin, Editor bool
	VariableNames []string
}

type packageChoice struct {
	ID       string
	Versions []string
}

func (p projectPage) title() string { return p.Project.Name }

type phaseView struct {
	Name      string
	Retention string // "keep 3 releases"; "" without a policy
	Cells     []dashboard.Cell
}

type releaseRow struct {
	domain.Release
	Deployed []dashboard.Cell // where this version is the latest, or was deployed
}

func (h *Handler) project(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	space, name := r.PathValue("space"), r.PathValue("project")
	p, err := h.s.Catalog.Project(ctx, space, name)
	if err != nil {
		return err
	}
	rels, err := h.s.Releases.List(ctx, space, name)
	if err != nil {
		return err
	}
	dash, err := h.s.Dashboard.Get(ctx, space, name, dashboard.Page{})
	if err != nil {
		return err
	}
	lcs, err := h.s.Catalog.Lifecycles(ctx, space)
	if err != nil {
		return err
	}
	envs, err := h.s.Catalog.Environments(ctx, space)
	if err != nil {
		return err
	}
	deps, err := h.s.Deploy.Deployments(ctx, space, store.DeploymentFilter{ProjectID: p.ID, Limit: 500})
	if err != nil {
		return err
	}
	remotes, err := h.s.Trust.List(ctx, space)
	if err != nil {
		return err
	}
	triggers, err := h.s.Triggers.List(ctx, space, name)
	if err != nil {
		return err
	}
	pg := projectPage{Space: space, Project: p, Remote: p.IsRemote(), Process: p.Process,
		Variables: safeVariables(p.Variables), Templates: safeTemplates(p.Templates), Triggers: triggers,
		Admin: h.s.Teams.MayEverywhere(ctx, space, domain.PermAdminSpace, name), Editor: h.s.Teams.May(ctx, space, domain.PermEditProject, name)}
	for _, v := range p.Variables {
		if !slices.Contains(pg.VariableNames, v.Name) {
			pg.VariableNames = append(pg.VariableNames, v.Name)
		}
	}
	var cells []dashboard.Cell
	if len(dash.Projects) > 0 {
		cells = dash.Projects[0].Cells
	}
	pg.phases(lcs, envs, cells)
	for _, rel := range rels {
		pg.Releases = append(pg.Releases, releaseRow{Release: rel, Deployed: deployedAt(rel, deps, cells)})
		pg.Versions = append(pg.Versions, rel.Version)
	}
	pg.Targets, pg.Connected = h.targets(remotes)
	if pg.Packages, err = h.packageChoices(ctx, space, p.Process); err != nil {
		return err
	}
	pg.permissions(ctx, h.s.Teams.Allowed)
	h.render(w, r, http.StatusOK, "project", pg)
	return nil
}

// permissions records what the visitor may do on the project page.
func (pg *projectPage) permissions(ctx context.Context, may func(ctx context.Context, space string, perm domain.Permission, project, env string) bool) {
	name := pg.Project.Name
	pg.MayRelease = !pg.Remote && may(ctx, pg.Space, domain.PermCreateRelease, name, "")
	pg.MayPromote = may(ctx, pg.Space, domain.PermPromote, name, "")
	envs := pg.DeployEnvs[:0:0]
	for _, e := range pg.DeployEnvs {
		if may(ctx, pg.Space, domain.PermDeploy, name, e) {
			envs = append(envs, e)
		}
	}
	pg.DeployEnvs, pg.MayDeploy = envs, len(envs) > 0
}

// packageChoices lists, for each package a deploy-package step names, the
// versions the feed holds.
func (h *Handler) packageChoices(ctx context.Context, space string, process []domain.Step) ([]packageChoice, error) {
	var out []packageChoice
	for _, st := range process {
		if st.Package == "" || slices.ContainsFunc(out, func(c packageChoice) bool { return c.ID == st.Package }) {
			continue
		}
		list, err := h.s.Packages.List(ctx, space, st.Package)
		if err != nil {
			return nil, err
		}
		c := packageChoice{ID: st.Package}
		for i := len(list) - 1; i >= 0; i-- {
			c.Versions = append(c.Versions, list[i].Version)
		}
		out = append(out, c)
	}
	return out, nil
}

// phases fills in the project's lifecycle phases with the dashboard's
// cells in them, and the local environments it may be deployed to (all of
// them when it has no lifecycle here).
func (pg *projectPage) phases(lcs []domain.Lifecycle, envs []domain.Environment, cells []dashboard.Cell) {
	local := map[string]bool{}
	for _, e := range envs {
		if !e.IsRemote() {
			local[e.Name] = true
			pg.LocalEnvs = append(pg.LocalEnvs, e.Name)
		}
	}
	if i := slices.IndexFunc(lcs, func(l domain.Lifecycle) bool { return l.Name == pg.Project.Lifecycle }); i >= 0 {
		pg.HasLifecycle = true
		for _, ph := range lcs[i].Phases {
			pv := phaseView{Name: ph.Name}
			if ph.Retention != nil {
				pv.Retention = ph.Retention.String()
			}
			for _, c := range cells {
				if slices.Contains(ph.Environments, c.Environment) || slices.ContainsFunc(ph.Environments, func(e string) bool { return strings.HasPrefix(c.Environment, e+": ") }) {
					pv.Cells = append(pv.Cells, c)
				}
			}
			for _, e := range ph.Environments {
				if local[e] {
					pg.DeployEnvs = append(pg.DeployEnvs, e)
				}
			}
			pg.Phases = append(pg.Phases, pv)
		}
	}
	if !pg.HasLifecycle {
		pg.DeployEnvs = pg.LocalEnvs
	}
}

// deployedAt is where rel went: the latest attempt per environment here
// (deps are newest first), then other spaces' environments whose latest
// is rel (remote cells of the dashboard).
func deployedAt(rel domain.Release, deps []domain.Deployment, cells []dashboard.Cell) []dashboard.Cell {
	var out []dashboard.Cell
	seen := map[string]bool{}
	for _, d := range deps {
		if d.Version == rel.Version && !seen[d.Environment] {
			seen[d.Environment] = true
			at := d.FinishedAt
			if at == nil {
				at = &d.CreatedAt
			}
			out = append(out, dashboard.Cell{Environment: d.Environment, Version: d.Version, State: d.State, At: at})
		}
	}
	for _, c := range cells {
		if c.Remote && c.Version == rel.Version && !seen[c.Environment] {
			seen[c.Environment] = true
			out = append(out, c)
		}
	}
	return out
}

// targets lists the remote spaces a release may be promoted to, and
// whether any of them can be sent to (connected, with an outbox).
func (h *Handler) targets(remotes []domain.RemoteSpace) ([]string, bool) {
	var names []string
	connected := false
	for _, rs := range remotes {
		if rs.Trusts(domain.TrustPromote) {
			names = append(names, rs.Name)
			connected = connected || rs.URL != ""
		}
	}
	return names, connected
}

func (h *Handler) createRelease(w http.ResponseWriter, r *http.Request) error {
	space, project := r.PathValue("space"), r.PathValue("project")
	var pkgs []string
	for _, p := range r.PostForm["package"] { // "ID:VERSION", one per package the process deploys
		if p = strings.TrimSpace(p); p != "" {
			pkgs = append(pkgs, p)
		}
	}
	rel, err := h.s.Releases.Create(r.Context(), space, project, release.CreateRequest{
		Version:  strings.TrimSpace(r.PostFormValue("version")),
		Notes:    strings.TrimSpace(r.PostFormValue("notes")),
		Channel:  r.PostFormValue("channel"),
		Packages: pkgs,
	})
	if err != nil {
		return err
	}
	return h.redirect(w, r, releasePath(space, project, rel.Version), "Created release "+rel.Version+".")
}

func (h *Handler) deploy(w http.ResponseWriter, r *http.Request) error {
	space := r.PathValue("space")
	d, err := h.s.Deploy.Deploy(r.Context(), space, deploy.Request{
		Project:     r.PathValue("project"),
		Version:     r.PostFormValue("version"),
		Environment: r.PostFormValue("environment"),
	})
	if err != nil {
		return err
	}
	return h.redirect(w, r, taskPath(space, d.TaskID), "")
}

// promote answers with the bundle file, for the person to carry across, or
// (how=send) queues it for a connected space.
func (h *Handler) promote(w http.ResponseWriter, r *http.Request) error {
	space := r.PathValue("space")
	req := bundle.PromoteRequest{Project: r.PathValue("project"), Version: r.PostFormValue("version"), To: r.PostFormValue("to")}
	if r.PostFormValue("how") == "send" {
		p, err := h.s.Outbox.Promote(r.Context(), space, req)
		if err != nil {
			return err
		}
		return h.redirect(w, r, spacePath(space)+"/remote-spaces", fmt.Sprintf("Promoted %s %s to %s: the bundle is queued for delivery to %s.", req.Project, req.Version, req.To, p.URL))
	}
	pr, err := h.s.Bundles.Promote(r.Context(), space, req)
	if err != nil {
		return err
	}
	download(w, fileName(req.Project+"-"+req.Version, ".bundle"), "application/json", pr.Data)
	return nil
}

// setValues sets template values (or any variable) for one environment
// each: the form sends parallel lists name, environment, value; empty
// values are skipped. A template of type sensitive makes the value secret.
func (h *Handler) setValues(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	space, project := r.PathValue("space"), r.PathValue("project")
	if err := h.s.Teams.Check(ctx, space, domain.PermEditProject, project, ""); err != nil {
		return err // as catalog.SetVariable checks, before the form is read
	}
	if err := r.ParseForm(); err != nil {
		return domain.Invalidf("malformed form: %v", err)
	}
	p, err := h.s.Catalog.Project(ctx, space, project)
	if err != nil {
		return err
	}
	names, envs, values := r.PostForm["name"], r.PostForm["environment"], r.PostForm["value"]
	if len(names) != len(envs) || len(names) != len(values) {
		return domain.Invalidf("malformed form: names, environments and values do not line up")
	}
	n := 0
	for i, name := range names {
		if values[i] == "" {
			continue
		}
		c := catalog.VariableChange{Name: name, Value: values[i]}
		if envs[i] != "" {
			c.Environments = []string{envs[i]}
		}
		if t := slices.IndexFunc(p.Templates, func(t domain.Template) bool { return t.Name == name }); t >= 0 {
			c.Sensitive = p.Templates[t].Type == domain.TemplateSensitive
		} else if v := slices.IndexFunc(p.Variables, func(v domain.Variable) bool { return v.Name == name }); v >= 0 {
			c.Sensitive = p.Variables[v].Sensitive
		}
		if r.PostFormValue("sensitive") == "on" {
			c.Sensitive = true
		}
		if _, err := h.s.Catalog.SetVariable(ctx, space, project, c); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return domain.Invalidf("no value was filled in; nothing changed")
	}
	return h.redirect(w, r, projectPath(space, project), fmt.Sprintf("Set %d value(s).", n))
}

// releasePage is one release: what it will run, where it went.
type releasePage struct {
	Space       string
	Detail      release.Detail
	Remote      bool
	Variables   []variableView
	Templates   []templateView
	Previous    string
	Others      []string
	Deployments []domain.Deployment
	Receipts    []dashboard.Cell
	DeployEnvs  []string
	Targets     []string
	Connected   bool
	Admin       bool // the visitor may delete the release
	// MayPromote: the visitor may promote the project (DeployEnvs holds
	// only the environments they may deploy it to).
	MayPromote bool
}

func (p releasePage) title() string { return p.Detail.Project + " " + p.Detail.Version }

func (h *Handler) release(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	space, project, version := r.PathValue("space"), r.PathValue("project"), r.PathValue("version")
	d, err := h.s.Releases.Show(ctx, space, project, version)
	if err != nil {
		return err
	}
	p, err := h.s.Catalog.Project(ctx, space, project)
	if err != nil {
		return err
	}
	rels, err := h.s.Releases.List(ctx, space, project)
	if err != nil {
		return err
	}
	deps, err := h.s.Deploy.Deployments(ctx, space, store.DeploymentFilter{ProjectID: p.ID, ReleaseID: d.ID, Limit: 200})
	if err != nil {
		return err
	}
	away, err := h.s.Dashboard.Elsewhere(ctx, space, dashboard.Query{Project: project, Version: version, Limit: 200})
	if err != nil {
		return err
	}
	envs, err := h.s.Catalog.Environments(ctx, space)
	if err != nil {
		return err
	}
	remotes, err := h.s.Trust.List(ctx, space)
	if err != nil {
		return err
	}
	pg := releasePage{Space: space, Detail: d, Remote: p.IsRemote(), Deployments: deps,
		Variables: safeVariables(d.Snapshot.Variables), Templates: safeTemplates(d.Snapshot.Templates),
		Admin: h.s.Teams.MayEverywhere(ctx, space, domain.PermAdminSpace, project)}
	for i, rel := range rels { // newest first
		if rel.Version == version {
			if i+1 < len(rels) {
				pg.Previous = rels[i+1].Version
			}
			continue
		}
		pg.Others = append(pg.Others, rel.Version)
	}
	if !pg.Remote {
		pg.Others = append(pg.Others, release.Current)
	}
	for _, d := range away {
		at := d.FinishedAt
		if at == nil {
			at = d.StartedAt
		}
		from := "receipt from " + d.Space
		if d.ReceivedFrom != "" && d.ReceivedFrom != d.Space {
			from += ", relayed by " + d.ReceivedFrom
		}
		from += onTargets(d.Machines)
		pg.Receipts = append(pg.Receipts, dashboard.Cell{Environment: d.Environment, Remote: true, Version: d.Version, State: d.State, At: at, DeployedBy: d.CreatedBy, From: from})
	}
	for _, e := range envs {
		if !e.IsRemote() && h.s.Teams.Allowed(ctx, space, domain.PermDeploy, project, e.Name) {
			pg.DeployEnvs = append(pg.DeployEnvs, e.Name)
		}
	}
	pg.Targets, pg.Connected = h.targets(remotes)
	pg.MayPromote = h.s.Teams.Allowed(ctx, space, domain.PermPromote, project, "")
	h.render(w, r, http.StatusOK, "release", pg)
	return nil
}

// comparePage is two releases side by side.
type comparePage struct {
	Space    string
	Diff     release.Diff
	Versions []string
}

func (p comparePage) title() string {
	return fmt.Sprintf("%s: %s → %s", p.Diff.Project, p.Diff.From.Version, p.Diff.To.Version)
}

func (h *Handler) compare(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	space, project := r.PathValue("space"), r.PathValue("project")
	q := r.URL.Query()
	rels, err := h.s.Releases.List(ctx, space, project)
	if err != nil {
		return err
	}
	from, to := q.Get("from"), q.Get("to")
	if to == "" && len(rels) > 0 {
		to = rels[0].Version
	}
	if from == "" && len(rels) > 1 {
		from = rels[1].Version
	}
	if from == "" || to == "" {
		return domain.Invalidf("project %q needs two releases to compare", project)
	}
	d, err := h.s.Releases.Diff(ctx, space, project, from, to)
	if err != nil {
		return err
	}
	pg := comparePage{Space: space, Diff: d}
	for _, rel := range rels {
		pg.Versions = append(pg.Versions, rel.Version)
	}
	pg.Versions = append(pg.Versions, release.Current)
	h.render(w, r, http.StatusOK, "compare", pg)
	return nil
}

type applyPage struct {
	Space    string
	YAML     string
	Result   *catalog.ApplyResult
	MayApply bool
}

func (p applyPage) title() string { return p.Space + " — apply" }

func (h *Handler) applyPage(w http.ResponseWriter, r *http.Request) error {
	space := r.PathValue("space")
	if _, err := h.s.Catalog.Space(r.Context(), space); err != nil {
		return err
	}
	pg := applyPage{Space: space, MayApply: h.mayApply(r.Context(), space)}
	// The current configuration, to edit and apply (as `ferry export`
	// writes it: secrets as `keep: true`).
	if doc, err := h.s.Catalog.Export(r.Context(), space); err == nil {
		if text, err := doc.Marshal(); err == nil {
			pg.YAML = string(text)
		}
	} else if domain.KindOf(err) != domain.KindForbidden {
		return err
	}
	h.render(w, r, http.StatusOK, "apply", pg)
	return nil
}

// apply takes the same YAML document as `ferry apply -f`.
func (h *Handler) apply(w http.ResponseWriter, r *http.Request) error {
	space := r.PathValue("space")
	if err := h.s.Teams.Check(r.Context(), space, domain.PermEditProject, "", ""); err != nil {
		return err // the least catalog.mayApply asks, before the document is read
	}
	text := r.PostFormValue("yaml")
	doc, err := config.Parse([]byte(text))
	if err != nil {
		return err
	}
	opts := catalog.ApplyOptions{DryRun: r.PostFormValue("dry-run") != "", Prune: r.PostFormValue("prune") != ""}
	res, err := h.s.Catalog.ApplyWith(r.Context(), space, doc, opts)
	if err != nil {
		return err
	}
	// The document is not echoed back: it may hold secrets.
	h.render(w, r, http.StatusOK, "apply", applyPage{Space: space, Result: &res, MayApply: true})
	return nil
}

// download answers with a file to save.
func download(w http.ResponseWriter, name, contentType string, data []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	w.Write(data)
}

// fileName makes a safe file name from a base and an extension.
func fileName(base, ext string) string {
	b := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '-'
	}, base)
	return b + ext
}

// onTargets says how many deployment targets ran a deployment, when any
// did: ", on 2 targets".
func onTargets(n int) string {
	switch {
	case n == 1:
		return ", on 1 target"
	case n > 1:
		return fmt.Sprintf(", on %d targets", n)
	}
	return ""
}
