package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestTermSafe(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain text, tabs\tand UTF-8: Grüße 日本語 🚀\n", "plain text, tabs\tand UTF-8: Grüße 日本語 🚀\n"},
		{"\x1b[2J\x1b[H clear", "^[[2J^[[H clear"},                           // CSI: clear screen, cursor home
		{"\x1b]0;owned\x07title", "^[]0;owned^Gtitle"},                       // OSC window title, BEL
		{"\x1b]52;c;ZXZpbA==\x1b\\", "^[]52;c;ZXZpbA==^[\\"},                 // OSC 52: set the clipboard
		{"\x1bP+q\x1b\\", "^[P+q^[\\"},                                       // DCS
		{"good\rbad", "good^Mbad"},                                           // CR overwriting the line
		{"windows line\r\n", "windows line\n"},                               // CRLF stays a line end
		{"abc\b\b\bxyz", "abc^H^H^Hxyz"},                                     // backspaces
		{"del\x7f", "del^?"},                                                 // DEL
		{"nul\x00", "nul^@"},                                                 // NUL
		{"c1 \u009b2J \u009d0;x\u009c", "c1 <U+009B>2J <U+009D>0;x<U+009C>"}, // C1 CSI, OSC, ST as UTF-8
		{"raw \x9b2J", "raw <0x9B>2J"},                                       // 8-bit CSI byte (invalid UTF-8)
		{"bidi \u202eevil\u202c \u2066x\u2069", "bidi <U+202E>evil<U+202C> <U+2066>x<U+2069>"},
		{"cut \xe6\x97", "cut <0xE6><0x97>"}, // truncated UTF-8 at the end
	}
	for _, c := range cases {
		if got := termSafe(c.in); got != c.want {
			t.Errorf("termSafe(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestTermWriterSplitWrites feeds every case one byte at a time: sequences
// split across writes are handled as if written whole.
func TestTermWriterSplitWrites(t *testing.T) {
	for _, in := range []string{"日本語 🚀 Grüße", "a\r\nb", "a\rb", "x\u009by", "end\r"} {
		var b bytes.Buffer
		w := newTermWriter(&b)
		for i := 0; i < len(in); i++ {
			w.Write([]byte{in[i]})
		}
		w.Flush()
		if want := termSafe(in); b.String() != want {
			t.Errorf("byte by byte %q: got %q, want %q", in, b.String(), want)
		}
	}
}

func TestJSONSafe(t *testing.T) {
	in := map[string]string{"text": "\x1b[31mred\x07 \u009b1m \u202e Grüße 🚀 \x7f \r\n \xff"}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out := jsonSafe(raw)
	for _, bad := range []string{"\x1b", "\x07", "\u009b", "\u202e", "\x7f", "\r"} {
		if strings.Contains(string(out), bad) {
			t.Errorf("JSON output holds %q: %s", bad, out)
		}
	}
	var back map[string]string
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	var want map[string]string
	json.Unmarshal(raw, &want)
	if back["text"] != want["text"] {
		t.Errorf("decoded %q, want %q", back["text"], want["text"])
	}
}

// logLines is what a chatty deployment prints: 10,000 lines of ordinary
// text, some UTF-8, one in a hundred with a colour sequence.
func logLines() []string {
	lines := make([]string, 10000)
	for i := range lines {
		lines[i] = fmt.Sprintf("12:00:%02d  step %d: copied config/app-%d.json to /srv/shop (Größe 1.2 KiB) ✓", i%60, i, i)
		if i%100 == 0 {
			lines[i] = "\x1b[32m" + lines[i] + "\x1b[0m"
		}
	}
	return lines
}

// BenchmarkTermWriter prints a log through the termWriter; BenchmarkRawWriter
// prints the same straight to the writer, as before: the baseline.
func BenchmarkTermWriter(b *testing.B) {
	lines := logLines()
	b.ReportAllocs()
	for b.Loop() {
		w := newTermWriter(io.Discard)
		for _, l := range lines {
			fmt.Fprintf(w, "%s\n", l)
		}
		w.Flush()
	}
}

func BenchmarkRawWriter(b *testing.B) {
	lines := logLines()
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			fmt.Fprintf(io.Discard, "%s\n", l)
		}
	}
}
