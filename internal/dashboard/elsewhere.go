package dashboard

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/provenance"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Query narrows Elsewhere; zero fields match everything.
type Query struct {
	Project     string
	Version     string
	Environment string
	Limit       int // 0: 100; at most 1000
}

// Elsewhere lists the deployments other spaces made of this space's
// releases (its own projects and the remote projects it passed on), as the
// receipts it holds report them — those sent back directly and those
// relayed through a third space alike — newest first. Only receipts that
// satisfy the receipt rules now are listed (internal/provenance), each
// naming the environment it speaks for as this space names it.
func (s *Service) Elsewhere(ctx context.Context, space string, q Query) ([]domain.Deployment, error) {
	sp, err := access.Space(ctx, s.store, space, domain.PermView, "", "")
	if err != nil {
		return nil, err
	}
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 100
	}
	projects, err := s.store.Projects().Summaries(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(projects))
	for _, p := range projects {
		if q.Project == "" || p.Name == q.Project {
			names = append(names, p.Name)
		}
	}
	if names, err = access.Visible(ctx, s.store, sp, names); err != nil {
		return nil, err
	}
	out := []domain.Deployment{}
	for _, name := range names {
		p, err := s.store.Projects().Get(ctx, sp.ID, name)
		if err != nil {
			return nil, err
		}
		f := store.ReceiptFilter{OriginFingerprint: sp.Fingerprint, OriginProject: p.Name, Version: q.Version}
		if p.IsRemote() {
			f.OriginFingerprint, f.OriginProject = p.Origin.Fingerprint, p.Origin.Project
		}
		list, err := s.store.Receipts().List(ctx, sp.ID, f)
		if err != nil {
			return nil, err
		}
		byVersion := map[string][]domain.Receipt{}
		for _, r := range list {
			byVersion[r.Version] = append(byVersion[r.Version], r)
		}
		for version, rs := range byVersion {
			rel, err := s.store.Releases().Get(ctx, p.ID, version)
			if errors.Is(err, domain.ErrNotFound) {
				continue
			} else if err != nil {
				return nil, err
			}
			rules, err := provenance.ForRelease(ctx, s.store, sp, p, rel)
			if err != nil {
				return nil, err
			}
			counting, err := rules.Counting(ctx, rs)
			if err != nil {
				return nil, err
			}
			for _, r := range counting {
				if q.Environment != "" && r.Environment != q.Environment {
					continue
				}
				out = append(out, fromReceipt(p.Name, r))
			}
		}
	}
	slices.SortStableFunc(out, newestFirst)
	return out[:min(len(out), q.Limit)], nil
}

func fromReceipt(project string, r domain.Receipt) domain.Deployment {
	space, _, _ := strings.Cut(r.Environment, ": ")
	return domain.Deployment{
		Project: project, Version: r.Version, Environment: r.Environment, Tenant: r.Tenant, State: r.State,
		CreatedAt: r.ReceivedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, CreatedBy: r.DeployedBy,
		Space: space, ReceivedFrom: r.ReceivedFrom,
	}
}

// when is the time a deployment is listed by: when it finished, else
// started, else was created.
func when(d domain.Deployment) time.Time {
	switch {
	case d.FinishedAt != nil:
		return *d.FinishedAt
	case d.StartedAt != nil:
		return *d.StartedAt
	}
	return d.CreatedAt
}

func newestFirst(a, b domain.Deployment) int {
	return cmp.Compare(when(b).UnixNano(), when(a).UnixNano())
}

// Merge lists deployments here and elsewhere together, newest first, at
// most limit (0: no limit).
func Merge(here, elsewhere []domain.Deployment, limit int) []domain.Deployment {
	out := append(slices.Clone(here), elsewhere...)
	slices.SortStableFunc(out, newestFirst)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}
