package api

import (
	"net/http"

	"github.com/ferrydeploy/ferry/internal/trust"
)

type routeFunc func(pattern string, fn func(w http.ResponseWriter, r *http.Request) (any, error))

func (h *handler) trustRoutes(route routeFunc) {
	route("GET /api/spaces/{space}/certificate", h.spaceCertificate)
	route("GET /api/spaces/{space}/remote-spaces", h.listRemoteSpaces)
	route("POST /api/spaces/{space}/remote-spaces", h.addRemoteSpace)
	route("PATCH /api/spaces/{space}/remote-spaces/{name}", h.updateRemoteSpace)
	route("POST /api/spaces/{space}/remote-spaces/{name}/revoke", h.revokeRemoteSpace)
}

func (h *handler) spaceCertificate(w http.ResponseWriter, r *http.Request) (any, error) {
	_, cert, err := h.s.Trust.Certificate(r.Context(), r.PathValue("space"))
	if err != nil {
		return nil, err
	}
	return raw{contentType: "application/x-pem-file", body: cert}, nil
}

func (h *handler) listRemoteSpaces(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.s.Outbox.RemoteSpaces(r.Context(), r.PathValue("space"))
}

func (h *handler) addRemoteSpace(w http.ResponseWriter, r *http.Request) (any, error) {
	var req trust.AddRequest
	if err := decode(w, r, &req); err != nil {
		return nil, err
	}
	rs, isNew, err := h.s.Trust.Add(r.Context(), r.PathValue("space"), req)
	if err != nil {
		return nil, err
	}
	out := struct {
		Created     bool `json:"created"`
		RemoteSpace any  `json:"remoteSpace"`
	}{isNew, rs}
	if isNew {
		return created{out}, nil
	}
	return out, nil
}

func (h *handler) updateRemoteSpace(w http.ResponseWriter, r *http.Request) (any, error) {
	var req trust.UpdateRequest
	if err := decode(w, r, &req); err != nil {
		return nil, err
	}
	return h.s.Trust.Update(r.Context(), r.PathValue("space"), r.PathValue("name"), req)
}

func (h *handler) revokeRemoteSpace(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.s.Trust.Revoke(r.Context(), r.PathValue("space"), r.PathValue("name"))
}
