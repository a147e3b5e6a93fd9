package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	wire "github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/packages"
)

func (h *handler) packageRoutes(rt *router, r wire.RouteSet) {
	handle(rt, r.PushPackage, h.pushPackage)
	handle(rt, r.ListPackages, h.listPackages)
	handle(rt, r.ShowPackage, h.showPackage)
	handle(rt, r.DownloadPackage, h.downloadPackage)
	handle(rt, r.PackageInventory, h.packageInventory)
	handle(rt, r.ExportPackages, h.exportPackages)
	handle(rt, r.ImportPackages, h.importPackages)
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
// version are query parameters. A package already in the feed answers 200.
func (h *handler) pushPackage(w http.ResponseWriter, r *http.Request, q wire.PushQuery) (reply[packages.PushResult], error) {
	res, err := h.s.Packages.Push(r.Context(), r.PathValue("space"), q.ID, q.Version, bodyLimit(w, r, packages.MaxPackageSize+1))
	out := reply[packages.PushResult]{v: res}
	if res.AlreadyInFeed {
		out.status = http.StatusOK
	}
	return out, err
}

func (h *handler) listPackages(w http.ResponseWriter, r *http.Request, q wire.PackageQuery) ([]domain.Package, error) {
	return h.s.Packages.List(r.Context(), r.PathValue("space"), q.ID)
}

func (h *handler) showPackage(w http.ResponseWriter, r *http.Request, _ wire.None) (packages.Detail, error) {
	return h.s.Packages.Show(r.Context(), r.PathValue("space"), r.PathValue("package"), r.PathValue("version"))
}

func (h *handler) downloadPackage(w http.ResponseWriter, r *http.Request, _ wire.None) (file, error) {
	space, id, version := r.PathValue("space"), r.PathValue("package"), r.PathValue("version")
	if _, err := h.s.Packages.Show(r.Context(), space, id, version); err != nil {
		return file{}, err
	}
	return file{write: func(w io.Writer) error {
		return h.s.Packages.Download(r.Context(), space, id, version, w)
	}}, nil
}

func (h *handler) packageInventory(w http.ResponseWriter, r *http.Request, _ wire.None) (file, error) {
	data, n, err := h.s.Packages.Inventory(r.Context(), r.PathValue("space"))
	if err != nil {
		return file{}, err
	}
	w.Header().Set(wire.HeaderPackages, strconv.Itoa(n))
	return file{body: data}, nil
}

// exportPackages answers with the transfer file, streamed; what it carries
// is summarised as JSON in the X-Ferry-Transfer header.
func (h *handler) exportPackages(w http.ResponseWriter, r *http.Request, req packages.ExportRequest) (file, error) {
	exp, err := h.s.Packages.PlanExport(r.Context(), r.PathValue("space"), req)
	if err != nil {
		return file{}, err
	}
	sum, err := json.Marshal(exp.Summary)
	if err != nil {
		return file{}, err
	}
	w.Header().Set(wire.HeaderTransfer, string(sum))
	return file{write: func(w io.Writer) error {
		defer exp.Close()
		_, err := exp.WriteTo(w)
		return err
	}}, nil
}

func (h *handler) importPackages(w http.ResponseWriter, r *http.Request, _ wire.None) (packages.ImportResult, error) {
	return h.s.Packages.Import(r.Context(), r.PathValue("space"), bodyLimit(w, r, packages.MaxTransferSize))
}
