package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// confirmField is the checkbox every delete form carries: a delete whose
// form did not tick it is refused, so a stray click (or a form posted
// without it) deletes nothing. Pages work without scripts, so this is the
// confirmation.
const confirmField = "confirm"

// confirmed returns nil when the visitor may delete (may is the refusal,
// or nil, of the same access check the delete makes) and the delete's form
// ticked its confirmation. The permission comes first: a person who may
// not delete learns that, not that a box is unticked.
func confirmed(r *http.Request, what string, may error) error {
	if may != nil {
		return may
	}
	if r.PostFormValue(confirmField) != "yes" {
		return domain.Invalidf("not deleted: tick the box that confirms deleting %s, then press Delete again", what)
	}
	return nil
}

// deleteThing deletes what the form names (fields kind, name, and for a
// variable project and scope; for a package version) in the page's space,
// and goes back to the page that offered the form. Names travel in the
// form, never in the path, so no name can reach another route.
func (h *Handler) deleteThing(w http.ResponseWriter, r *http.Request) error {
	ctx, space := r.Context(), r.PathValue("space")
	kind, name := r.PostFormValue("kind"), r.PostFormValue("name")
	what := strings.TrimSpace(kind + " " + name)
	may := h.mayDelete(r, kind)
	if may == nil && !pageDeletes[kind] { // said before asking to tick the box
		return domain.Invalidf("the pages cannot delete a %q; use 'ferry %s delete'", kind, kind)
	}
	if err := confirmed(r, what, may); err != nil {
		return err
	}
	infra, back := spacePath(space)+"/infrastructure", spacePath(space)
	var removed domain.Removed
	var err error
	switch kind {
	case "environment":
		d, e := h.s.Retention.DeleteEnvironment(ctx, space, name)
		removed, err, back = d.Removed, e, infra
	case "lifecycle":
		_, err = h.s.Retention.DeleteLifecycle(ctx, space, name)
		back = infra
	case "remote-space":
		d, e := h.s.Retention.DeleteRemoteSpace(ctx, space, name)
		removed, err, back = d.Removed, e, spacePath(space)+"/remote-spaces"
	case "variable":
		project := r.PostFormValue("project")
		_, err = h.s.Catalog.DeleteVariable(ctx, space, project, name, scopeOf(r.PostFormValue("scope")))
		back = projectPath(space, project)
	}
	if err != nil {
		return err
	}
	msg := "Deleted " + what + "."
	if removed != (domain.Removed{}) {
		msg = fmt.Sprintf("Deleted %s, with %s.", what, removed)
	}
	return h.redirect(w, r, back, msg)
}

// pageDeletes are the kinds deleteThing deletes.
var pageDeletes = map[string]bool{"environment": true, "lifecycle": true, "remote-space": true, "variable": true}

// mayDelete is the access check the service deleting kind makes, asked
// before the form is read further (nil for a kind the pages cannot delete:
// the handler refuses it, as long as the visitor may view the space).
func (h *Handler) mayDelete(r *http.Request, kind string) error {
	ctx, space := r.Context(), r.PathValue("space")
	switch kind {
	case "environment", "lifecycle", "remote-space": // retention.Delete*: space-wide administration
		return h.s.Teams.CheckSpaceWide(ctx, space, domain.PermAdminSpace)
	case "variable": // catalog.DeleteVariable
		return h.s.Teams.Check(ctx, space, domain.PermEditProject, r.PostFormValue("project"), "")
	}
	return h.s.Teams.Check(ctx, space, domain.PermView, "", "")
}

// scopeOf reads a variable delete's scope: environment names separated by
// commas (names may hold spaces, as remote ones do: "Prod Space: Production");
// none for every value of the variable.
func scopeOf(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}
