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

// TestHelpShowsNoAPIKey: with FERRY_API_KEY set, no command's --help
// prints it (it was shown as the --api-key flag's default).
func TestHelpShowsNoAPIKey(t *testing.T) {
	const key = "ferry_helpmustnotshowthiskey"
	t.Setenv("FERRY_API_KEY", key)
	groups, leaves := commandPaths(t)
	for _, path := range append(groups, leaves...) {
		var out, errs bytes.Buffer
		Execute(t.Context(), append(append([]string{}, path...), "--help"), strings.NewReader(""), &out, &errs)
		if strings.Contains(out.String()+errs.String(), key) {
			t.Fatalf("ferry %s --help prints the API key", strings.Join(path, " "))
		}
	}
}
