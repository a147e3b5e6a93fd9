package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/receipt"
	"github.com/ferrydeploy/ferry/internal/trust"
)

// maxUpload bounds an uploaded file and the form around it.
const maxUpload = bundle.MaxSize + 1<<20

// readUpload returns the named file of a multipart form, at most limit bytes.
func readUpload(r *http.Request, field string, limit int64, what string) ([]byte, error) {
	f, _, err := r.FormFile(field)
	if errors.Is(err, http.ErrMissingFile) {
		return nil, domain.Invalidf("choose a %s file to upload", what)
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, domain.Invalidf("the %s is larger than %d bytes", what, limit)
		}
		return nil, domain.Invalidf("could not read the uploaded %s: %v", what, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, domain.Invalidf("could not read the uploaded %s: %v", what, err)
	}
	if int64(len(data)) > limit {
		return nil, domain.Invalidf("the %s is larger than %d bytes", what, limit)
	}
	return data, nil
}

type bundlesPage struct {
	Space      string
	Bundles    []domain.BundleRecord
	Pending    []domain.BundleRecord
	Lifecycles []string
	MayImport  bool // the visitor may import (bundle.Import: administer-space)
}

func (p bundlesPage) title() string { return p.Space + " — bundles" }

func (h *Handler) lifecycleNames(r *http.Request, space string) ([]string, error) {
	lcs, err := h.s.Catalog.Lifecycles(r.Context(), space)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(lcs))
	for i, l := range lcs {
		names[i] = l.Name
	}
	return names, nil
}

func (h *Handler) bundles(w http.ResponseWriter, r *http.Request) error {
	space := r.PathValue("space")
	list, err := h.s.Bundles.List(r.Context(), space)
	if err != nil {
		return err
	}
	lcs, err := h.lifecycleNames(r, space)
	if err != nil {
		return err
	}
	pg := bundlesPage{Space: space, Bundles: list, Lifecycles: lcs, MayImport: h.mayImport(r.Context(), space)}
	for _, b := range list {
		if b.State == domain.BundlePending {
			pg.Pending = append(pg.Pending, b)
		}
	}
	h.render(w, r, http.StatusOK, "bundles", pg)
	return nil
}

// mayImport: importing a bundle is the space's administrators' (the
// check bundle.Import and bundle.ImportPending make).
func (h *Handler) mayImport(ctx context.Context, space string) bool {
	return h.s.Teams.Allowed(ctx, space, domain.PermAdminSpace, "", "")
}

// previewPage is what a bundle holds, before anyone imports it.
type previewPage struct {
	Space      string
	In         bundle.Inspection
	Variables  []bundle.InspectedVariable
	Lifecycles []string
	// Existing is the lifecycle of the remote project when an earlier
	// import created it.
	Existing  string
	MayImport bool
}

func (p previewPage) title() string {
	return "Import " + p.In.Project + " " + p.In.Release.Version + "?"
}

// previewBundle inspects an uploaded bundle — every check an import makes,
// nothing written — and keeps the file for the import that may follow.
func (h *Handler) previewBundle(w http.ResponseWriter, r *http.Request) error {
	space := r.PathValue("space")
	if err := h.s.Teams.Check(r.Context(), space, domain.PermView, "", ""); err != nil {
		return err // as bundle.Inspect checks, before the upload is read
	}
	data, err := readUpload(r, "bundle", bundle.MaxSize, "bundle")
	if err != nil {
		return err
	}
	in, err := h.s.Bundles.Inspect(r.Context(), space, data)
	if err != nil {
		return err
	}
	lcs, err := h.lifecycleNames(r, space)
	if err != nil {
		return err
	}
	a, _ := domain.ActorFrom(r.Context())
	h.stash.put(a.Name, in.Digest, data)
	pg := previewPage{Space: space, In: in, Lifecycles: lcs, MayImport: h.mayImport(r.Context(), space)}
	if p, err := h.s.Catalog.Project(r.Context(), space, in.Project); err == nil {
		pg.Existing = p.Lifecycle
	}
	for _, v := range in.Variables {
		if v.Sensitive {
			v.Value = "" // sealed in the bundle anyway; never shown
		}
		pg.Variables = append(pg.Variables, v)
	}
	h.render(w, r, http.StatusOK, "preview", pg)
	return nil
}

// importedPage says what an import did and asks for the values still
// missing before the release can be deployed.
type importedPage struct {
	Space     string
	Result    bundle.ImportResult
	Templates map[string]templateView
	Fields    []valueField
	MayEdit   bool // the visitor may set the project's values (edit-project)
}

func (p importedPage) title() string { return "Imported " + p.Result.Project + " " + p.Result.Version }

// valueField is one missing template value: an environment and a template.
type valueField struct {
	Environment string
	Template    templateView
}

func (h *Handler) importBundle(w http.ResponseWriter, r *http.Request) error {
	space := r.PathValue("space")
	if err := h.s.Teams.Check(r.Context(), space, domain.PermAdminSpace, "", ""); err != nil {
		return err // as bundle.Import checks, before the preview is looked for
	}
	a, _ := domain.ActorFrom(r.Context())
	digest := r.PostFormValue("digest")
	data, ok := h.stash.get(a.Name, digest)
	if !ok {
		return domain.Invalidf("this server node does not hold the uploaded bundle: a preview is kept for %d minutes in the memory of the node that showed it, so it is gone after that, after a restart, or when a load balancer sent the import to another node. Preview it again and upload it again; behind a load balancer, send a browser to one node (sticky sessions) or import from the command line: ferry bundle import FILE --space %q", int(stashTTL.Minutes()), space)
	}
	res, err := h.s.Bundles.Import(r.Context(), space, data, r.PostFormValue("lifecycle"))
	if err != nil {
		return err
	}
	h.stash.drop(a.Name, digest)
	return h.showImported(w, r, space, res)
}

// importPending imports a bundle a connected space delivered that waits
// for a person to choose its lifecycle.
func (h *Handler) importPending(w http.ResponseWriter, r *http.Request) error {
	space := r.PathValue("space")
	res, err := h.s.Bundles.ImportPending(r.Context(), space, r.PostFormValue("digest"), r.PostFormValue("lifecycle"))
	if err != nil {
		return err
	}
	return h.showImported(w, r, space, res)
}

func (h *Handler) showImported(w http.ResponseWriter, r *http.Request, space string, res bundle.ImportResult) error {
	pg := importedPage{Space: space, Result: res, Templates: map[string]templateView{},
		MayEdit: h.s.Teams.Allowed(r.Context(), space, domain.PermEditProject, res.Project, "")}
	if len(res.Missing) > 0 {
		rel, err := h.s.Releases.Get(r.Context(), space, res.Project, res.Version)
		if err != nil {
			return err
		}
		for _, t := range safeTemplates(rel.Snapshot.Templates) {
			pg.Templates[t.Name] = t
		}
		for _, m := range res.Missing {
			for _, name := range m.Variables {
				t, ok := pg.Templates[name]
				if !ok {
					t = templateView{Name: name, Type: domain.TemplateText}
				}
				pg.Fields = append(pg.Fields, valueField{Environment: m.Environment, Template: t})
			}
		}
	}
	h.render(w, r, http.StatusOK, "imported", pg)
	return nil
}

// remoteSpacesPage is who this space trusts, for what, and how delivery goes.
type remoteSpacesPage struct {
	Space       string
	Fingerprint string
	Remotes     []remoteView
	Directions  []string
	// MayAdmin: the visitor may add, change, revoke and delete (trust is a
	// space-wide administration) and import receipts.
	MayAdmin bool
	// MayRetry: the visitor may retry deliveries (promote, as
	// outbox.Retry asks); MayExport: export receipts (deploy, as
	// receipt.Export asks).
	MayRetry, MayExport bool
}

func (p remoteSpacesPage) title() string { return p.Space + " — remote spaces" }

type remoteView struct {
	domain.RemoteSpace
	Delivery *domain.DeliverySummary
}

func (h *Handler) remoteSpaces(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	space := r.PathValue("space")
	sp, _, err := h.s.Trust.Certificate(ctx, space)
	if err != nil {
		return err
	}
	list, err := h.s.Trust.List(ctx, space)
	if err != nil {
		return err
	}
	deliveries := map[string]domain.DeliverySummary{}
	st, err := h.s.Outbox.RemoteSpaces(ctx, space)
	if err != nil {
		return err
	}
	for _, rs := range st {
		deliveries[rs.Name] = rs.Delivery
	}
	pg := remoteSpacesPage{Space: space, Fingerprint: sp.Fingerprint, Directions: domain.TrustDirections,
		MayAdmin:  h.s.Teams.May(ctx, space, domain.PermAdminSpace, ""),
		MayRetry:  h.s.Teams.Allowed(ctx, space, domain.PermPromote, "", ""),
		MayExport: h.s.Teams.Allowed(ctx, space, domain.PermDeploy, "", "")}
	for _, rs := range list {
		rv := remoteView{RemoteSpace: rs}
		if d, ok := deliveries[rs.Name]; ok {
			rv.Delivery = &d
		}
		pg.Remotes = append(pg.Remotes, rv)
	}
	h.render(w, r, http.StatusOK, "remotes", pg)
	return nil
}

// addRemoteSpace registers another space by its certificate (uploaded or
// pasted) with the trust directions ticked.
func (h *Handler) addRemoteSpace(w http.ResponseWriter, r *http.Request) error {
	space := r.PathValue("space")
	if err := h.s.Teams.CheckSpaceWide(r.Context(), space, domain.PermAdminSpace); err != nil {
		return err // as trust.Add checks, before the certificate is read
	}
	cert := strings.TrimSpace(r.PostFormValue("certificate"))
	if cert == "" {
		data, err := readUpload(r, "certfile", 64<<10, "certificate")
		if err != nil {
			return err
		}
		cert = string(data)
	}
	var dirs []string
	for _, d := range r.PostForm["trust"] {
		if slices.Contains(domain.TrustDirections, d) {
			dirs = append(dirs, d)
		}
	}
	req := trust.AddRequest{
		Name:           strings.TrimSpace(r.PostFormValue("name")),
		Certificate:    cert,
		URL:            strings.TrimSpace(r.PostFormValue("url")),
		Trust:          strings.Join(dirs, ","),
		TLSFingerprint: strings.TrimSpace(r.PostFormValue("tls-fingerprint")),
	}
	rs, created, err := h.s.Trust.Add(r.Context(), space, req)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Added remote space %s (fingerprint %s), trusted for %s.", rs.Name, rs.Fingerprint, rs.Trust)
	if !created {
		msg = fmt.Sprintf("Remote space %s was already known with this certificate; nothing changed.", rs.Name)
	}
	return h.redirect(w, r, spacePath(space)+"/remote-spaces", msg)
}

func (h *Handler) certificate(w http.ResponseWriter, r *http.Request) error {
	sp, cert, err := h.s.Trust.Certificate(r.Context(), r.PathValue("space"))
	if err != nil {
		return err
	}
	download(w, fileName(sp.Name, ".pem"), "application/x-pem-file", cert)
	return nil
}

// exportReceipts answers with a receipt file for a remote space.
func (h *Handler) exportReceipts(w http.ResponseWriter, r *http.Request) error {
	to := r.PostFormValue("to")
	data, _, err := h.s.Receipts.Export(r.Context(), r.PathValue("space"), receipt.ExportRequest{To: to, All: r.PostFormValue("all") == "on"})
	if err != nil {
		return err
	}
	download(w, fileName("receipts-for-"+to, ".json"), "application/json", data)
	return nil
}

func (h *Handler) importReceipts(w http.ResponseWriter, r *http.Request) error {
	space := r.PathValue("space")
	if err := h.s.Teams.CheckSpaceWide(r.Context(), space, domain.PermAdminSpace); err != nil {
		return err // as receipt.Import checks, before the file is read
	}
	data, err := readUpload(r, "receipts", receipt.MaxFileSize, "receipt file")
	if err != nil {
		return err
	}
	res, err := h.s.Receipts.Import(r.Context(), space, data)
	if err != nil {
		return err
	}
	return h.redirect(w, r, spacePath(space), fmt.Sprintf("Imported %d receipt(s) from %s (%d already held).", res.Imported, res.From, res.Duplicates))
}

// trustFrom reads the trust checkboxes of a form.
func trustFrom(r *http.Request) string {
	var dirs []string
	for _, d := range r.PostForm["trust"] {
		if slices.Contains(domain.TrustDirections, d) {
			dirs = append(dirs, d)
		}
	}
	return strings.Join(dirs, ",")
}

// updateRemoteSpace changes a remote space's URL, TLS fingerprint and
// trust, as `ferry remote-space update` does.
func (h *Handler) updateRemoteSpace(w http.ResponseWriter, r *http.Request) error {
	space, name := r.PathValue("space"), r.PathValue("name")
	u := strings.TrimSpace(r.PostFormValue("url"))
	fp := strings.TrimSpace(r.PostFormValue("tls-fingerprint"))
	dirs := trustFrom(r)
	rs, err := h.s.Trust.Update(r.Context(), space, name, trust.UpdateRequest{URL: &u, TLSFingerprint: &fp, Trust: &dirs})
	if err != nil {
		return err
	}
	return h.redirect(w, r, spacePath(space)+"/remote-spaces", fmt.Sprintf("Updated remote space %s.", rs.Name))
}

// retryRemoteSpace sends refused deliveries again (ferry remote-space retry).
func (h *Handler) retryRemoteSpace(w http.ResponseWriter, r *http.Request) error {
	space, name := r.PathValue("space"), r.PathValue("name")
	res, err := h.s.Outbox.Retry(r.Context(), space, name)
	if err != nil {
		return err
	}
	return h.redirect(w, r, spacePath(space)+"/remote-spaces", fmt.Sprintf("Queued %d deliveries to %s again.", res.Requeued, res.RemoteSpace))
}

// revokeRemoteSpace stops trusting a remote space for good (ferry
// remote-space revoke).
func (h *Handler) revokeRemoteSpace(w http.ResponseWriter, r *http.Request) error {
	space, name := r.PathValue("space"), r.PathValue("name")
	rs, err := h.s.Trust.Revoke(r.Context(), space, name)
	if err != nil {
		return err
	}
	return h.redirect(w, r, spacePath(space)+"/remote-spaces", fmt.Sprintf("Revoked remote space %s: nothing it signs is accepted any more.", rs.Name))
}
