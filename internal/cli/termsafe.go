package cli

import (
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"
)

// Text that ferry prints for people comes partly from elsewhere: what a
// deployment script printed, release notes, names and messages from a server
// or from another space's bundle. A terminal obeys control characters in
// that text — ESC starts sequences that move the cursor, rewrite the screen,
// set the window title or the clipboard (OSC 52), BEL rings, backspace and a
// lone carriage return overwrite what was printed — so a script could make
// `ferry task log` show something other than what happened. Every
// human-readable line the CLI prints therefore goes through a termWriter,
// which shows such characters as visible text instead:
//
//	C0 controls and DEL   caret notation, as `cat -v`: ESC → ^[, BEL → ^G, CR → ^M, DEL → ^?
//	                      (tab and newline are kept; CR right before a newline is dropped)
//	C1 controls           <U+009B> (U+0080–U+009F, which some terminals obey as ESC sequences)
//	bidirectional controls <U+202E> (U+202A–U+202E, U+2066–U+2069: they reorder what is shown)
//	invalid UTF-8         <0x9B> per byte (a raw 0x9B is CSI to an 8-bit terminal)
//
// Everything else, UTF-8 text included, is written unchanged. JSON output
// (-o json) is exact JSON: encoding/json already escapes C0 controls, and
// jsonSafe escapes the rest, so a decoder reads the very same strings.
type termWriter struct {
	w io.Writer
	// pending holds the start of a UTF-8 sequence, or a CR, that the next
	// Write may complete.
	pending []byte
	out     bytes.Buffer // reused by every Write
}

func newTermWriter(w io.Writer) *termWriter { return &termWriter{w: w} }

// Write writes p with control characters made visible. It reports len(p)
// written when the underlying writer took everything.
func (t *termWriter) Write(p []byte) (int, error) {
	data := p
	if len(t.pending) > 0 {
		data = append(t.pending, p...)
		t.pending = nil
	} else if plainASCII(p) {
		if _, err := t.w.Write(p); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	out := &t.out
	out.Reset()
	for i := 0; i < len(data); {
		if n := safePrefix(data[i:]); n > 0 {
			out.Write(data[i : i+n])
			i += n
			continue
		}
		c := data[i]
		switch {
		case c == '\r':
			if i+1 == len(data) {
				t.pending = []byte{c} // a CR at the end of a write: is a newline next?
				i++
				continue
			}
			if data[i+1] != '\n' {
				out.WriteString("^M")
			}
			i++
		case c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f):
			out.WriteByte(c)
			i++
		case c < 0x20:
			out.WriteByte('^')
			out.WriteByte(c + '@')
			i++
		case c == 0x7f:
			out.WriteString("^?")
			i++
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size <= 1 {
				if !utf8.FullRune(data[i:]) {
					t.pending = append([]byte(nil), data[i:]...)
					i = len(data)
					continue
				}
				fmt.Fprintf(out, "<0x%02X>", c)
				i++
				continue
			}
			if unsafeRune(r) {
				fmt.Fprintf(out, "<U+%04X>", r)
			} else {
				out.Write(data[i : i+size])
			}
			i += size
		}
	}
	if _, err := t.w.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// safePrefix is the length of the longest prefix of p that is written as it
// is: printable ASCII, tabs, newlines and UTF-8 runes that are not unsafe.
func safePrefix(p []byte) int {
	i := 0
	for i < len(p) {
		c := p[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(p[i:])
		if (r == utf8.RuneError && size <= 1) || unsafeRune(r) {
			return i
		}
		i += size
	}
	return i
}

// plainASCII reports whether p is printable ASCII, tabs and newlines only:
// the common case, written as it is.
func plainASCII(p []byte) bool {
	for _, c := range p {
		if (c < 0x20 && c != '\n' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// Flush writes what a Write left pending: a CR that no newline followed, or
// an incomplete UTF-8 sequence.
func (t *termWriter) Flush() error {
	if len(t.pending) == 0 {
		return nil
	}
	var out bytes.Buffer
	for _, c := range t.pending {
		if c == '\r' {
			out.WriteString("^M")
		} else {
			fmt.Fprintf(&out, "<0x%02X>", c)
		}
	}
	t.pending = nil
	_, err := t.w.Write(out.Bytes())
	return err
}

// escape writes seq unchanged: for ferry's own colours, never for text.
func (t *termWriter) escape(seq string) error {
	if err := t.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(t.w, seq)
	return err
}

// unsafeRune reports the runes above ASCII that termWriter shows escaped.
func unsafeRune(r rune) bool {
	return (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// termSafe returns s as termWriter would print it.
func termSafe(s string) string {
	var b bytes.Buffer
	t := newTermWriter(&b)
	t.Write([]byte(s))
	t.Flush()
	return b.String()
}

// jsonSafe rewrites JSON text so that it holds no character a terminal
// obeys: the runes termWriter escapes become \uXXXX escapes, which decode to
// the same strings. (encoding/json already writes C0 controls, DEL aside, as
// escapes, and invalid UTF-8 as U+FFFD.) Outside strings JSON is ASCII, so
// only string contents change.
func jsonSafe(data []byte) []byte {
	var out bytes.Buffer
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			if c == 0x7f {
				out.WriteString(`\u007f`)
			} else {
				out.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		if unsafeRune(r) {
			fmt.Fprintf(&out, `\u%04x`, r)
		} else {
			out.Write(data[i : i+size])
		}
		i += size
	}
	return out.Bytes()
}
