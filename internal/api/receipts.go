package api

import (
	"fmt"
	"net/http"

	"github.com/ferrydeploy/ferry/internal/receipt"
)

func (h *handler) receiptRoutes(route routeFunc) {
	route("POST /api/spaces/{space}/receipts/export", h.exportReceipts)
	route("POST /api/spaces/{space}/receipts/import", h.importReceipts)
}

// exportReceipts answers with the receipt file itself; the count travels in
// a header.
func (h *handler) exportReceipts(w http.ResponseWriter, r *http.Request) (any, error) {
	var req receipt.ExportRequest
	if err := decode(w, r, &req); err != nil {
		return nil, err
	}
	data, res, err := h.s.Receipts.Export(r.Context(), r.PathValue("space"), req)
	if err != nil {
		return nil, err
	}
	w.Header().Set("X-Ferry-Receipts", fmt.Sprint(res.Count))
	w.Header().Set("X-Ferry-Receipts-Waiting", fmt.Sprint(res.Waiting))
	if res.Note != "" {
		w.Header().Set("X-Ferry-Note", res.Note)
	}
	return raw{contentType: "application/json", body: data}, nil
}

func (h *handler) importReceipts(w http.ResponseWriter, r *http.Request) (any, error) {
	data, err := readLimited(w, r, receipt.MaxFileSize, "receipt file")
	if err != nil {
		return nil, err
	}
	return h.s.Receipts.Import(r.Context(), r.PathValue("space"), data)
}
