package api

import (
	"errors"
	"io"
	"net/http"

	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/domain"
)

func (h *handler) bundleRoutes(route routeFunc) {
	route("POST /api/spaces/{space}/promotions", h.promote)
	route("GET /api/spaces/{space}/bundles", h.listBundles)
	route("POST /api/spaces/{space}/bundles/inspect", h.inspectBundle)
	route("POST /api/spaces/{space}/bundles/import", h.importBundle)
	route("GET /api/spaces/{space}/age-key", h.ageKey)
	route("GET /api/spaces/{space}/projects/{project}/deliverers", h.deliverers)
	route("POST /api/spaces/{space}/projects/{project}/deliverers", h.addDeliverer)
}

func (h *handler) deliverers(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.s.Bundles.Deliverers(r.Context(), r.PathValue("space"), r.PathValue("project"))
}

// DelivererRequest allows a remote space to deliver a remote project.
type DelivererRequest struct {
	Space string `json:"space"`
}

func (h *handler) addDeliverer(w http.ResponseWriter, r *http.Request) (any, error) {
	var req DelivererRequest
	if err := decode(w, r, &req); err != nil {
		return nil, err
	}
	return h.s.Bundles.AllowDeliverer(r.Context(), r.PathValue("space"), r.PathValue("project"), req.Space)
}

// promote answers with the bundle file itself, or, when asked to deliver
// it to a connected space, with the queued delivery.
func (h *handler) promote(w http.ResponseWriter, r *http.Request) (any, error) {
	var req bundle.PromoteRequest
	if err := decode(w, r, &req); err != nil {
		return nil, err
	}
	if req.Deliver {
		return asCreated(h.s.Outbox.Promote(r.Context(), r.PathValue("space"), req))
	}
	pr, err := h.s.Bundles.Promote(r.Context(), r.PathValue("space"), req)
	if err != nil {
		return nil, err
	}
	w.Header().Set("X-Ferry-Bundle-Digest", pr.Record.Digest)
	for _, n := range pr.Notes {
		w.Header().Add("X-Ferry-Note", n)
	}
	return raw{contentType: "application/json", body: pr.Data}, nil
}

func (h *handler) listBundles(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.s.Outbox.Bundles(r.Context(), r.PathValue("space"))
}

// readLimited reads a posted file of at most limit bytes.
func readLimited(w http.ResponseWriter, r *http.Request, limit int64, what string) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, limit)
	var data []byte
	var err error
	if n := r.ContentLength; n >= 0 && n <= limit {
		// One buffer of the declared size, not a growing one: what a
		// request holds is what it declared (transfer limits count that).
		data = make([]byte, n)
		_, err = io.ReadFull(body, data)
	} else {
		data, err = io.ReadAll(body)
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, domain.Invalidf("the %s is larger than %d bytes", what, limit)
	}
	return data, err
}

func readBundle(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return readLimited(w, r, bundle.MaxSize, "bundle")
}

func (h *handler) inspectBundle(w http.ResponseWriter, r *http.Request) (any, error) {
	data, err := readBundle(w, r)
	if err != nil {
		return nil, err
	}
	return h.s.Bundles.Inspect(r.Context(), r.PathValue("space"), data)
}

func (h *handler) importBundle(w http.ResponseWriter, r *http.Request) (any, error) {
	if digest := r.URL.Query().Get("pending"); digest != "" {
		return h.s.Bundles.ImportPending(r.Context(), r.PathValue("space"), digest, r.URL.Query().Get("lifecycle"))
	}
	data, err := readBundle(w, r)
	if err != nil {
		return nil, err
	}
	return h.s.Bundles.Import(r.Context(), r.PathValue("space"), data, r.URL.Query().Get("lifecycle"))
}

// ageKey gives an administrator the space's age secret key, so secrets in a
// bundle can be decrypted by hand with the standard age tool.
func (h *handler) ageKey(w http.ResponseWriter, r *http.Request) (any, error) {
	key, err := h.s.Trust.AgeKey(r.Context(), r.PathValue("space"))
	if err != nil {
		return nil, err
	}
	return raw{contentType: "text/plain", body: []byte(key + "\n")}, nil
}
