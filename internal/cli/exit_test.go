package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/client"
)

// TestExitCodesDistinct: one code per kind, every kind a server answers has
// one, and the root command's help lists them all.
func TestExitCodesDistinct(t *testing.T) {
	codes := map[int]bool{}
	kinds := map[api.Kind]int{}
	for _, e := range exitCodes {
		if codes[e.code] || e.code == 0 {
			t.Errorf("exit code %d twice (or 0)", e.code)
		}
		codes[e.code] = true
		for _, k := range e.kinds {
			kinds[k] = e.code
		}
	}
	for _, k := range append(api.Kinds, api.KindUnreachable, kindUsage, kindFailed) {
		if kinds[k] == 0 {
			t.Errorf("kind %s has no exit code", k)
		}
	}
	var out bytes.Buffer
	if code := Execute(t.Context(), []string{"--help"}, strings.NewReader(""), &out, &out); code != 0 {
		t.Fatalf("--help: exit %d", code)
	}
	for _, e := range exitCodes {
		if !strings.Contains(out.String(), fmt.Sprintf("\n  %-3d %s", e.code, e.kinds[0])) {
			t.Errorf("--help does not list exit code %d:\n%s", e.code, out.String())
		}
	}
}

func TestClassify(t *testing.T) {
	_, missing := os.Open("/no/such/file")
	for _, tc := range []struct {
		err  error
		code int
	}{
		{&client.Error{Kind: api.KindNotFound, Message: "x"}, 4},
		{fmt.Errorf("wrapped: %w", &client.Error{Kind: api.KindUntrusted}), 7},
		{&client.Error{Kind: api.KindUnauthorized}, 5},
		{&client.Error{Kind: api.KindTooManyRequests}, 9},
		{&client.Error{Kind: "new-kind"}, 1},
		{missing, 4},
		{usagef("bad"), 2},
		{failed(api.KindInvalid, "did not verify"), 3},
		{failed("", "task failed"), 1},
		{errors.New("anything else"), 1},
	} {
		if _, code, _ := classify(tc.err); code != tc.code {
			t.Errorf("%v: exit %d, want %d", tc.err, code, tc.code)
		}
	}
}

func TestAskedJSON(t *testing.T) {
	for args, want := range map[string]bool{
		"-o json env list --bogus": true, "env list -ojson": true, "--output=json x": true, "-o=json": true,
		"--output json": true, "-o text": false, "env list": false, "var set P json -o": false,
	} {
		if got := askedJSON(strings.Fields(args)); got != want {
			t.Errorf("%q: %v", args, got)
		}
	}
}

// commandPaths lists every command of the tree as its words below ferry,
// cobra's own (help, completion) included.
func commandPaths(t *testing.T) (groups, leaves [][]string) {
	t.Helper()
	root := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}).rootCommand()
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		if c.HasSubCommands() {
			groups = append(groups, path)
		} else {
			leaves = append(leaves, path)
		}
		for _, sub := range c.Commands() {
			walk(sub, append(slices.Clone(path), sub.Name()))
		}
	}
	walk(root, nil)
	if len(groups) < 10 || len(leaves) < 40 || !slices.ContainsFunc(leaves, func(p []string) bool { return slices.Equal(p, []string{"help"}) }) {
		t.Fatalf("the tree has %d groups and %d leaves (help among them?)", len(groups), len(leaves))
	}
	return groups, leaves
}

// TestUnknownNamesAreUsageErrors: an unknown command under any command
// that holds others, an unknown flag on any command, and an unknown help
// topic exit with the usage code, and say so as JSON under -o json —
// cobra's own help and completion commands included.
func TestUnknownNamesAreUsageErrors(t *testing.T) {
	groups, leaves := commandPaths(t)
	var cases [][]string
	for _, g := range groups {
		cases = append(cases, append(slices.Clone(g), "frobnicate"))
	}
	for _, l := range append(groups, leaves...) {
		cases = append(cases, append(slices.Clone(l), "--frobnicate"))
	}
	cases = append(cases, []string{"help", "frobnicate"}, []string{"help", "env", "frobnicate"}, []string{"completion", "bash", "extra"})
	for _, args := range cases {
		var out, errs bytes.Buffer
		code := Execute(t.Context(), append([]string{"-o", "json"}, args...), strings.NewReader(""), &out, &errs)
		var body api.ErrorBody
		if code != 2 || json.Unmarshal(errs.Bytes(), &body) != nil || body.Kind != kindUsage || out.Len() != 0 {
			t.Errorf("ferry -o json %s: exit %d, stdout %q, stderr %q; want exit 2 and a usage error", strings.Join(args, " "), code, out.String(), errs.String())
		}
	}
}

// TestTaskIDs: a task ID that is not a positive whole number is a usage
// error that says so (0 and -1 were called "not a number").
func TestTaskIDs(t *testing.T) {
	for _, arg := range []string{"0", "-1", "abc", "1.5", ""} {
		_, err := taskID(arg)
		if kind, code, msg := classify(err); kind != kindUsage || code != 2 || !strings.Contains(msg, "positive whole number") {
			t.Errorf("task ID %q: %v (exit %d)", arg, err, code)
		}
	}
	if id, err := taskID("42"); id != 42 || err != nil {
		t.Errorf("task ID 42: %d %v", id, err)
	}
}
