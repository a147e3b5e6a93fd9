package cli

import (
	"bytes"
	"io"
	"os"
	"testing"
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
