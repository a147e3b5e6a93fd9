package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/api"
)

func (a *app) releaseCommand() *cobra.Command {
	var req api.CreateReleaseRequest
	create := show(a, &cobra.Command{
		Use:   "create PROJECT --version V",
		Short: "Create a release: freeze the project's process and variables",
		Long: `Create a release of a project. The release freezes the deployment process,
the variables and the templates as they are now: later changes to the project
do not change it, and every deployment of it — including redeployments — uses
exactly this snapshot.

A project with channels puts the release in the channel --channel names, or in
its default channel. The packages the release pins must keep the channel's
version rules (a NuGet version range, a pre-release tag expression); the
refusal names the rule a package breaks. The release then follows the
channel's lifecycle, or the project's when the channel has none.`,
		Example: `  ferry release create Shop --version 1.0.0 --notes "First release"
  ferry release create Shop --version 1.1.0 --package shop-web:1.1.0
  ferry release create Shop --version 1.1.1 --channel Hotfix --package shop-web:1.1.1-hotfix.1`,
		Args: cobra.ExactArgs(1),
	}, func(x call) (api.Release, error) { return x.CreateRelease(x, x.space, x.args[0], req) },
		func(w io.Writer, r api.Release) {
			fmt.Fprintf(w, "Created release %s of %q (%d steps, %d variables frozen)\n", r.Version, r.Project, len(r.Snapshot.Process), len(r.Snapshot.Variables))
			for _, p := range r.Snapshot.Packages {
				fmt.Fprintf(w, "  package %s %s  sha256:%s  %s\n", p.ID, p.Version, p.SHA256, byteSize(p.Size))
			}
		})
	create.Flags().StringVar(&req.Version, "version", "", "release version (required)")
	create.Flags().StringVar(&req.Notes, "notes", "", "release notes")
	create.Flags().StringVar(&req.Channel, "channel", "", "channel of the project (default: its default channel); the release must keep its version rules and follows its lifecycle")
	create.Flags().StringArrayVar(&req.Packages, "package", nil, "package version from the feed, ID:VERSION (repeatable); the release pins its SHA-256")

	list := show(a, &cobra.Command{Use: "list PROJECT", Short: "List a project's releases, newest first", Example: `  ferry release list Shop
  ferry release list "DevTest Space: Shop" --space "Prod Space" -o json`, Args: cobra.ExactArgs(1)},
		func(x call) ([]api.Release, error) { return x.ListReleases(x, x.space, x.args[0]) },
		rows("VERSION\tCHANNEL\tCREATED\tBY\tNOTES", func(r api.Release) []string {
			return []string{r.Version, orDash(r.Channel), when(r.CreatedAt), r.CreatedBy, oneLine(r.Notes)}
		}))
	diff := show(a, &cobra.Command{
		Use:   "diff PROJECT V1 V2",
		Short: "Show what changed between two releases, or between a release and the project now",
		Long: `Show what changed in a project from release V1 to release V2: steps added,
removed, moved or changed (with a line diff of scripts), variable values
added, removed or changed per scope (old and new values for plain values;
only "changed" for sensitive ones), and templates. Unchanged things are left
out.

Either version may be "current": the project's current, unreleased state,
i.e. what the next release would freeze.

Text output is coloured when standard output is a terminal; set NO_COLOR to
turn colour off.`,
		Example: `  ferry release diff Shop 1.0.0 1.1.0
  ferry release diff Shop 1.1.0 current
  ferry release diff Shop 1.0.0 1.1.0 -o json`,
		Args: cobra.ExactArgs(3),
	}, func(x call) (api.ReleaseDiff, error) {
		return x.DiffReleases(x, x.space, x.args[0], x.args[1], x.args[2])
	},
		func(w io.Writer, d api.ReleaseDiff) { printDiff(w, a.painter(), d) })
	return group("release", "Create and inspect releases", create, list, a.releaseShow(), diff, a.releaseDelete())
}

func (a *app) releaseShow() *cobra.Command {
	return show(a, &cobra.Command{
		Use:   "show PROJECT VERSION",
		Short: "Show a release: its frozen process, variables, templates and snapshot digest (secrets never shown)",
		Long: `Show a release and everything it deploys with: the frozen process (every
step, its scope and script), the frozen variables (sensitive ones only as
set or not set), the variable templates, the packages, and the snapshot
digest.

The snapshot digest is a SHA-256 over a canonical form of the snapshot
(docs/snapshots.md). Two releases with the same digest have the same process,
templates and plain values, and the same secrets by name and scope; a release
imported into another space shows its source release's digest. Secret values
are left out of the digest, so it cannot be used to guess them.

An imported release shows its origin's digest when the origin itself signed
the bundle, and otherwise the digest computed here, with the origin's
digest marked as the relaying space's unverified claim.

"Where it went" lists its deployments here and, from the receipts this
space holds, in other spaces — those a third space relayed back included.`,
		Example: `  ferry release show Shop 1.0.0
  ferry release show Shop 1.0.0 -o json`,
		Args: cobra.ExactArgs(2),
	}, func(x call) (releaseWhere, error) {
		var r releaseWhere
		var err error
		if r.ReleaseDetail, err = x.ShowRelease(x, x.space, x.args[0], x.args[1]); err != nil {
			return r, err
		}
		r.Deployments, err = x.ListDeployments(x, x.space, api.DeploymentQuery{Project: x.args[0], Version: x.args[1], Limit: 200})
		return r, err
	}, func(w io.Writer, r releaseWhere) {
		printRelease(w, a.painter(), r.ReleaseDetail)
		printWhere(w, a.painter(), r.Deployments)
	})
}

// releaseWhere is a release and where it was deployed (release show).
type releaseWhere struct {
	api.ReleaseDetail
	Deployments []api.Deployment `json:"deployments"`
}

func printRelease(w io.Writer, p painter, r api.ReleaseDetail) {
	p.line(w, bold, fmt.Sprintf("Release %s of %s", r.Version, r.Project))
	fmt.Fprintf(w, "Created  %s by %s\n", r.CreatedAt.Local().Format("2006-01-02 15:04:05"), r.CreatedBy)
	if r.Channel != "" {
		fmt.Fprintf(w, "Channel  %s\n", r.Channel)
	}
	if r.Notes != "" {
		fmt.Fprintf(w, "Notes    %s\n", r.Notes)
	}
	fmt.Fprintf(w, "Snapshot %s\n", r.SnapshotDigest)
	if o := r.OriginDigest; o != nil {
		if o.ByOrigin {
			fmt.Fprintf(w, "         (the origin's digest, signed by %s; computed here: %s)\n", o.SignedBy, r.DigestHere)
		} else {
			fmt.Fprintf(w, "         (computed here; the origin's digest %s is claimed by %s, which relayed it: not verified here)\n", o.Digest, o.SignedBy)
		}
	}
	fmt.Fprintln(w)
	p.line(w, bold, fmt.Sprintf("Process (%d steps)", len(r.Snapshot.Process)))
	for i, s := range r.Snapshot.Process {
		fmt.Fprintf(w, "  %d. %s [%s] runs in: %s\n", i+1, s.Name, s.Type, scopeText(s.Environments))
		printStepBody(w, s)
	}
	fmt.Fprintln(w)
	p.line(w, bold, fmt.Sprintf("Variables (%d)", len(r.Snapshot.Variables)))
	printVariables(w, r.Snapshot.Variables, r.Snapshot.Templates)
	fmt.Fprintln(w)
	p.line(w, bold, fmt.Sprintf("Packages (%d)", len(r.Packages)))
	if len(r.Packages) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, pk := range r.Packages {
		fmt.Fprintf(w, "  %s %s sha256:%s\n", pk.ID, pk.Version, pk.SHA256)
	}
}

// printStepBody prints what a step does, by its type: a script's lines; a
// package step's package, folder and scripts; a manual intervention's
// instructions and who may decide it.
func printStepBody(w io.Writer, s api.Step) {
	if len(s.Roles) > 0 {
		fmt.Fprintf(w, "       on targets with roles: %s\n", strings.Join(s.Roles, ", "))
	}
	switch s.Type {
	case "manual-intervention":
		teams := "space administrators"
		if len(s.ResponsibleTeams) > 0 {
			teams = strings.Join(s.ResponsibleTeams, ", ") + " (or a space administrator)"
		}
		fmt.Fprintf(w, "       waits for approval by: %s\n", teams)
		if s.PreventSelfApproval {
			fmt.Fprintln(w, "       the deployer may not approve it")
		}
		if s.TimeoutMinutes > 0 {
			fmt.Fprintf(w, "       aborted after %d minutes without a decision\n", s.TimeoutMinutes)
		}
		if s.Instructions != "" {
			fmt.Fprintln(w, "       instructions:")
			printScript(w, s.Instructions)
		}
	case "deploy-package":
		into := ""
		if s.Destination != "" {
			into = " into " + s.Destination
		}
		fmt.Fprintf(w, "       package %s%s\n", s.Package, into)
		for _, part := range []struct{ name, script string }{{"pre-deploy", s.PreDeploy}, {"post-deploy", s.PostDeploy}} {
			if part.script != "" {
				fmt.Fprintf(w, "       %s:\n", part.name)
				printScript(w, part.script)
			}
		}
	default:
		printScript(w, s.Script)
	}
}

func printScript(w io.Writer, script string) {
	for _, line := range strings.Split(strings.TrimRight(script, "\n"), "\n") {
		fmt.Fprintf(w, "       | %s\n", line)
	}
}

func printDiff(w io.Writer, p painter, d api.ReleaseDiff) {
	p.line(w, bold, fmt.Sprintf("%s: %s → %s", d.Project, d.From.Version, d.To.Version))
	if d.Identical {
		fmt.Fprintf(w, "No differences (snapshot %s)\n", d.To.SnapshotDigest)
		return
	}
	fmt.Fprintf(w, "  from %s\n  to   %s\n", d.From.SnapshotDigest, d.To.SnapshotDigest)
	if d.From.SnapshotDigest == d.To.SnapshotDigest {
		fmt.Fprintln(w, "  (equal digests: only secret values differ, which digests leave out)")
	}
	section(w, p, "Steps", d.Steps, printStepChange)
	section(w, p, "Variables", d.Variables, printVariableChange)
	section(w, p, "Templates", d.Templates, printTemplateChange)
	section(w, p, "Packages", d.Packages, printPackageChange)
}

// section prints a titled list of changes, or nothing when there are none.
func section[T any](w io.Writer, p painter, title string, changes []T, print func(io.Writer, painter, T)) {
	if len(changes) == 0 {
		return
	}
	fmt.Fprintln(w)
	p.line(w, bold, title)
	for _, c := range changes {
		print(w, p, c)
	}
}

func printStepChange(w io.Writer, p painter, s api.StepChange) {
	switch s.Change {
	case api.Added:
		p.line(w, green, fmt.Sprintf("  + %s (added as step %d) [%s] runs in: %s", s.Name, s.NewPosition, s.Step.Type, scopeText(s.Step.Environments)))
		if s.Step != nil {
			printStepBody(w, *s.Step)
		}
	case api.Removed:
		p.line(w, red, fmt.Sprintf("  - %s (removed, was step %d)", s.Name, s.OldPosition))
	case api.Moved:
		p.line(w, yellow, fmt.Sprintf("  ↕ %s (moved from step %d to %d)", s.Name, s.OldPosition, s.NewPosition))
	default:
		where := ""
		if s.Moved {
			where = fmt.Sprintf(", moved from step %d to %d", s.OldPosition, s.NewPosition)
		}
		p.line(w, yellow, fmt.Sprintf("  ~ %s (changed%s)", s.Name, where))
		for _, f := range s.Fields {
			fmt.Fprintf(w, "      %s\n", fieldText(f))
		}
		if s.ScriptDiff != "" {
			fmt.Fprintln(w, "      script:")
			printLineDiff(w, p, s.ScriptDiff)
		}
	}
}

func printVariableChange(w io.Writer, p painter, v api.VariableChange) {
	name := v.Name + " (unscoped)"
	if len(v.Environments) > 0 {
		name = fmt.Sprintf("%s [%s]", v.Name, strings.Join(v.Environments, ", "))
	}
	switch {
	case v.Change == api.Added:
		p.line(w, green, fmt.Sprintf("  + %s = %s", name, valueText(v.NewValue, v.NewSensitive)))
	case v.Change == api.Removed:
		p.line(w, red, fmt.Sprintf("  - %s (was %s)", name, valueText(v.OldValue, v.OldSensitive)))
	case v.OldSensitive && v.NewSensitive:
		p.line(w, yellow, fmt.Sprintf("  ~ %s: sensitive value changed", name))
	default:
		p.line(w, yellow, fmt.Sprintf("  ~ %s: %s → %s", name, valueText(v.OldValue, v.OldSensitive), valueText(v.NewValue, v.NewSensitive)))
	}
}

func printTemplateChange(w io.Writer, p painter, t api.TemplateChange) {
	req := "optional"
	if t.Required {
		req = "required"
	}
	switch t.Change {
	case api.Added:
		p.line(w, green, fmt.Sprintf("  + %s [%s, %s]", t.Name, t.Type, req))
	case api.Removed:
		p.line(w, red, fmt.Sprintf("  - %s [%s, %s]", t.Name, t.Type, req))
	default:
		p.line(w, yellow, fmt.Sprintf("  ~ %s [%s, %s]", t.Name, t.Type, req))
		for _, f := range t.Fields {
			fmt.Fprintf(w, "      %s\n", fieldText(f))
		}
	}
}

func printPackageChange(w io.Writer, p painter, c api.PackageChange) {
	ref := func(r *api.PackageRef) string {
		if r == nil {
			return "(none)"
		}
		return fmt.Sprintf("%s (%s)", r.Version, shortDigest("sha256:"+r.SHA256))
	}
	switch c.Change {
	case api.Added:
		p.line(w, green, fmt.Sprintf("  + %s %s", c.ID, ref(c.New)))
	case api.Removed:
		p.line(w, red, fmt.Sprintf("  - %s %s", c.ID, ref(c.Old)))
	default:
		p.line(w, yellow, fmt.Sprintf("  ~ %s: %s → %s", c.ID, ref(c.Old), ref(c.New)))
	}
}

// printLineDiff indents a unified diff and colours its lines.
func printLineDiff(w io.Writer, p painter, diff string) {
	for _, line := range strings.Split(strings.TrimSuffix(diff, "\n"), "\n") {
		colour := ""
		switch {
		case strings.HasPrefix(line, "@@"):
			colour = cyan
		case strings.HasPrefix(line, "+"):
			colour = green
		case strings.HasPrefix(line, "-"):
			colour = red
		}
		p.line(w, colour, "        "+line)
	}
}

func fieldText(f api.FieldChange) string {
	if f.Hidden {
		return f.Field + ": sensitive value changed"
	}
	return fmt.Sprintf("%s: %s → %s", f.Field, anyText(f.Old), anyText(f.New))
}

// anyText shows a field value read back from JSON.
func anyText(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case []any:
		if len(x) == 0 {
			return "(none)"
		}
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, ", ")
	case nil:
		return "(none)"
	}
	return fmt.Sprint(v)
}

func valueText(v *string, sensitive bool) string {
	switch {
	case sensitive:
		return "<sensitive>"
	case v == nil:
		return "(none)"
	}
	return strconv.Quote(*v)
}

// painter colours whole lines for a terminal, or leaves them alone. Its
// escape sequences go around the termWriter, which would show them as text;
// the text between them goes through it, so colour never lets a script's
// text reach the terminal as control sequences.
type painter struct{ on bool }

// SGR codes of the colours painter uses.
const (
	bold   = "1"
	red    = "31"
	green  = "32"
	yellow = "33"
	cyan   = "36"
)

// painter colours when text goes to a terminal and NO_COLOR
// (https://no-color.org) is not set; JSON output is never coloured.
func (a *app) painter() painter {
	if a.output != "text" || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return painter{}
	}
	return painter{on: isTerminal(a.rawStdout)}
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// line writes text and a newline, in colour (an SGR code; "" for none)
// when the painter is on and w is a termWriter.
func (p painter) line(w io.Writer, colour, text string) {
	tw, ok := w.(*termWriter)
	if !p.on || !ok || colour == "" {
		fmt.Fprintln(w, text)
		return
	}
	tw.escape("\x1b[" + colour + "m")
	io.WriteString(tw, text)
	tw.escape("\x1b[0m")
	fmt.Fprintln(tw)
}

// printWhere lists a release's deployments here and in other spaces.
func printWhere(w io.Writer, p painter, list []api.Deployment) {
	fmt.Fprintln(w)
	p.line(w, bold, fmt.Sprintf("Where it went (%d)", len(list)))
	if len(list) == 0 {
		fmt.Fprintln(w, "  not deployed yet")
		return
	}
	var rows [][]string
	for _, d := range list {
		from := fmt.Sprintf("task %d", d.TaskID)
		if d.Space != "" {
			from = "receipt from " + d.Space
			if d.ReceivedFrom != "" && d.ReceivedFrom != d.Space {
				from += ", relayed by " + d.ReceivedFrom
			}
		}
		switch {
		case d.Machines == 1:
			from += ", on 1 target"
		case d.Machines > 1:
			from += fmt.Sprintf(", on %d targets", d.Machines)
		}
		at := d.CreatedAt
		if d.FinishedAt != nil {
			at = *d.FinishedAt
		}
		env := d.Environment
		if d.Tenant != "" {
			env += " (" + d.Tenant + ")"
		}
		rows = append(rows, []string{"  " + env, string(d.State), when(at), dash(d.CreatedBy), from})
	}
	table(w, "  ENVIRONMENT\tSTATE\tWHEN\tBY\tFROM", rows)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
