package retention

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Report says what a retention run removed (with DryRun, would remove:
// the same run in a transaction rolled back; chunks are only counted when
// they are removed).
type Report struct {
	DryRun   bool             `json:"dryRun"`
	Releases []RemovedRelease `json:"releases"`
	Packages []RemovedPackage `json:"packages"`
	Removed  domain.Removed   `json:"removed"`
	// Kept counts releases a policy lets go that stay: current in an
	// environment, with a task not finished, or on their way.
	Kept int           `json:"kept"`
	Took time.Duration `json:"-"`
}

// RemovedRelease is a release retention removed.
type RemovedRelease struct {
	Space   string `json:"space"`
	Project string `json:"project"`
	Version string `json:"version"`
}

// RemovedPackage is a package version retention removed.
type RemovedPackage struct {
	Space   string `json:"space"`
	ID      string `json:"id"`
	Version string `json:"version"`
}

// Run runs retention now over every space (system administrators).
func (s *Service) Run(ctx context.Context, dryRun bool) (Report, error) {
	if err := access.Admin(ctx, "run retention"); err != nil {
		return Report{}, err
	}
	return s.run(ctx, dryRun)
}

// Loop runs retention every Settings.Interval until ctx ends, logging
// what each run removed; the server runs it on one node at a time.
func (s *Service) Loop(ctx context.Context) error {
	t := time.NewTicker(s.settings.Interval)
	defer t.Stop()
	for {
		rep, err := s.run(ctx, false)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("retention run failed; trying again at the next interval", "err", err)
		case err == nil:
			s.logReport(rep)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// logReport logs what a run removed.
func (s *Service) logReport(rep Report) {
	for _, r := range rep.Releases {
		s.log.Info("retention removed a release", "space", r.Space, "project", r.Project, "version", r.Version)
	}
	for _, p := range rep.Packages {
		s.log.Info("retention removed a package version", "space", p.Space, "package", p.ID, "version", p.Version)
	}
	s.log.Info("retention run", "removed", rep.Removed.String(), "kept", rep.Kept, "took", rep.Took.Round(time.Millisecond))
}

func (s *Service) run(ctx context.Context, dryRun bool) (Report, error) {
	start := time.Now()
	rep := Report{DryRun: dryRun, Releases: []RemovedRelease{}, Packages: []RemovedPackage{}}
	spaces, err := s.st.Spaces.List(ctx)
	if err != nil {
		return rep, err
	}
	for _, sp := range spaces {
		if err := s.spaceRun(ctx, sp, &rep); err != nil {
			return rep, fmt.Errorf("retention in space %q: %w", sp.Name, err)
		}
	}
	if !dryRun {
		if err := s.freeChunks(ctx, &rep); err != nil {
			return rep, err
		}
		if err := s.st.Removal.Forget(ctx); err != nil {
			s.log.Warn("deleted rows may linger in the database's log until the next delete", "err", err)
		}
	}
	rep.Took = time.Since(start)
	return rep, nil
}

// errDryRun rolls back a dry run's transaction.
var errDryRun = errors.New("dry run")

// spaceRun applies the policies of one space; a dry run does the same in
// one transaction it rolls back, so that it reports exactly what a run
// would remove (the package versions only the removed releases pinned
// included), chunks aside.
func (s *Service) spaceRun(ctx context.Context, sp domain.Space, rep *Report) error {
	if !rep.DryRun {
		return s.runSpace(ctx, sp, rep)
	}
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		if err := s.runSpace(ctx, sp, rep); err != nil {
			return err
		}
		return errDryRun
	})
	if errors.Is(err, errDryRun) {
		return nil
	}
	return err
}

// runSpace applies the policies of one space. A space without any policy
// keeps everything.
func (s *Service) runSpace(ctx context.Context, sp domain.Space, rep *Report) error {
	lifecycles, err := s.st.Lifecycles.List(ctx, sp.ID)
	if err != nil {
		return err
	}
	policies := map[string]domain.Lifecycle{}
	for _, l := range lifecycles {
		if slices.ContainsFunc(l.Phases, func(p domain.Phase) bool { return p.Retention != nil }) {
			policies[l.Name] = l
		}
	}
	if len(policies) == 0 {
		return nil
	}
	projects, err := s.st.Projects.List(ctx, sp.ID)
	if err != nil {
		return err
	}
	for _, p := range projects {
		l, ok := policies[p.Lifecycle]
		if !ok {
			continue
		}
		if err := s.runProject(ctx, sp, p, l, rep); err != nil {
			return err
		}
	}
	return s.prunePackages(ctx, sp, rep)
}

// runProject removes the releases of project p that every phase of l
// they were deployed in lets go, in one transaction, deciding on what the
// store holds in it.
func (s *Service) runProject(ctx context.Context, sp domain.Space, p domain.Project, l domain.Lifecycle, rep *Report) error {
	return s.tx.WithTx(ctx, func(ctx context.Context) error {
		uses, err := s.st.Removal.Uses(ctx, p.ID)
		if err != nil {
			return err
		}
		onTheirWay, err := s.st.Removal.Undelivered(ctx, sp.ID, p.Name)
		if err != nil {
			return err
		}
		held := map[string]bool{}
		for _, u := range onTheirWay {
			held[u.Version] = true
		}
		remote, err := s.remoteCurrent(ctx, sp, p)
		if err != nil {
			return err
		}
		var ids []int64
		var versions []string
		for _, u := range Expired(l, uses) {
			if len(u.Current) > 0 || len(remote[u.Version]) > 0 || u.Active || held[u.Version] {
				rep.Kept++
				continue
			}
			ids, versions = append(ids, u.ID), append(versions, u.Version)
			rep.Releases = append(rep.Releases, RemovedRelease{Space: sp.Name, Project: p.Name, Version: u.Version})
		}
		if len(ids) == 0 {
			return nil
		}
		removed, err := s.st.Removal.DeleteReleases(ctx, ids)
		if err != nil {
			return err
		}
		if err := s.forgetReceipts(ctx, sp, p, versions, &removed); err != nil {
			return err
		}
		rep.Removed.Add(removed)
		return s.audit.Record(ctx, sp.ID, "retention.releases", p.Name, details(removed, "lifecycle", l.Name))
	})
}

// Expired returns the releases (uses, newest first) that the policies of
// l let go: those deployed to at least one phase, where every phase they
// were deployed to has a policy and keeps newer releases. Whether one is
// current somewhere, running or on its way is not asked here.
func Expired(l domain.Lifecycle, uses []store.ReleaseUse) []store.ReleaseUse {
	phaseOf := map[string]int{}
	for i, ph := range l.Phases {
		for _, e := range ph.Environments {
			phaseOf[e] = i
		}
	}
	seen := make([]int, len(l.Phases)) // releases of each phase so far, newest first
	var out []store.ReleaseUse
	for _, u := range uses {
		phases := map[int]bool{}
		for _, e := range u.Environments {
			if i, ok := phaseOf[e]; ok {
				phases[i] = true
			}
		}
		expired := len(phases) > 0
		for i := range phases {
			seen[i]++
			if r := l.Phases[i].Retention; r == nil || seen[i] <= r.KeepReleases {
				expired = false
			}
		}
		if expired {
			out = append(out, u)
		}
	}
	return out
}

// prunePackages removes the package versions of sp no release pins, older
// than the grace, except each package's newest version: other spaces'
// transfers may be on their way with a delta against it.
func (s *Service) prunePackages(ctx context.Context, sp domain.Space, rep *Report) error {
	return s.tx.WithTx(ctx, func(ctx context.Context) error {
		all, err := s.st.Packages.List(ctx, sp.ID, "")
		if err != nil {
			return err
		}
		newest := map[string]string{}
		for _, p := range all { // by id, newest first
			if _, ok := newest[p.ID]; !ok {
				newest[p.ID] = p.Version
			}
		}
		unpinned, err := s.st.Removal.Unpinned(ctx, sp.ID, s.now().Add(-s.settings.Grace))
		if err != nil {
			return err
		}
		var gone []domain.PackageRef
		for _, p := range unpinned {
			if newest[p.ID] == p.Version {
				continue
			}
			gone = append(gone, p)
			rep.Packages = append(rep.Packages, RemovedPackage{Space: sp.Name, ID: p.ID, Version: p.Version})
		}
		if len(gone) == 0 {
			return nil
		}
		n, err := s.st.Removal.DeletePackages(ctx, sp.ID, gone)
		rep.Removed.Packages += n
		if err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "retention.packages", fmt.Sprintf("%d package versions", n), nil)
	})
}

// freeChunks forgets the received chunks of transfers cut off longer ago
// than the resume window, then removes every chunk no package uses.
func (s *Service) freeChunks(ctx context.Context, rep *Report) error {
	if _, err := s.st.Removal.ExpireReceived(ctx, s.now().Add(-s.settings.ResumeWindow)); err != nil {
		return err
	}
	st, err := s.chunks.CollectChunks(ctx, s.settings.Grace, s.st.Removal.ChunkUses)
	rep.Removed.Chunks += st.Removed
	rep.Removed.ChunkBytes += st.RemovedBytes
	return err
}
