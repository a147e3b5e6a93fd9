package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferrydeploy/ferry/internal/archive"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/variables"
)

// PackageSource writes a package version from a space's feed to the file
// dst, verified against the SHA-256 the release pinned.
type PackageSource interface {
	Fetch(ctx context.Context, spaceID int64, ref domain.PackageRef, dst string) error
}

// packageRef finds the version of a package the release pins.
func packageRef(rel domain.Release, id string) (domain.PackageRef, bool) {
	for _, p := range rel.Snapshot.Packages {
		if p.ID == id {
			return p, true
		}
	}
	return domain.PackageRef{}, false
}

// checkPackages refuses a deployment, before any task exists, when a
// deploy-package step that runs in env needs a package the space's feed
// does not hold with the SHA-256 the release pinned.
func checkPackages(ctx context.Context, feed store.Packages, sp domain.Space, p domain.Project, rel domain.Release, env string) error {
	for _, step := range rel.Snapshot.Process {
		if step.Type != domain.StepDeployPackage || !step.AppliesTo(env) {
			continue
		}
		ref, ok := packageRef(rel, step.Package)
		if !ok {
			return domain.Invalidf("cannot deploy %s %s: step %q deploys package %q, which the release does not select", p.Name, rel.Version, step.Name, step.Package)
		}
		have, err := feed.Get(ctx, sp.ID, ref.ID, ref.Version)
		if errors.Is(err, domain.ErrNotFound) {
			return domain.Invalidf("cannot deploy %s %s to %s: package %s %s is not in space %q's feed yet. Bring it with a transfer file from the space that made the release (`ferry package export` there, `ferry package import FILE` here), or push it with `ferry package push`",
				p.Name, rel.Version, env, ref.ID, ref.Version, sp.Name)
		}
		if err != nil {
			return err
		}
		if have.SHA256 != ref.SHA256 {
			return domain.Invalidf("cannot deploy %s %s to %s: package %s %s in this feed has SHA-256 %s, but the release pins %s", p.Name, rel.Version, env, ref.ID, ref.Version, have.SHA256, ref.SHA256)
		}
	}
	return nil
}

// execStep runs one step of whatever type.
func (r *Runner) execStep(ctx context.Context, sp domain.Space, rel domain.Release, step domain.Step, vars *variables.Set, work string, tl *taskLog) error {
	if step.Type == domain.StepDeployPackage {
		return r.deployPackage(ctx, sp, rel, step, vars, work, tl)
	}
	return r.runStep(ctx, step, vars, work, tl)
}

// deployPackage fetches the step's package, verifies it, extracts it safely
// into a staging folder beside the destination, substitutes variables in the
// listed files, runs preDeploy there, swaps the staging folder into place,
// and runs postDeploy in the destination.
func (r *Runner) deployPackage(ctx context.Context, sp domain.Space, rel domain.Release, step domain.Step, vars *variables.Set, work string, tl *taskLog) error {
	ref, ok := packageRef(rel, step.Package)
	if !ok {
		return fmt.Errorf("the release selects no version of package %q", step.Package)
	}
	dest, err := r.destination(step, vars, tl)
	if err != nil {
		return err
	}
	file := filepath.Join(work, "package")
	tl.info(fmt.Sprintf("Fetching package %s %s from the feed of space %q", ref.ID, ref.Version, sp.Name))
	if err := r.packages.Fetch(ctx, sp.ID, ref, file); err != nil {
		return err
	}
	defer os.Remove(file)
	tl.info(fmt.Sprintf("Verified SHA-256 %s (%d bytes)", ref.SHA256, ref.Size))

	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return fmt.Errorf("create the destination's parent: %w", err)
	}
	// From here on the server writes only through a descriptor of the
	// destination's parent, checked where it really is: a symlink swapped
	// into the path by a step running meanwhile cannot lead these writes
	// into the data folder.
	parent, err := r.openParent(dest)
	if err != nil {
		return err
	}
	defer parent.Close()
	base := filepath.Base(dest)
	staging := base + ".ferry-new"
	if err := parent.RemoveAll(staging); err != nil {
		return fmt.Errorf("clean staging folder: %w", err)
	}
	defer parent.RemoveAll(staging)
	if err := parent.Mkdir(staging, 0o755); err != nil {
		return fmt.Errorf("create staging folder: %w", err)
	}
	into, err := parent.OpenRoot(staging)
	if err != nil {
		return err
	}
	defer into.Close()
	st, err := archive.ExtractTo(file, into, archive.DefaultLimits)
	if err != nil {
		return fmt.Errorf("extract package %s %s: %w", ref.ID, ref.Version, err)
	}
	os.Remove(file)
	tl.info(fmt.Sprintf("Extracted %d files, %d folders, %d links (%d bytes)", st.Files, st.Dirs, st.Links, st.Bytes))
	return r.install(ctx, step, ref, vars, dest, parent, into, work, tl)
}

// destination is the step's destination folder, substituted and checked:
// absolute, not the root or a folder right under it, and clear of what
// scripts may not reach.
func (r *Runner) destination(step domain.Step, vars *variables.Set, tl *taskLog) (string, error) {
	dest, err := substitute(step.Destination, vars, variables.Strict, "destination", tl)
	if err != nil {
		return "", fmt.Errorf("substitute variables in destination: %w", err)
	}
	dest = strings.TrimSpace(dest)
	if !filepath.IsAbs(dest) {
		return "", fmt.Errorf("destination %q must be an absolute folder", dest)
	}
	dest = filepath.Clean(dest)
	if dest == "/" || filepath.Dir(dest) == "/" {
		return "", fmt.Errorf("destination %q is too close to the root of the file system", dest)
	}
	return dest, r.checkDestination(dest)
}

// install finishes a package extracted into the staging folder (into,
// under parent): it substitutes the listed files, runs preDeploy there,
// swaps the staging folder into place and runs postDeploy in dest.
func (r *Runner) install(ctx context.Context, step domain.Step, ref domain.PackageRef, vars *variables.Set, dest string, parent, into *os.Root, work string, tl *taskLog) error {
	for _, name := range step.Substitute {
		if err := substituteFile(into, name, vars, tl); err != nil {
			return err
		}
		tl.info("Substituted variables in " + name)
	}
	vars.Set("Ferry.Package.Id", ref.ID, false)
	vars.Set("Ferry.Package.Version", ref.Version, false)
	vars.Set("Ferry.Package.Destination", dest, false)
	if step.PreDeploy != "" {
		tl.info("Running preDeploy")
		if err := r.runStep(ctx, inFolder(step, dest+".ferry-new", step.PreDeploy), vars, work, tl); err != nil {
			return fmt.Errorf("preDeploy: %w", err)
		}
	}
	base := filepath.Base(dest)
	if err := activate(parent, base+".ferry-new", base); err != nil {
		return err
	}
	tl.info("Deployed package " + ref.ID + " " + ref.Version + " to " + dest)
	if step.PostDeploy != "" {
		tl.info("Running postDeploy")
		if err := r.runStep(ctx, inFolder(step, dest, step.PostDeploy), vars, work, tl); err != nil {
			return fmt.Errorf("postDeploy: %w", err)
		}
	}
	return nil
}

// checkDestination refuses a destination that lies in, or holds, what
// scripts may not reach (the data folder, key files), also through a
// symlink: the server writes there itself, outside any sandbox.
func (r *Runner) checkDestination(dest string) error {
	for _, p := range []string{dest, dest + ".ferry-new", dest + ".ferry-old"} {
		if hidden, ok := r.sandbox.Overlaps(p); ok {
			return fmt.Errorf("destination %q reaches %s, which holds this server's data or keys; deploy somewhere else", dest, hidden)
		}
	}
	return nil
}

// openParent opens the folder that holds dest and checks, by the path the
// kernel gives the open folder (not the path asked for, which may have
// changed since it was checked), that the destination there reaches no
// hidden path.
func (r *Runner) openParent(dest string) (*os.Root, error) {
	parent, err := os.OpenRoot(filepath.Dir(dest))
	if err != nil {
		return nil, fmt.Errorf("open the destination's parent: %w", err)
	}
	real, err := folderPath(parent)
	if err == nil {
		err = r.checkDestination(filepath.Join(real, filepath.Base(dest)))
	}
	if err != nil {
		parent.Close()
		return nil, err
	}
	return parent, nil
}

// folderPath is where an open folder really is: what /proc says of its
// descriptor (symlinks resolved when it was opened), else its name with
// symlinks resolved now.
func folderPath(root *os.Root) (string, error) {
	d, err := root.Open(".")
	if err != nil {
		return "", err
	}
	defer d.Close()
	if p, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", d.Fd())); err == nil && filepath.IsAbs(p) {
		return p, nil
	}
	return filepath.EvalSymlinks(root.Name())
}

// inFolder is a script step that starts in dir.
func inFolder(step domain.Step, dir, script string) domain.Step {
	quoted := "'" + strings.ReplaceAll(dir, "'", `'\''`) + "'"
	return domain.Step{Name: step.Name, Type: domain.StepScript, TimeoutSeconds: step.TimeoutSeconds,
		Script: "cd -- " + quoted + "\n" + script}
}

// activate puts the staging folder in the destination's place, both named
// in parent; the previous contents are removed only after the new ones are
// there.
func activate(parent *os.Root, staging, dest string) error {
	old := dest + ".ferry-old"
	if err := parent.RemoveAll(old); err != nil {
		return fmt.Errorf("clean previous folder: %w", err)
	}
	if _, err := parent.Lstat(dest); err == nil {
		if err := parent.Rename(dest, old); err != nil {
			return fmt.Errorf("move the previous deployment aside: %w", err)
		}
	}
	if err := parent.Rename(staging, dest); err != nil {
		parent.Rename(old, dest)
		return fmt.Errorf("activate the new folder: %w", err)
	}
	return parent.RemoveAll(old)
}

// substituteFile replaces #{...} references in one extracted file, leniently
// (as Octopus does for files: what cannot be substituted stays as written,
// each place a warning in the task log). The name must stay inside the
// folder, links included (root refuses a link that leads out of it).
func substituteFile(root *os.Root, name string, vars *variables.Set, tl *taskLog) error {
	clean := filepath.Clean(filepath.FromSlash(name))
	if !filepath.IsLocal(clean) {
		return fmt.Errorf("substitute file %q is not inside the package", name)
	}
	fi, err := root.Stat(clean)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("substitute file %q is not in the package", name)
	case err != nil:
		return fmt.Errorf("substitute file %q resolves outside the package, or cannot be read: %w", name, err)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("substitute file %q is not a regular file", name)
	}
	data, err := root.ReadFile(clean)
	if err != nil {
		return err
	}
	out, err := substitute(string(data), vars, variables.Lenient, name, tl)
	if err != nil {
		return fmt.Errorf("substitute variables in %s: %w", name, err)
	}
	return root.WriteFile(clean, []byte(out), fi.Mode().Perm())
}
