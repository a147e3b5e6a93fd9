// Package envelope wraps a signed JSON document for transport: the exact
// signed bytes (base64), their SHA-256 digest, a detached signature and the
// signer's certificate. Release bundles and receipt files share it; what the
// payload means is theirs to decide. Reading an envelope checks everything
// that needs no keys; trust decisions are the caller's.
package envelope

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// Envelope is the file form of a signed document.
type Envelope struct {
	Format        string `json:"format"`
	SchemaVersion int    `json:"schemaVersion"`
	// Digest is "sha256:" + hex SHA-256 of the payload bytes.
	Digest string `json:"digest"`
	// Payload is the base64 of the payload bytes, exactly as signed.
	Payload string `json:"payload"`
	// Signature is the base64 of an ECDSA P-256 / SHA-256 signature (ASN.1
	// DER) over the payload bytes.
	Signature string `json:"signature"`
	// Signer is the signing space's certificate (PEM); receivers use it only
	// to find their own stored copy by fingerprint.
	Signer string `json:"signer"`
}

// Opened is an envelope whose structure and digest have been checked, but
// whose signature has not. Envelope.Payload may be empty (Body is the
// payload, decoded).
type Opened struct {
	Envelope  Envelope
	Body      []byte
	Signature []byte
	// Sum is the SHA-256 of Body, computed for the digest check:
	// signing.VerifySum checks a signature against it rather than hashing
	// Body a second time.
	Sum [32]byte

	raw   []byte
	what  string
	exact bool // checked already (OpenReader)
}

// CheckExact refuses a file that is not byte for byte what Seal writes. The
// envelope itself is unsigned, and JSON and base64 decoding forgive some
// changes (key case, newlines inside base64, trailing bytes); after this
// check, any change to the file is refused. Callers run it after their own
// payload checks, so those keep their more specific messages.
func (o *Opened) CheckExact() error {
	if o.exact {
		return nil
	}
	if err := o.checkSigner(); err != nil {
		return err
	}
	// Open decoded the payload and signature strictly (no spare bits, no
	// padding changes), which skips only newlines: at their canonical
	// lengths each string is the one base64 form of its bytes. Base64 needs
	// no JSON escaping, so the file must be the canonical envelope without
	// them (small) with each put back verbatim at its place; comparing in
	// place costs one pass over the file and no copy of it.
	env := o.Envelope
	if len(env.Payload) != base64.StdEncoding.EncodedLen(len(o.Body)) || len(env.Signature) != base64.StdEncoding.EncodedLen(len(o.Signature)) {
		return o.altered()
	}
	payload, signature := env.Payload, env.Signature
	env.Payload, env.Signature = "", ""
	shell, err := encode(env)
	if err != nil {
		return o.altered()
	}
	// Format and digest, the only fields before these two, were checked
	// equal to the expected format and the computed digest: the first
	// occurrences of the field names are the fields.
	rest := o.raw
	for _, f := range []struct{ name, value string }{{`"payload": "`, payload}, {`"signature": "`, signature}} {
		i := bytes.Index(shell, []byte(f.name))
		if i < 0 {
			return o.altered()
		}
		i += len(f.name)
		if !bytes.HasPrefix(rest, shell[:i]) || string(rest[i:min(len(rest), i+len(f.value))]) != f.value {
			return o.altered()
		}
		rest, shell = rest[i+len(f.value):], shell[i:]
	}
	if !bytes.Equal(rest, shell) {
		return o.altered()
	}
	return nil
}

// checkSigner refuses a signer certificate not in canonical PEM form. The
// signer is used only by fingerprint, and PEM decoding ignores the spare
// bits of the last base64 character: compare its canonical form.
func (o *Opened) checkSigner() error {
	block, _ := pem.Decode([]byte(o.Envelope.Signer))
	if block == nil || string(pem.EncodeToMemory(block)) != o.Envelope.Signer {
		return domain.Refuse(domain.KindInvalid, domain.RuleExact, "the %s was altered: its signer certificate is not in canonical PEM form", o.what)
	}
	return nil
}

func (o *Opened) altered() error {
	return domain.Refuse(domain.KindInvalid, domain.RuleExact, "the %s was altered: it is not byte for byte what ferry wrote", o.what)
}

// Digest is the digest notation used for payloads.
func Digest(b []byte) string { return digestOf(sha256.Sum256(b)) }

func digestOf(sum [32]byte) string { return "sha256:" + hex.EncodeToString(sum[:]) }

// Seal signs body and returns the envelope as file bytes.
func Seal(format string, schemaVersion int, body, signerPEM []byte, sign func([]byte) ([]byte, error)) ([]byte, error) {
	sig, err := sign(body)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", format, err)
	}
	out, err := encode(Envelope{
		Format:        format,
		SchemaVersion: schemaVersion,
		Digest:        Digest(body),
		Payload:       base64.StdEncoding.EncodeToString(body),
		Signature:     base64.StdEncoding.EncodeToString(sig),
		Signer:        string(signerPEM),
	})
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", format, err)
	}
	return out, nil
}

// encode is the one byte-exact form of an envelope.
func encode(env Envelope) ([]byte, error) {
	out, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// Open reads an envelope of the given format and schema version, refusing
// oversized input, another format, another schema version (naming both),
// and a payload that does not match its digest. what names the document in
// messages ("release bundle", "receipt file").
func Open(data []byte, format string, schemaVersion, maxSize int, what string) (*Opened, error) {
	return OpenVersions(data, format, schemaVersion, schemaVersion, maxSize, what)
}

// exportCommands name, by the kind of file (Open's what), the command that
// writes it, for the advice of a schema-version refusal: the fix is run on
// the exporting side.
var exportCommands = map[string]string{
	"release bundle":        "ferry promote",
	"receipt file":          "ferry receipt export",
	"package transfer file": "ferry package export",
}

// OpenVersions is Open for a format of which this server reads every
// schema version from oldest to newest (its own and the previous one, see
// internal/compat).
func OpenVersions(data []byte, format string, oldest, newest, maxSize int, what string) (*Opened, error) {
	return OpenVersionsAnd(data, format, oldest, newest, maxSize, what, nil)
}

// OpenVersionsAnd is OpenVersions followed by read(o.Body), for a caller
// that reads the payload next: for a file in the exact form, read runs
// while the payload's SHA-256 is computed on another goroutine, and only
// its result waits for the digest check. The refusals and their order are
// OpenVersions's, then read's error as it is. read must not change body.
func OpenVersionsAnd(data []byte, format string, oldest, newest, maxSize int, what string, read func(body []byte) error) (*Opened, error) {
	if len(data) > maxSize {
		return nil, domain.Refuse(domain.KindInvalid, domain.RuleSize, "the %s is %d bytes; the limit is %d", what, len(data), maxSize)
	}
	env, body, ok := exactParts(data)
	if !ok {
		o, err := openGeneral(data, format, oldest, newest, what)
		if err == nil && read != nil {
			err = read(o.Body)
		}
		if err != nil {
			return nil, err
		}
		return o, nil
	}
	// The general path reads these same fields from this file and makes
	// these same checks, and CheckExact has nothing to find.
	if err := checkKind(env, format, oldest, newest, what); err != nil {
		return nil, err
	}
	sums := make(chan [32]byte, 1)
	var readErr error
	if read == nil {
		sums <- sha256.Sum256(body)
	} else {
		go func() { sums <- sha256.Sum256(body) }()
		readErr = read(body)
	}
	o, err := opened(env, body, <-sums, nil, what)
	if err != nil {
		return nil, err
	}
	if readErr != nil {
		return nil, readErr
	}
	o.exact = true
	return o, nil
}

// openGeneral is OpenVersions for any file: it reads all of data as JSON.
func openGeneral(data []byte, format string, oldest, newest int, what string) (*Opened, error) {
	var env Envelope
	if err := Strict(data, &env); err != nil {
		return nil, domain.Refuse(domain.KindInvalid, domain.RuleFormat, "not a readable ferry %s (%v); the file may be truncated or damaged", what, err)
	}
	if err := checkKind(env, format, oldest, newest, what); err != nil {
		return nil, err
	}
	body, err := base64.StdEncoding.Strict().DecodeString(env.Payload)
	if err != nil {
		return nil, domain.Refuse(domain.KindInvalid, domain.RuleDigest, "the %s's payload is damaged (bad base64): the file was altered or truncated", what)
	}
	return opened(env, body, sha256.Sum256(body), data, what)
}

// checkKind refuses an envelope of another format or of a schema version
// outside oldest to newest, naming both.
func checkKind(env Envelope, format string, oldest, newest int, what string) error {
	if env.Format != format {
		return domain.Refuse(domain.KindInvalid, domain.RuleFormat, "not a ferry %s: format is %q, expected %q", what, env.Format, format)
	}
	if env.SchemaVersion < oldest || env.SchemaVersion > newest {
		advice := "Send it again from an up-to-date server."
		if env.SchemaVersion > newest {
			export := "the command that wrote it"
			if cmd, ok := exportCommands[what]; ok {
				export = "`" + cmd + "`"
			}
			advice = fmt.Sprintf("Upgrade ferry on this server to read it, or have the space that wrote it write it again for this server: %s with --schema-version %d.",
				export, newest)
		}
		reads := fmt.Sprintf("schema version %d only", newest)
		if oldest < newest {
			reads = fmt.Sprintf("schema versions %d to %d", oldest, newest)
		}
		return domain.Refuse(domain.KindInvalid, domain.RuleSchema, "the %s has schema version %d; this server reads %s. %s",
			what, env.SchemaVersion, reads, advice)
	}
	return nil
}

// opened checks body, the decoded payload, against the envelope's digest
// by its SHA-256 (sum) and decodes its signature.
func opened(env Envelope, body []byte, sum [32]byte, raw []byte, what string) (*Opened, error) {
	if got := digestOf(sum); got != env.Digest {
		return nil, domain.Refuse(domain.KindInvalid, domain.RuleDigest, "the %s's digest does not match its contents (recorded %s, computed %s): the file was altered or damaged", what, env.Digest, got)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(env.Signature)
	if err != nil || len(sig) == 0 {
		return nil, domain.Refuse(domain.KindInvalid, domain.RuleSignature, "the %s's signature is damaged or missing", what)
	}
	return &Opened{Envelope: env, Body: body, Signature: sig, Sum: sum, raw: raw, what: what}, nil
}

// exactParts reads data if it is byte for byte what Seal writes, which is
// every file ferry wrote, without reading the payload's base64 as JSON text
// or copying it: it finds the payload's text at its place, decodes it, and
// reads the envelope around it (small) strictly. ok is true only if data
// is exactly encode of env with the payload's text put back, so that
// Strict, reading all of data, would give the same env (and this Payload)
// and CheckExact would pass; ok is false for any other file, which the
// general path then reads and refuses for what it is. env.Payload is empty.
func exactParts(data []byte) (env Envelope, body []byte, ok bool) {
	start := bytes.Index(data[:min(len(data), maxHead)], []byte(payloadField))
	if start < 0 {
		return Envelope{}, nil, false
	}
	start += len(payloadField)
	n := bytes.IndexByte(data[start:], '"')
	if n < 0 {
		return Envelope{}, nil, false
	}
	parts := 1
	if n >= 1<<20 {
		parts = min(decodeParts, runtime.GOMAXPROCS(0))
	}
	body, ok = decodeExact(data[start:start+n], parts)
	if !ok {
		return Envelope{}, nil, false
	}
	shell := slices.Concat(data[:start], data[start+n:])
	if Strict(shell, &env) != nil {
		return Envelope{}, nil, false
	}
	// Before the payload come only the format, schema version and digest,
	// whose encoded values hold no bare quote: the first payloadField of
	// the canonical form is where the payload's text goes.
	if checkShell(env, shell, "") != nil {
		return Envelope{}, nil, false
	}
	return env, body, true
}

// checkShell is what CheckExact checks of a file but its payload, given
// shell, the file with the payload's text taken out, and env, what it
// decodes to: the signer is in canonical PEM, the signature's text is the
// one base64 form of its bytes, and shell is the one encoding of env.
func checkShell(env Envelope, shell []byte, what string) error {
	o := Opened{Envelope: env, what: what}
	if err := o.checkSigner(); err != nil {
		return err
	}
	enc := base64.StdEncoding.Strict()
	sig, err := enc.DecodeString(env.Signature)
	if err != nil || enc.EncodedLen(len(sig)) != len(env.Signature) {
		return o.altered()
	}
	if want, err := encode(env); err != nil || !bytes.Equal(want, shell) {
		return o.altered()
	}
	return nil
}

// decodeParts is how many parts of a large payload's base64 are decoded at
// once, each on its own goroutine: a person waits for a bundle's check.
const decodeParts = 4

// decodeExact decodes text if it is the one strict base64 form of some
// bytes: no byte outside the alphabet, no line breaks (Strict skips them;
// at the one length of its bytes' encoding the text has none), padding
// only at the end. It decodes parts (1 or more) pieces of a multiple of 4
// characters at once; every piece but the last must decode to 3 bytes for
// each 4 characters, so that no padding ends it.
func decodeExact(text []byte, parts int) ([]byte, bool) {
	enc := base64.StdEncoding.Strict()
	if len(text)%4 != 0 || parts < 1 {
		return nil, false
	}
	body := make([]byte, enc.DecodedLen(len(text)))
	if len(text) < 4*parts {
		parts = 1
	}
	step := len(text) / 4 / parts * 4
	got := make([]int, parts)
	var wg sync.WaitGroup
	for i := range parts {
		from, to := i*step, (i+1)*step
		if i == parts-1 {
			to = len(text)
		}
		// Decode writes 8 bytes at a time where it has room: each piece
		// gets only its own.
		dst := body[from/4*3 : min(to/4*3, len(body))]
		wg.Go(func() {
			n, err := enc.Decode(dst, text[from:to])
			if err != nil || i < parts-1 && n != (to-from)/4*3 {
				n = -1
			}
			got[i] = n
		})
	}
	wg.Wait()
	last := got[parts-1]
	if slices.Contains(got, -1) || enc.EncodedLen((parts-1)*step/4*3+last) != len(text) {
		return nil, false
	}
	return body[:(parts-1)*step/4*3+last], true
}

// Strict decodes one JSON document exactly: it refuses anything a standard
// JSON tool (jq, a browser) could read differently from ferry — a name that
// appears twice in one object (at any depth; which one wins differs between
// tools), a name that matches a field only when case is ignored, a name
// ferry does not know, invalid UTF-8, and anything after the document. So
// what a person sees in a signed payload is exactly what ferry imports.
//
// It uses github.com/go-json-experiment/json (the JSON v2 proposal), whose
// defaults are exactly these, and which decodes faster than encoding/json.
func Strict(data []byte, v any) error {
	return explain(jsonv2.Unmarshal(data, v, jsonv2.RejectUnknownMembers(true)))
}

// explain turns the decoder's errors into messages that say what was wrong
// and where, in the words people use for JSON.
func explain(err error) error {
	var sem *jsonv2.SemanticError
	var syn *jsontext.SyntacticError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &sem) && sem.Err == jsonv2.ErrUnknownName:
		return fmt.Errorf("unknown field %q%s (field names are matched exactly, case included)", sem.JSONPointer.LastToken(), at(sem.JSONPointer.Parent()))
	case errors.As(err, &syn) && errors.Is(syn.Err, jsontext.ErrDuplicateName):
		return fmt.Errorf("duplicate field %q%s: tools disagree about which one counts", syn.JSONPointer.LastToken(), at(syn.JSONPointer.Parent()))
	case errors.As(err, &syn) && strings.Contains(syn.Err.Error(), "after top-level value"):
		return fmt.Errorf("trailing data after the JSON document (offset %d)", syn.ByteOffset)
	}
	return err
}

func at(p jsontext.Pointer) string {
	if p == "" {
		return ""
	}
	return " in " + string(p)
}
