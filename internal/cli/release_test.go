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
			p := (&app{output: c.output, stdout: c.out}).painter()
			if p.on != c.want {
				t.Errorf("colour %v, want %v", p.on, c.want)
			}
			if got := p.red("x"); (got != "x") != c.want {
				t.Errorf("red(x) = %q", got)
			}
		})
	}
}
