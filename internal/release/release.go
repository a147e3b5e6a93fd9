// Package release creates releases — immutable versions of a project with
// frozen snapshots of its process, variables and templates — and reads them.
package release

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/audit"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// Service creates and reads releases.
type Service struct {
	tx       store.Transactor
	projects store.Projects
	releases store.Releases
	packages store.Packages
	access   access.Guard
	audit    *audit.Log
	now      func() time.Time
}

// New returns a release service over the projects and releases tables; it
// reads the packages table to pin the packages a release selects.
func New(tx store.Transactor, projects store.Projects, releases store.Releases, packages store.Packages, guard access.Guard, log *audit.Log, now func() time.Time) *Service {
	return &Service{tx: tx, projects: projects, releases: releases, packages: packages, access: guard, audit: log, now: now}
}

// CreateRequest describes a new release.
type CreateRequest struct {
	Version string `json:"version"`
	Notes   string `json:"notes,omitempty"`
	Channel string `json:"channel,omitempty"`
	// Packages selects package versions from the space's feed, each as
	// "ID:VERSION"; the release pins their SHA-256.
	Packages []string `json:"packages,omitempty"`
}

// Create freezes the project's current process, variables and templates
// into a new release.
func (s *Service) Create(ctx context.Context, space, project string, req CreateRequest) (domain.Release, error) {
	var r domain.Release
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		sp, err := s.access.Space(ctx, space, domain.PermCreateRelease, project, "")
		if err != nil {
			return err
		}
		if err := validateVersion(req.Version); err != nil {
			return err
		}
		p, err := s.projects.Get(ctx, sp.ID, project)
		if err != nil {
			return err
		}
		if p.IsRemote() {
			return domain.Invalidf("%q is a remote project imported from space %q: its releases come only from bundles. Create the release in %q and promote it here", p.Name, p.Origin.Space, p.Origin.Space)
		}
		if unset := domain.UnsetSecrets(p.Variables, p.Templates); len(unset) > 0 {
			return unsetError(fmt.Sprintf("cannot create release %s of %q", req.Version, p.Name), p.Name, unset)
		}
		ch, err := channelFor(p, req.Channel)
		if err != nil {
			return err
		}
		r = domain.Release{
			ProjectID: p.ID,
			Project:   p.Name,
			Version:   req.Version,
			Notes:     req.Notes,
			Channel:   ch.Name,
			Snapshot:  Freeze(p),
			CreatedAt: s.now(),
			CreatedBy: domain.ActorName(ctx),
		}
		if r.Snapshot.Packages, err = selectPackages(ctx, s.packages, sp.ID, r.Snapshot.Process, req.Packages); err != nil {
			return err
		}
		if err := checkChannel(p, ch, r); err != nil {
			return err
		}
		r.SnapshotDigest = Digest(r.Snapshot)
		if err := s.releases.Create(ctx, &r); err != nil {
			return err
		}
		return s.audit.Record(ctx, sp.ID, "release.create", p.Name+" "+r.Version, map[string]string{"project": p.Name})
	})
	return r, err
}

// unsetError refuses what needs secrets the space does not have, naming
// each and the command that sets it.
func unsetError(what, project string, unset []domain.Variable) error {
	var names, cmds []string
	for _, v := range unset {
		scope := "unscoped"
		if len(v.Environments) > 0 {
			scope = strings.Join(v.Environments, ", ")
		}
		names = append(names, fmt.Sprintf("%s (%s)", v.Name, scope))
		cmds = append(cmds, domain.VarSetCommand(project, v.Name, v.Environments, true))
	}
	return domain.Invalidf("%s: sensitive value(s) not set in this space: %s. An export never carries secrets (it writes `keep: true`), so set each here first:\n  %s",
		what, strings.Join(names, ", "), strings.Join(cmds, "\n  "))
}

// Freeze copies what a release keeps of a project, sharing no memory with it.
func Freeze(p domain.Project) domain.Snapshot {
	snap := domain.Snapshot{
		Process:   slices.Clone(p.Process),
		Variables: slices.Clone(p.Variables),
		Templates: slices.Clone(p.Templates),
	}
	for i := range snap.Process {
		snap.Process[i].Environments = slices.Clone(snap.Process[i].Environments)
	}
	for i := range snap.Variables {
		snap.Variables[i].Environments = slices.Clone(snap.Variables[i].Environments)
	}
	for i := range snap.Templates {
		snap.Templates[i].Options = slices.Clone(snap.Templates[i].Options)
	}
	return snap
}

// List returns a project's releases, newest first.
func (s *Service) List(ctx context.Context, space, project string) ([]domain.Release, error) {
	p, err := s.project(ctx, space, project)
	if err != nil {
		return nil, err
	}
	return s.releases.List(ctx, p.ID)
}

// Get returns one release of a project.
func (s *Service) Get(ctx context.Context, space, project, version string) (domain.Release, error) {
	p, err := s.project(ctx, space, project)
	if err != nil {
		return domain.Release{}, err
	}
	return s.releases.Get(ctx, p.ID, version)
}

func (s *Service) project(ctx context.Context, space, project string) (domain.Project, error) {
	sp, err := s.access.Space(ctx, space, domain.PermView, project, "")
	if err != nil {
		return domain.Project{}, err
	}
	return s.projects.Get(ctx, sp.ID, project)
}

// validateVersion accepts SemVer-like versions and anything else without
// spaces or control characters, since teams number releases their own way.
func validateVersion(v string) error {
	switch {
	case v == "":
		return domain.Invalidf("a release needs a version (--version)")
	case v == Current:
		return domain.Invalidf("%q is reserved: it names a project's unreleased state in diffs", Current)
	case len(v) > 64:
		return domain.Invalidf("version %q is longer than 64 characters", v)
	case strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' }):
		return domain.Invalidf("version %q may not contain spaces, slashes or control characters", v)
	}
	return nil
}
