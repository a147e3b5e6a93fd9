package api

import (
	"net/http"

	wire "github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/outbox"
	"github.com/ferrydeploy/ferry/internal/trust"
)

func (h *handler) trustRoutes(rt *router, r wire.RouteSet) {
	handle(rt, r.Certificate, h.spaceCertificate)
	handle(rt, r.AgeKey, h.ageKey)
	handle(rt, r.ListRemoteSpaces, h.listRemoteSpaces)
	handle(rt, r.AddRemoteSpace, h.addRemoteSpace)
	handle(rt, r.UpdateRemoteSpace, h.updateRemoteSpace)
	handle(rt, r.RevokeRemoteSpace, h.revokeRemoteSpace)
	handle(rt, r.RetryDeliveries, h.retryDeliveries)
	handle(rt, r.ListDeliveries, h.listDeliveries)
	handle(rt, r.GetDelivery, h.getDelivery)
}

func (h *handler) spaceCertificate(w http.ResponseWriter, r *http.Request, _ wire.None) (file, error) {
	_, cert, err := h.s.Trust.Certificate(r.Context(), r.PathValue("space"))
	return file{body: cert}, err
}

// ageKey gives an administrator the space's age secret key, so secrets in a
// bundle can be decrypted by hand with the standard age tool.
func (h *handler) ageKey(w http.ResponseWriter, r *http.Request, _ wire.None) (file, error) {
	key, err := h.s.Trust.AgeKey(r.Context(), r.PathValue("space"))
	return file{body: []byte(key + "\n")}, err
}

func (h *handler) listRemoteSpaces(w http.ResponseWriter, r *http.Request, _ wire.None) ([]outbox.RemoteSpaceStatus, error) {
	return h.s.Outbox.RemoteSpaces(r.Context(), r.PathValue("space"))
}

type addedRemoteSpace struct {
	Created     bool               `json:"created"`
	RemoteSpace domain.RemoteSpace `json:"remoteSpace"`
}

// addRemoteSpace answers 201 when the space is new, 200 when it was
// already known with the certificate.
func (h *handler) addRemoteSpace(w http.ResponseWriter, r *http.Request, req trust.AddRequest) (reply[addedRemoteSpace], error) {
	rs, isNew, err := h.s.Trust.Add(r.Context(), r.PathValue("space"), req)
	out := reply[addedRemoteSpace]{v: addedRemoteSpace{Created: isNew, RemoteSpace: rs}}
	if !isNew {
		out.status = http.StatusOK
	}
	return out, err
}

func (h *handler) updateRemoteSpace(w http.ResponseWriter, r *http.Request, req trust.UpdateRequest) (domain.RemoteSpace, error) {
	return h.s.Trust.Update(r.Context(), r.PathValue("space"), r.PathValue("name"), req)
}

func (h *handler) revokeRemoteSpace(w http.ResponseWriter, r *http.Request, _ wire.None) (domain.RemoteSpace, error) {
	return h.s.Trust.Revoke(r.Context(), r.PathValue("space"), r.PathValue("name"))
}

func (h *handler) retryDeliveries(w http.ResponseWriter, r *http.Request, _ wire.None) (outbox.RetryResult, error) {
	return h.s.Outbox.Retry(r.Context(), r.PathValue("space"), r.PathValue("name"))
}

func (h *handler) listDeliveries(w http.ResponseWriter, r *http.Request, q wire.DeliveryQuery) ([]domain.OutboxItem, error) {
	return h.s.Outbox.Deliveries(r.Context(), r.PathValue("space"), q.Remote, q.Limit)
}

func (h *handler) getDelivery(w http.ResponseWriter, r *http.Request, _ wire.None) (domain.OutboxItem, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return domain.OutboxItem{}, err
	}
	return h.s.Outbox.Delivery(r.Context(), r.PathValue("space"), id)
}
