package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/ferrydeploy/ferry/internal/deploy"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

type tasksPage struct {
	Space   string
	Tasks   []domain.Task
	Waiting []domain.Task // waiting for a manual intervention
}

func (p tasksPage) title() string { return p.Space + " — tasks" }

func (h *Handler) tasks(w http.ResponseWriter, r *http.Request) error {
	space := r.PathValue("space")
	list, err := h.s.Deploy.Tasks(r.Context(), space, 200)
	if err != nil {
		return err
	}
	waiting, err := h.s.Deploy.Waiting(r.Context(), space, 200)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "tasks", tasksPage{Space: space, Tasks: list, Waiting: waiting})
	return nil
}

// taskPage is a task with its log so far; log.js follows the rest.
type taskPage struct {
	Space   string
	Task    domain.Task
	Lines   []domain.LogLine
	LastSeq int64
	// What the visitor may do, as the services decide (deploy.MayCancel,
	// deploy.MayDecide): the page offers only those buttons.
	MayCancel, MayAbort, MayApprove bool
	// NoApprove says why the visitor may abort but not approve ("" when
	// they may approve, or may not decide at all).
	NoApprove string
}

func (p taskPage) title() string { return fmt.Sprintf("Task %d", p.Task.ID) }

func taskID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, domain.NotFoundf("there is no task %q", r.PathValue("id"))
	}
	return id, nil
}

func (h *Handler) task(w http.ResponseWriter, r *http.Request) error {
	space := r.PathValue("space")
	id, err := taskID(r)
	if err != nil {
		return err
	}
	t, lines, err := h.wholeLog(r.Context(), space, id)
	if err != nil {
		return err
	}
	pg := taskPage{Space: space, Task: t, Lines: lines}
	if n := len(lines); n > 0 {
		pg.LastSeq = lines[n-1].Seq
	}
	ctx := r.Context()
	pg.MayCancel = !t.State.Done() && h.s.Deploy.MayCancel(ctx, t) == nil
	if t.Intervention != nil {
		abort, approve := h.s.Deploy.MayDecide(ctx, t)
		pg.MayAbort, pg.MayApprove = abort == nil, approve == nil
		if abort == nil && approve != nil {
			pg.NoApprove = domain.Message(approve)
		}
	}
	h.render(w, r, http.StatusOK, "task", pg)
	return nil
}

// wholeLog reads a task and every line of its log so far: the service
// answers a page of lines at a time.
func (h *Handler) wholeLog(ctx context.Context, space string, id int64) (domain.Task, []domain.LogLine, error) {
	var all []domain.LogLine
	var after int64
	for {
		t, lines, err := h.s.Deploy.Log(ctx, space, id, after)
		if err != nil || len(lines) == 0 {
			return t, all, err
		}
		all = append(all, lines...)
		after = lines[len(lines)-1].Seq
	}
}

// logUpdate is what log.js polls for: the task's state and new lines. The
// lines come from the service already masked.
type logUpdate struct {
	State string           `json:"state"`
	Label string           `json:"label"`
	Class string           `json:"class"`
	Done  bool             `json:"done"`
	Error string           `json:"error,omitempty"`
	Lines []domain.LogLine `json:"lines"`
}

func (h *Handler) taskLog(w http.ResponseWriter, r *http.Request) error {
	id, err := taskID(r)
	if err != nil {
		return err
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	t, lines, err := h.s.Deploy.Log(r.Context(), r.PathValue("space"), id, after)
	if err != nil {
		return err
	}
	st := stateOf(t.State)
	out := logUpdate{State: string(t.State), Label: st.Icon + " " + st.Label, Class: st.Class, Done: t.State.Done(), Error: t.Error, Lines: lines}
	if out.Lines == nil {
		out.Lines = []domain.LogLine{}
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(out)
}

func (h *Handler) cancelTask(w http.ResponseWriter, r *http.Request) error {
	space := r.PathValue("space")
	id, err := taskID(r)
	if err != nil {
		return err
	}
	if _, err := h.s.Deploy.Cancel(r.Context(), space, id); err != nil {
		return err
	}
	return h.redirect(w, r, taskPath(space, id), "Cancellation requested.")
}

// decideTask approves (or aborts) the manual intervention a task waits
// for, with the note the form carries.
func (h *Handler) decideTask(approve bool) pageFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		space := r.PathValue("space")
		id, err := taskID(r)
		if err != nil {
			return err
		}
		t, err := h.s.Deploy.Decide(r.Context(), space, id, deploy.Decision{Approve: approve, Note: r.PostFormValue("note")})
		if err != nil {
			return err
		}
		msg := "Approved: the deployment goes on."
		if !approve {
			msg = "Aborted: the deployment stops here."
		}
		return h.redirect(w, r, taskPath(space, t.ID), msg)
	}
}

type auditPage struct {
	Space  string
	Events []domain.AuditEvent
}

func (p auditPage) title() string {
	if p.Space == "" {
		return "Audit log"
	}
	return p.Space + " — audit log"
}

func (h *Handler) spaceAudit(w http.ResponseWriter, r *http.Request) error {
	space := r.PathValue("space")
	events, err := h.s.Catalog.Audit(r.Context(), space, 500)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "audit", auditPage{Space: space, Events: events})
	return nil
}

func (h *Handler) serverAudit(w http.ResponseWriter, r *http.Request) error {
	events, err := h.s.Audit.List(r.Context(), store.AuditFilter{Limit: 500})
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "audit", auditPage{Events: events})
	return nil
}

// deleteProject deletes a project (its form is on the project page); a
// refusal is shown as the error page, naming what uses it.
func (h *Handler) deleteProject(w http.ResponseWriter, r *http.Request) error {
	space, project := r.PathValue("space"), r.PathValue("project")
	if err := confirmed(r, "project "+project, h.s.Teams.CheckEveryEnvironment(r.Context(), space, domain.PermAdminSpace, project)); err != nil {
		return err
	}
	d, err := h.s.Retention.DeleteProject(r.Context(), space, project)
	if err != nil {
		return err
	}
	return h.redirect(w, r, spacePath(space), fmt.Sprintf("Deleted project %s, with %s.", project, d.Removed))
}

// deleteRelease deletes a release (its form is on the release page).
func (h *Handler) deleteRelease(w http.ResponseWriter, r *http.Request) error {
	space, project, version := r.PathValue("space"), r.PathValue("project"), r.PathValue("version")
	if err := confirmed(r, "release "+project+" "+version, h.s.Teams.CheckEveryEnvironment(r.Context(), space, domain.PermAdminSpace, project)); err != nil {
		return err
	}
	d, err := h.s.Retention.DeleteRelease(r.Context(), space, project, version)
	if err != nil {
		return err
	}
	return h.redirect(w, r, projectPath(space, project), fmt.Sprintf("Deleted release %s, with %s.", version, d.Removed))
}
