package step

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// functionsFile is where a step's bash finds ferry's functions (BASH_ENV),
// in its working folder.
const functionsFile = ".ferry-functions.sh"

// bashFunctions are the functions every step's bash has, as Octopus's
// Calamari gives them: they print service messages on standard output
// (attributes base64, so any value fits on one line), which the step's
// output reader takes out of the log.
const bashFunctions = `# ferry's functions for step scripts (docs/agents.md, "Output variables").
__ferry_b64() { printf '%s' "$1" | base64 -w0; }
set_ferryvariable() {
  if [ $# -lt 2 ]; then echo "usage: set_ferryvariable NAME VALUE [--sensitive]" >&2; return 2; fi
  local sensitive=RmFsc2U= # base64 of False
  case "${3:-}" in --sensitive|-sensitive|True|true) sensitive=VHJ1ZQ== ;; esac
  echo "##ferry[setVariable name='$(__ferry_b64 "$1")' value='$(__ferry_b64 "$2")' sensitive='$sensitive']"
}
set_octopusvariable() { set_ferryvariable "$@"; }
fail_step() {
  if [ -n "${1:-}" ]; then echo "##ferry[resultMessage message='$(__ferry_b64 "$1")']"; fi
  exit 1
}
`

// Limits on what one step may set as output variables.
const (
	maxOutputs     = 1000
	maxWarnings    = 10 // of outputs another machine reported (Keep)
	maxOutputBytes = 1 << 20
)

var (
	serviceMessageRE = regexp.MustCompile(`^##(?:ferry|octopus)\[([A-Za-z]+)((?: [A-Za-z]+='[A-Za-z0-9+/=]*')*)\]$`)
	attributeRE      = regexp.MustCompile(` ([A-Za-z]+)='([A-Za-z0-9+/=]*)'`)
	outputNameRE     = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}$`)
)

// outputs reads a script's standard output: service messages set output
// variables or the failure message, every other line goes to the log.
type outputs struct {
	log    Log
	list   []Output
	bytes  int
	failed string
}

// stdout and stderr read the script's two streams: a service message is
// one on either (so that none reaches the log, base64 or not).
func (o *outputs) stdout(text string) { o.line(text, o.log.Info) }
func (o *outputs) stderr(text string) { o.line(text, o.log.Error) }

func (o *outputs) line(text string, emit func(string)) {
	m := serviceMessageRE.FindStringSubmatch(strings.TrimRight(text, " \t"))
	if m == nil {
		emit(text)
		return
	}
	attrs := map[string]string{}
	for _, a := range attributeRE.FindAllStringSubmatch(m[2], -1) {
		v, err := base64.StdEncoding.DecodeString(a[2])
		if err != nil {
			o.log.Error(fmt.Sprintf("Warning: a service message with an attribute that is not base64 (%s) was ignored", a[1]))
			return
		}
		attrs[a[1]] = string(v)
	}
	switch strings.ToLower(m[1]) {
	case "setvariable":
		o.set(attrs["name"], attrs["value"], strings.EqualFold(attrs["sensitive"], "true"))
	case "resultmessage", "stepfailed":
		o.failed = attrs["message"]
	default:
		emit(text)
	}
}

// set records an output variable; a sensitive value is masked from now on
// (it never reached the log: its service message did not).
func (o *outputs) set(name, value string, sensitive bool) {
	switch {
	case !outputNameRE.MatchString(name):
		o.log.Error(fmt.Sprintf("Warning: output variable name %q was ignored: use letters, digits and . _ -", name))
		return
	case len(o.list) >= maxOutputs || o.bytes+len(value) > maxOutputBytes:
		o.log.Error(fmt.Sprintf("Warning: output variable %q was ignored: a step may set at most %d output variables of %d bytes in all", name, maxOutputs, maxOutputBytes))
		return
	}
	if sensitive && value != "" {
		o.log.Secrets(value)
	}
	o.bytes += len(value)
	o.list = append(o.list, Output{Name: name, Value: value, Sensitive: sensitive})
	kind := "output variable"
	if sensitive {
		kind = "sensitive output variable"
	}
	o.log.Info(fmt.Sprintf("Set %s %s", kind, name))
}

// maxLine bounds a log line: longer ones are split, not lost. A service
// message may be longer (maxMessage), since a value must not be cut; one
// longer still is dropped whole, never split into the log, where a
// sensitive value would show.
const (
	maxLine    = 64 << 10
	maxMessage = 2 << 20
)

// lineWriter turns a script's output into log lines.
type lineWriter struct {
	emit     func(string)
	buf      []byte
	dropping bool // inside an over-long service message, until its newline
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		if !w.dropping {
			w.emit(strings.TrimRight(string(w.buf[:i]), "\r"))
		}
		w.dropping = false
		w.buf = w.buf[i+1:]
	}
	if w.dropping || isMessage(w.buf) {
		if len(w.buf) > maxMessage || w.dropping {
			if !w.dropping {
				w.emit("Warning: a service message longer than 2 MiB was ignored")
			}
			w.dropping, w.buf = true, nil
		}
		return len(p), nil
	}
	for len(w.buf) >= maxLine {
		n := maxLine
		for n > maxLine-utf8.UTFMax && !utf8.RuneStart(w.buf[n]) {
			n--
		}
		w.emit(string(w.buf[:n]))
		w.buf = w.buf[n:]
	}
	w.buf = append([]byte(nil), w.buf...) // let the consumed part go
	return len(p), nil
}

// isMessage reports whether a line so far may be a service message.
func isMessage(b []byte) bool {
	for _, p := range []string{"##ferry[", "##octopus["} {
		n := min(len(b), len(p))
		if n > 0 && string(b[:n]) == p[:n] {
			return true
		}
	}
	return false
}

// flush emits a last line that did not end in a newline.
func (w *lineWriter) flush() {
	if len(w.buf) > 0 && !w.dropping {
		w.emit(strings.TrimRight(string(w.buf), "\r"))
		w.buf = nil
	}
}

// Keep applies the rules a step's own outputs obey — names of letters,
// digits and . _ -; at most maxOutputs, of maxOutputBytes in all — to the
// outputs another machine reports (an agent's step), so that an agent
// cannot give the server what set_ferryvariable would refuse. It returns
// those kept, and a warning for each one dropped — the first maxWarnings,
// then one saying how many more, so that a flood of outputs is not a
// flood of log lines.
func Keep(list []Output) (kept []Output, warnings []string) {
	total := 0
	defer func() {
		if n := len(warnings) - maxWarnings; n > 0 {
			warnings = append(warnings[:maxWarnings], fmt.Sprintf("Warning: %d more output variables were ignored", n))
		}
	}()
	for _, o := range list {
		switch {
		case !outputNameRE.MatchString(o.Name):
			warnings = append(warnings, fmt.Sprintf("Warning: output variable name %q was ignored: use letters, digits and . _ -", o.Name))
		case len(kept) >= maxOutputs || total+len(o.Value) > maxOutputBytes:
			warnings = append(warnings, fmt.Sprintf("Warning: output variable %q was ignored: a step may set at most %d output variables of %d bytes in all", o.Name, maxOutputs, maxOutputBytes))
		default:
			total += len(o.Value)
			kept = append(kept, o)
		}
	}
	return kept, warnings
}
