package e2e

import (
	"crypto/rand"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// randomFingerprint is a well-formed certificate fingerprint of no space.
func randomFingerprint() string {
	b := make([]byte, 32)
	rand.Read(b)
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, ":")
}

// TestOriginNamesCannotPassForKnownSpaces: a space trusted for releases
// signs bundles whose origin goes by the name of a space this space knows
// — this space itself, a remote space, the origin of a remote project —
// spelt the same or so that it looks the same (case, width, spaces, zero
// width and direction marks), with another fingerprint; or names a project
// that looks like one the origin already has here. Each is refused, naming
// the rule, and nothing is imported; an origin of its own name still is.
func TestOriginNamesCannotPassForKnownSpaces(t *testing.T) {
	p := newPair(t)
	p.release(t)
	file := p.promote(t)
	prod := func(args ...string) string {
		return p.prod.Must(append([]string{"--space", "Prod Space"}, args...)...).Stdout
	}
	prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}]
lifecycles: [{name: Production, phases: [{name: Live, environments: [Production]}]}]
`))
	prod("bundle", "import", file)
	p.dev.Must("space", "create", "Other Space")
	otherPEM := filepath.Join(t.TempDir(), "other.pem")
	p.dev.Must("space", "cert", "Other Space", "--out", otherPEM)
	prod("remote-space", "add", "Other Space", "--cert", otherPEM, "--trust", "releases")
	other := p.dev.SpaceIdentity(t, "Other Space")
	genuine := bundlePayload(t, file)
	forged := func(originSpace, originFP, project string) string {
		pl := genuine
		pl.ID = "forged-" + randomFingerprint()[:8]
		pl.Source = bundle.SpaceRef{Space: "Other Space", Fingerprint: fingerprintOf(other)}
		pl.Origin = bundle.Origin{Space: originSpace, Fingerprint: originFP, Project: project}
		pl.Process = append([]domain.Step(nil), genuine.Process...)
		pl.Process[0].Script = "echo pwned-by-other"
		return forgeBundle(t, other, retargeted(pl))
	}
	refused := func(what, file string, wants ...string) {
		t.Helper()
		r := p.prod.Fail("--space", "Prod Space", "bundle", "import", file)
		contains(t, r.Stderr, wants...)
		if t.Failed() {
			t.Fatalf("%s: %s", what, r.Stderr)
		}
	}

	// The importing space's own name, and a known remote space's, however
	// spelt, with a fingerprint that is not theirs.
	for _, name := range []string{
		"Prod Space", "prod space", "PROD SPACE", "Prod  Space", "Ｐｒｏｄ Space",
		"DevTest Space", "devtest space", "DevTest  Space", "Ｄｅｖｔｅｓｔ Space",
		"Other space",
	} {
		refused(fmt.Sprintf("origin %q", name), forged(name, randomFingerprint(), "My Project"), "refused [bundle-origin-name]")
	}
	// Names that hide what they are: zero-width and direction marks, other
	// spaces, a colon that only looks different.
	for _, name := range []string{"Prod\u00a0Space", "DevTest\u2009Space", "DevTest Space\u200b", "Dev\u200dTest Space", "\u202eecapS tseTveD", "DevTest Space\ufeff", "DevTest：Space"} {
		refused(fmt.Sprintf("origin %q", name), forged(name, randomFingerprint(), "My Project"), "refused [bundle-origin")
	}
	// DevTest's own fingerprint: its projects may not get lookalikes.
	for _, project := range []string{"my project", "MY PROJECT", "My  Project", "Ｍｙ Project", "My Project\u200b"} {
		refused(fmt.Sprintf("project %q", project), forged("DevTest Space", genuine.Origin.Fingerprint, project), "refused [bundle-")
	}

	// A new origin, known here only from its project, keeps its name.
	fresh := randomFingerprint()
	contains(t, prod("bundle", "import", forged("Faraway Space", fresh, "Tool")), "Imported Faraway Space: Tool 1.0.0")
	for _, name := range []string{"Faraway Space", "faraway space", "Faraway  Space"} {
		refused(fmt.Sprintf("origin %q with another fingerprint", name), forged(name, randomFingerprint(), "Other Tool"), "refused [bundle-origin-name]", `"Faraway Space"`)
	}
	contains(t, prod("bundle", "import", forged("Faraway Space", fresh, "Second Tool")), "Imported Faraway Space: Second Tool 1.0.0")

	list := prod("project", "list")
	for _, line := range strings.Split(strings.TrimSpace(list), "\n")[1:] {
		name := strings.TrimSpace(strings.SplitN(line, "  ", 2)[0])
		switch name {
		case "DevTest Space: My Project", "Faraway Space: Tool", "Faraway Space: Second Tool":
		default:
			t.Errorf("project %q was imported:\n%s", name, list)
		}
	}
}

// TestOriginNamedLikeThisSpaceWhenKnown: two servers whose spaces are both
// called "Default". The receiving one knows the other by its certificate,
// under a name of its own; releases from it keep coming as "Default: ...".
func TestOriginNamedLikeThisSpaceWhenKnown(t *testing.T) {
	bin := ferrytest.Build(t)
	a, b := bin.StartServer(t), bin.StartServer(t)
	dir := t.TempDir()
	aPEM, bPEM := filepath.Join(dir, "a.pem"), filepath.Join(dir, "b.pem")
	a.Must("space", "cert", "Default", "--out", aPEM)
	b.Must("space", "cert", "Default", "--out", bPEM)
	a.Must("remote-space", "add", "Ops", "--cert", bPEM, "--trust", "promote")
	b.Must("remote-space", "add", "Dev", "--cert", aPEM, "--trust", "releases")
	a.Must("apply", "-f", ferrytest.WriteFile(t, "a.yaml", `remoteEnvironments: ["Ops: Live"]
lifecycles: [{name: Main, phases: [{name: Live, environments: ["Ops: Live"]}]}]
projects: [{name: Shop, lifecycle: Main, process: [{name: s, type: script, script: echo shop}]}]
`))
	b.Must("apply", "-f", ferrytest.WriteFile(t, "b.yaml", `environments: [{name: Live}]
lifecycles: [{name: Main, phases: [{name: Live, environments: [Live]}]}]
`))
	a.Must("release", "create", "Shop", "--version", "1.0.0")
	file := filepath.Join(dir, "shop.bundle")
	a.Must("promote", "Shop", "1.0.0", "--to", "Ops", "--out", file)
	contains(t, b.Must("bundle", "import", file).Stdout, "Imported Default: Shop 1.0.0")
}
