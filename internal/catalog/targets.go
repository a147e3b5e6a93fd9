package catalog

import (
	"context"
	"fmt"
	"slices"

	"github.com/ferrydeploy/ferry/internal/config"
	"github.com/ferrydeploy/ferry/internal/domain"
)

// planTargets checks the document's targets (SPEC §5 "YAML"): each as
// `target add` checks it, in environments of this space known after the
// apply, each name and thumbprint once.
func (st *applyState) planTargets(doc *config.Document, plan *applyPlan, probs *problems, known map[string]bool, tg Targets) {
	names, prints, listed := map[string]bool{}, map[string]string{}, map[string]bool{}
	for _, ct := range doc.Targets {
		listed[ct.Name] = true
	}
	for i, ct := range doc.Targets {
		path := fmt.Sprintf("targets[%d]", i)
		t := domain.Target{SpaceID: st.space.ID, Name: ct.Name, Environments: slices.Clone(ct.Environments), Roles: slices.Clone(ct.Roles),
			URL: ct.URL, Thumbprint: ct.Thumbprint, Mode: domain.ModeListening, Tenants: slices.Clone(ct.Tenants), TenantTags: slices.Clone(ct.TenantTags)}
		if err := validTargetTenants(t); err != nil {
			probs.add(path, err)
			continue
		}
		if ct.Polling {
			t.Mode = domain.ModePolling
		} else if ct.URL == "" {
			t.Mode = ""
		}
		t, err := tg.Declared(t)
		if err != nil {
			probs.add(path, err)
			continue
		}
		for _, e := range t.Environments {
			env, local := st.envs[e]
			switch {
			case local && env.IsRemote():
				probs.add(path, domain.Invalidf("target %q: %q is an environment of space %q; a target belongs to an environment of this space", t.Name, e, env.RemoteSpace))
			case !known[e]:
				probs.add(path, domain.NotFoundf("target %q: environment %q is neither in space %q nor in this file", t.Name, e, st.space.Name))
			}
		}
		if names[t.Name] {
			probs.add(path, domain.Invalidf("target %q is listed twice", t.Name))
		}
		if other, ok := prints[t.Thumbprint]; ok {
			probs.add(path, domain.Invalidf("targets %q and %q have the same thumbprint %s: one agent is one target", other, t.Name, t.Thumbprint))
		}
		if err := st.thumbprintFree(t, listed); err != nil {
			probs.add(path, err)
		}
		names[t.Name], prints[t.Thumbprint] = true, t.Name
		plan.targets = append(plan.targets, t)
	}
}

// thumbprintFree refuses t when a target of this space that the document
// does not list is already the agent with t's thumbprint, as `target add`
// does: one agent is one target of a space (the document's own targets
// are checked against each other above).
func (st *applyState) thumbprintFree(t domain.Target, listed map[string]bool) error {
	for _, o := range st.targets {
		if o.Name != t.Name && !listed[o.Name] && o.Thumbprint == t.Thumbprint {
			return domain.Conflictf("target %q: target %q of this space is already the agent with thumbprint %s (one agent is one target of a space: list %q in this file with the environments and roles %q needs, or give the other machine its own identity with `ferry agent init`)",
				t.Name, o.Name, t.Thumbprint, o.Name, t.Name)
		}
	}
	return nil
}

// sameTarget reports whether a stored target is registered as declared.
func sameTarget(a, b domain.Target) bool {
	return a.Mode == b.Mode && a.URL == b.URL && a.Thumbprint == b.Thumbprint &&
		slices.Equal(a.Environments, b.Environments) && slices.Equal(a.Roles, b.Roles) &&
		slices.Equal(a.Tenants, b.Tenants) && slices.Equal(a.TenantTags, b.TenantTags)
}

// validTargetTenants checks a target's tenants: and tenantTags: scope.
func validTargetTenants(t domain.Target) error {
	for _, n := range t.Tenants {
		if err := domain.ValidateSafeName("tenant", n); err != nil {
			return fmt.Errorf("target %q: %w", t.Name, err)
		}
	}
	for _, tag := range t.TenantTags {
		if err := domain.ValidateTag(tag); err != nil {
			return fmt.Errorf("target %q: %w", t.Name, err)
		}
	}
	return nil
}

// previewTargets counts the plan's targets into res and returns their
// changes.
func (st *applyState) previewTargets(plan *applyPlan, res *ApplyResult) []Change {
	var out []Change
	for _, t := range plan.targets {
		old, exists := st.targets[t.Name]
		switch {
		case !exists:
			res.Created = append(res.Created, "target "+t.Name)
			out = append(out, Change{Action: ActionCreate, Kind: "target", Name: t.Name, Detail: t.Mode + " " + t.Thumbprint})
		case sameTarget(old, t):
			res.Unchanged++
		default:
			res.Updated = append(res.Updated, "target "+t.Name)
			out = append(out, Change{Action: ActionUpdate, Kind: "target", Name: t.Name, Detail: t.Mode + " " + t.Thumbprint})
		}
	}
	return out
}

// writeTargets stores the plan's new and changed targets, each recorded
// in the audit log.
func (s *Service) writeTargets(ctx context.Context, st *applyState, plan *applyPlan) error {
	if err := s.releaseAgents(ctx, st, plan); err != nil {
		return err
	}
	for _, t := range plan.targets {
		old, exists := st.targets[t.Name]
		if exists && sameTarget(old, t) {
			continue
		}
		if err := s.targets.Put(ctx, &t); err != nil {
			return err
		}
		action := "target.add"
		if exists {
			action = "target.update"
		}
		details := map[string]string{"via": "apply", "thumbprint": t.Thumbprint, "mode": t.Mode, "url": t.URL,
			"environments": fmt.Sprint(t.Environments), "roles": fmt.Sprint(t.Roles)}
		if err := s.audit.Record(ctx, st.space.ID, action, t.Name, details); err != nil {
			return err
		}
		plan.targetsWritten = append(plan.targetsWritten, t)
	}
	return nil
}

// releaseAgents lets a listed target give up its agent before another
// listed target takes it (machines swapped, or an agent handed to a
// target listed before the one giving it up): a space has one target per
// agent at every write, so the one giving it up holds, until it is
// written in turn, a placeholder no agent has. Only listed targets can
// hold a thumbprint the plan gives another (planTargets refuses the
// rest), and each of them is written after this; all of it is one
// transaction, so no placeholder is ever seen.
func (s *Service) releaseAgents(ctx context.Context, st *applyState, plan *applyPlan) error {
	held := map[string]string{} // thumbprint → the target holding it now
	for _, o := range st.targets {
		held[o.Thumbprint] = o.Name
	}
	for _, t := range plan.targets {
		name, ok := held[t.Thumbprint]
		if !ok || name == t.Name {
			continue
		}
		o := st.targets[name]
		o.Thumbprint = "released-by-apply:" + name
		if err := s.targets.Put(ctx, &o); err != nil {
			return fmt.Errorf("target %q: %w", name, err)
		}
	}
	return nil
}

// exportTargets adds the space's targets to doc, for its space-wide
// administrators (a limited one exports its projects only).
func (s *Service) exportTargets(ctx context.Context, sp domain.Space, doc *config.Document) error {
	if s.access.RequireSpaceWide(ctx, sp, domain.PermAdminSpace) != nil {
		return nil
	}
	list, err := s.targets.InSpace(ctx, sp.ID)
	if err != nil {
		return err
	}
	for _, t := range list {
		doc.Targets = append(doc.Targets, config.Target{Name: t.Name, Environments: t.Environments, Roles: t.Roles,
			Thumbprint: t.Thumbprint, URL: t.URL, Polling: t.Mode == domain.ModePolling, Tenants: t.Tenants, TenantTags: t.TenantTags})
	}
	return nil
}
