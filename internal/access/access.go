// Package access decides who may do what in a space. Every service asks it
// before acting — one place, not the HTTP handlers — so the API, the web
// pages and anything else that calls a service get the same answers. It also
// manages teams, which grant a role in one space to users, optionally
// limited to projects and environments.
package access

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ferrydeploy/ferry/internal/audit"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Guard answers who may do what, from the spaces and teams tables. Every
// service holds one and asks it before acting.
type Guard struct {
	spaces store.Spaces
	teams  store.Teams
}

// NewGuard returns a Guard reading spaces and teams.
func NewGuard(spaces store.Spaces, teams store.Teams) Guard {
	return Guard{spaces: spaces, teams: teams}
}

// Require returns nil when the actor in ctx may do perm in space sp — for
// project and env when they are not "" — and a Forbidden error naming the
// missing permission and its scope otherwise. An actor with no role in sp
// at all gets domain.NoSpace, the answer for a space that does not exist,
// so that a non-member cannot tell the two apart. System administrators
// may do everything.
func (g Guard) Require(ctx context.Context, sp domain.Space, perm domain.Permission, project, env string) error {
	a, ok := domain.ActorFrom(ctx)
	if !ok {
		return domain.Errorf(domain.KindUnauthorized, "not signed in")
	}
	if a.IsAdmin {
		return nil
	}
	teams, err := g.teams.OfUser(ctx, a.UserID, sp.ID)
	if err != nil {
		return err
	}
	for _, t := range teams {
		if t.Allows(perm, project, env) {
			return nil
		}
	}
	if len(teams) == 0 {
		// Not a member: answered as if the space did not exist, so that
		// asking cannot tell which spaces do.
		return domain.NoSpace(sp.Name)
	}
	return domain.Errorf(domain.KindForbidden, "user %q lacks permission %q%s in space %q (roles with it: %s)",
		a.Name, perm, scopeText(project, env), sp.Name, strings.Join(rolesWith(perm), ", "))
}

// RequireSpaceWide returns nil when the actor in ctx may do perm across the
// whole of space sp: a team grants it without a limit to projects or
// environments (or the actor is a system administrator). Changes that
// reach every project — environments, lifecycles, trust in other spaces,
// receipts that open lifecycle gates, the package feed — need it, so a
// space admin limited to some projects cannot act beyond them.
func (g Guard) RequireSpaceWide(ctx context.Context, sp domain.Space, perm domain.Permission) error {
	if err := g.Require(ctx, sp, perm, "", ""); err != nil {
		return err
	}
	a, _ := domain.ActorFrom(ctx)
	if a.IsAdmin {
		return nil
	}
	teams, err := g.teams.OfUser(ctx, a.UserID, sp.ID)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(teams, func(t domain.Team) bool { return t.Allows(perm, "", "") && !t.Limited() }) {
		return nil
	}
	return domain.Errorf(domain.KindForbidden, "user %q has permission %q in space %q only for some projects or environments; this changes the whole space, so it needs a team whose grant is not limited (ask one of the space's administrators)",
		a.Name, perm, sp.Name)
}

// RequireEveryEnvironment returns nil when the actor may do perm for
// project (every project when "") in every environment: a team grants it
// without a limit to environments (or the actor is a system
// administrator). Deleting a project or a release removes its deployments
// and task logs in every environment, so a grant limited to some
// environments is not enough.
func (g Guard) RequireEveryEnvironment(ctx context.Context, sp domain.Space, perm domain.Permission, project string) error {
	if err := g.Require(ctx, sp, perm, project, ""); err != nil {
		return err
	}
	a, _ := domain.ActorFrom(ctx)
	if a.IsAdmin {
		return nil
	}
	teams, err := g.teams.OfUser(ctx, a.UserID, sp.ID)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(teams, func(t domain.Team) bool { return t.Allows(perm, project, "") && len(t.Environments) == 0 }) {
		return nil
	}
	return domain.Errorf(domain.KindForbidden, "user %q has permission %q%s in space %q only in some environments; this removes deployments in every environment, so it needs a team whose grant is not limited to environments (ask one of the space's administrators)",
		a.Name, perm, scopeText(project, ""), sp.Name)
}

// SpaceWide finds space name and checks RequireSpaceWide.
func (g Guard) SpaceWide(ctx context.Context, name string, perm domain.Permission) (domain.Space, error) {
	sp, err := g.spaces.Get(ctx, name)
	if err != nil {
		return sp, err
	}
	return sp, g.RequireSpaceWide(ctx, sp, perm)
}

// Admin returns nil when the actor is a system administrator.
func Admin(ctx context.Context, what string) error {
	if a, ok := domain.ActorFrom(ctx); ok && a.IsAdmin {
		return nil
	}
	return domain.Errorf(domain.KindForbidden, "only a system administrator may %s", what)
}

// Visible filters names (projects) down to those the actor may view in sp.
func (g Guard) Visible(ctx context.Context, sp domain.Space, names []string) ([]string, error) {
	v, err := g.Viewable(ctx, sp)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return !v.Has(n) }), nil
}

// Viewable is the set of a space's projects an actor may view. Whatever
// belongs to a project — its releases, deployments, tasks and their logs,
// bundles, deliveries, audit events — is shown to those who may view the
// project and to nobody else: lists leave it out, and reading it is refused
// as reading the project is.
type Viewable struct {
	all   bool
	names map[string]bool
}

// Viewable returns the projects of sp that the actor in ctx may view. It
// does not check that the actor may view the space.
func (g Guard) Viewable(ctx context.Context, sp domain.Space) (Viewable, error) {
	a, _ := domain.ActorFrom(ctx)
	if a.IsAdmin {
		return Viewable{all: true}, nil
	}
	teams, err := g.teams.OfUser(ctx, a.UserID, sp.ID)
	if err != nil {
		return Viewable{}, err
	}
	v := Viewable{names: map[string]bool{}}
	for _, t := range teams {
		if !t.Allows(domain.PermView, "", "") {
			continue
		}
		if len(t.Projects) == 0 {
			return Viewable{all: true}, nil
		}
		for _, p := range t.Projects {
			v.names[p] = true
		}
	}
	return v, nil
}

// Has reports whether the actor may view project; "" (something of no
// project, such as a space-wide event) is always viewable.
func (v Viewable) Has(project string) bool { return project == "" || v.all || v.names[project] }

// Names returns nil when every project is viewable, and otherwise the
// viewable projects' names, sorted (empty but not nil when there are
// none): the form the store's filters take.
func (v Viewable) Names() []string {
	if v.all {
		return nil
	}
	names := make([]string, 0, len(v.names))
	for n := range v.names {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Spaces filters spaces down to those the actor has a role in.
func (g Guard) Spaces(ctx context.Context, spaces []domain.Space) ([]domain.Space, error) {
	a, _ := domain.ActorFrom(ctx)
	if a.IsAdmin {
		return spaces, nil
	}
	teams, err := g.teams.OfUser(ctx, a.UserID, 0)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(spaces, func(sp domain.Space) bool {
		return !slices.ContainsFunc(teams, func(t domain.Team) bool { return t.SpaceID == sp.ID })
	}), nil
}

func scopeText(project, env string) string {
	var parts []string
	if project != "" {
		parts = append(parts, fmt.Sprintf("project %q", project))
	}
	if env != "" {
		parts = append(parts, fmt.Sprintf("environment %q", env))
	}
	if len(parts) == 0 {
		return ""
	}
	return " for " + strings.Join(parts, " in ")
}

func rolesWith(perm domain.Permission) []string {
	var out []string
	for _, r := range domain.RoleNames {
		if slices.Contains(domain.Roles[r], perm) {
			out = append(out, r)
		}
	}
	return out
}

// Service manages teams.
type Service struct {
	tx           store.Transactor
	spaces       store.Spaces
	teams        store.Teams
	projects     store.Projects
	environments store.Environments
	users        store.Users
	access       Guard
	audit        *audit.Log
	now          func() time.Time
}

// New returns a team service. It reads projects, environments and users
// only to check that a team names ones that exist.
func New(tx store.Transactor, spaces store.Spaces, teams store.Teams, projects store.Projects, environments store.Environments, users store.Users,
	guard Guard, log *audit.Log, now func() time.Time) *Service {
	return &Service{tx: tx, spaces: spaces, teams: teams, projects: projects, environments: environments, users: users, access: guard, audit: log, now: now}
}

// TeamRequest creates or changes a team. On update, nil fields stay.
type TeamRequest struct {
	Name         string    `json:"name"`
	Role         *string   `json:"role,omitempty"`
	Members      *[]string `json:"members,omitempty"`
	Projects     *[]string `json:"projects,omitempty"`
	Environments *[]string `json:"environments,omitempty"`
}

// Put creates a team (create=true, refusing an existing name) or updates one.
func (s *Service) Put(ctx context.Context, space string, req TeamRequest, create bool) (domain.Team, error) {
	var t domain.Team
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.spaces.Get(ctx, space)
		if err != nil {
			return err
		}
		if err := s.access.Require(ctx, sp, domain.PermAdminSpace, "", ""); err != nil {
			return err
		}
		if create { // two creates check the names one after the other
			if err := s.teams.LockNames(ctx, sp.ID); err != nil {
				return err
			}
		}
		old, err := s.teams.Get(ctx, sp.ID, req.Name)
		switch {
		case err == nil && create:
			return domain.Conflictf("team %q already exists in space %q; change it with `ferry team update`", req.Name, space)
		case err != nil && !create:
			return err
		case err == nil:
			t = old
		default:
			if err := s.distinct(ctx, sp, req.Name); err != nil {
				return err
			}
			if req.Role == nil {
				return domain.Invalidf("a team needs a role (--role %s)", strings.Join(domain.RoleNames, "|"))
			}
			t = domain.Team{SpaceID: sp.ID, Name: req.Name, CreatedAt: s.now()}
		}
		if req.Role != nil {
			if _, ok := domain.Roles[*req.Role]; !ok {
				return domain.Invalidf("unknown role %q (roles: %s)", *req.Role, strings.Join(domain.RoleNames, ", "))
			}
			t.Role = *req.Role
		}
		if req.Members != nil {
			t.Members = *req.Members
		}
		if req.Projects != nil {
			t.Projects = *req.Projects
		}
		if req.Environments != nil {
			t.Environments = *req.Environments
		}
		if err := s.checkScope(ctx, sp, t); err != nil {
			return err
		}
		// Nobody grants more than they administer: a space admin limited
		// to project Shop may manage teams of Shop, not give anyone (or
		// themselves) project Secret or the whole space.
		if err := covers(ctx, s.teams, sp, t); err != nil {
			return err
		}
		if !create { // nor take away what they do not administer
			if err := covers(ctx, s.teams, sp, old); err != nil {
				return err
			}
		}
		t.UpdatedAt = s.now()
		if err := s.teams.Put(ctx, &t); err != nil {
			return err
		}
		action := "team.update"
		if create {
			action = "team.create"
		}
		return s.audit.Record(ctx, sp.ID, action, t.Name, map[string]string{
			"role": t.Role, "members": strings.Join(t.Members, ","), "projects": strings.Join(t.Projects, ","), "environments": strings.Join(t.Environments, ","),
		})
	})
	if err == nil {
		t, err = s.get(ctx, space, req.Name)
	}
	return t, err
}

// distinct checks a new team's name: a valid name that a person cannot
// take for another team's in the space (domain.LookAlike). A team is who
// a manual-intervention step waits for and who holds a role, so "Approvers"
// beside "approvers" or a Cyrillic "Аpprovers" would let people add
// someone to, or read the audit log of, the wrong one. Teams an older
// version let in keep working: only a new name is checked.
func (s *Service) distinct(ctx context.Context, sp domain.Space, name string) error {
	if err := domain.ValidateName("team", name); err != nil {
		return err
	}
	teams, err := s.teams.List(ctx, sp.ID)
	if err != nil {
		return err
	}
	v, err := s.access.Viewable(ctx, sp)
	if err != nil {
		return err
	}
	for _, t := range teams {
		if !domain.LookAlike(name, t.Name) {
			continue
		}
		if len(t.Projects) > 0 && !slices.ContainsFunc(t.Projects, v.Has) { // a team the actor is not shown (List)
			return domain.Conflictf("team name %q is too like a team of space %q that you are not shown (they differ only in case, width, invisible characters or look-alike letters); choose another name",
				name, sp.Name)
		}
		return domain.Conflictf("team name %q is too like existing team %q of space %q (they differ only in case, width, invisible characters or look-alike letters); choose another name, or change that team with `ferry team update %q`",
			name, t.Name, sp.Name, t.Name)
	}
	return nil
}

func (s *Service) get(ctx context.Context, space, name string) (domain.Team, error) {
	sp, err := s.spaces.Get(ctx, space)
	if err != nil {
		return domain.Team{}, err
	}
	return s.teams.Get(ctx, sp.ID, name)
}

// covers refuses a team whose grant reaches beyond what the actor
// administers: every project and environment the team covers (all of them
// when it lists none) must be covered by one of the actor's own
// administer-space grants.
func covers(ctx context.Context, teams store.Teams, sp domain.Space, t domain.Team) error {
	a, _ := domain.ActorFrom(ctx)
	if a.IsAdmin {
		return nil
	}
	mine, err := teams.OfUser(ctx, a.UserID, sp.ID)
	if err != nil {
		return err
	}
	projects, envs := t.Projects, t.Environments
	if len(projects) == 0 {
		projects = []string{""}
	}
	if len(envs) == 0 {
		envs = []string{""}
	}
	within := func(limit []string, x string) bool { return len(limit) == 0 || (x != "" && slices.Contains(limit, x)) }
	for _, p := range projects {
		for _, e := range envs {
			if !slices.ContainsFunc(mine, func(m domain.Team) bool {
				return slices.Contains(domain.Roles[m.Role], domain.PermAdminSpace) && within(m.Projects, p) && within(m.Environments, e)
			}) {
				what := "every project"
				if p != "" {
					what = fmt.Sprintf("project %q", p)
				}
				if e != "" {
					what += fmt.Sprintf(" in environment %q", e)
				} else {
					what += " in every environment"
				}
				return domain.Errorf(domain.KindForbidden, "user %q may not manage team %q: it grants %s, beyond what %q administers in space %q", a.Name, t.Name, what, a.Name, sp.Name)
			}
		}
	}
	return nil
}

// checkScope refuses projects and environments the space does not have, and
// users that do not exist.
func (s *Service) checkScope(ctx context.Context, sp domain.Space, t domain.Team) error {
	for _, p := range t.Projects {
		if _, err := s.projects.Get(ctx, sp.ID, p); err != nil {
			return err
		}
	}
	for _, e := range t.Environments {
		if _, err := s.environments.Get(ctx, sp.ID, e); err != nil {
			return err
		}
	}
	for _, u := range t.Members {
		if _, err := s.users.Get(ctx, u); err != nil {
			return err
		}
	}
	return nil
}

// List returns a space's teams. Someone limited to some projects sees the
// teams that are not limited to projects, and of the others those that
// grant a project they may view, naming only the projects they may view.
func (s *Service) List(ctx context.Context, space string) ([]domain.Team, error) {
	sp, err := s.spaces.Get(ctx, space)
	if err != nil {
		return nil, err
	}
	if err := s.access.Require(ctx, sp, domain.PermView, "", ""); err != nil {
		return nil, err
	}
	v, err := s.access.Viewable(ctx, sp)
	if err != nil {
		return nil, err
	}
	teams, err := s.teams.List(ctx, sp.ID)
	if err != nil || v.all {
		return teams, err
	}
	out := teams[:0]
	for _, t := range teams {
		if len(t.Projects) == 0 {
			out = append(out, t)
			continue
		}
		t.Projects = slices.DeleteFunc(t.Projects, func(p string) bool { return !v.Has(p) })
		if len(t.Projects) > 0 {
			out = append(out, t)
		}
	}
	return out, nil
}

// Space finds a space by name and checks that the actor may do perm in it
// (for project and env when not ""): the first lines of most service calls.
func (g Guard) Space(ctx context.Context, name string, perm domain.Permission, project, env string) (domain.Space, error) {
	sp, err := g.spaces.Get(ctx, name)
	if err != nil {
		return sp, err
	}
	return sp, g.Require(ctx, sp, perm, project, env)
}

// Check returns nil when the actor in ctx may do perm in space (for
// project and env when not ""), and otherwise the refusal the services
// give (Guard.Require): pages ask it before reading a form, so a person
// who may not act learns that first, not that the form is incomplete.
func (s *Service) Check(ctx context.Context, space string, perm domain.Permission, project, env string) error {
	_, err := s.access.Space(ctx, space, perm, project, env)
	return err
}

// CheckSpaceWide is Check across the whole space (Guard.RequireSpaceWide):
// what changes to environments, lifecycles, targets and trust need.
func (s *Service) CheckSpaceWide(ctx context.Context, space string, perm domain.Permission) error {
	_, err := s.access.SpaceWide(ctx, space, perm)
	return err
}

// CheckEveryEnvironment is Check for project in every environment
// (Guard.RequireEveryEnvironment): what deleting a project or a release needs.
func (s *Service) CheckEveryEnvironment(ctx context.Context, space string, perm domain.Permission, project string) error {
	sp, err := s.spaces.Get(ctx, space)
	if err != nil {
		return err
	}
	return s.access.RequireEveryEnvironment(ctx, sp, perm, project)
}

// Allowed reports whether Check passes, so that pages offer only the
// controls a person may use. The services still check every action.
func (s *Service) Allowed(ctx context.Context, space string, perm domain.Permission, project, env string) bool {
	return s.Check(ctx, space, perm, project, env) == nil
}

// May reports whether the actor in ctx may do perm in space: for project
// when it is not "" (Check), across the whole space (CheckSpaceWide) when
// it is. Pages ask it before offering a form; the service behind the form
// still checks.
func (s *Service) May(ctx context.Context, space string, perm domain.Permission, project string) bool {
	if project == "" {
		return s.CheckSpaceWide(ctx, space, perm) == nil
	}
	return s.Check(ctx, space, perm, project, "") == nil
}

// MayEverywhere reports whether CheckEveryEnvironment passes.
func (s *Service) MayEverywhere(ctx context.Context, space string, perm domain.Permission, project string) bool {
	return s.CheckEveryEnvironment(ctx, space, perm, project) == nil
}
