package step

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferrydeploy/ferry/internal/archive"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/variables"
)

// deployPackage fetches the step's package (verified against the SHA-256
// the release pinned), extracts it safely into a staging folder beside the
// destination, substitutes variables in the listed files, runs preDeploy
// there, swaps the staging folder into place, and runs postDeploy in the
// destination.
func (r *Runner) deployPackage(ctx context.Context, spec Spec, out *outputs, log Log) error {
	st, pkg := spec.Step, spec.Package
	if pkg == nil {
		return fmt.Errorf("the release selects no version of package %q", st.Package)
	}
	ref := pkg.Ref
	dest, err := r.destination(st, spec.Vars, log)
	if err != nil {
		return err
	}
	file := filepath.Join(spec.Work, "package")
	if err := pkg.Fetch(ctx, file); err != nil {
		return err
	}
	defer os.Remove(file)
	log.Info(fmt.Sprintf("Verified SHA-256 %s (%d bytes)", ref.SHA256, ref.Size))

	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return fmt.Errorf("create the destination's parent: %w", err)
	}
	// From here on this process writes only through a descriptor of the
	// destination's parent, checked where it really is: a symlink swapped
	// into the path by a step running meanwhile cannot lead these writes
	// into the data folder.
	parent, err := r.openParent(dest)
	if err != nil {
		return err
	}
	defer parent.Close()
	staging := filepath.Base(dest) + ".ferry-new"
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
	stats, err := archive.ExtractTo(file, into, archive.DefaultLimits)
	if err != nil {
		return fmt.Errorf("extract package %s %s: %w", ref.ID, ref.Version, err)
	}
	os.Remove(file)
	log.Info(fmt.Sprintf("Extracted %d files, %d folders, %d links (%d bytes)", stats.Files, stats.Dirs, stats.Links, stats.Bytes))
	return r.install(ctx, spec, dest, parent, into, out, log)
}

// destination is the step's destination folder, substituted and checked:
// absolute, not the root or a folder right under it, and clear of what
// scripts may not reach.
func (r *Runner) destination(st domain.Step, vars *variables.Set, log Log) (string, error) {
	dest, err := substitute(st.Destination, vars, variables.Strict, "destination", log)
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
func (r *Runner) install(ctx context.Context, spec Spec, dest string, parent, into *os.Root, out *outputs, log Log) error {
	st, ref, vars := spec.Step, spec.Package.Ref, spec.Vars
	for _, name := range st.Substitute {
		if err := substituteFile(into, name, vars, log); err != nil {
			return err
		}
		log.Info("Substituted variables in " + name)
	}
	vars.Set("Ferry.Package.Id", ref.ID, false)
	vars.Set("Ferry.Package.Version", ref.Version, false)
	vars.Set("Ferry.Package.Destination", dest, false)
	if st.PreDeploy != "" {
		log.Info("Running preDeploy")
		if err := r.script(ctx, inFolder(st, dest+".ferry-new", st.PreDeploy), vars, spec.Work, out, log); err != nil {
			return fmt.Errorf("preDeploy: %w", err)
		}
	}
	base := filepath.Base(dest)
	if err := activate(parent, base+".ferry-new", base); err != nil {
		return err
	}
	log.Info("Deployed package " + ref.ID + " " + ref.Version + " to " + dest)
	if st.PostDeploy != "" {
		log.Info("Running postDeploy")
		if err := r.script(ctx, inFolder(st, dest, st.PostDeploy), vars, spec.Work, out, log); err != nil {
			return fmt.Errorf("postDeploy: %w", err)
		}
	}
	return nil
}

// checkDestination refuses a destination that lies in, or holds, what
// scripts may not reach (the data folder, key files), also through a
// symlink: this process writes there itself, outside any sandbox.
func (r *Runner) checkDestination(dest string) error {
	for _, p := range []string{dest, dest + ".ferry-new", dest + ".ferry-old"} {
		if hidden, ok := r.sandbox.Overlaps(p); ok {
			return fmt.Errorf("destination %q reaches %s, which holds this %s's data or keys; deploy somewhere else", dest, hidden, r.host)
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
func inFolder(st domain.Step, dir, script string) domain.Step {
	quoted := "'" + strings.ReplaceAll(dir, "'", `'\''`) + "'"
	return domain.Step{Name: st.Name, Type: domain.StepScript, TimeoutSeconds: st.TimeoutSeconds,
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
// each place a warning in the log). The name must stay inside the folder,
// links included (root refuses a link that leads out of it).
func substituteFile(root *os.Root, name string, vars *variables.Set, log Log) error {
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
	text, err := substitute(string(data), vars, variables.Lenient, name, log)
	if err != nil {
		return fmt.Errorf("substitute variables in %s: %w", name, err)
	}
	return root.WriteFile(clean, []byte(text), fi.Mode().Perm())
}
