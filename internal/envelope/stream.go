package envelope

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"slices"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// payloadField is where the payload's base64 starts in the one byte-exact
// form of an envelope (encode): after the format, schema version and
// digest, which are small.
const payloadField = `"payload": "`

// maxHead bounds the part of an envelope before its payload that
// OpenReader reads before deciding how to read the rest.
const maxHead = 4096

// OpenReader is OpenVersions followed by CheckExact, for an envelope of size
// bytes read from r (a file entry, a request body): the payload's base64 is
// decoded as it is read, so neither the file's bytes nor the base64 text
// are held, only the payload (3/4 of the file) — a transfer file's header
// for a gigabyte is megabytes, and its import has 64 MB. It refuses what
// they refuse, under the same rules: a file that departs from the exact
// form before the payload ends is read whole (at most size bytes, as
// before) and refused by them. The returned Opened has been checked
// exactly (its CheckExact returns nil); its Envelope's Payload is empty:
// the payload is Body.
func OpenReader(r io.Reader, size int64, format string, oldest, newest, maxSize int, what string) (*Opened, error) {
	if size > int64(maxSize) || size < 0 {
		return nil, domain.Refuse(domain.KindInvalid, domain.RuleSize, "the %s is %d bytes; the limit is %d", what, size, maxSize)
	}
	br := bufio.NewReaderSize(io.LimitReader(r, size), 64<<10)
	head, ok := readHead(br)
	var body []byte
	if ok {
		var text []byte
		if body, text, ok = decodePayload(br, size); !ok {
			head = append(head, text...)
		}
	}
	rest, err := io.ReadAll(br)
	if err != nil {
		return nil, domain.Refuse(domain.KindInvalid, domain.RuleFormat, "not a readable ferry %s (%v); the file may be truncated or damaged", what, err)
	}
	if !ok { // not the exact form: refused, as a whole file, for what it is
		return openWhole(append(head, rest...), format, oldest, newest, maxSize, what)
	}
	// The envelope with an empty payload is what is left to check.
	shell := append(append(head, '"'), rest...)
	var env Envelope
	if err := Strict(shell, &env); err != nil {
		return nil, domain.Refuse(domain.KindInvalid, domain.RuleFormat, "not a readable ferry %s (%v); the file may be truncated or damaged", what, err)
	}
	if err := checkKind(env, format, oldest, newest, what); err != nil {
		return nil, err
	}
	o, err := opened(env, body, sha256.Sum256(body), shell, what)
	if err != nil {
		return nil, err
	}
	if err := checkShell(env, shell, what); err != nil {
		return nil, err
	}
	o.raw, o.exact = nil, true
	return o, nil
}

// readHead reads the envelope up to and including the opening quote of
// its payload. ok is false unless that is exactly how encode starts an
// envelope of the values it holds.
func readHead(br *bufio.Reader) (head []byte, ok bool) {
	for len(head) <= maxHead && !bytes.HasSuffix(head, []byte(payloadField)) {
		part, err := br.ReadSlice('"')
		head = append(head, part...)
		if err != nil {
			return head, false
		}
	}
	var env Envelope
	if len(head) > maxHead || Strict(append(head[:len(head):len(head)], `"}`...), &env) != nil {
		return head, false
	}
	want, err := encode(Envelope{Format: env.Format, SchemaVersion: env.SchemaVersion, Digest: env.Digest})
	return head, err == nil && bytes.HasPrefix(want, head)
}

// decodeStep is how much base64 text is decoded at a time.
const decodeStep = 4096

// preallocate bounds the payload buffer made before any of the payload has
// arrived: a transfer header of a gigabyte's package (1.4 MB of payload)
// fits, and a file claiming a larger size than it holds costs no more.
const preallocate = 4 << 20

// decodePayload reads the payload's base64 text from br up to its closing
// quote, which it consumes, and returns the bytes it decodes to. ok is
// false if the text is not the one strict base64 form of some bytes
// without line breaks or escapes; text is then all of it read so far, so
// that the file can be put back together.
func decodePayload(br *bufio.Reader, size int64) (body, text []byte, ok bool) {
	enc := base64.StdEncoding.Strict()
	// No payload of a file this size decodes to more than size/4*3+3
	// bytes. The size is the sender's claim, so only up to preallocate of
	// it is made before the bytes arrive; past that, body grows as they do.
	body = make([]byte, 0, min(size/4*3+3, preallocate))
	pend := make([]byte, 0, decodeStep)
	decode := func() bool {
		if need := enc.DecodedLen(len(pend)); cap(body)-len(body) < need {
			body = slices.Grow(body, max(need, len(body)))
		}
		n, err := enc.Decode(body[len(body):cap(body)], pend)
		if err != nil {
			return false
		}
		body, pend = body[:len(body)+n], pend[:0]
		return true
	}
	failed := func(more []byte) ([]byte, []byte, bool) {
		text := base64.StdEncoding.AppendEncode(nil, body)
		return nil, append(append(text, pend...), more...), false
	}
	for {
		part, err := br.ReadSlice('"')
		for i, c := range part {
			if c == '"' && i == len(part)-1 {
				if len(pend)%4 != 0 || !decode() {
					return failed(part[i:])
				}
				return body, nil, true
			}
			if !base64Alphabet(c) {
				return failed(part[i:])
			}
			pend = append(pend, c)
			// Padding ends the text: decoding in steps must not let a
			// step's padding pass with more text after it.
			if len(pend) == decodeStep && (c == '=' || !decode()) {
				return failed(part[i+1:])
			}
		}
		if err != nil && err != bufio.ErrBufferFull {
			return failed(nil)
		}
	}
}

func base64Alphabet(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '='
}

// openWhole is OpenVersions and CheckExact of a whole file.
func openWhole(data []byte, format string, oldest, newest, maxSize int, what string) (*Opened, error) {
	o, err := OpenVersions(data, format, oldest, newest, maxSize, what)
	if err != nil {
		return nil, err
	}
	if err := o.CheckExact(); err != nil {
		return nil, err
	}
	o.raw, o.exact = nil, true
	return o, nil
}
