package cli

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/api"
)

func TestPainter(t *testing.T) {
	tty, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0) // a character device, as a terminal is
	if err != nil {
		t.Skip(err)
	}
	defer tty.Close()
	cases := []struct {
		name    string
		out     io.Writer
		output  string
		noColor string
		want    bool
	}{
		{"terminal", tty, "text", "", true},
		{"NO_COLOR", tty, "text", "1", false},
		{"json", tty, "json", "", false},
		{"pipe or buffer", &bytes.Buffer{}, "text", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("NO_COLOR", c.noColor)
			t.Setenv("TERM", "xterm")
			a := newApp(nil, c.out, io.Discard)
			a.output = c.output
			p := a.painter()
			if p.on != c.want {
				t.Errorf("colour %v, want %v", p.on, c.want)
			}
			var b bytes.Buffer
			p.line(newTermWriter(&b), red, "x\x1b[2J")
			want := "x^[[2J\n"
			if c.want {
				want = "\x1b[31m" + want[:len(want)-1] + "\x1b[0m\n"
			}
			if b.String() != want {
				t.Errorf("line = %q, want %q", b.String(), want)
			}
		})
	}
}

// TestDiffShowsEverySection: the text form of a release diff shows every
// kind of change the diff holds — the packages a release pins included.
func TestDiffShowsEverySection(t *testing.T) {
	s := func(v string) *string { return &v }
	d := api.ReleaseDiff{
		Project: "Shop", From: api.DiffSide{Version: "1.0.0", SnapshotDigest: "sha256:aa"}, To: api.DiffSide{Version: "1.1.0", SnapshotDigest: "sha256:bb"},
		Steps:     []api.StepChange{{Name: "Deploy", Change: api.Removed, OldPosition: 1}},
		Variables: []api.VariableChange{{Name: "Banner", Change: api.Changed, OldValue: s("a"), NewValue: s("b")}},
		Templates: []api.TemplateChange{{Name: "Conn", Change: api.Added, Type: "sensitive", Required: true}},
		Packages: []api.PackageChange{
			{ID: "web", Change: api.Changed, Old: &api.PackageRef{ID: "web", Version: "1.0.0", SHA256: strings.Repeat("a", 64)}, New: &api.PackageRef{ID: "web", Version: "1.1.0", SHA256: strings.Repeat("b", 64)}},
			{ID: "db", Change: api.Added, New: &api.PackageRef{ID: "db", Version: "2.0.0", SHA256: strings.Repeat("c", 64)}},
		},
	}
	var b bytes.Buffer
	printDiff(&b, painter{}, d)
	for _, want := range []string{"Steps\n  - Deploy (removed, was step 1)", `Variables` + "\n" + `  ~ Banner (unscoped): "a" → "b"`, "Templates\n  + Conn [sensitive, required]",
		"Packages\n  ~ web: 1.0.0 (sha256:aaaaaaaaaaaa…) → 1.1.0 (sha256:bbbbbbbbbbbb…)\n  + db 2.0.0 (sha256:cccccccccccc…)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the diff does not show %q:\n%s", want, b.String())
		}
	}
}
