package e2e

import (
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

const (
	oldSecret = "0ld-S3cret-a1b2c3"
	newSecret = "n3w-S3cret-d4e5f6"
)

const releaseYAML = `environments:
  - name: Development
  - name: Test
lifecycles:
  - name: Main
    phases:
      - name: Dev
        environments: [Development]
      - name: Test
        environments: [Test]
projects:
  - name: Shop
    lifecycle: Main
    variables:
      - name: Banner
        value: plain-banner
      - name: Banner
        value: test-banner
        environments: [Test]
      - name: Token
        value: ` + oldSecret + `
        sensitive: true
    process:
      - name: Announce
        type: script
        script: |
          echo "#{Banner}"
          echo "token=#{Token}"
      - name: Test only
        type: script
        environments: [Test]
        script: echo "only-in-test"
      - name: Finish
        type: script
        script: echo done
`

// changedYAML changes the Announce script and Banner's unscoped value,
// removes "Test only", adds "Notify" and the Region variable and the DbUrl
// template; Finish, Banner[Test] and Token stay as they were.
var changedYAML = strings.NewReplacer(
	`echo "#{Banner}"`, `echo "Banner: #{Banner}"`,
	"value: plain-banner", "value: changed-banner",
	`      - name: Test only
        type: script
        environments: [Test]
        script: echo "only-in-test"
`, `      - name: Notify
        type: script
        script: echo notify
`,
	"    variables:\n", "    templates:\n      - name: DbUrl\n        type: sensitive\n        required: true\n    variables:\n      - name: Region\n        value: eu-west\n",
).Replace(releaseYAML)

type shown struct {
	Version        string
	SnapshotDigest string
	Packages       []any
	Snapshot       struct {
		Process []struct{ Name, Script string }
	}
}

type diffJSON struct {
	Project   string
	Identical bool
	From, To  struct{ Version, SnapshotDigest string }
	Steps     []struct {
		Name, Change, ScriptDiff string
		Moved                    bool
	}
	Variables []struct {
		Name, Change               string
		Environments               []string
		OldValue, NewValue         *string
		OldSensitive, NewSensitive bool
	}
	Templates []struct{ Name, Change string }
}

// TestReleaseShowAndDiff checks frozen snapshots, their digests, and diffs
// between releases and the project's current state, with no secret in any
// output.
func TestReleaseShowAndDiff(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "shop.yaml", releaseYAML))

	// Two releases of the same unchanged state share a digest.
	srv.Must("release", "create", "Shop", "--version", "1.0.0", "--notes", "first")
	srv.Must("release", "create", "Shop", "--version", "1.0.1", "--notes", "same again")
	var r100, r101 shown
	decodeJSON(t, srv.Must("release", "show", "Shop", "1.0.0", "-o", "json").Stdout, &r100)
	decodeJSON(t, srv.Must("release", "show", "Shop", "1.0.1", "-o", "json").Stdout, &r101)
	if !strings.HasPrefix(r100.SnapshotDigest, "sha256:") || len(r100.SnapshotDigest) != 7+64 {
		t.Fatalf("snapshotDigest %q is not sha256:<hex>", r100.SnapshotDigest)
	}
	if r100.SnapshotDigest != r101.SnapshotDigest {
		t.Errorf("releases of the same state have digests %s and %s", r100.SnapshotDigest, r101.SnapshotDigest)
	}
	if r100.Packages == nil {
		t.Error("release show JSON has no packages list")
	}
	text := srv.Must("release", "show", "Shop", "1.0.0").Stdout
	contains(t, text, "Release 1.0.0 of Shop", "Snapshot "+r100.SnapshotDigest, "Announce", `echo "#{Banner}"`,
		"runs in: Test", "plain-banner", "<sensitive, set>", "Packages (0)")

	d := srv.Must("release", "diff", "Shop", "1.0.0", "1.0.1")
	contains(t, d.Stdout, "Shop: 1.0.0 → 1.0.1", "No differences")

	// Change the project; 1.0.0 keeps its snapshot and digest.
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "changed.yaml", changedYAML), "--prune")
	var again shown
	decodeJSON(t, srv.Must("release", "show", "Shop", "1.0.0", "-o", "json").Stdout, &again)
	if again.SnapshotDigest != r100.SnapshotDigest || len(again.Snapshot.Process) != 3 ||
		again.Snapshot.Process[1].Name != "Test only" || !strings.Contains(again.Snapshot.Process[0].Script, `echo "#{Banner}"`) {
		t.Errorf("release 1.0.0 changed with the project: %+v", again)
	}

	// The diff to the current state names what changed and nothing else.
	var cur diffJSON
	decodeJSON(t, srv.Must("release", "diff", "Shop", "1.0.0", "current", "-o", "json").Stdout, &cur)
	if cur.Identical || cur.From.SnapshotDigest != r100.SnapshotDigest || cur.To.Version != "current" || cur.To.SnapshotDigest == r100.SnapshotDigest {
		t.Errorf("diff header: %+v %+v identical=%v", cur.From, cur.To, cur.Identical)
	}
	var steps, vars, tmpls []string
	for _, s := range cur.Steps {
		steps = append(steps, s.Name+":"+s.Change)
	}
	for _, v := range cur.Variables {
		vars = append(vars, v.Name+"["+strings.Join(v.Environments, ",")+"]:"+v.Change)
	}
	for _, tm := range cur.Templates {
		tmpls = append(tmpls, tm.Name+":"+tm.Change)
	}
	equal(t, "steps", strings.Join(steps, " "), "Announce:changed Notify:added Test only:removed")
	equal(t, "variables", strings.Join(vars, " "), "Banner[]:changed Region[]:added")
	equal(t, "templates", strings.Join(tmpls, " "), "DbUrl:added")
	equal(t, "script diff", cur.Steps[0].ScriptDiff, "@@ -1,2 +1,2 @@\n-echo \"#{Banner}\"\n+echo \"Banner: #{Banner}\"\n echo \"token=#{Token}\"\n")
	if v := cur.Variables[0]; v.OldValue == nil || *v.OldValue != "plain-banner" || v.NewValue == nil || *v.NewValue != "changed-banner" {
		t.Errorf("Banner change: %+v", v)
	}

	text = srv.Must("release", "diff", "Shop", "1.0.0", "current").Stdout
	contains(t, text, "Shop: 1.0.0 → current", "~ Announce (changed)", `+echo "Banner: #{Banner}"`, `-echo "#{Banner}"`,
		"+ Notify (added as step 2)", "- Test only (removed, was step 2)",
		`~ Banner (unscoped): "plain-banner" → "changed-banner"`, `+ Region (unscoped) = "eu-west"`, "+ DbUrl [sensitive, required]")
	notContains(t, text, "Finish", "test-banner", "Token (unscoped)", "\x1b[")

	// A release of the current state diffs the same as current, and its
	// digest differs from 1.0.0's.
	srv.Must("release", "create", "Shop", "--version", "1.1.0")
	var r110 shown
	decodeJSON(t, srv.Must("release", "show", "Shop", "1.1.0", "-o", "json").Stdout, &r110)
	if r110.SnapshotDigest == r100.SnapshotDigest || r110.SnapshotDigest != cur.To.SnapshotDigest {
		t.Errorf("1.1.0 digest %s; 1.0.0 %s; current was %s", r110.SnapshotDigest, r100.SnapshotDigest, cur.To.SnapshotDigest)
	}
	var rel diffJSON
	decodeJSON(t, srv.Must("release", "diff", "Shop", "1.0.0", "1.1.0", "-o", "json").Stdout, &rel)
	if len(rel.Steps) != 3 || len(rel.Variables) != 2 || len(rel.Templates) != 1 {
		t.Errorf("1.0.0 → 1.1.0 differs from 1.0.0 → current: %+v", rel)
	}

	// Reorder only: Finish and Notify swap; one of them is reported as moved
	// (a longest common subsequence keeps the other in place).
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "reordered.yaml", strings.Replace(changedYAML,
		"      - name: Notify\n        type: script\n        script: echo notify\n      - name: Finish\n        type: script\n        script: echo done\n",
		"      - name: Finish\n        type: script\n        script: echo done\n      - name: Notify\n        type: script\n        script: echo notify\n", 1)))
	contains(t, srv.Must("release", "diff", "Shop", "1.1.0", "current").Stdout, "↕ Notify (moved from step 2 to 3)")
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "changed.yaml", changedYAML), "--prune")

	// A secret changes: the diff says so without showing either value, and
	// the digest (which leaves secret values out) stays the same.
	srv.RunInput(newSecret, "var", "set", "Shop", "Token", "-", "--sensitive")
	var sec diffJSON
	out := srv.Must("release", "diff", "Shop", "1.1.0", "current", "-o", "json").Stdout
	decodeJSON(t, out, &sec)
	if len(sec.Variables) != 1 || sec.Variables[0].Name != "Token" || sec.Variables[0].Change != "changed" ||
		!sec.Variables[0].OldSensitive || !sec.Variables[0].NewSensitive || sec.Variables[0].OldValue != nil || sec.Variables[0].NewValue != nil ||
		len(sec.Steps) != 0 || sec.Identical || sec.From.SnapshotDigest != sec.To.SnapshotDigest {
		t.Errorf("secret-only change: %s", out)
	}
	contains(t, srv.Must("release", "diff", "Shop", "1.1.0", "current").Stdout, "~ Token (unscoped): sensitive value changed", "only secret values differ")
	srv.Must("release", "create", "Shop", "--version", "1.2.0")

	// No secret anywhere: show and diff, text and JSON, every pair.
	versions := []string{"1.0.0", "1.0.1", "1.1.0", "1.2.0", "current"}
	for _, v := range versions[:4] {
		for _, o := range []string{"text", "json"} {
			notContains(t, srv.Must("release", "show", "Shop", v, "-o", o).Out(), oldSecret, newSecret)
		}
	}
	for _, a := range versions {
		for _, b := range versions {
			for _, o := range []string{"text", "json"} {
				notContains(t, srv.Must("release", "diff", "Shop", a, b, "-o", o).Out(), oldSecret, newSecret)
			}
		}
	}

	// Bad input: clear errors.
	contains(t, srv.Fail("release", "diff", "Shop", "1.0.0", "9.9.9").Stderr, `"9.9.9"`, "not found")
	contains(t, srv.Fail("release", "diff", "Nope", "1.0.0", "current").Stderr, `project "Nope" not found`)
	contains(t, srv.Fail("release", "diff", "Shop", "1.0.0").Stderr, "accepts 3 arg")
	contains(t, srv.Fail("release", "show", "Shop", "9.9.9").Stderr, `"9.9.9"`, "not found")
}

func equal(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s:\n%q\nwant\n%q", what, got, want)
	}
}
