package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/client"
)

// Kinds of failure that are the command line's own, beside the kinds a
// server answers (api.Kind).
const (
	kindFailed api.Kind = "failed" // what the command did failed: a deployment, a verification
	kindUsage  api.Kind = "usage"  // the command line is wrong
)

// exitCodes gives each kind of failure its exit code; `ferry --help`
// lists it. Scripts may rely on these numbers.
var exitCodes = []struct {
	code  int
	kinds []api.Kind
	means string
}{
	{1, []api.Kind{kindFailed}, "what the command did failed: a deployment (--wait), a delivery"},
	{2, []api.Kind{kindUsage}, "an unknown command or flag, a missing or extra argument"},
	{3, []api.Kind{api.KindInvalid}, "the server refused the input: it breaks a rule, or a file is damaged or altered (the message names the rule)"},
	{4, []api.Kind{api.KindNotFound}, "something named does not exist (a local file included)"},
	{5, []api.Kind{api.KindForbidden, api.KindUnauthorized}, "no permission (forbidden), or no or a wrong API key (unauthorized)"},
	{6, []api.Kind{api.KindConflict}, "it exists already, changed underneath, or is still in use (a refused delete names what uses it)"},
	{7, []api.Kind{api.KindUntrusted}, "signed by a space not known or trusted for it, or revoked, or its signature does not verify"},
	{8, []api.Kind{api.KindUnreachable}, "no answer from the server (its address, TLS, or its pinned certificate)"},
	{9, []api.Kind{api.KindUnavailable, api.KindTooManyRequests}, "the server is busy or throttling; try again later"},
	{10, []api.Kind{api.KindInternal}, "the server failed; its log says why"},
}

// exitCodeHelp is the table of exit codes for the root command's help.
func exitCodeHelp() string {
	var b strings.Builder
	b.WriteString("Exit codes (with -o json, an error is {\"error\": \"...\", \"kind\": \"...\"} on standard error):\n")
	fmt.Fprintf(&b, "  %-3d %s\n", 0, "success")
	names := make([]string, len(exitCodes))
	width := 0
	for i, e := range exitCodes {
		kinds := make([]string, len(e.kinds))
		for j, k := range e.kinds {
			kinds[j] = string(k)
		}
		names[i] = strings.Join(kinds, ", ")
		width = max(width, len(names[i]))
	}
	for i, e := range exitCodes {
		fmt.Fprintf(&b, "  %-3d %-*s  %s\n", e.code, width, names[i], e.means)
	}
	return b.String()
}

// exitError ends the program with the exit code of kind and a message.
type exitError struct {
	kind api.Kind
	msg  string
	rule string // the rule of a refusal, for -o json (api.ErrorBody)
}

func (e exitError) Error() string { return e.msg }

// usagef reports a command line that is wrong (exit code 2).
func usagef(format string, args ...any) error {
	return exitError{kind: kindUsage, msg: fmt.Sprintf(format, args...)}
}

// failed reports that what the command did failed (exit code 1), or, for
// a refusal of a known kind (a bundle that does not verify), that kind's
// exit code.
func failed(kind api.Kind, format string, args ...any) error {
	if kind == "" || kind == api.KindInternal {
		kind = kindFailed
	}
	return exitError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// classify returns the kind and the exit code of err, and its message.
func classify(err error) (api.Kind, int, string) {
	kind, msg := kindFailed, err.Error()
	var ex exitError
	var pe *fs.PathError
	switch {
	case errors.As(err, &ex):
		kind = ex.kind
	case client.KindOf(err) != "":
		kind = client.KindOf(err)
		if kind == api.KindUnreachable {
			msg += " (is it running? set --server or FERRY_SERVER; --server-fingerprint pins a self-signed certificate)"
		}
	case errors.As(err, &pe) && errors.Is(err, fs.ErrNotExist):
		kind = api.KindNotFound
	case errors.As(err, &pe) && errors.Is(err, fs.ErrPermission):
		kind = api.KindForbidden
	}
	for _, e := range exitCodes {
		for _, k := range e.kinds {
			if k == kind {
				return kind, e.code, msg
			}
		}
	}
	return kindFailed, 1, msg
}

// report prints err on standard error, as JSON with -o json, and returns
// the exit code.
func (a *app) report(err error) int {
	kind, code, msg := classify(err)
	if a.jsonOutput() {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		body := api.ErrorBody{Error: msg, Kind: kind}
		var ce *client.Error
		var ex exitError
		if errors.As(err, &ce) {
			body.Rule, body.Referrers = ce.Rule, ce.Referrers
		} else if errors.As(err, &ex) {
			body.Rule = ex.rule
		}
		enc.Encode(body)
		a.rawStderr.Write(jsonSafe(b.Bytes()))
		return code
	}
	fmt.Fprintln(a.stderr, "error:", msg)
	return code
}
