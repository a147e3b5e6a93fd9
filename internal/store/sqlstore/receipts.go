package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

type receipts struct{ db *DB }

var _ store.Receipts = (*receipts)(nil)

// Receipts returns the receipts resource.
func (db *DB) Receipts() store.Receipts { return &receipts{db} }

const receiptColumns = `r.id, r.space_id, r.digest, r.deploying_space, r.signer_fingerprint, r.origin_space, r.origin_fingerprint,
	r.origin_project, r.version, r.snapshot_digest, r.environment, r.tenant, r.state, r.started_at, r.finished_at,
	r.deployed_by, r.machines, r.received_from, r.received_at, r.payload, r.signature, r.signer_pem, r.deployment_id`

func scanReceipt(s scanner) (domain.Receipt, error) {
	var r domain.Receipt
	var started, finished sql.NullInt64
	var received int64
	var machines, deployment sql.NullInt64
	var payload, sig string
	err := s.Scan(&r.ID, &r.SpaceID, &r.Digest, &r.DeployingSpace, &r.SignerFingerprint, &r.OriginSpace, &r.OriginFingerprint,
		&r.OriginProject, &r.Version, &r.SnapshotDigest, &r.Environment, &r.Tenant, &r.State, &started, &finished,
		&r.DeployedBy, &machines, &r.ReceivedFrom, &received, &payload, &sig, &r.SignerPEM, &deployment)
	if err != nil {
		return r, err
	}
	r.DeploymentID = deployment.Int64
	r.StartedAt, r.FinishedAt, r.ReceivedAt = timePtr(started), timePtr(finished), fromMicros(received)
	if machines.Valid {
		n := int(machines.Int64)
		r.Machines = &n
	}
	if r.Payload, err = base64.StdEncoding.DecodeString(payload); err != nil {
		return r, err
	}
	r.Signature, err = base64.StdEncoding.DecodeString(sig)
	return r, err
}

func (s *receipts) Create(ctx context.Context, r *domain.Receipt) (bool, error) {
	dup, err := s.db.exists(ctx, `SELECT 1 FROM receipts WHERE space_id = ? AND digest = ?`, r.SpaceID, r.Digest)
	if err != nil || dup {
		return false, wrap(err, "check receipt %s", r.Digest)
	}
	r.ReceivedAt = stamp(r.ReceivedAt)
	err = s.db.WithTx(ctx, func(ctx context.Context) error { return s.insert(ctx, r) })
	if err != nil {
		return false, wrap(err, "store receipt %s", r.Digest)
	}
	return true, nil
}

// insert writes r and its dashboard cell (migration dashboard_cells): the
// higher id wins, whichever transaction commits first.
func (s *receipts) insert(ctx context.Context, r *domain.Receipt) error {
	err := s.db.queryRow(ctx, `INSERT INTO receipts (space_id, digest, deploying_space, signer_fingerprint, origin_space, origin_fingerprint,
			origin_project, version, snapshot_digest, environment, tenant, state, started_at, finished_at, deployed_by,
			machines, received_from, received_at, payload, signature, signer_pem, deployment_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.SpaceID, r.Digest, r.DeployingSpace, r.SignerFingerprint, r.OriginSpace, r.OriginFingerprint,
		r.OriginProject, r.Version, r.SnapshotDigest, r.Environment, r.Tenant, string(r.State),
		nullMicros(r.StartedAt), nullMicros(r.FinishedAt), r.DeployedBy, r.Machines, r.ReceivedFrom, micros(r.ReceivedAt),
		base64.StdEncoding.EncodeToString(r.Payload), base64.StdEncoding.EncodeToString(r.Signature), r.SignerPEM,
		sql.NullInt64{Int64: r.DeploymentID, Valid: r.DeploymentID != 0}).Scan(&r.ID)
	if err != nil {
		return err
	}
	return s.db.putReceiptCell(ctx, r.ID)
}

// receiptCellColumns are receipt_cells' columns, in the order
// receiptCellRow selects them.
const receiptCellColumns = `(space_id, origin_fingerprint, origin_project, environment, receipt_id, digest, deploying_space,
	signer_fingerprint, origin_space, version, snapshot_digest, tenant, state, started_at, finished_at, deployed_by,
	machines, received_from, received_at)`

// receiptCellRow selects a receipt_cells row for each receipt r the query
// goes on to name: its summary, all but the signed bytes.
const receiptCellRow = `SELECT r.space_id, r.origin_fingerprint, r.origin_project, r.environment, r.id, r.digest, r.deploying_space,
	r.signer_fingerprint, r.origin_space, r.version, r.snapshot_digest, r.tenant, r.state, r.started_at, r.finished_at, r.deployed_by,
	r.machines, r.received_from, r.received_at
	FROM receipts r`

// putReceiptCell writes the dashboard cell of receipt id, in the
// transaction that writes the receipt: the higher id wins, whichever
// transaction commits first.
func (db *DB) putReceiptCell(ctx context.Context, id int64) error {
	_, err := db.exec(ctx, `INSERT INTO receipt_cells `+receiptCellColumns+`
		`+receiptCellRow+` WHERE r.id = ?
		ON CONFLICT (space_id, origin_fingerprint, origin_project, environment) DO UPDATE SET receipt_id = excluded.receipt_id,
			digest = excluded.digest, deploying_space = excluded.deploying_space, signer_fingerprint = excluded.signer_fingerprint,
			origin_space = excluded.origin_space, version = excluded.version, snapshot_digest = excluded.snapshot_digest,
			tenant = excluded.tenant, state = excluded.state, started_at = excluded.started_at, finished_at = excluded.finished_at,
			deployed_by = excluded.deployed_by, machines = excluded.machines, received_from = excluded.received_from, received_at = excluded.received_at
		WHERE excluded.receipt_id > receipt_cells.receipt_id`, id)
	return err
}

func (s *receipts) List(ctx context.Context, spaceID int64, f store.ReceiptFilter) ([]domain.Receipt, error) {
	q := `SELECT ` + receiptColumns + ` FROM receipts r WHERE r.space_id = ?`
	args := []any{spaceID}
	if f.OriginFingerprint != "" {
		q += ` AND r.origin_fingerprint = ?`
		args = append(args, f.OriginFingerprint)
	}
	if f.OriginProject != "" {
		q += ` AND r.origin_project = ?`
		args = append(args, f.OriginProject)
	}
	if f.Version != "" {
		q += ` AND r.version = ?`
		args = append(args, f.Version)
	}
	rows, err := s.db.query(ctx, q+` ORDER BY r.id`, args...)
	if err != nil {
		return nil, wrap(err, "list receipts")
	}
	list, err := collect(rows, scanReceipt)
	return list, wrap(err, "list receipts")
}

func (s *receipts) Unsent(ctx context.Context, spaceID, remoteSpaceID int64) ([]domain.Receipt, error) {
	rows, err := s.db.query(ctx, `SELECT `+receiptColumns+` FROM receipts r
		WHERE r.space_id = ? AND NOT EXISTS (SELECT 1 FROM receipt_sends s WHERE s.receipt_id = r.id AND s.remote_space_id = ?)
		ORDER BY r.id`, spaceID, remoteSpaceID)
	if err != nil {
		return nil, wrap(err, "list unsent receipts")
	}
	list, err := collect(rows, scanReceipt)
	return list, wrap(err, "list unsent receipts")
}

func (s *receipts) MarkSent(ctx context.Context, remoteSpaceID int64, ids []int64, at time.Time) error {
	for _, id := range ids {
		if _, err := s.db.exec(ctx, `INSERT INTO receipt_sends (receipt_id, remote_space_id, sent_at) VALUES (?, ?, ?)
			ON CONFLICT (receipt_id, remote_space_id) DO NOTHING`, id, remoteSpaceID, micros(at)); err != nil {
			return wrap(err, "mark receipt %d sent", id)
		}
	}
	return nil
}

// LatestOf returns the dashboard's cells of the origin projects:
// receipt_cells' rows for those projects (receipts never change once
// stored), only the columns a cell shows. The projects are asked for by
// origin space, one key range per project (a page's projects mostly share
// one origin: one SELECT, with one condition on the names; see anyOf).
func (s *receipts) LatestOf(ctx context.Context, spaceID int64, projects []store.OriginProject) ([]store.ReceiptCell, error) {
	if len(projects) == 0 {
		return []store.ReceiptCell{}, nil
	}
	var fingerprints []string
	names := map[string][]string{} // fingerprint → its projects
	for _, p := range projects {
		if _, ok := names[p.Fingerprint]; !ok {
			fingerprints = append(fingerprints, p.Fingerprint)
		}
		names[p.Fingerprint] = append(names[p.Fingerprint], p.Project)
	}
	var q strings.Builder
	args := make([]any, 0, len(projects)+3*len(fingerprints))
	for i, fp := range fingerprints {
		if i > 0 {
			q.WriteString(" UNION ALL ")
		}
		q.WriteString(`SELECT c.origin_fingerprint, c.origin_project, c.environment, c.version, c.state, c.started_at, c.finished_at,
			c.deployed_by, c.machines, c.deploying_space, c.signer_fingerprint
		FROM receipt_cells c WHERE c.space_id = ? AND c.origin_fingerprint = ? AND `)
		cond, values := anyOf(s.db.d, "c.origin_project", names[fp])
		q.WriteString(cond)
		args = append(append(args, spaceID, fp), values...)
	}
	rows, err := s.db.query(ctx, q.String(), args...)
	if err != nil {
		return nil, wrap(err, "latest receipts")
	}
	defer rows.Close()
	out := []store.ReceiptCell{}
	var c store.ReceiptCell
	var state string
	var started, finished, machines sql.NullInt64
	dest := []any{&c.OriginFingerprint, &c.OriginProject, &c.Environment, &c.Version, &state, &started, &finished,
		&c.DeployedBy, &machines, &c.DeployingSpace, &c.SignerFingerprint}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, wrap(err, "latest receipts")
		}
		c.State = domain.TaskState(state)
		c.StartedAt, c.FinishedAt = timePair(started, finished)
		c.Machines = nil
		if machines.Valid {
			n := int(machines.Int64)
			c.Machines = &n
		}
		out = append(out, c)
	}
	return out, wrap(rows.Err(), "latest receipts")
}

// linkReceiptDeployments fills receipts.deployment_id of the receipts this
// space signed before the column existed, from the deployment id their
// signed payload names (receipt.Payload.DeploymentID): without it they
// would look missing, and receipt.Service.Backfill would sign them again.
func linkReceiptDeployments(ctx context.Context, db *DB) (bool, error) {
	rows, err := db.query(ctx, `SELECT id, payload FROM receipts WHERE received_from = '' AND deployment_id IS NULL`)
	if err != nil {
		return false, err
	}
	type link struct{ receipt, deployment int64 }
	links, err := collect(rows, func(sc scanner) (link, error) {
		var l link
		var payload string
		if err := sc.Scan(&l.receipt, &payload); err != nil {
			return l, err
		}
		// A payload that does not read stays unlinked: backfill then signs
		// a receipt of its deployment again, which is better than none.
		var pl struct {
			DeploymentID int64 `json:"deploymentId"`
		}
		if body, err := base64.StdEncoding.DecodeString(payload); err == nil && json.Unmarshal(body, &pl) == nil {
			l.deployment = pl.DeploymentID
		}
		return l, nil
	})
	if err != nil {
		return false, err
	}
	for _, l := range links {
		if l.deployment == 0 {
			continue
		}
		if _, err := db.exec(ctx, `UPDATE receipts SET deployment_id = ? WHERE id = ?`, l.deployment, l.receipt); err != nil {
			return false, err
		}
	}
	return false, nil
}

// Unrecorded returns the finished deployment tasks of remote projects that
// have no receipt this space signed, and no later deployment of the same
// project, environment and tenant that has one, oldest first.
func (s *receipts) Unrecorded(ctx context.Context) ([]int64, error) {
	ids, err := s.db.ids(ctx, `SELECT t.id FROM tasks t
		JOIN deployments d ON d.id = t.deployment_id
		JOIN projects p ON p.id = d.project_id
		WHERE t.kind = ? AND t.state IN `+in(len(finalStates))+` AND p.origin <> ''
		AND NOT EXISTS (SELECT 1 FROM receipts r WHERE r.space_id = d.space_id AND r.deployment_id = d.id AND r.received_from = '')
		AND NOT EXISTS (SELECT 1 FROM deployments later JOIN receipts r ON r.space_id = later.space_id AND r.deployment_id = later.id AND r.received_from = ''
			WHERE later.project_id = d.project_id AND later.environment = d.environment AND later.tenant = d.tenant AND later.id > d.id)
		ORDER BY t.id`, append([]any{domain.TaskDeploy}, finalStates...)...)
	return ids, wrap(err, "list deployments without receipts")
}
