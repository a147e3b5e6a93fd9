package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/packages"
)

func (h *handler) packageRoutes(route routeFunc) {
	route("POST /api/spaces/{space}/packages", h.pushPackage)
	route("GET /api/spaces/{space}/packages", h.listPackages)
	route("GET /api/spaces/{space}/packages/{id}/{version}", h.showPackage)
	route("GET /api/spaces/{space}/packages/{id}/{version}/file", h.downloadPackage)
	route("POST /api/spaces/{space}/packages/inventory", h.packageInventory)
	route("POST /api/spaces/{space}/packages/export", h.exportPackages)
	route("POST /api/spaces/{space}/packages/import", h.importPackages)
}

// stream is a response written by a function, for bodies too large to
// hold in memory. Headers set before it runs are sent; an error after the
// first byte can only be logged (the client sees a truncated body, which
// every ferry file format detects, and the connection is broken off).
type stream struct {
	contentType string
	write       func(w io.Writer) error
}

func (h *handler) writeStream(w http.ResponseWriter, r *http.Request, status int, st stream) {
	w.Header().Set("Content-Type", st.contentType)
	w.WriteHeader(status)
	if err := st.write(w); err != nil {
		h.log.Error("streamed response failed", "method", r.Method, "path", r.URL.Path, "err", err)
		// Break the connection so the client sees an error, not a
		// complete-looking response that ends early.
		panic(http.ErrAbortHandler)
	}
}

// bodyLimit wraps a streamed upload with a size limit whose error reads
// well.
func bodyLimit(w http.ResponseWriter, r *http.Request, limit int64) io.Reader {
	return &limitedBody{r: http.MaxBytesReader(w, r.Body, limit), limit: limit}
}

type limitedBody struct {
	r     io.Reader
	limit int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return n, domain.Invalidf("the upload is larger than %d bytes", l.limit)
	}
	return n, err
}

// pushPackage takes the package file itself as the body, streamed; id and
// version are query parameters.
func (h *handler) pushPackage(w http.ResponseWriter, r *http.Request) (any, error) {
	q := r.URL.Query()
	res, err := h.s.Packages.Push(r.Context(), r.PathValue("space"), q.Get("id"), q.Get("version"), bodyLimit(w, r, packages.MaxPackageSize+1))
	if err != nil {
		return nil, err
	}
	if res.AlreadyInFeed {
		return res, nil
	}
	return created{res}, nil
}

func (h *handler) listPackages(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.s.Packages.List(r.Context(), r.PathValue("space"), r.URL.Query().Get("id"))
}

func (h *handler) showPackage(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.s.Packages.Show(r.Context(), r.PathValue("space"), r.PathValue("id"), r.PathValue("version"))
}

func (h *handler) downloadPackage(w http.ResponseWriter, r *http.Request) (any, error) {
	space, id, version := r.PathValue("space"), r.PathValue("id"), r.PathValue("version")
	if _, err := h.s.Packages.Show(r.Context(), space, id, version); err != nil {
		return nil, err
	}
	return stream{contentType: "application/octet-stream", write: func(w io.Writer) error {
		return h.s.Packages.Download(r.Context(), space, id, version, w)
	}}, nil
}

func (h *handler) packageInventory(w http.ResponseWriter, r *http.Request) (any, error) {
	data, n, err := h.s.Packages.Inventory(r.Context(), r.PathValue("space"))
	if err != nil {
		return nil, err
	}
	w.Header().Set("X-Ferry-Packages", itoa(n))
	return raw{contentType: "application/json", body: data}, nil
}

// exportPackages answers with the transfer file, streamed; what it carries
// is summarised as JSON in the X-Ferry-Transfer header.
func (h *handler) exportPackages(w http.ResponseWriter, r *http.Request) (any, error) {
	var req packages.ExportRequest
	if err := decode(w, r, &req); err != nil {
		return nil, err
	}
	exp, err := h.s.Packages.PlanExport(r.Context(), r.PathValue("space"), req)
	if err != nil {
		return nil, err
	}
	sum, err := json.Marshal(exp.Summary)
	if err != nil {
		return nil, err
	}
	w.Header().Set("X-Ferry-Transfer", string(sum))
	return stream{contentType: "application/x-tar", write: func(w io.Writer) error {
		defer exp.Close()
		_, err := exp.WriteTo(w)
		return err
	}}, nil
}

func (h *handler) importPackages(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.s.Packages.Import(r.Context(), r.PathValue("space"), bodyLimit(w, r, packages.MaxTransferSize))
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
