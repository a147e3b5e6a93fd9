package variables

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// JSON values are read the way Octostache reads them (with Json.NET): a
// forgiving reader that takes unquoted property names, single-quoted
// strings, comments and trailing commas, and refuses anything after the
// value. Scalars read back as Json.NET prints them (True, 15, 1.5); objects
// and arrays as compact JSON.

// maxJSONDepth is Json.NET's default nesting limit.
const maxJSONDepth = 64

type jsonKind byte

const (
	jsonNull jsonKind = iota
	jsonUndefined
	jsonBool
	jsonInt
	jsonFloat
	jsonString
	jsonArray
	jsonObject
)

type jsonVal struct {
	kind jsonKind
	b    bool
	s    string // string value, or the integer's digits
	f    float64
	arr  []*jsonVal
	keys []string // object property names in order
	vals map[string]*jsonVal
}

// parseJSON reads s as one JSON value; ok is false when s is not JSON.
func parseJSON(s string) (*jsonVal, bool) {
	r := &jsonReader{s: s}
	r.skip()
	if r.i >= len(r.s) {
		return nil, false
	}
	v, ok := r.value(0)
	if !ok {
		return nil, false
	}
	r.skip()
	return v, r.i == len(r.s) && !r.bad
}

type jsonReader struct {
	s   string
	i   int
	bad bool
}

// skip passes white space and comments.
func (r *jsonReader) skip() {
	for r.i < len(r.s) {
		c := r.s[r.i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			r.i++
		case strings.HasPrefix(r.s[r.i:], "//"):
			nl := strings.IndexAny(r.s[r.i:], "\r\n")
			if nl < 0 {
				r.i = len(r.s)
			} else {
				r.i += nl
			}
		case strings.HasPrefix(r.s[r.i:], "/*"):
			end := strings.Index(r.s[r.i+2:], "*/")
			if end < 0 {
				r.bad = true
				r.i = len(r.s)
				return
			}
			r.i += end + 4
		default:
			if c >= utf8.RuneSelf {
				rn, size := utf8.DecodeRuneInString(r.s[r.i:])
				if rn == '\u00a0' || rn == '\ufeff' {
					r.i += size
					continue
				}
			}
			return
		}
	}
}

func (r *jsonReader) value(depth int) (*jsonVal, bool) {
	if depth > maxJSONDepth {
		return nil, false
	}
	r.skip()
	if r.i >= len(r.s) {
		return nil, false
	}
	switch c := r.s[r.i]; {
	case c == '{':
		return r.object(depth)
	case c == '[':
		return r.array(depth)
	case c == '"' || c == '\'':
		s, ok := r.str()
		return &jsonVal{kind: jsonString, s: s}, ok
	case c == '-' || c >= '0' && c <= '9':
		return r.number()
	}
	for _, w := range []struct {
		word string
		v    jsonVal
	}{
		{"true", jsonVal{kind: jsonBool, b: true}},
		{"false", jsonVal{kind: jsonBool}},
		{"null", jsonVal{kind: jsonNull}},
		{"undefined", jsonVal{kind: jsonUndefined}},
		{"NaN", jsonVal{kind: jsonFloat, f: math.NaN()}},
		{"Infinity", jsonVal{kind: jsonFloat, f: math.Inf(1)}},
	} {
		if strings.HasPrefix(r.s[r.i:], w.word) && !r.wordContinues(r.i+len(w.word)) {
			r.i += len(w.word)
			v := w.v
			return &v, true
		}
	}
	return nil, false
}

func (r *jsonReader) wordContinues(i int) bool {
	if i >= len(r.s) {
		return false
	}
	c, _ := utf8.DecodeRuneInString(r.s[i:])
	return isJSONIdent(c)
}

func isJSONIdent(c rune) bool {
	return c == '_' || c == '$' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c >= utf8.RuneSelf && (isLetterOrDigit(c))
}

func (r *jsonReader) object(depth int) (*jsonVal, bool) {
	r.i++ // {
	v := &jsonVal{kind: jsonObject, vals: make(map[string]*jsonVal)}
	for {
		r.skip()
		if r.i >= len(r.s) {
			return nil, false
		}
		if r.s[r.i] == '}' {
			r.i++
			return v, true
		}
		var key string
		if c := r.s[r.i]; c == '"' || c == '\'' {
			k, ok := r.str()
			if !ok {
				return nil, false
			}
			key = k
		} else {
			start := r.i
			for r.i < len(r.s) {
				c, size := utf8.DecodeRuneInString(r.s[r.i:])
				if !isJSONIdent(c) {
					break
				}
				r.i += size
			}
			if r.i == start {
				return nil, false
			}
			key = r.s[start:r.i]
		}
		r.skip()
		if r.i >= len(r.s) || r.s[r.i] != ':' {
			return nil, false
		}
		r.i++
		val, ok := r.value(depth + 1)
		if !ok {
			return nil, false
		}
		if _, dup := v.vals[key]; !dup {
			v.keys = append(v.keys, key)
		}
		v.vals[key] = val // a repeated property replaces the earlier value
		r.skip()
		if r.i < len(r.s) && r.s[r.i] == ',' {
			r.i++
			continue
		}
		if r.i < len(r.s) && r.s[r.i] == '}' {
			continue
		}
		return nil, false
	}
}

func (r *jsonReader) array(depth int) (*jsonVal, bool) {
	r.i++ // [
	v := &jsonVal{kind: jsonArray}
	for {
		r.skip()
		if r.i >= len(r.s) {
			return nil, false
		}
		if r.s[r.i] == ']' {
			r.i++
			return v, true
		}
		el, ok := r.value(depth + 1)
		if !ok {
			return nil, false
		}
		v.arr = append(v.arr, el)
		r.skip()
		if r.i < len(r.s) && r.s[r.i] == ',' {
			r.i++
			continue
		}
		if r.i < len(r.s) && r.s[r.i] == ']' {
			continue
		}
		return nil, false
	}
}

func (r *jsonReader) str() (string, bool) {
	quote := r.s[r.i]
	r.i++
	var b strings.Builder
	for r.i < len(r.s) {
		c := r.s[r.i]
		switch {
		case c == quote:
			r.i++
			return b.String(), true
		case c == '\\':
			if r.i+1 >= len(r.s) {
				return "", false
			}
			e := r.s[r.i+1]
			r.i += 2
			switch e {
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if r.i+4 > len(r.s) {
					return "", false
				}
				n, err := strconv.ParseUint(r.s[r.i:r.i+4], 16, 16)
				if err != nil {
					return "", false
				}
				r.i += 4
				rn := rune(n)
				if rn >= 0xD800 && rn < 0xDC00 && strings.HasPrefix(r.s[r.i:], `\u`) && r.i+6 <= len(r.s) {
					if lo, err := strconv.ParseUint(r.s[r.i+2:r.i+6], 16, 16); err == nil && lo >= 0xDC00 && lo < 0xE000 {
						rn = (rn-0xD800)<<10 + (rune(lo) - 0xDC00) + 0x10000
						r.i += 6
					}
				}
				b.WriteRune(rn)
			default:
				b.WriteByte(e) // \" \' \\ \/ and any other character stand for themselves
			}
		default:
			b.WriteByte(c)
			r.i++
		}
	}
	return "", false
}

func (r *jsonReader) number() (*jsonVal, bool) {
	start := r.i
	if strings.HasPrefix(r.s[r.i:], "-Infinity") {
		r.i += len("-Infinity")
		return &jsonVal{kind: jsonFloat, f: math.Inf(-1)}, true
	}
	if r.s[r.i] == '-' {
		r.i++
	}
	if strings.HasPrefix(r.s[r.i:], "0x") || strings.HasPrefix(r.s[r.i:], "0X") {
		h := r.i + 2
		for h < len(r.s) && strings.IndexByte("0123456789abcdefABCDEF", r.s[h]) >= 0 {
			h++
		}
		n, ok := new(big.Int).SetString(r.s[r.i+2:h], 16)
		if !ok {
			return nil, false
		}
		if r.s[start] == '-' {
			n.Neg(n)
		}
		r.i = h
		return &jsonVal{kind: jsonInt, s: n.String()}, !r.wordContinues(h)
	}
	isFloat := false
	for r.i < len(r.s) {
		c := r.s[r.i]
		if c >= '0' && c <= '9' || c == '+' || c == '-' {
			r.i++
			continue
		}
		if c == '.' || c == 'e' || c == 'E' {
			isFloat = true
			r.i++
			continue
		}
		break
	}
	text := r.s[start:r.i]
	if r.wordContinues(r.i) {
		return nil, false
	}
	if !isFloat {
		n, ok := new(big.Int).SetString(text, 10)
		if !ok {
			return nil, false
		}
		return &jsonVal{kind: jsonInt, s: n.String()}, true
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !strings.Contains(err.Error(), "range") {
		return nil, false
	}
	return &jsonVal{kind: jsonFloat, f: f}, true
}

// scalar returns what Json.NET's Value<string>() gives for a scalar; ok is
// false for null and undefined.
func (v *jsonVal) scalar() (string, bool) {
	switch v.kind {
	case jsonBool:
		if v.b {
			return "True", true
		}
		return "False", true
	case jsonInt, jsonString:
		return v.s, true
	case jsonFloat:
		return formatDouble(v.f), true
	}
	return "", false
}

// text returns a property or element as a string: the scalar, "" for null,
// or the compact JSON of an object or array.
func (v *jsonVal) text() string {
	if v == nil {
		return ""
	}
	if v.kind == jsonArray || v.kind == jsonObject {
		var b strings.Builder
		v.write(&b)
		return b.String()
	}
	s, _ := v.scalar()
	return s
}

// write prints v as Json.NET's compact serialisation does.
func (v *jsonVal) write(b *strings.Builder) {
	switch v.kind {
	case jsonNull:
		b.WriteString("null")
	case jsonUndefined:
		b.WriteString("undefined")
	case jsonBool:
		b.WriteString(strconv.FormatBool(v.b))
	case jsonInt:
		b.WriteString(v.s)
	case jsonFloat:
		s := formatDouble(v.f)
		switch {
		case math.IsNaN(v.f):
			s = "NaN"
		case math.IsInf(v.f, 1):
			s = "Infinity"
		case math.IsInf(v.f, -1):
			s = "-Infinity"
		case !strings.ContainsAny(s, ".E"):
			s += ".0"
		}
		b.WriteString(s)
	case jsonString:
		writeJSONString(b, v.s)
	case jsonArray:
		b.WriteByte('[')
		for i, el := range v.arr {
			if i > 0 {
				b.WriteByte(',')
			}
			el.write(b)
		}
		b.WriteByte(']')
	case jsonObject:
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			v.vals[k].write(b)
		}
		b.WriteByte('}')
	}
}

func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case 0x85, 0x2028, 0x2029:
			b.WriteString(`\u` + hex4(int(r)))
		default:
			if r < 0x20 {
				b.WriteString(`\u` + hex4(int(r)))
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

func hex4(n int) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[n>>12&15], digits[n>>8&15], digits[n>>4&15], digits[n&15]})
}
