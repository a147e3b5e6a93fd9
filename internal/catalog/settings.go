package catalog

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ferrydeploy/ferry/internal/config"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/schedule"
	"github.com/ferrydeploy/ferry/internal/versions"
)

// A project's channels and triggers, and what apply may set on a remote
// project (docs/lifecycles.md).

// localEnvironments are the space's local environments after the
// document: where triggers may deploy.
func (st *applyState) localEnvironments(doc *config.Document) func(string) bool {
	local := map[string]bool{}
	for name, e := range st.envs {
		local[name] = !e.IsRemote()
	}
	for _, e := range doc.Environments {
		local[e.Name] = true
	}
	return func(e string) bool { return local[e] }
}

// notImported says why a project the document names as a remote project
// ("<space>: <project>") is skipped: it has not been imported here (yet),
// so there is nothing to set — an export of another space carries its
// remote projects' settings, and applying it before their first import
// must not fail. It returns "" for every other name.
func (st *applyState) notImported(name string) string {
	if !strings.Contains(name, ": ") {
		return ""
	}
	if _, ok := st.projects[name]; ok {
		return ""
	}
	return fmt.Sprintf("project %q was skipped: no remote project of that name was imported into this space (yet). Import a bundle of it (`ferry bundle import`), then apply again to set its lifecycle, variables, channels and triggers", name)
}

// remoteProject is what a document may say of a remote project: its
// lifecycle (the one it has when left out), its own variable values, its
// channels (without rules) and its triggers. Its process and templates
// come from its releases, so they are taken from what it holds.
func remoteProject(cp config.Project, old domain.Project) (config.Project, error) {
	if len(cp.Process) > 0 || len(cp.Templates) > 0 {
		return cp, domain.Invalidf("project %q is a remote project, imported from space %q: its process and templates come from its releases and are read-only here. Apply may set its lifecycle, variables, channels and triggers",
			cp.Name, old.Origin.Space)
	}
	for _, ch := range cp.Channels {
		if len(ch.Rules) > 0 {
			return cp, domain.Invalidf("project %q: channel %q has version rules, but releases of a remote project are created in space %q, where its own channels' rules apply; here a channel only chooses the lifecycle of the releases that arrive in it",
				cp.Name, ch.Name, old.Origin.Space)
		}
	}
	if cp.Lifecycle == "" {
		cp.Lifecycle = old.Lifecycle
	}
	cp.Process, cp.Templates = old.Process, old.Templates
	return cp, nil
}

// validateProject checks a project's own rules; a remote project's
// process was checked when it was imported, and may scope steps to
// spaces after this one, so only its variables are.
func validateProject(p domain.Project, cp config.Project, knownEnv func(string) bool) error {
	if p.IsRemote() {
		return p.ValidateVariables(knownEnv)
	}
	if cp.Lifecycle == "" {
		return domain.Invalidf("project %q has no lifecycle", p.Name)
	}
	return p.Validate(knownEnv)
}

// checkSettings checks a project's channels and triggers: their shape
// (domain.Project.ValidateSettings), each channel's lifecycle, version
// range and tag expression and the package its rule names, and each
// schedule's cron expression and time zone.
func checkSettings(p domain.Project, localEnv func(string) bool, lifecycles map[string]bool) error {
	if err := p.ValidateSettings(localEnv); err != nil {
		return err
	}
	deployed := map[string]bool{}
	for _, st := range p.Process {
		if st.Package != "" {
			deployed[st.Package] = true
		}
	}
	for _, ch := range p.Channels {
		if ch.Lifecycle != "" && !lifecycles[ch.Lifecycle] {
			return domain.NotFoundf("project %q: channel %q: unknown lifecycle %q (known: %s)", p.Name, ch.Name, ch.Lifecycle, describe(sortedKeys(lifecycles)))
		}
		for _, r := range ch.Rules {
			if _, err := versions.CompileRule(r.VersionRange, r.Tag); err != nil {
				return domain.Invalidf("project %q: channel %q, rule for package %q: %v", p.Name, ch.Name, r.Package, err)
			}
			if !deployed[r.Package] {
				return domain.Invalidf("project %q: channel %q has a rule for package %q, which no deploy-package step deploys (packages deployed: %s)",
					p.Name, ch.Name, r.Package, describe(sortedKeys(deployed)))
			}
		}
	}
	for _, tr := range p.Triggers {
		switch tr.Type {
		case domain.TriggerSchedule:
			if _, err := schedule.Parse(tr.Cron, tr.Timezone); err != nil {
				return domain.Invalidf("project %q: trigger %q: %v", p.Name, tr.Name, err)
			}
		case domain.TriggerOnArrival:
			if !p.IsRemote() {
				return domain.Invalidf("project %q: trigger %q is on-arrival, which fires when a release arrives from another space; this space creates the releases of %q. Set it on the remote project where they arrive",
					p.Name, tr.Name, p.Name)
			}
		}
	}
	return nil
}

// stampTriggers sets who set each trigger: the one applying, for a trigger
// that is new or changed; whoever set it before, for one that is not.
// Whatever a document said is overwritten (JSON documents could carry it).
func stampTriggers(old, triggers []domain.Trigger, actor string) {
	for i := range triggers {
		triggers[i].SetBy = actor
		for _, o := range old {
			if was := o.SetBy; o.Name == triggers[i].Name {
				if o.SetBy = actor; o == triggers[i] {
					triggers[i].SetBy = was
				}
			}
		}
	}
}

// unstamped is triggers without who set them, for documents.
func unstamped(triggers []domain.Trigger) []domain.Trigger {
	out := slices.Clone(triggers)
	for i := range out {
		out[i].SetBy = ""
	}
	return out
}
