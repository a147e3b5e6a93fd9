package packages

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/ferrydeploy/ferry/internal/compat"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/envelope"
	"github.com/ferrydeploy/ferry/internal/packages/delta"
	"github.com/ferrydeploy/ferry/internal/packages/expand"
	"github.com/ferrydeploy/ferry/internal/signing"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Transfer and inventory file formats (docs/transfer-format.md).
const (
	TransferFormat  = "ferry-package-transfer"
	TransferKind    = "ferry.package-transfer"
	InventoryFormat = "ferry-package-inventory"
	InventoryKind   = "ferry.package-inventory"
	// TransferSchema is the transfer file schema this server writes unless
	// the target is known to read only the one before (OldTransferSchema,
	// which it still reads and writes): version 2 adds deltas.
	TransferSchema    = compat.Current
	OldTransferSchema = compat.Previous
	InventorySchema   = 1
	transferManifest  = "ferry-transfer.json"
	// MaxTransferHeader bounds the signed part of a transfer file (package
	// manifests and the chunk list), MaxInventory an inventory file.
	MaxTransferHeader = 256 << 20
	MaxInventory      = 16 << 20
	// MaxTransferSize bounds a whole transfer file; the API's body limit
	// for imports is the same.
	MaxTransferSize = 16 << 30
)

// SpaceRef names a space and pins its certificate.
type SpaceRef struct {
	Space       string `json:"space"`
	Fingerprint string `json:"fingerprint"`
}

// TransferPayload is what the source space signs: the packages the file
// delivers, how to rebuild each, and the chunks the file carries. The chunk
// bytes follow the signed part; each is checked against its hash here.
type TransferPayload struct {
	Kind          string    `json:"kind"`
	SchemaVersion int       `json:"schemaVersion"`
	CreatedAt     time.Time `json:"createdAt"`
	CreatedBy     string    `json:"createdBy"`
	Source        SpaceRef  `json:"source"`
	Target        SpaceRef  `json:"target"`
	// Assumed lists the packages the target was known to hold, whose
	// chunks the file leaves out; Basis says how that was known.
	Assumed  []domain.PackageRef `json:"assumed"`
	Basis    string              `json:"basis"`
	Packages []TransferPackage   `json:"packages"`
	Chunks   ChunkList           `json:"chunks"` // in file order
}

// SchemaKnowledge says which transfer file schema version a remote space
// is known to read (from what it sent this space); 0 when nothing is known.
type SchemaKnowledge interface {
	TransferSchema(ctx context.Context, spaceID int64, remote domain.RemoteSpace) (int, error)
}

// NothingKnown is SchemaKnowledge that knows nothing: every target is
// taken to read TransferSchema unless told otherwise.
type NothingKnown struct{}

// TransferSchema returns 0.
func (NothingKnown) TransferSchema(context.Context, int64, domain.RemoteSpace) (int, error) {
	return 0, nil
}

// TransferPackage is one package version a transfer file delivers. When
// Runs is set, the manifest's chunk list is left out and Runs rebuilds it,
// mostly by reference to the manifests of packages the target holds. When
// Delta is set (schema 2), the package is rebuilt from a delta against a
// package the target holds, and the manifest only names it (format, size,
// SHA-256): the target cuts its own chunks.
type TransferPackage struct {
	ID       string       `json:"id"`
	Version  string       `json:"version"`
	Manifest Manifest     `json:"manifest"`
	Runs     []ChunkRun   `json:"runs,omitempty"`
	Delta    *DeltaRecipe `json:"delta,omitempty"`
}

// ChunkRun is a stretch of a manifest's chunk list: Count chunks from
// position From of the manifest of Assumed[Base-1], or with File (schema
// 2) of the file's own chunk list, or, with neither, the chunks listed in
// Chunks.
type ChunkRun struct {
	Base   int       `json:"base,omitempty"`
	File   bool      `json:"file,omitempty"`
	From   int       `json:"from,omitempty"`
	Count  int       `json:"count,omitempty"`
	Chunks ChunkList `json:"chunks,omitempty"`
}

// InventoryPayload is a space's signed list of the packages it holds.
type InventoryPayload struct {
	Kind          string              `json:"kind"`
	SchemaVersion int                 `json:"schemaVersion"`
	CreatedAt     time.Time           `json:"createdAt"`
	Space         SpaceRef            `json:"space"`
	Packages      []domain.PackageRef `json:"packages"`
}

// Inventory writes the space's signed package inventory, for a source space
// to leave out of its next transfer file what this space already has.
func (s *Service) Inventory(ctx context.Context, space string) ([]byte, int, error) {
	sp, err := s.access.Space(ctx, space, domain.PermDeploy, "", "")
	if err != nil {
		return nil, 0, err
	}
	refs, err := s.Holding(ctx, sp.ID, nil)
	if err != nil {
		return nil, 0, err
	}
	if refs == nil {
		refs = []domain.PackageRef{}
	}
	body, err := json.Marshal(InventoryPayload{Kind: InventoryKind, SchemaVersion: InventorySchema, CreatedAt: s.now(),
		Space: SpaceRef{sp.Name, sp.Fingerprint}, Packages: refs})
	if err != nil {
		return nil, 0, err
	}
	id, err := s.trust.Identity(ctx, sp.ID)
	if err != nil {
		return nil, 0, err
	}
	data, err := envelope.Seal(InventoryFormat, InventorySchema, body, id.CertPEM, func(b []byte) ([]byte, error) { return signing.Sign(id.Signer, b) })
	return data, len(refs), err
}

// ExportRequest asks for a transfer file for a remote space.
type ExportRequest struct {
	To string `json:"to"`
	// Inventory is an inventory file the target exported (optional).
	Inventory []byte `json:"inventory,omitempty"`
	// Full ignores what the target is known to have.
	Full bool `json:"full,omitempty"`
	// SchemaVersion chooses the transfer file's schema (1 or 2); 0 writes
	// the newest the target is known to read.
	SchemaVersion int `json:"schemaVersion,omitempty"`
	// Lacks, when set, narrows the chunks to those the target says it
	// lacks: a connected target answers (see connected.go).
	Lacks func(ctx context.Context, chunks []Hash) ([]Hash, error) `json:"-"`
}

// ExportSummary says what a transfer file carries.
type ExportSummary struct {
	To           string              `json:"to"`
	Packages     []domain.PackageRef `json:"packages"`
	PackageBytes int64               `json:"packageBytes"` // sum of the packages' sizes
	Chunks       int                 `json:"chunks"`       // carried
	TotalChunks  int                 `json:"totalChunks"`  // in the packages
	ChunkBytes   int64               `json:"chunkBytes"`   // carried, before compression
	Assumed      []domain.PackageRef `json:"assumed"`
	Basis        string              `json:"basis"`
	FileBytes    int64               `json:"fileBytes,omitempty"` // written (known after writing)
	// SchemaVersion is the transfer file's schema; Deltas counts the
	// packages carried as deltas, DeltaBytes their size.
	SchemaVersion int   `json:"schemaVersion"`
	Deltas        int   `json:"deltas"`
	DeltaBytes    int64 `json:"deltaBytes"`
}

// Export is a transfer file ready to be written. Close removes its
// temporary files (WriteTo does once it has written them).
type Export struct {
	Summary ExportSummary
	header  []byte // the signed envelope
	chunks  []ChunkRef
	deltas  []*deltaFile // in the order of the packages that have one
	svc     *Service
}

// Close removes the export's temporary files.
func (e *Export) Close() {
	for _, d := range e.deltas {
		os.Remove(d.path)
	}
}

// PlanExport works out which packages the remote space needs — those of
// every release promoted to it that it is not known to hold — and which of
// their chunks it lacks, known from an inventory file it exported and from
// the package lists its deployment receipts carry. It signs the result.
func (s *Service) PlanExport(ctx context.Context, space string, req ExportRequest) (*Export, error) {
	sp, target, err := s.exportTarget(ctx, space, req.To)
	if err != nil {
		return nil, err
	}
	wanted, err := s.promotedPackages(ctx, sp, target.Name)
	if err != nil {
		return nil, err
	}
	if len(wanted) == 0 {
		return nil, domain.Invalidf("no release promoted to %q deploys a package; nothing to transfer", target.Name)
	}
	var known []domain.PackageRef
	var basis []string
	if !req.Full {
		if known, basis, err = s.knownHeld(ctx, sp, target, req.Inventory); err != nil {
			return nil, err
		}
	}
	has := map[string]bool{}
	for _, k := range known {
		has[k.SHA256] = true
	}
	var send []domain.PackageRef
	for _, w := range wanted {
		if !has[w.SHA256] {
			send = append(send, w)
		}
	}
	if len(send) == 0 {
		return nil, domain.Invalidf("%q already holds every package of the releases promoted to it (%s); nothing to transfer. Use --full to send them anyway", target.Name, strings.Join(basis, ", "))
	}
	plan := &exportPlan{haveChunk: map[Hash]bool{}, lists: map[int][]ChunkRef{}, exp: &Export{svc: s}}
	if err := s.assumeBases(ctx, sp.ID, known, plan); err != nil {
		return nil, err
	}
	schema, err := s.schemaFor(target, req.SchemaVersion, plan.assumed)
	if err != nil {
		return nil, err
	}
	plan.pl = TransferPayload{Kind: TransferKind, SchemaVersion: schema, CreatedAt: s.now(), CreatedBy: domain.ActorName(ctx),
		Source: SpaceRef{sp.Name, sp.Fingerprint}, Target: SpaceRef{target.Name, target.Fingerprint},
		Assumed: nonNilRefs(plan.assumed), Basis: strings.Join(basis, ", "), Packages: []TransferPackage{}, Chunks: []ChunkRef{}}
	if plan.pl.Basis == "" {
		plan.pl.Basis = "nothing known: every chunk is carried"
	}
	plan.sum = ExportSummary{To: target.Name, Packages: send, Assumed: plan.pl.Assumed, Basis: plan.pl.Basis, SchemaVersion: schema}
	exp := plan.exp
	planned := false
	defer func() {
		if !planned {
			exp.Close()
		}
	}()
	for _, ref := range send {
		if err := s.planPackage(ctx, sp.ID, ref, plan); err != nil {
			return nil, err
		}
	}
	if req.Lacks != nil {
		if err := narrow(ctx, req.Lacks, &plan.pl, &plan.sum); err != nil {
			return nil, err
		}
	}
	plan.chunkListRuns()
	header, err := s.sealExport(ctx, sp, target, &plan.pl, send, plan.sum)
	if err != nil {
		return nil, err
	}
	exp.Summary, exp.header, exp.chunks = plan.sum, header, plan.pl.Chunks
	planned = true
	return exp, nil
}

// exportTarget finds the remote space a transfer file goes to and checks
// this space may send it packages.
func (s *Service) exportTarget(ctx context.Context, space, to string) (domain.Space, domain.RemoteSpace, error) {
	sp, err := s.access.Space(ctx, space, domain.PermPromote, "", "")
	if err != nil {
		return sp, domain.RemoteSpace{}, err
	}
	target, err := s.trust.Get(ctx, sp.ID, to)
	if err != nil {
		return sp, target, err
	}
	if target.Revoked() {
		return sp, target, domain.Errorf(domain.KindForbidden, "remote space %q was revoked; nothing is sent to it", target.Name)
	}
	if !target.Trust.Has(domain.TrustPromote) {
		return sp, target, domain.Errorf(domain.KindForbidden, "space %q does not trust remote space %q for promotion, so no packages go to it (its trust: %s)", sp.Name, target.Name, target.Trust)
	}
	return sp, target, nil
}

// knownHeld lists the packages the target is known to hold, from its
// inventory file (when given) and its deployment receipts, and names
// where that knowledge came from.
func (s *Service) knownHeld(ctx context.Context, sp domain.Space, target domain.RemoteSpace, inventory []byte) ([]domain.PackageRef, []string, error) {
	var known []domain.PackageRef
	var basis []string
	if len(inventory) > 0 {
		inv, err := s.readInventory(ctx, sp, target, inventory)
		if err != nil {
			return nil, nil, err
		}
		known = append(known, inv...)
		basis = append(basis, "inventory of "+inv0(inventory))
	}
	fromReceipts, err := s.receiptInventory(ctx, sp, target)
	if err != nil {
		return nil, nil, err
	}
	if len(fromReceipts) > 0 {
		known = append(known, fromReceipts...)
		basis = append(basis, "deployment receipts")
	}
	return known, basis, nil
}

// exportPlan is a transfer file being planned: its payload and summary,
// the deltas computed so far, and what the target is assumed to hold.
type exportPlan struct {
	pl  TransferPayload
	sum ExportSummary
	exp *Export
	// lists holds, by package position, the chunk lists of packages sent
	// whole in schema 2, made runs once the file's chunks are known.
	lists     map[int][]ChunkRef
	haveChunk map[Hash]bool // chunks the target has or the file carries
	assumed   []domain.PackageRef
	bases     []*Manifest // this space's manifests of assumed, in order
}

// assumeBases records, of the packages the target is known to hold, those
// this space has a manifest of (chunked alike): the file assumes them, and
// the target has their chunks.
func (s *Service) assumeBases(ctx context.Context, spaceID int64, known []domain.PackageRef, plan *exportPlan) error {
	seenAssumed := map[string]bool{}
	for _, k := range known {
		ps, err := s.store.Packages().BySHA256(ctx, spaceID, k.SHA256)
		if err != nil {
			return err
		}
		if len(ps) == 0 || seenAssumed[k.SHA256] {
			continue
		}
		seenAssumed[k.SHA256] = true
		m, err := decodeManifest(ps[0])
		if err != nil {
			return err
		}
		if m.Chunker != ChunkerVersion {
			continue
		}
		plan.assumed = append(plan.assumed, k)
		plan.bases = append(plan.bases, m)
		for _, c := range m.Chunks {
			plan.haveChunk[c.Hash] = true
		}
	}
	return nil
}

// planPackage adds the package ref to the plan: as a delta from a version
// the target holds when that is smaller (schema 2), else as its chunks,
// carrying those the target lacks.
func (s *Service) planPackage(ctx context.Context, spaceID int64, ref domain.PackageRef, plan *exportPlan) error {
	pl, sum, exp := &plan.pl, &plan.sum, plan.exp
	p, err := s.store.Packages().Get(ctx, spaceID, ref.ID, ref.Version)
	if err != nil {
		return err
	}
	if p.SHA256 != ref.SHA256 {
		return domain.Conflictf("package %s in this feed (SHA-256 %s) is not the one the release pinned (%s)", ref, p.SHA256, ref.SHA256)
	}
	m, err := decodeManifest(p)
	if err != nil {
		return err
	}
	tp := TransferPackage{ID: p.ID, Version: p.Version, Manifest: *m}
	sum.TotalChunks += len(m.Chunks)
	if pl.SchemaVersion >= 2 {
		d, err := s.deltaFor(ctx, spaceID, m, ref.ID, plan.assumed, plan.bases, plan.haveChunk)
		if err != nil {
			return fmt.Errorf("package %s: %w", ref, err)
		}
		if d != nil {
			d.recipe.Entry = fmt.Sprintf("deltas/%06d", len(exp.deltas))
			exp.deltas = append(exp.deltas, d)
			tp.Delta = &d.recipe
			tp.Manifest = Manifest{Chunker: m.Chunker, Format: m.Format, Size: m.Size, SHA256: m.SHA256}
			pl.Packages = append(pl.Packages, tp)
			sum.PackageBytes += p.Size
			sum.Deltas++
			sum.DeltaBytes += d.recipe.Delta.Size
			return nil
		}
	}
	if pl.SchemaVersion >= 2 {
		plan.lists[len(pl.Packages)] = m.Chunks // runs once the file's chunks are known
	} else if runs := chunkRuns(m.Chunks, plan.bases); runs != nil {
		tp.Runs, tp.Manifest.Chunks = runs, nil
	}
	pl.Packages = append(pl.Packages, tp)
	sum.PackageBytes += p.Size
	for _, c := range m.Chunks {
		if plan.haveChunk[c.Hash] {
			continue
		}
		plan.haveChunk[c.Hash] = true
		pl.Chunks = append(pl.Chunks, c)
		sum.Chunks++
		sum.ChunkBytes += c.Size
	}
	return nil
}

// chunkListRuns writes, in schema 2, each whole package's chunk list as
// runs of the target's manifests and of the file's own chunk list, so a
// package sent whole does not list its chunks twice (a gigabyte is some
// 60,000 chunks: 2 MiB of header).
func (plan *exportPlan) chunkListRuns() {
	bases := plan.bases
	for i, list := range plan.lists {
		tp := &plan.pl.Packages[i]
		if runs := chunkRuns(list, append(bases[:len(bases):len(bases)], &Manifest{Chunks: plan.pl.Chunks})); runs != nil {
			for j := range runs {
				if runs[j].Base == len(bases)+1 {
					runs[j].Base, runs[j].File = 0, true
				}
			}
			tp.Runs, tp.Manifest.Chunks = runs, nil
		}
	}
}

// sealExport signs the transfer file's payload with this space's
// identity and records the export in the audit log.
func (s *Service) sealExport(ctx context.Context, sp domain.Space, target domain.RemoteSpace, pl *TransferPayload, send []domain.PackageRef, sum ExportSummary) ([]byte, error) {
	body, err := json.Marshal(pl)
	if err != nil {
		return nil, err
	}
	id, err := s.trust.Identity(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	header, err := envelope.Seal(TransferFormat, pl.SchemaVersion, body, id.CertPEM, func(b []byte) ([]byte, error) { return signing.Sign(id.Signer, b) })
	if err != nil {
		return nil, err
	}
	if err := s.audit.Record(ctx, sp.ID, "package.export", target.Name, map[string]string{
		"packages": refList(send), "chunks": fmt.Sprint(sum.Chunks), "basis": pl.Basis, "fingerprint": target.Fingerprint,
		"schemaVersion": fmt.Sprint(pl.SchemaVersion), "deltas": fmt.Sprint(sum.Deltas),
	}); err != nil {
		return nil, err
	}
	return header, nil
}

// schemaFor decides the transfer file's schema version (SPEC §4): the
// one asked for, else the newest the target is known to read
// (compat.Choose). When nothing is known, the previous version is written
// unless the target holds an earlier version of a package (assumed), which
// a delta of the current version would carry in a fraction of the bytes.
func (s *Service) schemaFor(target domain.RemoteSpace, asked int, assumed []domain.PackageRef) (int, error) {
	needed := compat.Previous
	if len(assumed) > 0 {
		needed = compat.Current
	}
	return compat.Choose(target, asked, needed)
}

// deltaFor computes a delta for the package m from the newest version of
// the same package the target holds, when there is one and the delta is
// smaller than the chunks the target lacks; else it returns nil.
func (s *Service) deltaFor(ctx context.Context, spaceID int64, m *Manifest, id string, assumed []domain.PackageRef, bases []*Manifest, haveChunk map[Hash]bool) (*deltaFile, error) {
	versions, err := s.store.Packages().List(ctx, spaceID, id)
	if err != nil {
		return nil, err
	}
	k := -1
	for _, v := range versions { // newest first
		for i, a := range assumed {
			if a.ID == id && a.SHA256 == v.SHA256 {
				k = i
				break
			}
		}
		if k >= 0 {
			break
		}
	}
	if k < 0 {
		return nil, nil
	}
	var missing int64
	for _, c := range m.Chunks {
		if !haveChunk[c.Hash] {
			missing += c.Size
		}
	}
	d, err := s.makeDelta(bases[k], m)
	if err != nil {
		return nil, err
	}
	if d.recipe.Delta.Size >= missing {
		os.Remove(d.path)
		return nil, nil
	}
	d.recipe.Base = k + 1
	return d, nil
}

func inv0(data []byte) string {
	var env envelope.Envelope
	if json.Unmarshal(data, &env) != nil {
		return "the target"
	}
	return "the target (" + envelope.Digest([]byte(env.Payload))[:19] + ")"
}

// packSize bounds the raw bytes of consecutive chunks stored in one tar
// entry of a transfer file.
const packSize = 4 << 20

// WriteTo writes the transfer file: a tar stream with the signed header
// first, then the chunks in their signed order, packed into entries
// "chunks/FIRST-COUNT" of up to 4 MiB, each gzip-compressed (".gz") when
// that makes it smaller. The next pack is read and compressed while the
// last one is written, so a slow link and the CPU work overlap.
func (e *Export) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	tw := tar.NewWriter(cw)
	defer e.Close()
	if err := writeEntry(tw, transferManifest, e.header); err != nil {
		return cw.n, err
	}
	for _, d := range e.deltas {
		if err := writeFileEntry(tw, d.recipe.Entry, d.path, d.recipe.Delta.Size); err != nil {
			return cw.n, err
		}
	}
	packs, free := make(chan *chunkPack, 1), make(chan *chunkPack, 3)
	for range cap(free) {
		free <- &chunkPack{}
	}
	done := make(chan struct{})
	defer close(done)
	go e.packChunks(packs, free, done)
	for p := range packs {
		if p.err != nil {
			return cw.n, p.err
		}
		if err := writeEntry(tw, p.name, p.data); err != nil {
			return cw.n, err
		}
		free <- p
	}
	err := tw.Close()
	e.Summary.FileBytes = cw.n
	return cw.n, err
}

// chunkPack is one "chunks/…" entry of a transfer file, with its buffers.
type chunkPack struct {
	name    string
	data    []byte // raw or z
	raw, z  bytes.Buffer
	err     error
	zw      *gzip.Writer
	scratch bytes.Buffer
}

// packChunks reads the export's chunks into packs (taken from free) and
// sends them on packs, which it closes; it stops early when done closes.
func (e *Export) packChunks(packs, free chan *chunkPack, done chan struct{}) {
	defer close(packs)
	buf := make([]byte, 0, MaxChunk)
	first := 0
	var p *chunkPack
	send := func(next int) bool {
		if p == nil || next == first {
			return true
		}
		p.name, p.data = fmt.Sprintf("chunks/%06d-%06d", first, next-first), p.raw.Bytes()
		if z := p.compress(); z != nil {
			p.name, p.data = p.name+".gz", z
		}
		first = next
		select {
		case packs <- p:
			p = nil
			return true
		case <-done:
			return false
		}
	}
	for i, c := range e.chunks {
		var err error
		if buf, err = e.svc.chunks.Get(c.Hash, c.Size, buf[:0]); err != nil {
			select {
			case packs <- &chunkPack{err: err}:
			case <-done:
			}
			return
		}
		if p != nil && p.raw.Len()+len(buf) > packSize && !send(i) {
			return
		}
		if p == nil {
			select {
			case p = <-free:
				p.raw.Reset()
			case <-done:
				return
			}
		}
		p.raw.Write(buf)
	}
	send(len(e.chunks))
}

// compress returns the pack gzip-compressed when that saves 5% or more,
// else nil. Most package bytes are compressed already (zip entries, jars,
// images), and compressing 4 MiB that will not shrink is CPU the transfer
// waits for: a 64 KiB sample must shrink first.
func (p *chunkPack) compress() []byte {
	raw := p.raw.Bytes()
	if p.zw == nil {
		p.zw, _ = gzip.NewWriterLevel(&p.z, gzip.BestSpeed)
	}
	if sample := raw[:min(len(raw), 64<<10)]; len(sample) < len(raw) {
		p.scratch.Reset()
		p.zw.Reset(&p.scratch)
		p.zw.Write(sample)
		p.zw.Close()
		if p.scratch.Len() >= len(sample)*19/20 {
			return nil
		}
	}
	p.z.Reset()
	p.zw.Reset(&p.z)
	p.zw.Write(raw)
	p.zw.Close()
	if p.z.Len() < len(raw)*19/20 {
		return p.z.Bytes()
	}
	return nil
}

func writeFileEntry(tw *tar.Writer, name, path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

func writeEntry(tw *tar.Writer, name string, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

// promotedPackages lists the packages of every release this space promoted
// to the target, without repeats.
func (s *Service) promotedPackages(ctx context.Context, sp domain.Space, target string) ([]domain.PackageRef, error) {
	recs, err := s.store.Bundles().List(ctx, sp.ID, 0)
	if err != nil {
		return nil, err
	}
	var out []domain.PackageRef
	seen := map[string]bool{}
	for i := len(recs) - 1; i >= 0; i-- { // oldest first
		b := recs[i]
		if b.Direction != domain.BundleOut || b.TargetSpace != target {
			continue
		}
		p, err := s.store.Projects().Get(ctx, sp.ID, b.Project)
		if errors.Is(err, domain.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		rel, err := s.store.Releases().Get(ctx, p.ID, b.Version)
		if errors.Is(err, domain.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		for _, ref := range rel.Snapshot.Packages {
			key := ref.ID + "\x00" + ref.Version + "\x00" + ref.SHA256
			if !seen[key] {
				seen[key] = true
				out = append(out, ref)
			}
		}
	}
	return out, nil
}

// readInventory verifies an inventory file: signed by the target itself,
// checked against this space's stored certificate for it.
func (s *Service) readInventory(ctx context.Context, sp domain.Space, target domain.RemoteSpace, data []byte) ([]domain.PackageRef, error) {
	o, err := envelope.Open(data, InventoryFormat, InventorySchema, MaxInventory, "package inventory")
	if err != nil {
		return nil, err
	}
	// The signature first: whoever may promote gives this file, and its
	// payload decodes into several times its size.
	signer, err := s.trust.VerifySum(ctx, sp.ID, domain.TrustPromote, []byte(o.Envelope.Signer), o.Body, o.Sum, o.Signature)
	if err != nil {
		return nil, err
	}
	var pl InventoryPayload
	if err := envelope.Strict(o.Body, &pl); err != nil {
		return nil, domain.Refuse(domain.KindInvalid, domain.RuleExact, "the package inventory's payload is malformed or not exactly what ferry writes: %v", err)
	}
	if pl.Kind != InventoryKind || pl.SchemaVersion != o.Envelope.SchemaVersion {
		return nil, domain.Refuse(domain.KindInvalid, domain.RuleFormat, "the signed document is a %q (schema %d), not a package inventory of schema %d", pl.Kind, pl.SchemaVersion, o.Envelope.SchemaVersion)
	}
	if err := o.CheckExact(); err != nil {
		return nil, err
	}
	if signer.Fingerprint != target.Fingerprint || pl.Space.Fingerprint != target.Fingerprint {
		return nil, domain.Errorf(domain.KindUntrusted, "refused: the package inventory is from %q, not from %q", signer.Name, target.Name)
	}
	return pl.Packages, nil
}

// receiptInventory collects the package lists carried by the target's own
// deployment receipts.
func (s *Service) receiptInventory(ctx context.Context, sp domain.Space, target domain.RemoteSpace) ([]domain.PackageRef, error) {
	rs, err := s.store.Receipts().List(ctx, sp.ID, store.ReceiptFilter{})
	if err != nil {
		return nil, err
	}
	var out []domain.PackageRef
	for _, r := range rs {
		if r.SignerFingerprint != target.Fingerprint {
			continue
		}
		var pl struct {
			Packages []domain.PackageRef `json:"packages"`
		}
		if json.Unmarshal(r.Payload, &pl) == nil {
			out = append(out, pl.Packages...)
		}
	}
	return out, nil
}

// ImportResult says what a transfer file delivered.
type ImportResult struct {
	From          string              `json:"from"`
	Imported      []domain.PackageRef `json:"imported"`
	AlreadyInFeed []domain.PackageRef `json:"alreadyInFeed"`
	Chunks        int                 `json:"chunks"`     // carried by the file
	NewChunks     int                 `json:"newChunks"`  // not stored before
	Bytes         int64               `json:"bytes"`      // chunk bytes carried
	Deltas        int                 `json:"deltas"`     // packages rebuilt from deltas
	DeltaBytes    int64               `json:"deltaBytes"` // bytes of deltas carried
}

// checkDeltas checks what the signed header says of deltas before any is
// read: schema 1 has none; each names the next delta entry, the expanded
// form and delta this server knows, a base the file assumes, and sizes
// within bounds (an expanded form is at most 16 times its file: a deflate
// symbol of two bits becomes a four-byte token).
func checkDeltas(pl *TransferPayload) error {
	n := 0
	for _, p := range pl.Packages {
		d := p.Delta
		if d == nil {
			continue
		}
		name := p.ID + " " + p.Version
		switch {
		case pl.SchemaVersion < 2:
			return domain.Invalidf("refused: package %s is a delta, which schema version %d does not have: the file was altered", name, pl.SchemaVersion)
		case d.Expansion != expand.Version || d.Format != delta.Format:
			return domain.Invalidf("refused: package %s is a %s delta of the %s form; this server reads %s of %s. Upgrade ferry here, or export with --full", name, d.Format, d.Expansion, delta.Format, expand.Version)
		case d.Entry != fmt.Sprintf("deltas/%06d", n):
			return domain.Invalidf("refused: package %s: delta entry %q is out of order: the file was altered", name, d.Entry)
		case d.Base < 1 || d.Base > len(pl.Assumed) || pl.Assumed[d.Base-1].ID != p.ID:
			return domain.Invalidf("refused: package %s refers to base package %d, which the file does not name as a version of it", name, d.Base)
		case p.Manifest.Size < 0 || p.Manifest.Size > MaxPackageSize || len(p.Manifest.Chunks) > 0 || p.Runs != nil || p.Manifest.Gzip != nil:
			return domain.Invalidf("refused: package %s: a delta's manifest names only the file (size at most %d)", name, int64(MaxPackageSize))
		case d.Expanded.Size < 0 || d.Expanded.Size > 16*p.Manifest.Size+1<<20 || d.Delta.Size < 0 || d.Delta.Size > MaxTransferSize:
			return domain.Invalidf("refused: package %s: the delta's sizes are out of bounds", name)
		}
		n++
	}
	return nil
}

// HeaderSize reads, without consuming it, the first tar header of a
// transfer file: the size of its signed header, which Import reads whole
// before verifying it, so that a receiver can decide whether it may hold
// that much. It refuses what is no transfer file, or a header over
// MaxTransferHeader.
func HeaderSize(br *bufio.Reader) (int64, error) {
	b, err := br.Peek(4096)
	if err != nil && len(b) == 0 {
		return 0, domain.Invalidf("refused: the package transfer is empty or cut off: %v", err)
	}
	h, err := tar.NewReader(bytes.NewReader(b)).Next()
	if err != nil || h.Name != transferManifest {
		return 0, domain.Invalidf("refused: not a ferry package transfer file (it must start with %s)", transferManifest)
	}
	if h.Size < 0 || h.Size > MaxTransferHeader {
		return 0, domain.Invalidf("refused: the transfer file's header is %d bytes; the limit is %d", h.Size, MaxTransferHeader)
	}
	return h.Size, nil
}

// Import reads a transfer file as a stream and verifies all of it — the
// envelope, the signer (trusted for releases), that it is addressed to this
// space, every chunk against its hash, and every package rebuilt against its
// SHA-256 — before any package enters the feed. Chunks are stored as they
// arrive (content-addressed, they are inert until a manifest names them).
func (s *Service) Import(ctx context.Context, space string, r io.Reader) (ImportResult, error) {
	sp, err := s.access.SpaceWide(ctx, space, domain.PermAdminSpace)
	if err != nil {
		return ImportResult{}, err
	}
	defer collectSooner()()
	tr := tar.NewReader(bufio.NewReaderSize(r, 1<<20))
	pl, signer, err := s.readTransferHeader(ctx, sp, tr)
	if err != nil {
		return ImportResult{}, err
	}
	// Chunk collection leaves the chunks this import writes or relies on
	// alone until its manifests are committed (collect.go).
	hold, err := s.chunks.Hold()
	if err != nil {
		return ImportResult{}, err
	}
	defer hold.Release()
	res := ImportResult{From: signer.Name, Imported: []domain.PackageRef{}, AlreadyInFeed: []domain.PackageRef{}}
	for i := range pl.Packages {
		if pl.Packages[i].Delta != nil {
			continue
		}
		if err := s.expandRuns(ctx, sp.ID, pl, &pl.Packages[i]); err != nil {
			return res, err
		}
	}
	rebuilt, err := s.importDeltas(ctx, sp.ID, pl, tr, &res)
	if err != nil {
		return res, err
	}
	if err := s.importChunks(ctx, sp.ID, pl, tr, &res); err != nil {
		return res, err
	}
	// The stream's buffers are garbage now, and so, before the records
	// are written, are verification's: return their pages first, as
	// SQLite's copies of a gigabyte's manifest (megabytes) come on top
	// (docs/performance.md, "Third pass").
	debug.FreeOSMemory()
	ok, err := s.verifyImported(ctx, sp.ID, pl, rebuilt)
	if err != nil {
		return res, err
	}
	if err := s.chunks.Sync(); err != nil { // the rebuilt deltas' chunks, durable before the feed points at them
		return res, err
	}
	debug.FreeOSMemory()
	err = s.store.WithTx(ctx, func(ctx context.Context) error {
		for _, v := range ok {
			ref := domain.PackageRef{ID: v.p.ID, Version: v.p.Version, SHA256: v.p.Manifest.SHA256.String(), Size: v.p.Manifest.Size}
			if v.have {
				res.AlreadyInFeed = append(res.AlreadyInFeed, ref)
				continue
			}
			m := v.p.Manifest
			raw, err := manifestJSON(&m)
			if err != nil {
				return err
			}
			p := domain.Package{SpaceID: sp.ID, ID: ref.ID, Version: ref.Version, SHA256: ref.SHA256, Size: ref.Size,
				Format: m.Format, Note: m.Note, Chunks: len(m.Chunks), Manifest: raw, Source: "transfer from " + signer.Name,
				CreatedAt: s.now(), CreatedBy: domain.ActorName(ctx)}
			if err := s.store.Packages().Create(ctx, &p); err != nil {
				return err
			}
			res.Imported = append(res.Imported, ref)
		}
		return s.audit.Record(ctx, sp.ID, "package.import", signer.Name, map[string]string{
			"packages": refList(res.Imported), "chunks": fmt.Sprint(res.Chunks), "fingerprint": signer.Fingerprint,
		})
	})
	return res, err
}

// readTransferHeader reads a transfer file's signed header from tr and
// verifies it: the envelope, byte for byte what ferry writes, signed by a
// remote space trusted for releases, addressed to sp, its packages' names
// and chunker, and what it says of deltas. It returns the payload and
// its signer.
func (s *Service) readTransferHeader(ctx context.Context, sp domain.Space, tr *tar.Reader) (*TransferPayload, domain.RemoteSpace, error) {
	var none domain.RemoteSpace
	h, err := tr.Next()
	if err != nil || h.Name != transferManifest {
		return nil, none, domain.Invalidf("refused: not a ferry package transfer file (it must start with %s)", transferManifest)
	}
	if h.Size > MaxTransferHeader {
		return nil, none, domain.Invalidf("refused: the transfer file's header is %d bytes; the limit is %d", h.Size, MaxTransferHeader)
	}
	// This server reads its own schema and the one before (SPEC §4). The
	// header is read as it arrives and checked byte for byte what ferry
	// wrote, holding only its payload: a gigabyte's header is megabytes,
	// and its import has 64 MB (docs/performance.md).
	o, err := envelope.OpenReader(tr, h.Size, TransferFormat, OldTransferSchema, TransferSchema, MaxTransferHeader, "package transfer file")
	if err != nil {
		return nil, none, err
	}
	version := o.Envelope.SchemaVersion
	body, sig, signerPEM := o.Body, o.Signature, []byte(o.Envelope.Signer)
	o = nil
	// The signature holds before anything reads the payload: a pushed
	// transfer is anyone's who knows the sender's fingerprint until then,
	// and a list of packages decodes into far more than its size.
	signer, err := s.trust.Verify(ctx, sp.ID, domain.TrustReleases, signerPEM, body, sig)
	if err != nil {
		return nil, none, err
	}
	var pl TransferPayload
	if err := envelope.Strict(body, &pl); err != nil {
		return nil, none, domain.Refuse(domain.KindInvalid, domain.RuleExact, "the transfer file's payload is malformed or not exactly what ferry writes: %v", err)
	}
	if pl.Kind != TransferKind || pl.SchemaVersion != version {
		return nil, none, domain.Refuse(domain.KindInvalid, domain.RuleFormat, "the signed document is a %q (schema %d), not a package transfer of schema %d", pl.Kind, pl.SchemaVersion, version)
	}
	if pl.Source.Fingerprint != signer.Fingerprint {
		return nil, none, domain.Errorf(domain.KindUntrusted, "refused: the transfer file says it comes from %q but is signed by %q", pl.Source.Space, signer.Name)
	}
	if pl.Target.Fingerprint != sp.Fingerprint {
		return nil, none, domain.Invalidf("refused: this transfer file is for space %q (fingerprint %s), not for %q", pl.Target.Space, pl.Target.Fingerprint, sp.Name)
	}
	if err := checkPackages(&pl); err != nil {
		return nil, none, err
	}
	body = nil // the verified payload is all that is needed from here on
	// Reading a large header leaves megabytes of garbage and, worse, a GC
	// goal set while it was all live; collect now, so the rest of the
	// import runs against the small heap it needs (docs/performance.md).
	debug.FreeOSMemory()
	return &pl, signer, nil
}

// checkPackages checks the names, chunker and deltas of a verified
// header's packages.
func checkPackages(pl *TransferPayload) error {
	for _, p := range pl.Packages {
		if err := domain.ValidatePackageID(p.ID); err != nil {
			return domain.Invalidf("refused: %s", domain.Message(err))
		}
		if err := domain.ValidatePackageVersion(p.Version); err != nil {
			return domain.Invalidf("refused: %s", domain.Message(err))
		}
		if p.Manifest.Chunker != ChunkerVersion {
			return domain.Invalidf("refused: package %s %s was chunked with %q; this server knows %q", p.ID, p.Version, p.Manifest.Chunker, ChunkerVersion)
		}
	}
	return checkDeltas(pl)
}

// importDeltas reads the deltas, in package order: each rebuilds its
// package, which is checked against its signed SHA-256 and stored as
// chunks (inert until the feed names them). It returns the rebuilt
// packages' manifests by package position.
func (s *Service) importDeltas(ctx context.Context, spaceID int64, pl *TransferPayload, tr *tar.Reader, res *ImportResult) (map[int]*Manifest, error) {
	rebuilt := map[int]*Manifest{}
	for i := range pl.Packages {
		p := &pl.Packages[i]
		if p.Delta == nil {
			continue
		}
		h, err := tr.Next()
		if err != nil {
			return nil, domain.Invalidf("refused: the transfer file is truncated: the delta for package %s %s is missing (%v)", p.ID, p.Version, err)
		}
		if h.Name != p.Delta.Entry || h.Size != p.Delta.Delta.Size {
			return nil, domain.Invalidf("refused: the transfer file was altered: entry %q (%d bytes) is not the signed delta %q (%d bytes)", h.Name, h.Size, p.Delta.Entry, p.Delta.Delta.Size)
		}
		m, err := s.applyDelta(ctx, spaceID, pl, p, tr)
		if err != nil {
			return nil, err
		}
		rebuilt[i] = m
		res.Deltas++
		res.DeltaBytes += h.Size
	}
	return rebuilt, nil
}

// importChunks reads the chunks, in the signed order, each checked before
// it is stored and recorded as received, so that a transfer cut off
// resumes; nothing may follow the last. Reading (the wire, TLS, gunzip)
// and storing (the hash check, the chunk file, the batched sync and its
// record) overlap: a chunkStorer takes each chunk read.
func (s *Service) importChunks(ctx context.Context, spaceID int64, pl *TransferPayload, tr *tar.Reader, res *ImportResult) error {
	st := s.startChunkStorer(ctx, spaceID, res)
	err := readChunks(pl, tr, st)
	if serr := st.finish(); serr != nil {
		return serr // the storer's refusal or failure comes first: reading stopped because of it
	}
	return err
}

// readChunks reads the chunk packs of tr in the signed order and hands
// each chunk's bytes to st.
func readChunks(pl *TransferPayload, tr *tar.Reader, st *chunkStorer) error {
	for next := 0; next < len(pl.Chunks); {
		h, err := tr.Next()
		if err != nil {
			return domain.Invalidf("refused: the transfer file is truncated: chunk %d of %d is missing (%v)", next+1, len(pl.Chunks), err)
		}
		var first, count int
		name := strings.TrimSuffix(h.Name, ".gz")
		if _, err := fmt.Sscanf(name, "chunks/%06d-%06d", &first, &count); err != nil || name != fmt.Sprintf("chunks/%06d-%06d", first, count) ||
			first != next || count < 1 || first+count > len(pl.Chunks) {
			return domain.Invalidf("refused: the transfer file was altered: entry %q is not the next pack of chunks (chunk %d)", h.Name, next+1)
		}
		var src io.Reader = tr
		if strings.HasSuffix(h.Name, ".gz") {
			zr, err := gzip.NewReader(tr)
			if err != nil {
				return domain.Invalidf("refused: the transfer file is damaged: %s: %v", h.Name, err)
			}
			zr.Multistream(false)
			src = zr
		}
		for _, c := range pl.Chunks[first : first+count] {
			if c.Size > MaxChunk || c.Size < 0 {
				return domain.Invalidf("refused: chunk %s claims %d bytes", c.Hash, c.Size)
			}
			buf, err := st.buffer()
			if err != nil {
				return err
			}
			buf = buf[:c.Size]
			if _, err := io.ReadFull(src, buf); err != nil {
				return domain.Invalidf("refused: chunk %s in the transfer file does not match its signed hash: the file was altered or damaged", c.Hash)
			}
			if err := st.store(c.Hash, buf); err != nil {
				return err
			}
		}
		if n, err := src.Read(make([]byte, 1)); n > 0 || (err != nil && !errors.Is(err, io.EOF)) {
			return domain.Invalidf("refused: the transfer file was altered: %s holds more than its chunks", h.Name)
		}
		next = first + count
	}
	if _, err := tr.Next(); !errors.Is(err, io.EOF) {
		return domain.Invalidf("refused: the transfer file has entries after its last signed chunk")
	}
	return nil
}

// storeAhead bounds the chunks read but not yet stored: at most this many
// buffers of MaxChunk bytes (1 MiB) are ever made, and only as many as the
// storer falls behind. It covers a batch's sync at a wide-area link's
// rate; beyond it, a connected transfer's HTTP/2 window (4 MiB,
// internal/server) holds what arrives while the storer catches up.
const storeAhead = 8

// A chunkStorer checks, stores and records chunks in its own goroutine,
// in the order they are handed to it, while the next are read.
type chunkStorer struct {
	work chan readChunk
	free chan []byte
	made int
	done chan struct{} // closed when the goroutine has ended; err is then set
	err  error
}

type readChunk struct {
	hash Hash
	buf  []byte
}

func (s *Service) startChunkStorer(ctx context.Context, spaceID int64, res *ImportResult) *chunkStorer {
	st := &chunkStorer{work: make(chan readChunk, storeAhead), free: make(chan []byte, storeAhead), done: make(chan struct{})}
	go func() {
		defer close(st.done)
		st.err = s.storeChunks(ctx, spaceID, st, res)
	}()
	return st
}

// storeChunks is the storer's goroutine: each chunk's bytes are checked
// against its signed hash, stored, and recorded in batches once synced
// (receivedLog). What was stored before a refusal or the end is recorded.
func (s *Service) storeChunks(ctx context.Context, spaceID int64, st *chunkStorer, res *ImportResult) error {
	received := &receivedLog{s: s, spaceID: spaceID}
	for w := range st.work {
		if sha256.Sum256(w.buf) != w.hash {
			_ = received.flush(ctx)
			return domain.Invalidf("refused: chunk %s in the transfer file does not match its signed hash: the file was altered or damaged", w.hash)
		}
		isNew, err := s.chunks.Put(w.hash, w.buf)
		if err == nil {
			err = received.add(ctx, w.hash, int64(len(w.buf)))
		}
		if err != nil {
			_ = received.flush(ctx)
			return err
		}
		res.Chunks++
		res.Bytes += int64(len(w.buf))
		if isNew {
			res.NewChunks++
		}
		st.free <- w.buf[:0]
	}
	return received.flush(ctx)
}

// buffer returns a buffer for the next chunk: a stored chunk's, a new one
// while fewer than storeAhead exist, or else the next one the storer frees.
func (st *chunkStorer) buffer() ([]byte, error) {
	select {
	case b := <-st.free:
		return b, nil
	default:
	}
	if st.made < storeAhead {
		st.made++
		return make([]byte, 0, MaxChunk), nil
	}
	select {
	case b := <-st.free:
		return b, nil
	case <-st.done:
		return nil, st.err
	}
}

// store hands a chunk read into buf to the storer.
func (st *chunkStorer) store(h Hash, buf []byte) error {
	select {
	case st.work <- readChunk{h, buf}:
		return nil
	case <-st.done:
		return st.err
	}
}

// finish waits for the storer to store and record every chunk handed to
// it, and returns its error.
func (st *chunkStorer) finish() error {
	close(st.work)
	<-st.done
	return st.err
}

// importedPackage is a transferred package verified to rebuild; have says
// the feed holds it already.
type importedPackage struct {
	p    TransferPackage
	have bool
}

// verifyImported checks that every package rebuilds from the file's
// chunks and chunks this space already holds, to exactly its SHA-256.
// Only the chunks the file lacks are looked up, so memory follows the
// file, not the feed.
func (s *Service) verifyImported(ctx context.Context, spaceID int64, pl *TransferPayload, rebuilt map[int]*Manifest) ([]importedPackage, error) {
	inFile := make(map[Hash]bool, len(pl.Chunks))
	for _, c := range pl.Chunks {
		inFile[c.Hash] = true
	}
	mine := map[Hash]bool{}
	for i, p := range pl.Packages {
		if _, ok := rebuilt[i]; ok {
			continue
		}
		for _, c := range p.Manifest.Chunks {
			if !inFile[c.Hash] {
				mine[c.Hash] = false
			}
		}
	}
	if err := s.markHeld(ctx, spaceID, mine); err != nil {
		return nil, err
	}
	var ok []importedPackage
	for i, p := range pl.Packages {
		existing, err := s.store.Packages().Get(ctx, spaceID, p.ID, p.Version)
		if err == nil {
			if existing.SHA256 != p.Manifest.SHA256.String() {
				return nil, domain.Conflictf("refused: package %s %s is already in this feed with different content (SHA-256 %s, the file has %s)", p.ID, p.Version, existing.SHA256, p.Manifest.SHA256)
			}
			ok = append(ok, importedPackage{p, true})
			continue
		} else if !errors.Is(err, domain.ErrNotFound) {
			return nil, err
		}
		if m, ok2 := rebuilt[i]; ok2 { // verified when it was rebuilt
			p.Manifest = *m
			ok = append(ok, importedPackage{p, false})
			continue
		}
		for _, c := range p.Manifest.Chunks {
			missing := !inFile[c.Hash] && !mine[c.Hash]
			if !missing && !inFile[c.Hash] {
				// A chunk this space holds becomes this package's too:
				// touched, so chunk collection keeps it (collect.go).
				err := s.chunks.Touch(c.Hash)
				if err != nil && !errors.Is(err, ErrMissingChunk) {
					return nil, err
				}
				missing = err != nil
			}
			if missing {
				return nil, domain.Invalidf("refused: package %s %s needs chunk %s, which neither the file nor this space has. Export a full transfer file (package export --full)", p.ID, p.Version, c.Hash)
			}
		}
		m := p.Manifest
		if err := verifyRebuild(&m, s.chunks); err != nil {
			if errors.Is(err, ErrMissingChunk) {
				return nil, domain.Invalidf("refused: package %s %s: %v. Export a full transfer file (package export --full)", p.ID, p.Version, err)
			}
			return nil, domain.Invalidf("refused: package %s %s: %v", p.ID, p.Version, err)
		}
		ok = append(ok, importedPackage{p, false})
	}
	return ok, nil
}

// markHeld sets want[h] for each chunk h of want that the space's own
// packages use or that it received in verified transfers; only those may
// complete a transferred package (chunks on disk that belong to other
// spaces do not count). It reads one manifest at a time, so memory follows
// want, not the size of the feed.
func (s *Service) markHeld(ctx context.Context, spaceID int64, want map[Hash]bool) error {
	if len(want) == 0 {
		return nil
	}
	list, err := s.store.Packages().List(ctx, spaceID, "")
	if err != nil {
		return err
	}
	for _, p := range list {
		full, err := s.store.Packages().Get(ctx, spaceID, p.ID, p.Version)
		if err != nil {
			return err
		}
		m, err := decodeManifest(full)
		if err != nil {
			return err
		}
		for _, c := range m.Chunks {
			if _, ok := want[c.Hash]; ok {
				want[c.Hash] = true
			}
		}
	}
	return s.receivedChunks(ctx, spaceID, want)
}

func refList(refs []domain.PackageRef) string {
	var parts []string
	for _, r := range refs {
		parts = append(parts, r.String())
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func nonNilRefs(r []domain.PackageRef) []domain.PackageRef {
	if r == nil {
		return []domain.PackageRef{}
	}
	return r
}
