package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	wire "github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/outbox"
	"github.com/ferrydeploy/ferry/internal/receipt"
)

func (h *handler) bundleRoutes(rt *router, r wire.RouteSet) {
	handle(rt, r.Promote, h.promote)
	handle(rt, r.ListBundles, h.listBundles)
	handle(rt, r.InspectBundle, h.inspectBundle)
	handle(rt, r.ImportBundle, h.importBundle)
	handle(rt, r.Deliverers, h.deliverers)
	handle(rt, r.AddDeliverer, h.addDeliverer)
	handle(rt, r.ExportReceipts, h.exportReceipts)
	handle(rt, r.ImportReceipts, h.importReceipts)
}

func (h *handler) deliverers(w http.ResponseWriter, r *http.Request, _ wire.None) (bundle.Delivery, error) {
	return h.s.Bundles.Deliverers(r.Context(), r.PathValue("space"), r.PathValue("project"))
}

type delivererRequest struct {
	Space string `json:"space"`
}

func (h *handler) addDeliverer(w http.ResponseWriter, r *http.Request, req delivererRequest) (bundle.Delivery, error) {
	return h.s.Bundles.AllowDeliverer(r.Context(), r.PathValue("space"), r.PathValue("project"), req.Space)
}

// promote answers with the queued delivery to a connected space, or, when
// not asked to deliver, with the bundle file itself (200).
func (h *handler) promote(w http.ResponseWriter, r *http.Request, req bundle.PromoteRequest) (reply[outbox.Promotion], error) {
	if req.Deliver {
		p, err := h.s.Outbox.Promote(r.Context(), r.PathValue("space"), req)
		return reply[outbox.Promotion]{v: p}, err
	}
	pr, err := h.s.Bundles.Promote(r.Context(), r.PathValue("space"), req)
	if err != nil {
		return reply[outbox.Promotion]{}, err
	}
	w.Header().Set(wire.HeaderBundleDigest, pr.Record.Digest)
	for _, n := range pr.Notes {
		w.Header().Add(wire.HeaderNote, n)
	}
	return reply[outbox.Promotion]{status: http.StatusOK, file: &file{contentType: wire.MediaJSON, body: pr.Data}}, nil
}

func (h *handler) listBundles(w http.ResponseWriter, r *http.Request, _ wire.None) ([]outbox.BundleStatus, error) {
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

func (h *handler) inspectBundle(w http.ResponseWriter, r *http.Request, _ wire.None) (bundle.Inspection, error) {
	data, err := readBundle(w, r)
	if err != nil {
		return bundle.Inspection{}, err
	}
	return h.s.Bundles.Inspect(r.Context(), r.PathValue("space"), data)
}

func (h *handler) importBundle(w http.ResponseWriter, r *http.Request, q wire.BundleImportQuery) (bundle.ImportResult, error) {
	if q.Pending != "" {
		return h.s.Bundles.ImportPending(r.Context(), r.PathValue("space"), q.Pending, q.Lifecycle)
	}
	data, err := readBundle(w, r)
	if err != nil {
		return bundle.ImportResult{}, err
	}
	return h.s.Bundles.Import(r.Context(), r.PathValue("space"), data, q.Lifecycle)
}

// exportReceipts answers with the receipt file itself; the counts travel in
// headers.
func (h *handler) exportReceipts(w http.ResponseWriter, r *http.Request, req receipt.ExportRequest) (file, error) {
	data, res, err := h.s.Receipts.Export(r.Context(), r.PathValue("space"), req)
	if err != nil {
		return file{}, err
	}
	w.Header().Set(wire.HeaderReceipts, fmt.Sprint(res.Count))
	w.Header().Set(wire.HeaderReceiptsWaiting, fmt.Sprint(res.Waiting))
	if res.Note != "" {
		w.Header().Set(wire.HeaderNote, res.Note)
	}
	return file{body: data}, nil
}

func (h *handler) importReceipts(w http.ResponseWriter, r *http.Request, _ wire.None) (receipt.ImportResult, error) {
	data, err := readLimited(w, r, receipt.MaxFileSize, "receipt file")
	if err != nil {
		return receipt.ImportResult{}, err
	}
	return h.s.Receipts.Import(r.Context(), r.PathValue("space"), data)
}
