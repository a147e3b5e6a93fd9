package bundle

import (
	"bytes"
	"encoding/binary"
	"slices"
	"unicode/utf16"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/envelope"
)

// decodePayload decodes a bundle's payload exactly as envelope.Strict does:
// the same documents refused with the same messages, the same values read
// from the rest. Most of a large bundle is its variable list, which Strict
// reads by reflection; a payload in the compact form ferry writes
// (encoding/json: no spaces, fields in order) is read by readCompact
// instead, several times faster. Any other document, and any that
// readCompact is not sure of, goes to Strict, which decides.
//
// Before anything is decoded, a payload must hold at most MaxObjects JSON
// objects and MaxItems objects, lists and members in all: what a payload
// decodes into is bounded by them, not by its size (an empty variable is 3
// bytes of JSON and 104 in memory). readCompact counts as it reads and
// gives up at the bounds; the general path counts first.
func decodePayload(body []byte, p *Payload) error {
	var fast Payload
	if readCompact(body, &fast) {
		*p = fast
		return nil
	}
	if objects, items, others := countItems(body); objects > MaxObjects || items > MaxItems || others > MaxOthers {
		return domain.Refuse(domain.KindInvalid, domain.RuleSize, "the bundle's payload holds %d JSON objects (%d of them outside its variables) and %d items in all; a bundle may hold at most %d (%d) and %d (a release of about %d variables), which a release ferry wrote stays within",
			objects, others, items, MaxObjects, MaxOthers, MaxItems, MaxItems/5)
	}
	return envelope.Strict(body, p)
}

// MaxObjects and MaxItems bound what a bundle's payload holds: its JSON
// objects (variables, steps, templates, ...), and those together with its
// lists and their members (everything a comma or bracket opens). At their
// bounds a payload decodes into ~90 MB (every object a variable, read by
// the compact path) and ~180 MB in passing (2 million strings in one
// list). A bundle of the largest size
// (MaxSize) of variables like real ones (~5 items each: 56,000 in 7.6 MB
// of payload, BenchmarkBundleVerifyPerMB) is within them.
//
// MaxOthers bounds the objects outside the variable list (steps,
// templates, history, packages, sealed values, ...): a step is ~300 bytes,
// three times a variable, and 400,000 empty steps (1.2 MB of payload) took
// 690 MB to decode (340 MB live); 100,000 take a quarter of that, and are
// more than the sealed values of the largest bundle (~350 bytes each).
const (
	MaxObjects = 400_000
	MaxItems   = 2_000_000
	MaxOthers  = 100_000
)

// countItems counts a JSON text's objects, and its objects, lists and
// commas (each member or element after a first), outside strings; others
// counts the objects in the top-level object's members other than one
// written "variables" (MaxOthers). For text that is not JSON it counts
// something, and the decoder refuses it.
func countItems(b []byte) (objects, items, others int) {
	in, depth, key, vars := false, 0, -1, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if in {
			switch c {
			case '\\':
				i++
			case '"':
				in = false
				if key >= 0 {
					vars, key = string(b[key:i]) == "variables", -1
				}
			}
			continue
		}
		switch c {
		case '"':
			in = true
			if depth == 1 && (i == 0 || expectsKey(b, i)) {
				key = i + 1
			}
		case '{':
			if depth >= 1 && !vars {
				others++
			}
			depth++
			objects++
			items++
		case '[':
			depth++
			items++
		case ',':
			items++
		case '}', ']':
			depth--
		}
	}
	return objects, items, others
}

// expectsKey reports whether the string opening at b[i], inside the
// top-level object, is a member name: the last byte before it other than
// JSON whitespace is { or ,.
func expectsKey(b []byte, i int) bool {
	for i--; i >= 0; i-- {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case '{', ',':
			return true
		}
		return false
	}
	return false
}

// readCompact reads a payload written as JSON without whitespace. It reads
// the variable list itself and gives every other member's value to jsonv2
// with envelope.Strict's options, so it needs to be exact only about the
// variables and the members' names. ok is true only if Strict would accept
// body and read the same payload from it: each object's member names are
// known and appear once, strings are valid UTF-8 with valid escapes, and
// nothing follows the document. On false, p holds nothing of use.
func readCompact(body []byte, p *Payload) (ok bool) {
	r := compactReader{b: body, s: string(body)}
	return r.payload(p)
}

func (r *compactReader) payload(p *Payload) bool {
	if !r.next('{') || r.next('}') {
		return false
	}
	seen := map[string]bool{}
	for {
		if r.objects > MaxObjects || r.items > MaxItems {
			return false
		}
		name, ok := r.name()
		if !ok || seen[name] {
			return false
		}
		seen[name] = true
		if name == "variables" {
			if !r.variables(&p.Variables) {
				return false
			}
		} else {
			field := p.member(name)
			end := valueEnd(r.b, r.i)
			objects, items, _ := countItems(r.b[r.i:end])
			r.objects, r.items, r.others = r.objects+objects, r.items+items, r.others+objects
			if r.objects > MaxObjects || r.items > MaxItems || r.others > MaxOthers {
				return false
			}
			if field == nil || jsonv2.Unmarshal(r.b[r.i:end], field, jsonv2.RejectUnknownMembers(true)) != nil {
				return false
			}
			r.i = end
		}
		if r.next('}') {
			return r.i == len(r.b)
		}
		if !r.next(',') {
			return false
		}
	}
}

// member is a pointer to the field that the payload member name decodes
// into, or nil for a name Payload does not have (TestCompactKnowsEveryField
// holds it to the struct tags). variables is read by compactReader.
func (p *Payload) member(name string) any {
	switch name {
	case "kind":
		return &p.Kind
	case "schemaVersion":
		return &p.SchemaVersion
	case "id":
		return &p.ID
	case "createdAt":
		return &p.CreatedAt
	case "createdBy":
		return &p.CreatedBy
	case "source":
		return &p.Source
	case "target":
		return &p.Target
	case "origin":
		return &p.Origin
	case "release":
		return &p.Release
	case "process":
		return &p.Process
	case "templates":
		return &p.Templates
	case "packages":
		return &p.Packages
	case "history":
		return &p.History
	case "snapshotDigest":
		return &p.SnapshotDigest
	case "targetSnapshotDigest":
		return &p.TargetSnapshotDigest
	case "downstream":
		return &p.Downstream
	case "tenantedDeployments":
		return &p.TenantedDeployments
	}
	return nil
}

// compactReader reads compact JSON from b at i. s is b as one string: a
// string without escapes is a slice of it, so reading one allocates
// nothing; lists are cut from one shared backing array the same way.
type compactReader struct {
	b    []byte
	s    string
	i    int
	strs []string // backing array of string lists read so far
	esc  []byte   // room to unescape a string in
	// objects, items and others count what countItems counts, as it is
	// read.
	objects, items, others int
}

// next consumes c if it is the next byte.
func (r *compactReader) next(c byte) bool {
	if r.i < len(r.b) && r.b[r.i] == c {
		r.i++
		switch c {
		case '{':
			r.objects++
			r.items++
		case '[', ',':
			r.items++
		}
		return true
	}
	return false
}

// name reads a member name and its colon. Only plain names are read: one
// with an escape, which no known name needs, is left to Strict.
func (r *compactReader) name() (string, bool) {
	if !r.next('"') {
		return "", false
	}
	start := r.i
	for r.i < len(r.b) && r.b[r.i] != '"' {
		if c := r.b[r.i]; c == '\\' || c < 0x20 || c >= 0x80 {
			return "", false
		}
		r.i++
	}
	name := r.s[start:r.i]
	return name, r.next('"') && r.next(':')
}

// variables reads the variable list; each variable's members may come in
// any order, each at most once, as jsonv2 allows.
func (r *compactReader) variables(out *[]Variable) bool {
	if !r.next('[') {
		return false
	}
	// A variable takes 60 bytes or more; most have one environment.
	vs := make([]Variable, 0, min(len(r.b)/128, MaxObjects))
	r.strs = make([]string, 0, cap(vs))
	if r.next(']') {
		*out = vs
		return true
	}
	for {
		var v Variable
		if !r.variable(&v) {
			return false
		}
		vs = appendBounded(vs, v, MaxObjects)
		if r.objects > MaxObjects || r.items > MaxItems {
			return false
		}
		if r.next(']') {
			*out = vs
			return true
		}
		if !r.next(',') {
			return false
		}
	}
}

// appendBounded is append that doubles a full slice, to at most bound+1
// elements: append grows a large slice by a quarter at a time, which
// allocates five times its final size on the way.
func appendBounded[T any](list []T, v T, bound int) []T {
	if len(list) == cap(list) {
		list = slices.Grow(list, max(1, min(len(list), bound+1-len(list))))
	}
	return append(list, v)
}

func (r *compactReader) variable(v *Variable) bool {
	if !r.next('{') {
		return false
	}
	if r.next('}') {
		return true
	}
	var seen uint8
	for {
		name, ok := r.variableName()
		if !ok {
			return false
		}
		var bit uint8
		switch name {
		case "name":
			bit, ok = 1, r.str(&v.Name)
		case "value":
			bit, ok = 2, r.str(&v.Value)
		case "sensitive":
			bit, ok = 4, r.boolean(&v.Sensitive)
		case "sealed":
			bit, ok = 8, r.str(&v.Sealed)
		case "environments":
			bit, ok = 16, r.list(&v.Environments)
		case "tenantTags":
			bit, ok = 32, r.list(&v.TenantTags)
		}
		if !ok || bit == 0 || seen&bit != 0 {
			return false
		}
		seen |= bit
		if r.next('}') {
			return true
		}
		if !r.next(',') {
			return false
		}
	}
}

// variableFields are the member names of a variable, each with its quotes
// and colon, by its first letter.
var variableFields = [...]string{'n': `"name":`, 'v': `"value":`, 's': `"sensitive":`, 'e': `"environments":`, 't': `"tenantTags":`}

// variableName is name for a member of a variable: a known name is
// matched whole instead of read a byte at a time.
func (r *compactReader) variableName() (string, bool) {
	if r.i+1 < len(r.b) {
		c := r.b[r.i+1]
		if int(c) < len(variableFields) {
			f := variableFields[c]
			if c == 's' && bytes.HasPrefix(r.b[r.i:], []byte(`"sealed":`)) {
				f = `"sealed":`
			}
			if f != "" && bytes.HasPrefix(r.b[r.i:], []byte(f)) {
				r.i += len(f)
				return f[1 : len(f)-2], true
			}
		}
	}
	return r.name()
}

func (r *compactReader) boolean(out *bool) bool {
	switch {
	case bytes.HasPrefix(r.b[r.i:], []byte("true")):
		*out, r.i = true, r.i+4
	case bytes.HasPrefix(r.b[r.i:], []byte("false")):
		*out, r.i = false, r.i+5
	default:
		return false
	}
	return true
}

// list reads a list of strings ([] is an empty list, not none).
func (r *compactReader) list(out *[]string) bool {
	if !r.next('[') {
		return false
	}
	start := len(r.strs)
	if !r.next(']') {
		for {
			var s string
			if !r.str(&s) {
				return false
			}
			r.strs = appendBounded(r.strs, s, MaxItems)
			if r.items > MaxItems {
				return false
			}
			if r.next(']') {
				break
			}
			if !r.next(',') {
				return false
			}
		}
	}
	if len(r.strs) == start {
		*out = []string{}
		return true
	}
	// Later appends may move the backing array; a list already handed out
	// keeps its own, with no room to grow into the next one's.
	*out = r.strs[start:len(r.strs):len(r.strs)]
	return true
}

// str reads a string: a slice of r.s when it has no escapes.
func (r *compactReader) str(out *string) bool {
	if !r.next('"') {
		return false
	}
	start := r.i
	ascii := true
	for {
		r.i += plainRun(r.b[r.i:])
		if r.i >= len(r.b) {
			return false
		}
		switch c := r.b[r.i]; {
		case c == '"':
			if !ascii && !utf8.Valid(r.b[start:r.i]) {
				return false
			}
			*out = r.s[start:r.i]
			r.i++
			return true
		case c == '\\':
			return r.unescape(start, out)
		case c < 0x20:
			return false
		default: // c >= 0x80
			ascii = false
			r.i++
		}
	}
}

// unescape reads the rest of a string that has escapes, from start (after
// its opening quote; r.i is at the first backslash). It reads the escapes
// encoding/json writes, and \u escapes of any character outside the
// surrogates; a string with a surrogate escape is left to Strict.
func (r *compactReader) unescape(start int, out *string) bool {
	buf := r.esc[:0]
	defer func() { r.esc = buf }()
	plain := start // start of the bytes not copied yet
	for {
		r.i += plainRun(r.b[r.i:])
		if r.i >= len(r.b) {
			return false
		}
		switch c := r.b[r.i]; {
		case c == '"':
			buf = append(buf, r.b[plain:r.i]...)
			if !utf8.Valid(buf) {
				return false
			}
			*out = string(buf)
			r.i++
			return true
		case c < 0x20:
			return false
		case c != '\\':
			r.i++
			continue
		}
		buf = append(buf, r.b[plain:r.i]...)
		if r.i+1 >= len(r.b) {
			return false
		}
		switch e := r.b[r.i+1]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			rn, ok := hex4(r.b[r.i+2:])
			if !ok || utf16.IsSurrogate(rn) {
				return false
			}
			buf = utf8.AppendRune(buf, rn)
			r.i += 4
		default:
			return false
		}
		r.i += 2
		plain = r.i
	}
}

// plainRun is the length of b's first run of bytes that a string holds as
// they are: printable ASCII other than a quote and a backslash. It looks at
// eight bytes at a time (the tests for a byte equal to or less than a value
// are those of Sean Anderson's "Bit Twiddling Hacks", which are exact as
// tests of a whole word), and at single bytes only where one of eight
// ends the run.
func plainRun(b []byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		quote, backslash := x^(ones*'"'), x^(ones*'\\')
		if ((quote-ones)&^quote|(backslash-ones)&^backslash|(x-ones*0x20)&^x|x)&highs != 0 {
			break
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
			return i
		}
	}
	return i
}

// hex4 reads the four hex digits of a \u escape.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var rn rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		rn = rn<<4 | rune(c)
	}
	return rn, true
}

// valueEnd is the index just past the JSON value that starts at b[i], for
// a value that is valid JSON: a string or a bracketed value ends where its
// closing quote or bracket does; any other runs to the next comma or
// closing bracket at its own level. Whatever the input, jsonv2 then reads
// b[i:end] as exactly one value or refuses it.
func valueEnd(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch c := b[i]; {
		case c == '"':
			i++
			for i < len(b) && b[i] != '"' {
				if b[i] == '\\' {
					i++
				}
				i++
			}
			i++
		case c == '{' || c == '[':
			depth++
			i++
		case c == '}' || c == ']':
			if depth == 0 {
				return i
			}
			depth--
			i++
		case c == ',' && depth == 0:
			return i
		default:
			i++
			continue
		}
		if depth == 0 {
			return min(i, len(b))
		}
	}
	return len(b)
}
