package dashboard

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

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
	sp, err := s.access.Space(ctx, space, domain.PermView, "", "")
	if err != nil {
		return nil, err
	}
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 100
	}
	byOrigin, err := s.visibleByOrigin(ctx, sp, q.Project)
	if err != nil {
		return nil, err
	}
	if len(byOrigin) == 0 {
		return []domain.Deployment{}, nil
	}
	f := store.ReceiptFilter{Version: q.Version}
	if q.Project != "" {
		for o := range byOrigin {
			f.OriginFingerprint, f.OriginProject = o.Fingerprint, o.Project
		}
	}
	list, err := s.receipts.List(ctx, sp.ID, f)
	if err != nil {
		return nil, err
	}
	out, err := s.counting(ctx, sp, byOrigin, list, q)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, newestFirst)
	return out, nil
}

// visibleByOrigin returns the projects of sp the caller may view (only
// project, when not ""), each under the name receipts give it: its origin
// space's fingerprint and its name there.
func (s *Service) visibleByOrigin(ctx context.Context, sp domain.Space, project string) (map[store.OriginProject]domain.Project, error) {
	projects, err := s.projects.Summaries(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(projects))
	for _, p := range projects {
		if project == "" || p.Name == project {
			names = append(names, p.Name)
		}
	}
	if names, err = s.access.Visible(ctx, sp, names); err != nil {
		return nil, err
	}
	visible := map[string]bool{}
	for _, n := range names {
		visible[n] = true
	}
	byOrigin := map[store.OriginProject]domain.Project{}
	for _, p := range projects {
		if !visible[p.Name] {
			continue
		}
		o := store.OriginProject{Fingerprint: sp.Fingerprint, Project: p.Name}
		if p.IsRemote() {
			o = store.OriginProject{Fingerprint: p.Origin.Fingerprint, Project: p.Origin.Project}
		}
		byOrigin[o] = domain.Project{ID: p.ID, SpaceID: sp.ID, Name: p.Name, Lifecycle: p.Lifecycle, Origin: p.Origin}
	}
	return byOrigin, nil
}

// counting turns the receipts (oldest first) of the projects in byOrigin
// into deployments, newest first, keeping those that satisfy the receipt
// rules now (checking each release's rules once) in q's environment,
// until q's page is full.
func (s *Service) counting(ctx context.Context, sp domain.Space, byOrigin map[store.OriginProject]domain.Project, list []domain.Receipt, q Query) ([]domain.Deployment, error) {
	type key struct {
		o       store.OriginProject
		version string
	}
	rules := map[key]*provenance.Receipts{}
	out := []domain.Deployment{}
	for i := len(list) - 1; i >= 0 && len(out) < q.Limit; i-- {
		r := list[i]
		o := store.OriginProject{Fingerprint: r.OriginFingerprint, Project: r.OriginProject}
		p, ok := byOrigin[o]
		if !ok {
			continue
		}
		k := key{o, r.Version}
		rr, ok := rules[k]
		if !ok {
			rel, err := s.releases.Get(ctx, p.ID, r.Version)
			if errors.Is(err, domain.ErrNotFound) {
				rules[k] = nil
				continue
			} else if err != nil {
				return nil, err
			}
			if rr, err = s.provenance.ForRelease(ctx, sp, p, rel); err != nil {
				return nil, err
			}
			rules[k] = rr
		}
		if rr == nil {
			continue
		}
		counting, err := rr.Counting(ctx, []domain.Receipt{r})
		if err != nil {
			return nil, err
		}
		for _, c := range counting {
			if q.Environment == "" || c.Environment == q.Environment {
				out = append(out, fromReceipt(p.Name, c))
			}
		}
	}
	return out, nil
}

func fromReceipt(project string, r domain.Receipt) domain.Deployment {
	space, _, _ := strings.Cut(r.Environment, ": ")
	d := domain.Deployment{
		Project: project, Version: r.Version, Environment: r.Environment, Tenant: r.Tenant, State: r.State,
		CreatedAt: r.ReceivedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, CreatedBy: r.DeployedBy,
		Space: space, ReceivedFrom: r.ReceivedFrom,
	}
	if r.Machines != nil {
		d.Machines = *r.Machines
	}
	return d
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
