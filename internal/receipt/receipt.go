// Package receipt records deployments of remote projects as signed receipts
// and carries them back towards the project's origin: a space exports the
// receipts a remote space has not had yet into one signed file, and a space
// imports such a file only after verifying the exporter, every receipt's
// original signature and that each names a release it has. Forwarding spaces
// relay receipts from further down the path with their original signatures.
package receipt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/audit"
	"github.com/ferrydeploy/ferry/internal/compat"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/envelope"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/provenance"
	"github.com/ferrydeploy/ferry/internal/signing"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Formats and limits. A server reads receipt files and receipts of its
// schema version and the previous one, and writes the version the remote
// space it writes for is known to read (internal/compat).
const (
	FileFormat    = "ferry-receipts"
	SchemaVersion = compat.Current
	ReceiptKind   = "ferry.deployment-receipt"
	FileKind      = "ferry.receipt-file"
	MaxFileSize   = 64 << 20
)

// Payload is what the deploying space signs for one deployment.
type Payload struct {
	Kind           string           `json:"kind"`
	SchemaVersion  int              `json:"schemaVersion"`
	Deploying      SpaceRef         `json:"deploying"`
	Origin         OriginRef        `json:"origin"`
	Version        string           `json:"version"`
	SnapshotDigest string           `json:"snapshotDigest"`
	Environment    string           `json:"environment"`
	LocalEnv       string           `json:"localEnvironment"`
	Tenant         string           `json:"tenant,omitempty"`
	State          domain.TaskState `json:"state"`
	StartedAt      *time.Time       `json:"startedAt,omitempty"`
	FinishedAt     *time.Time       `json:"finishedAt,omitempty"`
	DeployedBy     string           `json:"deployedBy"`
	DeploymentID   int64            `json:"deploymentId"`
	// Packages is the deploying space's package inventory for the packages
	// the release deploys (every version it holds of each), so the origin
	// can leave their chunks out of the next transfer file.
	Packages []domain.PackageRef `json:"packages,omitempty"`
	// Bundle (schema 2) is the digest of the bundle the deploying space
	// imported the release from: which promotion this deployment used.
	Bundle string `json:"bundle,omitempty"`
	// Machines (schema 3, always present there) counts the deployment
	// targets that ran a step of the deployment; 0 when it ran on the
	// server alone.
	Machines *int `json:"machines,omitempty"`
}

// SpaceRef names a space and pins its certificate.
type SpaceRef struct {
	Space       string `json:"space"`
	Fingerprint string `json:"fingerprint"`
}

// OriginRef is the project's home.
type OriginRef struct {
	Space       string `json:"space"`
	Fingerprint string `json:"fingerprint"`
	Project     string `json:"project"`
}

// FileBody is what the exporting space signs: the receipts, each with its
// own original signature.
type FileBody struct {
	Kind          string    `json:"kind"`
	SchemaVersion int       `json:"schemaVersion"`
	Exporter      SpaceRef  `json:"exporter"`
	Destination   SpaceRef  `json:"destination"`
	CreatedAt     time.Time `json:"createdAt"`
	Receipts      []Signed  `json:"receipts"`
}

// Signed is one receipt as its deploying space signed it.
type Signed struct {
	Payload   []byte `json:"payload"`   // base64 in JSON
	Signature []byte `json:"signature"` // base64 in JSON
	Signer    string `json:"signer"`    // the deploying space's certificate (PEM)
}

// Service records, exports and imports receipts.
type Service struct {
	tx          store.Transactor
	spaces      store.Spaces
	projects    store.Projects
	releases    store.Releases
	tasks       store.Tasks
	deployments store.Deployments
	receipts    store.Receipts
	remotes     store.RemoteSpaces
	outbox      store.Outbox
	access      access.Guard
	provenance  *provenance.Rules
	trust       Trust
	packages    Holdings
	audit       *audit.Log
	now         func() time.Time
	delivery    Waker
}

// Trust is what receipts need of the trust capability (trust.Service): the
// remote spaces, this space's own identity, and the signature check.
type Trust interface {
	Get(ctx context.Context, spaceID int64, name string) (domain.RemoteSpace, error)
	Identity(ctx context.Context, spaceID int64) (*identity.Identity, error)
	// VerifySum checks a file's signature against the SHA-256 its envelope
	// was opened with (envelope.Opened.Sum), hashing nothing again.
	VerifySum(ctx context.Context, spaceID int64, direction string, signerPEM []byte, payload []byte, sum [32]byte, sig []byte) (domain.RemoteSpace, error)
}

// Holdings lists the package versions a space holds of the given package
// ids (packages.Service); receipts carry it, so the space a release came
// from sends no package twice.
type Holdings interface {
	Holding(ctx context.Context, spaceID int64, ids []string) ([]domain.PackageRef, error)
}

// Waker is told, after a transaction that may have queued receipts for a
// connected space committed, that the delivery loop has work
// (outbox.Signal).
type Waker interface{ Wake() }

// New returns a receipt service. It writes receipts, what was sent where
// and sweeps in the outbox; it reads the finished task, its deployment,
// project, release and space to sign a receipt, and remote spaces to know
// where receipts go and who signed them.
func New(tx store.Transactor, spaces store.Spaces, projects store.Projects, releases store.Releases, tasks store.Tasks, deployments store.Deployments,
	receipts store.Receipts, remotes store.RemoteSpaces, outbox store.Outbox,
	guard access.Guard, rules *provenance.Rules, tr Trust, packages Holdings, log *audit.Log, now func() time.Time, delivery Waker) *Service {
	return &Service{tx: tx, spaces: spaces, projects: projects, releases: releases, tasks: tasks, deployments: deployments,
		receipts: receipts, remotes: remotes, outbox: outbox,
		access: guard, provenance: rules, trust: tr, packages: packages, audit: log, now: now, delivery: delivery}
}

// Record signs and stores a receipt for a finished deployment task, if it
// deployed a remote project. Local deployments need none.
func (s *Service) Record(ctx context.Context, taskID int64) error {
	err := s.tx.WithTx(ctx, func(ctx context.Context) error { return s.record(ctx, taskID) })
	s.queued(err)
	return err
}

// Finish ends a deployment task and records its receipt in one
// transaction (FinishTasks with one task).
func (s *Service) Finish(ctx context.Context, taskID int64, finish func(ctx context.Context) error) error {
	_, err := s.FinishTasks(ctx, func(ctx context.Context) ([]int64, error) {
		return []int64{taskID}, finish(ctx)
	})
	return err
}

// FinishTasks ends tasks and records their receipts in one transaction:
// finish moves the tasks to their final state and returns their ids, then
// the receipt of each that deployed a remote project is signed and stored
// (and queued back to the release's origin). Nobody sees such a task
// finished without its receipt — not `receipt export` run right after
// `deploy --wait`, not a process that dies in between. The runner, the
// reaper of dead nodes' tasks, the recovery of a restarted node's tasks and
// the cancelling of a queued deployment all finish tasks this way.
//
// When a receipt cannot be recorded (its space's key cannot sign, say),
// finish runs again alone: a task stuck Executing would block its
// environment for good, so the task is finished all the same, and the
// error (ErrReceiptMissing) says which receipt is missing. It is not lost:
// Backfill, which the server runs when it starts and every few minutes,
// writes it once signing works again. finish must therefore be safe to run
// again after its first run was rolled back; FinishTasks must not be called
// inside another transaction.
func (s *Service) FinishTasks(ctx context.Context, finish func(ctx context.Context) ([]int64, error)) ([]int64, error) {
	var ids []int64
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		var err error
		if ids, err = finish(ctx); err != nil {
			return err
		}
		for _, id := range ids {
			if err := s.record(ctx, id); err != nil {
				return &missingError{task: id, err: err}
			}
		}
		return nil
	})
	var missing *missingError
	if !errors.As(err, &missing) {
		s.queued(err)
		return ids, err
	}
	if err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		var err error
		ids, err = finish(ctx)
		return err
	}); err != nil {
		return ids, err
	}
	return ids, missing
}

// ErrReceiptMissing is in the error of FinishTasks when tasks were
// finished without their receipts; Backfill writes them later.
var ErrReceiptMissing = errors.New("finished without its receipt; the server writes it later (receipt backfill)")

type missingError struct {
	task int64
	err  error
}

func (e *missingError) Error() string {
	return fmt.Sprintf("task %d %v: %v", e.task, ErrReceiptMissing, e.err)
}

func (e *missingError) Unwrap() []error { return []error{ErrReceiptMissing, e.err} }

// Backfill signs and stores the receipts of finished deployment tasks of
// remote projects that have none: tasks finished while a receipt could not
// be signed (see FinishTasks), and tasks that versions before receipts
// were written in the same transaction failed, cancelled or left without
// one (a node that died, a server that restarted, a queued deployment
// cancelled). It returns how many it wrote; a task whose receipt still
// cannot be written is skipped, and the first such error is returned
// after the others were tried. One node at a time runs it (the server's
// reaper loop), so no receipt is signed twice.
func (s *Service) Backfill(ctx context.Context) (int, error) {
	ids, err := s.receipts.Unrecorded(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var first error
	for _, id := range ids {
		err := s.tx.WithTx(ctx, func(ctx context.Context) error { return s.record(ctx, id) })
		switch {
		case err == nil:
			n++
		case first == nil:
			first = fmt.Errorf("receipt of task %d: %w", id, err)
		}
	}
	if n > 0 {
		s.queued(nil)
	}
	return n, first
}

// record is Record in the caller's transaction.
func (s *Service) record(ctx context.Context, taskID int64) error {
	t, err := s.tasks.Get(ctx, taskID)
	if err != nil || t.Kind != domain.TaskDeploy || !t.State.Done() {
		return err
	}
	d, err := s.deployments.Get(ctx, t.DeploymentID)
	if err != nil {
		return err
	}
	p, err := s.projects.GetByID(ctx, d.ProjectID)
	if err != nil || !p.IsRemote() {
		return err
	}
	rel, err := s.releases.GetByID(ctx, d.ReleaseID)
	if err != nil {
		return err
	}
	sp, err := s.spaces.GetByID(ctx, t.SpaceID)
	if err != nil {
		return err
	}
	id, err := s.trust.Identity(ctx, sp.ID)
	if err != nil {
		return err
	}
	name := sp.Name
	if rel.Provenance != nil && rel.Provenance.TargetName != "" {
		name = rel.Provenance.TargetName
	}
	version, err := s.versionFor(ctx, sp, rel)
	if err != nil {
		return err
	}
	pl := Payload{
		Kind: ReceiptKind, SchemaVersion: version,
		Deploying:      SpaceRef{Space: name, Fingerprint: sp.Fingerprint},
		Origin:         OriginRef{Space: p.Origin.Space, Fingerprint: p.Origin.Fingerprint, Project: p.Origin.Project},
		Version:        rel.Version,
		SnapshotDigest: rel.SnapshotDigest,
		Environment:    name + ": " + d.Environment,
		LocalEnv:       d.Environment,
		Tenant:         d.Tenant,
		State:          t.State,
		StartedAt:      t.StartedAt,
		FinishedAt:     t.FinishedAt,
		DeployedBy:     d.CreatedBy,
		DeploymentID:   d.ID,
	}
	if err := s.fill(ctx, &pl, sp, rel, d); err != nil {
		return err
	}
	body, err := json.Marshal(pl)
	if err != nil {
		return err
	}
	sig, err := signing.Sign(id.Signer, body)
	if err != nil {
		return err
	}
	r := toReceipt(sp.ID, pl, Signed{Payload: body, Signature: sig, Signer: string(id.CertPEM)}, "", s.now())
	r.DeploymentID = d.ID
	if _, err := s.receipts.Create(ctx, &r); err != nil {
		return err
	}
	return s.queueBack(ctx, sp, []domain.Receipt{r})
}

// fill adds to pl what its schema version carries beyond version 1 — the
// bundle (2), how many targets ran it (3) — and the packages this space
// holds of those the release deploys.
func (s *Service) fill(ctx context.Context, pl *Payload, sp domain.Space, rel domain.Release, d domain.Deployment) error {
	if pl.SchemaVersion >= 2 && rel.Provenance != nil {
		pl.Bundle = rel.Provenance.BundleDigest
	}
	if pl.SchemaVersion >= 3 {
		pl.Machines = &d.Machines
	}
	if len(rel.Snapshot.Packages) == 0 {
		return nil
	}
	var ids []string
	for _, p := range rel.Snapshot.Packages {
		ids = append(ids, p.ID)
	}
	var err error
	pl.Packages, err = s.packages.Holding(ctx, sp.ID, ids)
	return err
}

// versionFor is the schema version of a receipt of rel: the one the space
// the release came from reads, since the receipt travels back through it
// unchanged (and a space that relays it on writes no newer files for its
// own source than that one reads; see Export).
func (s *Service) versionFor(ctx context.Context, sp domain.Space, rel domain.Release) (int, error) {
	if rel.Provenance == nil {
		return compat.Current, nil
	}
	src, err := s.remotes.GetByFingerprint(ctx, sp.ID, rel.Provenance.SourceFingerprint)
	if errors.Is(err, domain.ErrNotFound) {
		return compat.Previous, nil
	} else if err != nil {
		return 0, err
	}
	return compat.Choose(src, 0, compat.Previous)
}

// queued tells the delivery loop, after a transaction that may have queued
// receipts committed.
func (s *Service) queued(err error) {
	if err == nil {
		s.delivery.Wake()
	}
}

func toReceipt(spaceID int64, pl Payload, sg Signed, from string, now time.Time) domain.Receipt {
	return domain.Receipt{
		SpaceID: spaceID, Digest: envelope.Digest(sg.Payload),
		DeployingSpace: pl.Deploying.Space, SignerFingerprint: pl.Deploying.Fingerprint,
		OriginSpace: pl.Origin.Space, OriginFingerprint: pl.Origin.Fingerprint, OriginProject: pl.Origin.Project,
		Version: pl.Version, SnapshotDigest: pl.SnapshotDigest, Environment: pl.Environment, Tenant: pl.Tenant,
		State: pl.State, StartedAt: pl.StartedAt, FinishedAt: pl.FinishedAt, DeployedBy: pl.DeployedBy, Machines: pl.Machines,
		ReceivedFrom: from, ReceivedAt: now, Payload: sg.Payload, Signature: sg.Signature, SignerPEM: sg.Signer,
	}
}

// ExportRequest asks for a receipt file for a remote space.
type ExportRequest struct {
	To string `json:"to"`
	// All includes receipts already sent to it.
	All bool `json:"all,omitempty"`
	// SchemaVersion chooses the file's schema version by hand; 0 writes the
	// newest the destination is known to read (internal/compat).
	SchemaVersion int `json:"schemaVersion,omitempty"`
}

// ExportResult describes a receipt file written for a remote space.
type ExportResult struct {
	Count         int    `json:"count"`
	To            string `json:"to"`
	SchemaVersion int    `json:"schemaVersion"`
	// Waiting counts receipts left out because they are of a newer schema
	// version than the destination reads; they go once it reads it.
	Waiting int    `json:"waiting,omitempty"`
	Note    string `json:"note,omitempty"`
}

// Export writes a signed file with every receipt the remote space has not
// been sent yet (all of them with req.All) for releases it originated or
// passed on to this space, in the schema version it reads.
func (s *Service) Export(ctx context.Context, space string, req ExportRequest) ([]byte, ExportResult, error) {
	var data []byte
	var res ExportResult
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.Space(ctx, space, domain.PermDeploy, "", "")
		if err != nil {
			return err
		}
		dest, err := s.trust.Get(ctx, sp.ID, req.To)
		if err != nil {
			return err
		}
		if dest.Revoked() {
			return domain.Errorf(domain.KindForbidden, "remote space %q was revoked; nothing is sent to it", dest.Name)
		}
		var list []domain.Receipt
		if req.All {
			list, err = s.receipts.List(ctx, sp.ID, store.ReceiptFilter{})
		} else {
			list, err = s.receipts.Unsent(ctx, sp.ID, dest.ID)
		}
		if err != nil {
			return err
		}
		// Only receipts of projects the caller may view: the file shows
		// what they say, and the rest stay unsent for someone who may.
		v, err := s.access.Viewable(ctx, sp)
		if err != nil {
			return err
		}
		list = slices.DeleteFunc(list, func(r domain.Receipt) bool { return !v.Has(projectOf(sp, r)) })
		f, err := s.file(ctx, sp, dest, list, req.SchemaVersion, 0)
		if err != nil {
			return err
		}
		if err := s.receipts.MarkSent(ctx, dest.ID, f.ids, s.now()); err != nil {
			return err
		}
		data = f.data
		res = ExportResult{Count: len(f.ids), To: dest.Name, SchemaVersion: f.version, Waiting: f.waiting}
		if f.waiting > 0 {
			res.Note = compat.Note(dest, f.version)
		} else if req.SchemaVersion == 0 {
			res.Note = compat.Unknown(dest, f.version, "`ferry receipt export`")
		}
		return s.audit.Record(ctx, sp.ID, "receipt.export", dest.Name, map[string]string{
			"receipts": fmt.Sprint(len(f.ids)), "fingerprint": dest.Fingerprint, "schemaVersion": fmt.Sprint(f.version)})
	})
	return data, res, err
}

// projectOf is the project here that a receipt is for: the space's own
// (it is the origin), or the remote project "<origin>: <project>".
func projectOf(sp domain.Space, r domain.Receipt) string {
	return projectName(sp, r.OriginFingerprint, r.OriginSpace, r.OriginProject)
}

func projectName(sp domain.Space, originFingerprint, originSpace, project string) string {
	if originFingerprint == sp.Fingerprint {
		return project
	}
	return domain.RemoteName(originSpace, project)
}

// headsTo reports whether receipt r belongs on its way to dest: dest is the
// project's origin, or dest passed the release on to this space.
func (s *Service) headsTo(ctx context.Context, sp domain.Space, r domain.Receipt, dest domain.RemoteSpace) (bool, error) {
	if r.OriginFingerprint == dest.Fingerprint {
		return true, nil
	}
	p, err := s.projects.Get(ctx, sp.ID, domain.RemoteName(r.OriginSpace, r.OriginProject))
	if errors.Is(err, domain.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	rel, err := s.releases.Get(ctx, p.ID, r.Version)
	if errors.Is(err, domain.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return rel.Provenance != nil && rel.Provenance.SourceFingerprint == dest.Fingerprint, nil
}
