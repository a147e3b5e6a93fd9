package api

import (
	"net/http"

	wire "github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/domain"
)

func (h *handler) userRoutes(rt *router, r wire.RouteSet) {
	handle(rt, r.ListUsers, h.listUsers)
	handle(rt, r.CreateUser, h.createUser)
	handle(rt, r.SetPassword, h.setPassword)
	handle(rt, r.ListKeys, h.listKeys)
	handle(rt, r.CreateKey, h.createKey)
	handle(rt, r.RevokeKey, h.revokeKey)
	handle(rt, r.ListTeams, h.listTeams)
	handle(rt, r.CreateTeam, h.createTeam)
	handle(rt, r.UpdateTeam, h.updateTeam)
}

func (h *handler) listUsers(w http.ResponseWriter, r *http.Request, _ wire.None) ([]domain.User, error) {
	return h.s.Auth.Users(r.Context())
}

type createUserRequest struct {
	Name  string `json:"name"`
	Admin bool   `json:"admin,omitempty"`
}

func (h *handler) createUser(w http.ResponseWriter, r *http.Request, req createUserRequest) (domain.User, error) {
	return h.s.Auth.CreateUser(r.Context(), req.Name, req.Admin)
}

type passwordRequest struct {
	Password string `json:"password"`
}

type passwordSet struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

func (h *handler) setPassword(w http.ResponseWriter, r *http.Request, req passwordRequest) (passwordSet, error) {
	err := h.s.Auth.SetPassword(r.Context(), r.PathValue("name"), req.Password)
	return passwordSet{User: r.PathValue("name"), Password: "set"}, err
}

func (h *handler) listKeys(w http.ResponseWriter, r *http.Request, _ wire.None) ([]domain.APIKey, error) {
	return h.s.Auth.APIKeys(r.Context(), r.PathValue("name"))
}

type keyRequest struct {
	Name string `json:"name"`
}

type newKey struct {
	User string `json:"user"`
	Name string `json:"name"`
	Key  string `json:"key"`
}

func (h *handler) createKey(w http.ResponseWriter, r *http.Request, req keyRequest) (newKey, error) {
	key, err := h.s.Auth.NewAPIKey(r.Context(), r.PathValue("name"), req.Name)
	return newKey{User: r.PathValue("name"), Name: req.Name, Key: key}, err
}

type revokedKey struct {
	User    string `json:"user"`
	Revoked int64  `json:"revoked"`
}

func (h *handler) revokeKey(w http.ResponseWriter, r *http.Request, _ wire.None) (revokedKey, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return revokedKey{}, err
	}
	return revokedKey{User: r.PathValue("name"), Revoked: id}, h.s.Auth.RevokeAPIKey(r.Context(), r.PathValue("name"), id)
}
