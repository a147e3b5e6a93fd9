package packages

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/audit"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/store"
)

// MaxPackageSize bounds one pushed package; the API's body limit for pushes
// is the same.
const MaxPackageSize = 4 << 30

// Service is the built-in feed of every space and the transfer of packages
// between spaces.
type Service struct {
	store  tables
	access access.Guard
	trust  Trust
	audit  *audit.Log
	now    func() time.Time
	chunks *Chunks
	tmp    string
}

// Folders are where the feed keeps its files.
type Folders struct {
	Chunks string // the chunk store
	// ChunkTemp holds chunks being written; it must be on the chunk
	// store's file system (they are renamed into place).
	ChunkTemp string
	// Uploads holds pushed packages while they are received.
	Uploads string
}

// FoldersIn is the layout of a data folder whose temporary files are not
// claimed by one process (tests and tools). A server passes the folders of
// its own scratch.Claim, so that a crash leaves nothing behind.
func FoldersIn(dataDir string) Folders {
	return Folders{
		Chunks:    filepath.Join(dataDir, "chunks"),
		ChunkTemp: filepath.Join(dataDir, "chunks", "tmp"),
		Uploads:   filepath.Join(dataDir, "tmp", "packages"),
	}
}

// Trust is what the feed needs of the trust capability (trust.Service):
// the remote spaces, this space's own identity, and the signature check.
type Trust interface {
	Get(ctx context.Context, spaceID int64, name string) (domain.RemoteSpace, error)
	Identity(ctx context.Context, spaceID int64) (*identity.Identity, error)
	Verify(ctx context.Context, spaceID int64, direction string, signerPEM []byte, payload, sig []byte) (domain.RemoteSpace, error)
	// VerifySum is Verify for a file whose envelope was opened with the
	// payload's SHA-256 (envelope.Opened.Sum), hashing nothing again.
	VerifySum(ctx context.Context, spaceID int64, direction string, signerPEM []byte, payload []byte, sum [32]byte, sig []byte) (domain.RemoteSpace, error)
}

// tables are the stores the package service reads and writes, as the
// methods its code asks for them.
type tables struct {
	store.Transactor
	packages store.Packages
	received store.ReceivedChunks
	bundles  store.Bundles
	projects store.Projects
	releases store.Releases
	receipts store.Receipts
}

func (t tables) Packages() store.Packages             { return t.packages }
func (t tables) ReceivedChunks() store.ReceivedChunks { return t.received }
func (t tables) Bundles() store.Bundles               { return t.bundles }
func (t tables) Projects() store.Projects             { return t.projects }
func (t tables) Releases() store.Releases             { return t.releases }
func (t tables) Receipts() store.Receipts             { return t.receipts }

// New returns the package service keeping its files in f. It writes the
// feed (packages) and the chunks a space received; it reads bundles,
// projects, releases and receipts to work out what a remote space lacks.
func New(tx store.Transactor, feed store.Packages, received store.ReceivedChunks, bundles store.Bundles, projects store.Projects, releases store.Releases, receipts store.Receipts,
	guard access.Guard, tr Trust, log *audit.Log, now func() time.Time, f Folders) (*Service, error) {
	cs, err := OpenChunks(f.Chunks, f.ChunkTemp)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(f.Uploads, 0o700); err != nil {
		return nil, fmt.Errorf("create package upload folder: %w", err)
	}
	st := tables{Transactor: tx, packages: feed, received: received, bundles: bundles, projects: projects, releases: releases, receipts: receipts}
	return &Service{store: st, access: guard, trust: tr, audit: log, now: now, chunks: cs, tmp: f.Uploads}, nil
}

// PushResult says what a push stored.
type PushResult struct {
	domain.Package
	NewChunks       int   `json:"newChunks"`
	NewBytes        int64 `json:"newBytes"`
	AlreadyInFeed   bool  `json:"alreadyInFeed,omitempty"`
	StoredFromBytes int64 `json:"storedFromBytes"` // bytes the chunks cover (decompressed for tar.gz)
}

// Push reads a package file from body into the space's feed. The body is
// spooled to disk, never held in memory, then cut into chunks; only chunks
// the server does not have yet are written.
func (s *Service) Push(ctx context.Context, space, id, version string, body io.Reader) (PushResult, error) {
	sp, err := s.access.Space(ctx, space, domain.PermCreateRelease, "", "")
	if err != nil {
		return PushResult{}, err
	}
	if err := domain.ValidatePackageID(id); err != nil {
		return PushResult{}, err
	}
	if err := domain.ValidatePackageVersion(version); err != nil {
		return PushResult{}, err
	}
	existing, err := s.store.Packages().Get(ctx, sp.ID, id, version)
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return PushResult{}, err
	}
	have := err == nil

	file, size, sum, err := s.spool(body)
	if err != nil {
		return PushResult{}, err
	}
	defer os.Remove(file)
	if size == 0 {
		return PushResult{}, domain.Invalidf("the package file is empty")
	}
	if have {
		if existing.SHA256 == sum {
			return PushResult{Package: existing, AlreadyInFeed: true}, nil
		}
		return PushResult{}, domain.Conflictf("package %s %s is already in the feed with different content (SHA-256 %s); package versions never change: push a new version", id, version, existing.SHA256)
	}
	// Chunk collection leaves what this push writes alone until its
	// manifest is committed (collect.go).
	hold, err := s.chunks.Hold()
	if err != nil {
		return PushResult{}, err
	}
	defer hold.Release()
	m, st, err := Ingest(file, s.chunks)
	if err != nil {
		return PushResult{}, fmt.Errorf("store package %s %s: %w", id, version, err)
	}
	if m.SHA256.String() != sum {
		return PushResult{}, fmt.Errorf("the uploaded file changed while it was stored")
	}
	if err := s.chunks.Sync(); err != nil { // durable before the feed points at them
		return PushResult{}, err
	}
	p, err := s.record(ctx, sp, id, version, m, "push")
	if err != nil {
		return PushResult{}, err
	}
	return PushResult{Package: p, NewChunks: st.NewChunks, NewBytes: st.NewBytes, StoredFromBytes: m.Stored()}, nil
}

// record adds a package version with its manifest to the feed.
func (s *Service) record(ctx context.Context, sp domain.Space, id, version string, m *Manifest, source string) (domain.Package, error) {
	raw, err := manifestJSON(m)
	if err != nil {
		return domain.Package{}, err
	}
	p := domain.Package{SpaceID: sp.ID, ID: id, Version: version, SHA256: m.SHA256.String(), Size: m.Size,
		Format: m.Format, Note: m.Note, Chunks: len(m.Chunks), Manifest: raw, Source: source,
		CreatedAt: s.now(), CreatedBy: domain.ActorName(ctx)}
	err = s.store.WithTx(ctx, func(ctx context.Context) error {
		if err := s.store.Packages().Create(ctx, &p); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "package.push", id+" "+version, map[string]string{"sha256": p.SHA256, "source": source})
	})
	return p, err
}

// spool copies body to a temporary file, hashing it on the way.
func (s *Service) spool(body io.Reader) (path string, size int64, sum string, err error) {
	var rnd [8]byte
	rand.Read(rnd[:])
	path = filepath.Join(s.tmp, "upload-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", 0, "", fmt.Errorf("store upload: %w", err)
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	size, err = io.Copy(bw, io.LimitReader(body, MaxPackageSize+1))
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		var pe *os.PathError
		if errors.As(err, &pe) || errors.Is(err, syscall.ENOSPC) {
			return "", 0, "", fmt.Errorf("write upload to disk (is the disk full?): %w", err)
		}
		return "", 0, "", domain.Invalidf("the upload was interrupted: %v", err)
	}
	if size > MaxPackageSize {
		os.Remove(path)
		return "", 0, "", domain.Invalidf("the package is larger than %d bytes", int64(MaxPackageSize))
	}
	return path, size, hex.EncodeToString(h.Sum(nil)), nil
}

// List returns the space's packages (one id, or all), newest version first.
func (s *Service) List(ctx context.Context, space, id string) ([]domain.Package, error) {
	sp, err := s.access.Space(ctx, space, domain.PermView, "", "")
	if err != nil {
		return nil, err
	}
	return s.store.Packages().List(ctx, sp.ID, id)
}

// Detail is a package version with how it is stored.
type Detail struct {
	domain.Package
	Chunker     string `json:"chunker"`
	StoredBytes int64  `json:"storedBytes"` // what the chunks cover
	// Rebuild says how the file is rebuilt from chunks.
	Rebuild string `json:"rebuild"`
	// SharedChunks counts chunks also used by another version of the package.
	SharedChunks int   `json:"sharedChunks"`
	SharedBytes  int64 `json:"sharedBytes"`
}

// Show returns one package version with its storage details.
func (s *Service) Show(ctx context.Context, space, id, version string) (Detail, error) {
	sp, err := s.access.Space(ctx, space, domain.PermView, "", "")
	if err != nil {
		return Detail{}, err
	}
	p, err := s.store.Packages().Get(ctx, sp.ID, id, version)
	if err != nil {
		return Detail{}, err
	}
	m, err := decodeManifest(p)
	if err != nil {
		return Detail{}, err
	}
	d := Detail{Package: p, Chunker: m.Chunker, StoredBytes: m.Stored()}
	switch {
	case m.Gzip != nil:
		d.Rebuild = fmt.Sprintf("decompressed content in chunks; gzip rebuilt byte for byte with compress/flate level %d", m.Gzip.Level)
	case p.Format == "zip":
		d.Rebuild = "raw bytes, chunks aligned to zip entries"
	default:
		d.Rebuild = "raw bytes"
	}
	if p.Note != "" {
		d.Rebuild += " (" + p.Note + ")"
	}
	others, err := s.store.Packages().List(ctx, sp.ID, id)
	if err != nil {
		return Detail{}, err
	}
	seen := map[Hash]bool{}
	for _, o := range others {
		if o.Version == version {
			continue
		}
		full, err := s.store.Packages().Get(ctx, sp.ID, o.ID, o.Version)
		if err != nil {
			return Detail{}, err
		}
		om, err := decodeManifest(full)
		if err != nil {
			return Detail{}, err
		}
		for _, c := range om.Chunks {
			seen[c.Hash] = true
		}
	}
	for _, c := range m.Chunks {
		if seen[c.Hash] {
			d.SharedChunks++
			d.SharedBytes += c.Size
		}
	}
	return d, nil
}

func decodeManifest(p domain.Package) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(p.Manifest, &m); err != nil {
		return nil, fmt.Errorf("package %s %s: unreadable manifest: %w", p.ID, p.Version, err)
	}
	return &m, nil
}

// Ref returns the feed's package id/version as a release pins it.
func (s *Service) Ref(ctx context.Context, spaceID int64, id, version string) (domain.PackageRef, error) {
	p, err := s.store.Packages().Get(ctx, spaceID, id, version)
	if err != nil {
		return domain.PackageRef{}, err
	}
	return p.Ref(), nil
}

// Fetch writes the package ref names from the space's feed to the file dst
// and verifies its SHA-256 against the one the release pinned.
func (s *Service) Fetch(ctx context.Context, spaceID int64, ref domain.PackageRef, dst string) error {
	p, err := s.store.Packages().Get(ctx, spaceID, ref.ID, ref.Version)
	if err != nil {
		return err
	}
	if p.SHA256 != ref.SHA256 {
		return domain.Invalidf("package %s in this feed has SHA-256 %s, but the release was made with %s", ref, p.SHA256, ref.SHA256)
	}
	m, err := decodeManifest(p)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = Rebuild(m, s.chunks, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("package %s: %w", ref, err)
	}
	return nil
}

// Download writes a package version's file to w, verified.
func (s *Service) Download(ctx context.Context, space, id, version string, w io.Writer) error {
	sp, err := s.access.Space(ctx, space, domain.PermView, "", "")
	if err != nil {
		return err
	}
	p, err := s.store.Packages().Get(ctx, sp.ID, id, version)
	if err != nil {
		return err
	}
	m, err := decodeManifest(p)
	if err != nil {
		return err
	}
	return Rebuild(m, s.chunks, w)
}

// receiptVersions bounds how many versions of each package a receipt
// lists: the newest ones are what the next transfer file builds on.
const receiptVersions = 10

// Holding returns the package versions the space holds among ids (the
// newest few of each), or all of them when ids is empty, for receipts and
// inventories.
func (s *Service) Holding(ctx context.Context, spaceID int64, ids []string) ([]domain.PackageRef, error) {
	var out []domain.PackageRef
	limit := receiptVersions
	if len(ids) == 0 {
		ids, limit = []string{""}, 0
	}
	for _, id := range ids {
		list, err := s.store.Packages().List(ctx, spaceID, id)
		if err != nil {
			return nil, err
		}
		if limit > 0 && len(list) > limit {
			list = list[:limit]
		}
		for _, p := range list {
			out = append(out, p.Ref())
		}
	}
	return out, nil
}
