package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/targets"
)

// infrastructurePage is a space's deployment targets (SPEC §5): what
// `ferry target list` shows, with the server's agent fingerprint that
// agents pin, and the forms of target add, check, disable, enable and
// delete.
type infrastructurePage struct {
	Space       string
	Fingerprint string
	AgentListen string
	Next        string
	Targets     []domain.Target
	Roles       []string
	Envs        []string
	// Admin: the visitor administers the whole space, so the page offers
	// its changes (target actions, deletes).
	Admin bool
	// MayCheck: the visitor may check a target's health (deploy, as
	// targets.Check asks).
	MayCheck     bool
	Environments []domain.Environment
	Lifecycles   []domain.Lifecycle
}

func (p infrastructurePage) title() string { return p.Space + " — infrastructure" }

func (h *Handler) infrastructure(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	space := r.PathValue("space")
	list, err := h.s.Targets.List(ctx, space)
	if err != nil {
		return err
	}
	info, err := h.s.Targets.TrustInfo(ctx)
	if err != nil {
		return err
	}
	pg := infrastructurePage{Space: space, Fingerprint: info.Fingerprint, AgentListen: info.AgentListen, Next: info.Next, Targets: list}
	roles, envs := map[string]bool{}, map[string]bool{}
	for _, t := range list {
		for _, r := range t.Roles {
			roles[r] = true
		}
		for _, e := range t.Environments {
			envs[e] = true
		}
	}
	pg.Roles, pg.Envs = sortedSet(roles), sortedSet(envs)
	if pg.Environments, err = h.s.Catalog.Environments(ctx, space); err != nil {
		return err
	}
	if pg.Lifecycles, err = h.s.Catalog.Lifecycles(ctx, space); err != nil {
		return err
	}
	pg.Admin = h.s.Teams.May(ctx, space, domain.PermAdminSpace, "")
	pg.MayCheck = h.s.Teams.Allowed(ctx, space, domain.PermDeploy, "", "")
	h.render(w, r, http.StatusOK, "infrastructure", pg)
	return nil
}

// addTarget registers a target from the page's form, as `target add`.
func (h *Handler) addTarget(w http.ResponseWriter, r *http.Request) error {
	space := r.PathValue("space")
	if err := h.s.Teams.CheckSpaceWide(r.Context(), space, domain.PermAdminSpace); err != nil {
		return err // as targets.Add checks, before the form is read
	}
	req := targets.AddRequest{
		Name:         strings.TrimSpace(r.PostFormValue("name")),
		Environments: fields(r.PostFormValue("environments")),
		Roles:        fields(r.PostFormValue("roles")),
		Thumbprint:   strings.TrimSpace(r.PostFormValue("thumbprint")),
		URL:          strings.TrimSpace(r.PostFormValue("url")),
		Polling:      r.PostFormValue("mode") == domain.ModePolling,
	}
	if req.Polling {
		req.URL = ""
	}
	added, err := h.s.Targets.Add(r.Context(), space, req)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Added target %s (%s, thumbprint %s); it is being checked.", added.Target.Name, added.Target.Mode, added.Target.Thumbprint)
	if !added.Created {
		msg = fmt.Sprintf("Target %s was already registered alike; nothing changed.", added.Target.Name)
	}
	return h.redirect(w, r, spacePath(space)+"/infrastructure", msg)
}

// targetAction checks, disables, enables or deletes one target.
func (h *Handler) targetAction(w http.ResponseWriter, r *http.Request) error {
	ctx, space, name := r.Context(), r.PathValue("space"), r.PathValue("target")
	var msg string
	switch r.PathValue("action") {
	case "check":
		c, err := h.s.Targets.Check(ctx, space, name)
		if err != nil {
			return err
		}
		msg = fmt.Sprintf("Target %s is %s.", name, c.Target.Health)
		if c.Target.HealthReason != "" {
			msg += " " + c.Target.HealthReason
		}
	case "disable", "enable":
		disable := r.PathValue("action") == "disable"
		if _, err := h.s.Targets.SetDisabled(ctx, space, name, disable); err != nil {
			return err
		}
		msg = fmt.Sprintf("Enabled target %s; it is being checked.", name)
		if disable {
			msg = fmt.Sprintf("Disabled target %s: steps no longer choose it, and its agent is refused.", name)
		}
	case "delete":
		if err := confirmed(r, "target "+name, h.s.Teams.CheckSpaceWide(ctx, space, domain.PermAdminSpace)); err != nil {
			return err
		}
		t, err := h.s.Targets.Delete(ctx, space, name)
		if err != nil {
			return err
		}
		msg = fmt.Sprintf("Deleted target %s: its agent (thumbprint %s) is refused from now on.", t.Name, t.Thumbprint)
	default:
		return domain.NotFoundf("there is no target action %q", r.PathValue("action"))
	}
	return h.redirect(w, r, spacePath(space)+"/infrastructure", msg)
}

// fields splits a form's "a, b c" into names.
func fields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// healthClass is the state style of a target's health.
func healthClass(t domain.Target) string {
	switch {
	case t.Disabled:
		return "wait"
	case t.Health == domain.HealthHealthy:
		return "ok"
	case t.Health == domain.HealthUnknown:
		return "wait"
	}
	return "bad"
}
