package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

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
