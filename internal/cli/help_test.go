package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestEveryCommandHasExamples: the help of every command that does
// something (not cobra's own help and completion) shows how to call it,
// in its examples.
func TestEveryCommandHasExamples(t *testing.T) {
	_, leaves := commandPaths(t)
	root := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}).rootCommand()
	for _, path := range leaves {
		if path[0] == "help" || path[0] == "completion" {
			continue
		}
		cmd, _, err := root.Find(path)
		if err != nil {
			t.Fatal(err)
		}
		call := "ferry " + strings.Join(path, " ")
		if !strings.Contains(cmd.Example, "  "+call+" ") && !strings.Contains(cmd.Example, "| "+call+" ") {
			t.Errorf("%s --help has no example of it (Example %q)", call, cmd.Example)
		}
	}
}
