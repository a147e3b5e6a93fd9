package cli

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/api"
)

func (a *app) packageCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "package",
		Short: "The space's built-in package feed, and package transfer files",
		Long: `Every space has a built-in package feed. Packages (zip, jar, nupkg, tar, tar.gz)
are stored once, as content-defined chunks, so versions share what did not
change. Releases pin package versions by SHA-256 (release create --package),
and deploy-package steps deploy them from the feed.

Across an air gap, package bytes travel as transfer files that carry only
the chunks the target space lacks: 'package export' in the source space,
'package import' in the target.`,
	}
	cmd.AddCommand(a.packagePush(), a.packageList(), a.packageShow(), a.packageDownload(),
		a.packageInventory(), a.packageExport(), a.packageImport(), a.packageDelete())
	return cmd
}

func (a *app) packagePush() *cobra.Command {
	var id, version string
	push := show(a, &cobra.Command{
		Use:   "push FILE [--id ID --version V]",
		Short: "Upload a package file to the space's feed",
		Long: `Upload a package file (zip, nupkg, tar, tar.gz or any file) to the space's
feed. The file is streamed, never read into memory, and the server stores
only the chunks it does not have yet. On a terminal, progress is shown on
standard error. Pushing the same file again is harmless; a version's content
never changes.

Without --id and --version, they are read from the file's name as Octopus
names packages, ID.VERSION.EXT (shop-web.1.2.0.zip; ID-VERSION works too).
A file named .zip, .nupkg, .jar, .war, .tar, .tar.gz or .tgz must hold that
format, or nothing is uploaded.`,
		Example: `  ferry package push shop-web.1.2.0.zip
  ferry package push build/output.zip --id shop-web --version 1.2.0`,
		Args: cobra.ExactArgs(1),
	}, func(x call) (api.PushResult, error) {
		if id == "" || version == "" {
			fromName, v, ok := idAndVersion(x.args[0])
			if !ok {
				return api.PushResult{}, usagef("cannot read a package id and version from the name %q: name it ID.VERSION.EXT (shop-web.1.2.0.zip), or give --id and --version", filepath.Base(x.args[0]))
			}
			id, version = cmp.Or(id, fromName), cmp.Or(version, v)
		}
		if err := checkPackageFile(x.args[0]); err != nil {
			return api.PushResult{}, err
		}
		return upload(a, x.args[0], func(body io.Reader, size int64) (api.PushResult, error) {
			return x.PushPackage(x, x.space, api.PushQuery{ID: id, Version: version}, body, size)
		})
	}, func(w io.Writer, res api.PushResult) {
		if res.AlreadyInFeed {
			fmt.Fprintf(w, "%s %s is already in the feed with this content (sha256:%s)\n", res.ID, res.Version, res.SHA256)
			return
		}
		fmt.Fprintf(w, "Pushed %s %s: %s, sha256:%s\n", res.ID, res.Version, byteSize(res.Size), res.SHA256)
		fmt.Fprintf(w, "  %s, %d chunks, %d new (%s stored)\n", res.Format, res.Chunks, res.NewChunks, byteSize(res.NewBytes))
		if res.Note != "" {
			fmt.Fprintf(w, "  note: %s\n", res.Note)
		}
	})
	push.Flags().StringVar(&id, "id", "", "package id, e.g. shop-web (default: from the file's name)")
	push.Flags().StringVar(&version, "version", "", "package version, e.g. 1.2.0 (default: from the file's name)")
	return push
}

func (a *app) packageList() *cobra.Command {
	var id string
	list := show(a, &cobra.Command{Use: "list [--id ID]", Short: "List the feed's packages, newest version first", Example: `  ferry package list
  ferry package list --id shop-web -o json`, Args: cobra.NoArgs},
		func(x call) ([]api.Package, error) { return x.ListPackages(x, x.space, id) },
		func(w io.Writer, list []api.Package) {
			if len(list) == 0 {
				fmt.Fprintln(w, "No packages. Push one with: ferry package push FILE --id ID --version V")
				return
			}
			rows("ID\tVERSION\tSIZE\tFORMAT\tSHA-256\tSOURCE\tADDED", func(p api.Package) []string {
				return []string{p.ID, p.Version, byteSize(p.Size), p.Format, p.SHA256[:16] + "…", p.Source, when(p.CreatedAt)}
			})(w, list)
		})
	list.Flags().StringVar(&id, "id", "", "only this package")
	return list
}

func (a *app) packageShow() *cobra.Command {
	return show(a, &cobra.Command{Use: "show ID VERSION", Short: "Show a package version: hash, size, how it is stored", Example: `  ferry package show shop-web 1.0.0`, Args: cobra.ExactArgs(2)},
		func(x call) (api.PackageDetail, error) { return x.ShowPackage(x, x.space, x.args[0], x.args[1]) },
		func(w io.Writer, d api.PackageDetail) {
			fmt.Fprintf(w, "%s %s\n", d.ID, d.Version)
			fmt.Fprintf(w, "  sha256   %s\n", d.SHA256)
			fmt.Fprintf(w, "  size     %s (%d bytes)\n", byteSize(d.Size), d.Size)
			fmt.Fprintf(w, "  format   %s\n", d.Format)
			fmt.Fprintf(w, "  stored   %s\n", d.Rebuild)
			fmt.Fprintf(w, "  chunks   %d (%s, %s), %d shared with other versions (%s)\n", d.Chunks, byteSize(d.StoredBytes), d.Chunker, d.SharedChunks, byteSize(d.SharedBytes))
			fmt.Fprintf(w, "  source   %s, %s by %s\n", d.Source, when(d.CreatedAt), d.CreatedBy)
		})
}

func (a *app) packageDownload() *cobra.Command {
	var out string
	dl := do(a, &cobra.Command{Use: "download ID VERSION --out FILE", Short: "Write a package version from the feed to a file (verified)", Example: `  ferry package download shop-web 1.0.0 --out shop-web-1.0.0.zip`, Args: cobra.ExactArgs(2)},
		func(x call) error {
			if out == "" {
				return usagef("give the file to write with --out FILE")
			}
			if err := a.downloadTo(out, func(w io.Writer) error { return x.DownloadPackage(x, x.space, x.args[0], x.args[1], w) }); err != nil {
				return err
			}
			fi, err := os.Stat(out)
			if err != nil {
				return err
			}
			return a.render(savedFile{File: out, Bytes: int(fi.Size())}, func(w io.Writer) {})
		})
	dl.Flags().StringVar(&out, "out", "", "file to write")
	return dl
}

func (a *app) packageInventory() *cobra.Command {
	return save(a, &cobra.Command{
		Use:   "inventory --out FILE",
		Short: "Write this space's signed package inventory for a source space",
		Long: `Write a signed list of the package versions this space holds. Give it to a
space that sends packages here ('package export --inventory FILE'), so its
transfer files leave out every chunk of those packages. Deployment receipts
carry the same information for the packages of each deployed release, so
an inventory is only needed when no receipt has gone back yet.`,
		Example: `  ferry package inventory --out prod-inventory.json`,
		Args:    cobra.NoArgs,
	}, output{}, func(x call) ([]byte, error) { return x.PackageInventory(x, x.space) },
		func(w io.Writer, x call, out string) {
			fmt.Fprintf(w, "Wrote the package inventory of %q to %s\n", a.space, out)
		})
}

func (a *app) packageExport() *cobra.Command {
	var req api.ExportPackagesRequest
	var out, inventory string
	export := show(a, &cobra.Command{
		Use:   "export --to SPACE --out FILE",
		Short: "Write a transfer file with the package content a remote space lacks",
		Long: `Write a signed transfer file for a remote space with the packages of every
release promoted to it that it is not known to hold, carrying only the chunks
it lacks. What it holds is known from the package lists in its deployment
receipts (receipt import) and from an inventory file it wrote
('package inventory'), given with --inventory. --full ignores both.

A package whose earlier version the remote space holds travels as a delta
from it: compressed entries (zip, jar, nupkg, tar.gz) are compared as their
deflate tokens, so a version that re-timestamps every entry and changes 1% of
the content costs about 1% or less, whatever tool made the archive. The
remote space rebuilds it byte for byte and checks its SHA-256.

The file is written in transfer schema 2 unless the remote space is known to
read only schema 1 (a server from before deltas); --schema-version 1 writes
schema 1 by hand (chunks only, no deltas).`,
		Example: `  ferry package export --to "Prod Space" --out packages.ferry
  ferry package export --to "Prod Space" --inventory prod-inventory.json --out packages.ferry
  ferry package export --to "Old Space" --schema-version 1 --out packages.ferry   # for a server before deltas`,
		Args: cobra.NoArgs,
	}, func(x call) (api.TransferSummary, error) {
		var sum api.TransferSummary
		if req.To == "" || out == "" {
			return sum, usagef("give the remote space with --to SPACE and the file with --out FILE")
		}
		if inventory != "" {
			var err error
			if req.Inventory, err = a.readInput(inventory); err != nil {
				return sum, err
			}
		}
		// The server plans the file before it sends a byte (a delta of a
		// large package takes minutes): say so, then count what arrives.
		var prog *progress
		if isTerminal(a.rawStderr) {
			fmt.Fprintf(a.rawStderr, "Planning the transfer file for %q (packages it holds an earlier version of are compared with it; large ones take minutes)\n", req.To)
			prog = newProgress(a.rawStderr, "Writing "+filepath.Base(out), 0)
		}
		err := a.downloadTo(out, func(w io.Writer) error {
			if prog != nil {
				w = &progressWriter{w: w, p: prog}
			}
			var err error
			sum, err = x.ExportPackages(x, x.space, req, w)
			return err
		})
		prog.done()
		return sum, err
	}, func(w io.Writer, sum api.TransferSummary) { printTransfer(w, out, sum) })
	export.Flags().StringVar(&req.To, "to", "", "remote space the packages go to")
	export.Flags().StringVar(&out, "out", "", "file to write")
	export.Flags().StringVar(&inventory, "inventory", "", "inventory file the remote space wrote (package inventory)")
	export.Flags().BoolVar(&req.Full, "full", false, "carry every chunk, whatever the target holds")
	export.Flags().IntVar(&req.SchemaVersion, "schema-version", 0, "transfer file schema to write: 2, or 1 for a server that reads only 1 (default: what the remote space is known to read)")
	return export
}

func printTransfer(w io.Writer, out string, sum api.TransferSummary) {
	fmt.Fprintf(w, "Wrote %s (%s) for %q\n", out, byteSize(sum.FileBytes), sum.To)
	for _, p := range sum.Packages {
		fmt.Fprintf(w, "  package %s %s (%s)\n", p.ID, p.Version, byteSize(p.Size))
	}
	pct := 0.0
	if sum.PackageBytes > 0 {
		pct = 100 * float64(sum.FileBytes) / float64(sum.PackageBytes)
	}
	if sum.Deltas > 0 {
		fmt.Fprintf(w, "  %d package(s) as deltas from versions %q holds (%s)\n", sum.Deltas, sum.To, byteSize(sum.DeltaBytes))
	}
	fmt.Fprintf(w, "  %d of %d chunks carried (%s of content); the file is %.2f%% of the packages' size (schema %d)\n", sum.Chunks, sum.TotalChunks, byteSize(sum.ChunkBytes), pct, sum.SchemaVersion)
	if len(sum.Assumed) > 0 {
		var have []string
		for _, p := range sum.Assumed {
			have = append(have, p.ID+" "+p.Version)
		}
		fmt.Fprintf(w, "  left out: what %q holds (%s), known from %s\n", sum.To, strings.Join(have, ", "), sum.Basis)
	} else {
		fmt.Fprintf(w, "  %s\n", sum.Basis)
	}
	fmt.Fprintf(w, "Import it there with: ferry package import %s\n", filepath.Base(out))
}

func (a *app) packageImport() *cobra.Command {
	return show(a, &cobra.Command{
		Use:   "import FILE",
		Short: "Import a package transfer file (everything verified before use)",
		Long: `Import a transfer file written by 'package export' in another space. The
file's signature (a remote space trusted for releases), every chunk's hash and
every rebuilt package's SHA-256 are checked before any package enters the
feed; a file altered in any way is refused.`,
		Example: `  ferry package import packages.ferry --space "Prod Space"`, Args: cobra.ExactArgs(1),
	}, func(x call) (api.PackageImport, error) {
		return upload(a, x.args[0], func(body io.Reader, size int64) (api.PackageImport, error) {
			return x.ImportPackages(x, x.space, body, size)
		})
	}, func(w io.Writer, res api.PackageImport) {
		fmt.Fprintf(w, "Imported %d package(s) from %q (%d chunks carried, %d new, %s", len(res.Imported), res.From, res.Chunks, res.NewChunks, byteSize(res.Bytes))
		if res.Deltas > 0 {
			fmt.Fprintf(w, "; %d rebuilt from deltas, %s", res.Deltas, byteSize(res.DeltaBytes))
		}
		fmt.Fprintln(w, ")")
		for _, p := range res.Imported {
			fmt.Fprintf(w, "  %s %s  sha256:%s\n", p.ID, p.Version, p.SHA256)
		}
		for _, p := range res.AlreadyInFeed {
			fmt.Fprintf(w, "  %s %s was already here\n", p.ID, p.Version)
		}
	})
}

// downloadTo writes what fetch streams to path through a temporary file,
// renamed into place only when the whole answer arrived.
func (a *app) downloadTo(path string, fetch func(w io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	err = fetch(f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write %s: %w", path, cerr)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// byteSize is a size for people: 1.2 MB (powers of 1000, like rsync and ls -h --si).
func byteSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// progress shows an upload's or a download's bytes (and percentage, when
// the total is known: total > 0) on a terminal, redrawn at most five times
// a second.
type progress struct {
	w     io.Writer
	label string
	total int64
	mu    sync.Mutex
	n     int64
	last  time.Time
	start time.Time
	// finished: the server answered (done was called)
	finished bool
}

func newProgress(w io.Writer, label string, total int64) *progress {
	return &progress{w: w, label: label, total: total, start: time.Now()}
}

func (p *progress) reader(r io.Reader) io.Reader { return &progressReader{r: r, p: p} }

func (p *progress) add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += int64(n)
	if time.Since(p.last) < 200*time.Millisecond && (p.total <= 0 || p.n < p.total) {
		return
	}
	p.last = time.Now()
	p.draw()
}

func (p *progress) draw() {
	rate := float64(p.n) / max(time.Since(p.start).Seconds(), 0.001)
	switch {
	case p.total <= 0:
		fmt.Fprintf(p.w, "\r%s: %s, %s/s   ", p.label, byteSize(p.n), byteSize(int64(rate)))
	case p.n >= p.total && !p.finished:
		// The server checks (and for a transfer file rebuilds) what it
		// received before it answers: say why nothing moves.
		fmt.Fprintf(p.w, "\r%s: %s (100%%), %s/s; the server is checking it   ", p.label, byteSize(p.n), byteSize(int64(rate)))
	default:
		pct := 100 * float64(p.n) / float64(p.total)
		fmt.Fprintf(p.w, "\r%s: %s of %s (%3.0f%%) %s/s   ", p.label, byteSize(p.n), byteSize(p.total), pct, byteSize(int64(rate)))
	}
}

// done ends the progress line; it is a no-op on a nil progress.
func (p *progress) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finished = true
	p.draw()
	fmt.Fprintln(p.w)
}

type progressReader struct {
	r io.Reader
	p *progress
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.p.add(n)
	return n, err
}

type progressWriter struct {
	w io.Writer
	p *progress
}

func (w *progressWriter) Write(b []byte) (int, error) {
	n, err := w.w.Write(b)
	w.p.add(n)
	return n, err
}

// upload streams a file to the server with send, showing progress on a
// terminal.
func upload[T any](a *app, file string, send func(body io.Reader, size int64) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(file)
	if err != nil {
		return zero, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return zero, err
	}
	var body io.Reader = f
	var prog *progress
	if isTerminal(a.rawStderr) {
		prog = newProgress(a.rawStderr, "Uploading "+filepath.Base(file), fi.Size())
		body = prog.reader(f)
	}
	res, err := send(body, fi.Size())
	prog.done()
	return res, err
}
