package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// hostileScript prints what a script could use to take over the terminal of
// whoever reads its log: CSI (clear screen, cursor moves), OSC (window
// title, clipboard), DCS, C1 controls as UTF-8 and as raw 8-bit bytes, BEL,
// backspaces and a lone CR that overwrites the line — with ordinary UTF-8
// text around them that must come through intact.
const hostileScript = `printf 'before \033[2J\033[H cleared\n'
printf 'title \033]0;pwned\007 set\n'
printf 'clip \033]52;c;ZXZpbA==\033\\ copied\n'
printf 'dcs \033P+q544e\033\\ query\n'
printf 'c1 \302\2332J and \302\2350;t\302\234 done\n'
printf 'raw \2332J byte\n'
printf 'erase abc\b\b\bxyz\n'
printf 'all good\rFAILED\n'
printf 'bell \007\007 rung\n'
printf 'bidi \342\200\256txt.exe\n'
printf 'Grüße 日本語 🚀 ok\n'
`

// controls are the bytes and runes that must never reach a terminal.
var controls = []string{"\x1b", "\x07", "\x08", "\r", "\x9b", "\u009b", "\u009d", "\u009c", "\u202e"}

func noControls(t *testing.T, what, out string) {
	t.Helper()
	for _, c := range controls {
		if strings.Contains(out, c) {
			t.Errorf("%s prints the control %q:\n%q", what, c, out)
		}
	}
}

// TestTerminalSafeOutput: what a script prints (and notes and names that
// came from a server) cannot take over the terminal of the person reading
// it with `deploy --wait`, `task log`, `task list`, `release show`; JSON
// output stays exact JSON that decodes to the very text the script printed.
func TestTerminalSafeOutput(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	yaml := "environments: [{name: Development}]\n" +
		"lifecycles: [{name: Main, phases: [{name: Dev, environments: [Development]}]}]\n" +
		"projects:\n  - name: Shop\n    lifecycle: Main\n    process:\n      - name: \"Noisy \\e[2J step\"\n        type: script\n        script: |\n" +
		indent(hostileScript, "          ")
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "space.yaml", yaml))
	srv.Must("release", "create", "Shop", "--version", "1.0.0", "--notes", "notes \x1b]0;pwned\x07 \x1b[31mred\x1b[0m \u009b1m")

	r := srv.Must("deploy", "Shop", "1.0.0", "--to", "Development", "--wait")
	for _, out := range []ferrytest.Result{r, srv.Must("task", "log", "1"), srv.Must("task", "log", "1", "--follow")} {
		noControls(t, "deploy --wait / task log", out.Stdout+out.Stderr)
		contains(t, out.Stdout,
			"before ^[[2J^[[H cleared", "title ^[]0;pwned^G set", "clip ^[]52;c;ZXZpbA==^[\\ copied",
			"c1 <U+009B>2J and <U+009D>0;t<U+009C> done", "raw \uFFFD2J byte", "erase abc^H^H^Hxyz",
			"all good^MFAILED", "bell ^G^G rung", "bidi <U+202E>txt.exe", "Grüße 日本語 🚀 ok")
	}
	for _, args := range [][]string{{"task", "list"}, {"release", "show", "Shop", "1.0.0"}, {"release", "list", "Shop"}, {"audit", "list"}} {
		out := srv.Must(args...)
		noControls(t, strings.Join(args, " "), out.Stdout+out.Stderr)
	}
	contains(t, srv.Must("release", "show", "Shop", "1.0.0").Stdout, "notes ^[]0;pwned^G ^[[31mred^[[0m <U+009B>1m", "Noisy ^[[2J step")

	// -o json: exact JSON, no raw control characters, the script's very text.
	out := srv.Must("task", "log", "1", "-o", "json").Stdout
	noControls(t, "task log -o json", out)
	var page struct {
		Lines []struct{ Text string } `json:"lines"`
	}
	if err := json.Unmarshal([]byte(out), &page); err != nil {
		t.Fatalf("task log -o json is not JSON: %v\n%s", err, out)
	}
	var texts []string
	for _, l := range page.Lines {
		texts = append(texts, l.Text)
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"before \x1b[2J\x1b[H cleared", "title \x1b]0;pwned\x07 set", "c1 \u009b2J", "erase abc\b\b\bxyz", "all good\rFAILED", "bidi \u202etxt.exe", "Grüße 日本語 🚀 ok"} {
		if !strings.Contains(all, want) {
			t.Errorf("task log -o json lost %q; lines:\n%q", want, texts)
		}
	}
	show := srv.Must("release", "show", "Shop", "1.0.0", "-o", "json").Stdout
	noControls(t, "release show -o json", show)
	var rel struct{ Notes string }
	if err := json.Unmarshal([]byte(show), &rel); err != nil || rel.Notes != "notes \x1b]0;pwned\x07 \x1b[31mred\x1b[0m \u009b1m" {
		t.Errorf("release show -o json notes = %q (%v)", rel.Notes, err)
	}
}
