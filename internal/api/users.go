package api

import (
	"net/http"

	"github.com/ferrydeploy/ferry/internal/access"
)

func (h *handler) userRoutes(route routeFunc) {
	route("GET /api/users", h.listUsers)
	route("POST /api/users", h.createUser)
	route("POST /api/users/{name}/password", h.setPassword)
	route("GET /api/users/{name}/keys", h.listKeys)
	route("POST /api/users/{name}/keys", h.createKey)
	route("POST /api/users/{name}/keys/{id}/revoke", h.revokeKey)
	route("GET /api/spaces/{space}/teams", h.listTeams)
	route("POST /api/spaces/{space}/teams", h.createTeam)
	route("PATCH /api/spaces/{space}/teams/{name}", h.updateTeam)
}

func (h *handler) listUsers(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.s.Auth.Users(r.Context())
}

type createUserRequest struct {
	Name  string `json:"name"`
	Admin bool   `json:"admin,omitempty"`
}

func (h *handler) createUser(w http.ResponseWriter, r *http.Request) (any, error) {
	var req createUserRequest
	if err := decode(w, r, &req); err != nil {
		return nil, err
	}
	return asCreated(h.s.Auth.CreateUser(r.Context(), req.Name, req.Admin))
}

func (h *handler) setPassword(w http.ResponseWriter, r *http.Request) (any, error) {
	var req struct {
		Password string `json:"password"`
	}
	if err := decode(w, r, &req); err != nil {
		return nil, err
	}
	if err := h.s.Auth.SetPassword(r.Context(), r.PathValue("name"), req.Password); err != nil {
		return nil, err
	}
	return map[string]string{"user": r.PathValue("name"), "password": "set"}, nil
}

func (h *handler) listKeys(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.s.Auth.APIKeys(r.Context(), r.PathValue("name"))
}

func (h *handler) createKey(w http.ResponseWriter, r *http.Request) (any, error) {
	var req struct {
		Name string `json:"name"`
	}
	if err := decode(w, r, &req); err != nil {
		return nil, err
	}
	key, err := h.s.Auth.NewAPIKey(r.Context(), r.PathValue("name"), req.Name)
	if err != nil {
		return nil, err
	}
	return created{map[string]string{"user": r.PathValue("name"), "name": req.Name, "key": key}}, nil
}

func (h *handler) revokeKey(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	if err := h.s.Auth.RevokeAPIKey(r.Context(), r.PathValue("name"), id); err != nil {
		return nil, err
	}
	return map[string]any{"user": r.PathValue("name"), "revoked": id}, nil
}

func (h *handler) listTeams(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.s.Teams.List(r.Context(), r.PathValue("space"))
}

func (h *handler) createTeam(w http.ResponseWriter, r *http.Request) (any, error) {
	var req access.TeamRequest
	if err := decode(w, r, &req); err != nil {
		return nil, err
	}
	return asCreated(h.s.Teams.Put(r.Context(), r.PathValue("space"), req, true))
}

func (h *handler) updateTeam(w http.ResponseWriter, r *http.Request) (any, error) {
	var req access.TeamRequest
	if err := decode(w, r, &req); err != nil {
		return nil, err
	}
	req.Name = r.PathValue("name")
	return h.s.Teams.Put(r.Context(), r.PathValue("space"), req, false)
}
