package retention

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Deleted says what a delete removed: the thing (Kind, Name) and what
// went with it.
type Deleted struct {
	Kind    string         `json:"kind"` // environment, lifecycle, project, release, package, variable, user, team, space, remote-space
	Name    string         `json:"name"`
	Removed domain.Removed `json:"removed"`
}

// referrers collects what refers to a thing a delete would remove.
type referrers []domain.Referrer

func (r *referrers) add(kind, name, detail string) {
	*r = append(*r, domain.Referrer{Kind: kind, Name: name, Detail: detail})
}

// refuse is nil when nothing refers to the thing, the refusal naming
// every referrer otherwise, with what to do next about them: next pairs
// referrer kinds ("lifecycle,team") with advice, and only the advice for
// kinds among the referrers is given.
func (r referrers) refuse(what string, next ...[2]string) error {
	if len(r) == 0 {
		return nil
	}
	var advice []string
	for _, n := range next {
		if slices.ContainsFunc(r, func(ref domain.Referrer) bool { return slices.Contains(strings.Split(n[0], ","), ref.Kind) }) {
			advice = append(advice, n[1])
		}
	}
	text := strings.Join(advice, "; ")
	if text != "" {
		text = strings.ToUpper(text[:1]) + text[1:]
	}
	return domain.Refusal(what, r, text)
}

// waitTasks is the advice about unfinished tasks.
var waitTasks = [2]string{"task", "wait for the tasks to finish, or cancel them ('ferry task cancel ID')"}

// activeTasks adds the tasks f selects that have not finished.
func (s *Service) activeTasks(ctx context.Context, refs *referrers, f store.ActiveFilter) error {
	tasks, err := s.st.Removal.ActiveTasks(ctx, f)
	for _, t := range tasks {
		detail := strings.ToLower(string(t.State))
		if t.Project != "" {
			detail += fmt.Sprintf(", deploying %s %s to %s", t.Project, t.Version, t.Environment)
		}
		refs.add("task", fmt.Sprint(t.ID), detail)
	}
	return err
}

// finish records the delete and makes what it removed unrecoverable from
// the database's files (store.Removal.Forget), after the transaction.
func (s *Service) finish(ctx context.Context, d Deleted, err error) (Deleted, error) {
	if err != nil {
		return Deleted{}, err
	}
	if ferr := s.st.Removal.Forget(ctx); ferr != nil {
		s.log.Warn("deleted rows may linger in the database's log until the next delete", "err", ferr)
	}
	return d, nil
}

// details are the audit details of a delete: what went with the thing.
func details(r domain.Removed, extra ...string) map[string]string {
	m := map[string]string{"removed": r.String()}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

// DeleteEnvironment deletes an environment of a space with its
// deployments, their tasks and task logs, and the tenants' connections
// and values for it. It is refused while a lifecycle, a team's grant, a
// step or a variable's scope, a target or a trigger names it, or a task
// deploying to it has not finished.
func (s *Service) DeleteEnvironment(ctx context.Context, space, name string) (Deleted, error) {
	d := Deleted{Kind: "environment", Name: name}
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.SpaceWide(ctx, space, domain.PermAdminSpace)
		if err != nil {
			return err
		}
		env, err := s.st.Environments.Get(ctx, sp.ID, name)
		if err != nil {
			return err
		}
		if env.IsRemote() {
			return domain.Invalidf("environment %q belongs to remote space %q; it goes when that remote space is deleted ('ferry remote-space delete %s')", name, env.RemoteSpace, env.RemoteSpace)
		}
		refs, err := s.envReferrers(ctx, sp, name)
		if err != nil {
			return err
		}
		if err := refs.refuse(fmt.Sprintf("environment %q", name),
			[2]string{"lifecycle,team,step,variable,trigger", "remove it from those first (ferry apply, ferry team update)"},
			[2]string{"target", "delete those targets and add them again without it (ferry target delete, ferry target add)"}, waitTasks); err != nil {
			return err
		}
		if d.Removed, err = s.st.Removal.DeleteEnvironment(ctx, sp.ID, name); err != nil {
			return err
		}
		if err := s.untenant(ctx, sp.ID, func(_, e string) bool { return e == name }, &d.Removed); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "environment.delete", name, details(d.Removed))
	})
	return s.finish(ctx, d, err)
}

// envReferrers lists what names environment env of sp.
func (s *Service) envReferrers(ctx context.Context, sp domain.Space, env string) (referrers, error) {
	var refs referrers
	lifecycles, err := s.st.Lifecycles.List(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	for _, l := range lifecycles {
		if i := l.PhaseOf(env); i >= 0 {
			refs.add("lifecycle", l.Name, "phase "+l.Phases[i].Name)
		}
	}
	teams, err := s.st.Teams.List(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	for _, t := range teams {
		if slices.Contains(t.Environments, env) {
			refs.add("team", t.Name, "its grant is limited to it")
		}
	}
	projects, err := s.st.Projects.List(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	for _, p := range projects {
		for _, st := range p.Process {
			if slices.Contains(st.Environments, env) {
				refs.add("step", p.Name+": "+st.Name, "runs only there")
			}
		}
		for _, tr := range p.Triggers {
			if tr.Environment == env || tr.SourceEnvironment == env {
				refs.add("trigger", p.Name+": "+tr.Name, "deploys from or to it")
			}
		}
		for _, v := range p.Variables {
			if slices.Contains(v.Environments, env) {
				refs.add("variable", p.Name+": "+v.Name, "scoped to it")
			}
		}
	}
	targets, err := s.st.Targets.List(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	for _, t := range targets {
		if slices.Contains(t.Environments, env) {
			refs.add("target", t.Name, "deploys there")
		}
	}
	return refs, s.activeTasks(ctx, &refs, store.ActiveFilter{SpaceID: sp.ID, Environment: env})
}

// untenant takes what gone selects (a project, an environment) out of
// every tenant of a space: connections and values, counted in r. A
// tenant's hold on a deleted project or environment must not outlive it,
// or a new one of that name would inherit it, sealed values included.
func (s *Service) untenant(ctx context.Context, spaceID int64, gone func(project, env string) bool, r *domain.Removed) error {
	tenants, err := s.st.Tenants.List(ctx, spaceID)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		n := r.TenantConnections + r.Variables
		for p, envs := range t.Projects {
			kept := slices.DeleteFunc(slices.Clone(envs), func(e string) bool { return gone(p, e) })
			r.TenantConnections += len(envs) - len(kept)
			if len(kept) == 0 {
				delete(t.Projects, p)
			} else {
				t.Projects[p] = kept
			}
		}
		before := len(t.Values)
		t.Values = slices.DeleteFunc(t.Values, func(v domain.TenantValue) bool { return gone(v.Project, v.Environment) })
		r.Variables += before - len(t.Values)
		if r.TenantConnections+r.Variables == n {
			continue
		}
		if err := s.st.Tenants.Update(ctx, &t); err != nil {
			return err
		}
	}
	return nil
}

// DeleteLifecycle deletes a lifecycle no project or channel uses.
func (s *Service) DeleteLifecycle(ctx context.Context, space, name string) (Deleted, error) {
	d := Deleted{Kind: "lifecycle", Name: name}
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.SpaceWide(ctx, space, domain.PermAdminSpace)
		if err != nil {
			return err
		}
		if _, err := s.st.Lifecycles.Get(ctx, sp.ID, name); err != nil {
			return err
		}
		projects, err := s.st.Projects.List(ctx, sp.ID)
		if err != nil {
			return err
		}
		var refs referrers
		for _, p := range projects {
			if p.Lifecycle == name {
				refs.add("project", p.Name, "")
			}
			for _, c := range p.Channels {
				if c.Lifecycle == name {
					refs.add("channel", p.Name+": "+c.Name, "deploys through it")
				}
			}
		}
		if err := refs.refuse(fmt.Sprintf("lifecycle %q", name), [2]string{"project,channel", "give those projects and channels another lifecycle first (ferry apply)"}); err != nil {
			return err
		}
		if err := s.st.Removal.DeleteLifecycle(ctx, sp.ID, name); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "lifecycle.delete", name, nil)
	})
	return s.finish(ctx, d, err)
}

// DeleteProject deletes a project with its releases, their deployments,
// tasks and task logs, and the tenants' connections to it and values. It is refused while a task of the project has not
// finished, a promotion of it is on its way, or a team's grant names it.
func (s *Service) DeleteProject(ctx context.Context, space, name string) (Deleted, error) {
	d := Deleted{Kind: "project", Name: name}
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.spaceFor(ctx, space, name)
		if err != nil {
			return err
		}
		p, err := s.st.Projects.Get(ctx, sp.ID, name)
		if err != nil {
			return err
		}
		var refs referrers
		teams, err := s.st.Teams.List(ctx, sp.ID)
		if err != nil {
			return err
		}
		for _, t := range teams {
			if slices.Contains(t.Projects, name) {
				refs.add("team", t.Name, "its grant is limited to it")
			}
		}
		if err := s.undelivered(ctx, &refs, sp.ID, name, ""); err != nil {
			return err
		}
		// Locks its releases: no deployment of one starts before the
		// delete commits (store.Removal.Uses).
		if _, err := s.st.Removal.Uses(ctx, p.ID); err != nil {
			return err
		}
		if err := s.activeTasks(ctx, &refs, store.ActiveFilter{ProjectID: p.ID}); err != nil {
			return err
		}
		if err := refs.refuse(fmt.Sprintf("project %q", name),
			[2]string{"team", "take the project out of those teams first (ferry team update)"}, waitTasks,
			[2]string{"delivery", "wait for the deliveries to finish"}); err != nil {
			return err
		}
		if d.Removed, err = s.st.Removal.DeleteProject(ctx, p.ID); err != nil {
			return err
		}
		if err := s.forgetReceipts(ctx, sp, p, nil, &d.Removed); err != nil {
			return err
		}
		if err := s.untenant(ctx, sp.ID, func(project, _ string) bool { return project == name }, &d.Removed); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "project.delete", name, details(d.Removed))
	})
	return s.finish(ctx, d, err)
}

// spaceFor finds a space and checks that the actor administers project
// in it, in every environment: a project's or release's delete removes
// its deployments everywhere.
func (s *Service) spaceFor(ctx context.Context, space, project string) (domain.Space, error) {
	sp, err := s.st.Spaces.Get(ctx, space)
	if err != nil {
		return sp, err
	}
	return sp, s.access.RequireEveryEnvironment(ctx, sp, domain.PermAdminSpace, project)
}

// undelivered adds the promotions of a project (of version, when not "")
// still on their way to a connected space.
func (s *Service) undelivered(ctx context.Context, refs *referrers, spaceID int64, project, version string) error {
	list, err := s.st.Removal.Undelivered(ctx, spaceID, project)
	for _, u := range list {
		if version == "" || u.Version == version {
			refs.add("delivery", fmt.Sprint(u.DeliveryID), fmt.Sprintf("%s %s to %s, %s", project, u.Version, u.RemoteSpace, u.State))
		}
	}
	return err
}

// DeleteRelease deletes a release with its deployments, tasks and task
// logs. It is refused while one of its tasks has not finished, it is
// current in an environment — of this space, or of another as receipts
// say (what runs there would have no release) —, or
// a promotion of it is on its way. Bundles of it other spaces imported
// stay theirs; receipts they send back about it are still accepted, as
// for any version this space no longer holds.
func (s *Service) DeleteRelease(ctx context.Context, space, project, version string) (Deleted, error) {
	d := Deleted{Kind: "release", Name: project + " " + version}
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.spaceFor(ctx, space, project)
		if err != nil {
			return err
		}
		p, err := s.st.Projects.Get(ctx, sp.ID, project)
		if err != nil {
			return err
		}
		rel, err := s.st.Releases.Get(ctx, p.ID, version)
		if err != nil {
			return err
		}
		uses, err := s.st.Removal.Uses(ctx, p.ID)
		if err != nil {
			return err
		}
		var refs referrers
		for _, u := range uses {
			if u.ID == rel.ID {
				for _, env := range u.Current {
					refs.add("environment", env, "it is the release deployed there")
				}
			}
		}
		remote, err := s.remoteCurrent(ctx, sp, p)
		if err != nil {
			return err
		}
		for _, env := range remote[version] {
			refs.add("environment", env, "it is the release deployed there, as its receipts say")
		}
		if err := s.undelivered(ctx, &refs, sp.ID, project, version); err != nil {
			return err
		}
		if err := s.activeTasks(ctx, &refs, store.ActiveFilter{ReleaseID: rel.ID}); err != nil {
			return err
		}
		if err := refs.refuse(fmt.Sprintf("release %s %s", project, version),
			[2]string{"environment", "deploy another release there first"}, waitTasks,
			[2]string{"delivery", "wait for the deliveries to finish"}); err != nil {
			return err
		}
		if d.Removed, err = s.st.Removal.DeleteReleases(ctx, []int64{rel.ID}); err != nil {
			return err
		}
		if err := s.forgetReceipts(ctx, sp, p, []string{version}, &d.Removed); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "release.delete", project+" "+version, details(d.Removed, "project", project))
	})
	return s.finish(ctx, d, err)
}

// forgetReceipts removes the receipts space sp holds of versions of its
// own project p (every version when nil), counted in r: deleted with
// their release, none is left on a dashboard to show a release that is
// gone. Receipts of a remote project stay: they may still be relayed on
// toward its origin.
func (s *Service) forgetReceipts(ctx context.Context, sp domain.Space, p domain.Project, versions []string, r *domain.Removed) error {
	if p.IsRemote() {
		return nil
	}
	n, err := s.st.Removal.DeleteReceipts(ctx, sp.ID, sp.Fingerprint, p.Name, versions)
	r.Receipts += n
	return err
}

// remoteCurrent maps each version of project p that receipts say is
// current in another space's environment — the latest deployment there,
// or the latest successful one, of each environment and tenant — to those
// environments ("Prod Space: Production (tenant acme)"), sorted.
func (s *Service) remoteCurrent(ctx context.Context, sp domain.Space, p domain.Project) (map[string][]string, error) {
	fingerprint, project := sp.Fingerprint, p.Name
	if p.IsRemote() {
		fingerprint, project = p.Origin.Fingerprint, p.Origin.Project
	}
	uses, err := s.st.Removal.RemoteUses(ctx, sp.ID, fingerprint, project)
	if err != nil {
		return nil, err
	}
	type where struct{ env, tenant string }
	latest, succeeded := map[where]string{}, map[where]string{}
	for _, u := range uses { // oldest first
		w := where{u.Environment, u.Tenant}
		latest[w] = u.Version
		if u.State == domain.TaskSuccess {
			succeeded[w] = u.Version
		}
	}
	out := map[string][]string{}
	for _, m := range []map[where]string{latest, succeeded} {
		for w, version := range m {
			env := w.env
			if w.tenant != "" {
				env += " (tenant " + w.tenant + ")"
			}
			if !slices.Contains(out[version], env) {
				out[version] = append(out[version], env)
			}
		}
	}
	for _, envs := range out {
		slices.Sort(envs)
	}
	return out, nil
}

// DeletePackage deletes a package version from a space's feed, or every
// version of it when version is "". It is refused while a release pins
// one (and, for every version, while a step deploys the package). Its
// chunks are freed by the next retention run when no other package uses
// them.
func (s *Service) DeletePackage(ctx context.Context, space, id, version string) (Deleted, error) {
	d := Deleted{Kind: "package", Name: strings.TrimSpace(id + " " + version)}
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.SpaceWide(ctx, space, domain.PermAdminSpace)
		if err != nil {
			return err
		}
		refs, err := s.packageReferrers(ctx, sp.ID, id, version)
		if err != nil {
			return err
		}
		if err := refs.refuse("package "+d.Name,
			[2]string{"release", "delete those releases first (or let retention remove them)"},
			[2]string{"step", "take the package out of those steps first (ferry apply)"}); err != nil {
			return err
		}
		refsToGo, err := s.versions(ctx, sp.ID, id, version)
		if err != nil {
			return err
		}
		if d.Removed.Packages, err = s.st.Removal.DeletePackages(ctx, sp.ID, refsToGo); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "package.delete", d.Name, details(d.Removed))
	})
	return s.finish(ctx, d, err)
}

// packageReferrers lists the releases that pin package id (version), and
// for every version the steps that deploy it.
func (s *Service) packageReferrers(ctx context.Context, spaceID int64, id, version string) (referrers, error) {
	var refs referrers
	pins, err := s.st.Removal.Pins(ctx, spaceID, id, version)
	if err != nil {
		return nil, err
	}
	for _, p := range pins {
		refs.add("release", p.Project+" "+p.Version, "pins "+p.Package.ID+" "+p.Package.Version)
	}
	if version != "" {
		return refs, nil
	}
	projects, err := s.st.Projects.List(ctx, spaceID)
	if err != nil {
		return nil, err
	}
	for _, p := range projects {
		for _, st := range p.Process {
			if st.Package == id {
				refs.add("step", p.Name+": "+st.Name, "deploys it")
			}
		}
	}
	return refs, nil
}

// versions returns the stored versions a delete of id (version) removes,
// or NotFound.
func (s *Service) versions(ctx context.Context, spaceID int64, id, version string) ([]domain.PackageRef, error) {
	all, err := s.st.Packages.List(ctx, spaceID, id)
	if err != nil {
		return nil, err
	}
	var out []domain.PackageRef
	for _, p := range all {
		if p.ID == id && (version == "" || p.Version == version) {
			out = append(out, domain.PackageRef{ID: p.ID, Version: p.Version, SHA256: p.SHA256, Size: p.Size})
		}
	}
	if len(out) == 0 {
		if version == "" {
			return nil, domain.NotFoundf("package %q is not in the feed", id)
		}
		return nil, domain.NotFoundf("package %s %s is not in the feed", id, version)
	}
	return out, nil
}

// DeleteUser deletes a user with their API keys and team memberships. The
// last system administrator, and the caller themselves, cannot be
// deleted.
func (s *Service) DeleteUser(ctx context.Context, name string) (Deleted, error) {
	d := Deleted{Kind: "user", Name: name}
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		if err := access.Admin(ctx, "delete users"); err != nil {
			return err
		}
		u, err := s.st.Users.Get(ctx, name)
		if err != nil {
			return err
		}
		if a, _ := domain.ActorFrom(ctx); a.UserID == u.ID {
			return domain.Refuse(domain.KindConflict, domain.RuleInUse, "you cannot delete yourself (%q); ask another administrator", name)
		}
		if u.IsAdmin {
			users, err := s.st.Users.List(ctx)
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(users, func(o domain.User) bool { return o.IsAdmin && o.ID != u.ID }) {
				return domain.Refuse(domain.KindConflict, domain.RuleInUse, "cannot delete %q: it is the last system administrator; make another user an administrator first", name)
			}
		}
		if err := s.st.Removal.DeleteUser(ctx, u.ID); err != nil {
			return err
		}
		return s.audit.Record(ctx, 0, "user.delete", name, nil)
	})
	return s.finish(ctx, d, err)
}

// DeleteTeam deletes a team of a space; its members lose the role it
// granted. It is refused when it would take from the caller the right to
// administer the space, or while a manual-intervention step names it.
func (s *Service) DeleteTeam(ctx context.Context, space, name string) (Deleted, error) {
	d := Deleted{Kind: "team", Name: name}
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.SpaceWide(ctx, space, domain.PermAdminSpace)
		if err != nil {
			return err
		}
		if _, err := s.st.Teams.Get(ctx, sp.ID, name); err != nil {
			return err
		}
		if err := s.keepsAdmin(ctx, sp, name); err != nil {
			return err
		}
		if err := s.teamReferrers(ctx, sp, name); err != nil {
			return err
		}
		if err := s.st.Removal.DeleteTeam(ctx, sp.ID, name); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "team.delete", name, nil)
	})
	return s.finish(ctx, d, err)
}

// teamReferrers refuses a delete of team while a manual-intervention
// step of a project names it responsible: deployments of the project
// would be refused, and whoever created a team of that name next would
// decide the step.
func (s *Service) teamReferrers(ctx context.Context, sp domain.Space, team string) error {
	projects, err := s.st.Projects.List(ctx, sp.ID)
	if err != nil {
		return err
	}
	var refs referrers
	for _, p := range projects {
		for _, st := range p.Process {
			if slices.Contains(st.ResponsibleTeams, team) {
				refs.add("step", p.Name+": "+st.Name, "its manual intervention waits for the team")
			}
		}
	}
	// A deployment of an older release may be waiting on the team too:
	// its step is frozen in the release, whatever the process says now.
	waiting, err := s.st.Interventions.Undecided(ctx, sp.ID)
	if err != nil {
		return err
	}
	for _, iv := range waiting {
		if slices.Contains(iv.ResponsibleTeams, team) {
			refs.add("task", fmt.Sprint(iv.TaskID), fmt.Sprintf("waits for the team to decide step %q", iv.Step))
		}
	}
	return refs.refuse(fmt.Sprintf("team %q", team), [2]string{"step", "name another team in those steps first (ferry apply)"},
		[2]string{"task", "decide or cancel those deployments first (ferry task approve|abort|cancel)"})
}

// keepsAdmin refuses a delete of team that would take from the actor (not
// a system administrator) the right to administer space sp: deleting
// your own access is done by another administrator.
func (s *Service) keepsAdmin(ctx context.Context, sp domain.Space, team string) error {
	a, _ := domain.ActorFrom(ctx)
	if a.IsAdmin {
		return nil
	}
	teams, err := s.st.Teams.OfUser(ctx, a.UserID, sp.ID)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(teams, func(t domain.Team) bool {
		return t.Name != team && t.Allows(domain.PermAdminSpace, "", "") && !t.Limited()
	}) {
		return nil
	}
	return domain.Refuse(domain.KindConflict, domain.RuleInUse,
		"cannot delete team %q: it gives you (%s) the right to administer space %q, and you would lose it; ask another of its administrators to delete it", team, a.Name, sp.Name)
}

// DeleteSpace deletes a space and everything in it (system
// administrators). It is refused while a task of the space has not
// finished. Its audit events stay, as the server's.
func (s *Service) DeleteSpace(ctx context.Context, name string) (Deleted, error) {
	d := Deleted{Kind: "space", Name: name}
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		if err := access.Admin(ctx, "delete spaces"); err != nil {
			return err
		}
		sp, err := s.st.Spaces.Get(ctx, name)
		if err != nil {
			return err
		}
		var refs referrers
		if err := s.activeTasks(ctx, &refs, store.ActiveFilter{SpaceID: sp.ID}); err != nil {
			return err
		}
		if err := refs.refuse(fmt.Sprintf("space %q", name), waitTasks); err != nil {
			return err
		}
		if d.Removed, err = s.st.Removal.DeleteSpace(ctx, sp.ID); err != nil {
			return err
		}
		return s.audit.Record(ctx, 0, "space.delete", name, details(d.Removed, "fingerprint", sp.Fingerprint))
	})
	return s.finish(ctx, d, err)
}

// DeleteRemoteSpace revokes a remote space, then deletes it: what is
// queued for it is dropped and its remote environments go. The releases
// it delivered stay readable and can never be deployed again (it stays
// revoked, out of every list). It is refused while a lifecycle uses one
// of its environments, and then not revoked.
func (s *Service) DeleteRemoteSpace(ctx context.Context, space, name string) (Deleted, error) {
	d := Deleted{Kind: "remote-space", Name: name}
	// Revoking is for good: a delete that would be refused does not.
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		_, _, err := s.remoteDeletable(ctx, space, name, "")
		return err
	})
	if err != nil {
		return d, err
	}
	if _, err := s.revoker.Revoke(ctx, space, name); err != nil {
		return d, err
	}
	err = s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, rs, err := s.remoteDeletable(ctx, space, name, " (it is revoked now)")
		if err != nil {
			return err
		}
		if d.Removed, err = s.st.Removal.DeleteRemoteSpace(ctx, rs, s.now()); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "remote-space.delete", name, details(d.Removed, "fingerprint", rs.Fingerprint))
	})
	return s.finish(ctx, d, err)
}

// remoteDeletable finds remote space name of space, checks the actor
// administers the whole space, and refuses while a lifecycle uses one of
// its environments (the refusal's subject followed by note).
func (s *Service) remoteDeletable(ctx context.Context, space, name, note string) (domain.Space, domain.RemoteSpace, error) {
	sp, err := s.access.SpaceWide(ctx, space, domain.PermAdminSpace)
	if err != nil {
		return sp, domain.RemoteSpace{}, err
	}
	rs, err := s.st.RemoteSpaces.Get(ctx, sp.ID, name)
	if err != nil {
		return sp, rs, err
	}
	if rs.DeletedAt != nil {
		return sp, rs, domain.NotFoundf("remote space %q not found", name)
	}
	refs, err := s.remoteReferrers(ctx, sp, name)
	if err != nil {
		return sp, rs, err
	}
	return sp, rs, refs.refuse(fmt.Sprintf("remote space %q%s", name, note),
		[2]string{"lifecycle", "remove its environments from those lifecycles first (ferry apply)"})
}

// remoteReferrers lists the lifecycles that use an environment of remote
// space name.
func (s *Service) remoteReferrers(ctx context.Context, sp domain.Space, name string) (referrers, error) {
	envs, err := s.st.Environments.List(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	lifecycles, err := s.st.Lifecycles.List(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	var refs referrers
	for _, e := range envs {
		if e.RemoteSpace != name {
			continue
		}
		for _, l := range lifecycles {
			if i := l.PhaseOf(e.Name); i >= 0 {
				refs.add("lifecycle", l.Name, fmt.Sprintf("phase %s uses %s", l.Phases[i].Name, e.Name))
			}
		}
	}
	return refs, nil
}
