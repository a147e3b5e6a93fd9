package envelope

import (
	"bytes"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/ferrydeploy/ferry/internal/domain"
)

var ruleOf = regexp.MustCompile(`\[[a-z-]+\]`)

// openWholeFile is what OpenReader must agree with: the file read whole,
// then OpenVersions and CheckExact.
func openWholeFile(data []byte, max int) (*Opened, error) {
	o, err := OpenVersions(data, "ferry-test", 1, 2, max, "test file")
	if err == nil {
		err = o.CheckExact()
	}
	return o, err
}

// TestOpenReaderAgreesWithOpen checks the streaming reader against reading
// whole: the same files pass, with the same payload and signature, and the
// same files are refused, under the same rule — for the damage Open
// refuses, the changes CheckExact refuses, and random byte edits,
// insertions and deletions everywhere in the file, read in one piece and
// a byte at a time.
func TestOpenReaderAgreesWithOpen(t *testing.T) {
	good := sealed(t, `{"a":"a payload long enough to wrap /+/+ when base64 is written in lines"}`)
	cases := [][]byte{good, good[:len(good)/2], good[:len(good)-1], append(bytes.Clone(good), ' '),
		edit(t, good, func(e *Envelope) { e.Format = "ferry-other" }),
		edit(t, good, func(e *Envelope) { e.SchemaVersion = 3 }),
		edit(t, good, func(e *Envelope) { e.SchemaVersion = 2 }),
		edit(t, good, func(e *Envelope) { e.Payload = "eyJhIjoyfQ==" }),
		edit(t, good, func(e *Envelope) { e.Payload = "not base64!" }),
		edit(t, good, func(e *Envelope) { e.Payload = "" }),
		edit(t, good, func(e *Envelope) { e.Signature = "" }),
		edit(t, good, func(e *Envelope) { e.Signature = "c2ln\nZw==" }),
		bytes.Replace(good, []byte(`"format"`), []byte(`"extra": 1, "format"`), 1),
		bytes.Replace(good, []byte(`"payload"`), []byte(`"extra": 1, "payload"`), 1),
		bytes.Replace(good, []byte(`"format": "ferry-test"`), []byte(`"format": "ferry-test", "format": "ferry-test"`), 1),
		bytes.Replace(good, []byte(`"payload"`), []byte(`"Payload"`), 1),
		bytes.Replace(good, []byte(`"payload": "`), []byte(`"payload": "\u0065`), 1),
		bytes.Replace(good, []byte(`"payload": "ey`), []byte(`"payload": "e\ny`), 1),
		bytes.Replace(good, []byte(`"payload": "ey`), []byte(`"payload": "e\ry`), 1),
		bytes.Replace(good, []byte(`"payload": "ey`), []byte(`"payload": "e\\ny`), 1),
		bytes.Replace(good, []byte(`"payload": "ey`), []byte(`"payload": "e y`), 1),
		bytes.Replace(good, []byte(`"payload": "ey`), []byte(`"payload": "e=y`), 1),
		bytes.Replace(good, []byte("{\n  \"format\""), []byte("{\n  \"payload\": \"\",\n  \"format\""), 1),
		[]byte(`{"format": "ferry-test", "payload": "` + strings.Repeat("A", 8000) + `"}`),
		[]byte(strings.Repeat(" ", 5000) + string(good)),
		{}, []byte(`"payload": "`), []byte("{\n  \"format\": \"ferry-test\",\n  \"schemaVersion\": 1,\n  \"digest\": \"x\",\n  \"payload\": \""),
	}
	// A payload decoded in several steps, and padding where a step ends.
	long := sealed(t, strings.Repeat("x", 3*decodeStep))
	at := bytes.Index(long, []byte(`"payload": "`)) + len(`"payload": "`) + decodeStep
	padded := slices.Concat(long[:at-2], []byte("=="), long[at:])
	// The same bytes written in two padded pieces: decoded piece by piece
	// they are the payload, but it is not its one base64 form.
	payload := []byte(strings.Repeat("y", 3*decodeStep))
	split := decodeStep/4*3 - 2 // its base64 is one step, ending in "=="
	pieces := edit(t, sealed(t, string(payload)), func(e *Envelope) {
		e.Payload = base64.StdEncoding.EncodeToString(payload[:split]) + base64.StdEncoding.EncodeToString(payload[split:])
	})
	cases = append(cases, pieces, long, padded, slices.Concat(long[:at-1], []byte("="), long[at:]), slices.Concat(long[:at], []byte("AA=="), long[at:]))
	for _, r := range [][2]string{{"{\n", "{\r\n"}, {`"schemaVersion": 1`, `"schemaVersion": 1.0`}, {"-----\\n\"\n}", "-----\\n\" \n}"}} {
		cases = append(cases, bytes.Replace(good, []byte(r[0]), []byte(r[1]), 1))
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 3000 {
		c := bytes.Clone(good)
		at := r.IntN(len(c))
		switch r.IntN(3) {
		case 0:
			c[at] = " \n\r\\\"=/+Aa0{}:,é"[r.IntN(16)]
		case 1:
			c = slices.Insert(c, at, " \n\r\\\"=/+Aa0{}:,"[r.IntN(15)])
		default:
			c = slices.Delete(c, at, at+1)
		}
		cases = append(cases, c)
	}
	for _, data := range cases {
		want, werr := openWholeFile(data, 1<<20)
		for _, src := range []io.Reader{bytes.NewReader(data), iotest.OneByteReader(bytes.NewReader(data)), iotest.HalfReader(bytes.NewReader(data))} {
			got, err := OpenReader(src, int64(len(data)), "ferry-test", 1, 2, 1<<20, "test file")
			switch {
			case (err == nil) != (werr == nil):
				t.Fatalf("OpenReader: %v; read whole: %v; for:\n%q", err, werr, data)
			case err != nil && (domain.KindOf(err) != domain.KindInvalid || ruleOf.FindString(err.Error()) != ruleOf.FindString(werr.Error())):
				t.Errorf("OpenReader: %v; read whole: %v; for:\n%q", err, werr, data)
			case err == nil && (!bytes.Equal(got.Body, want.Body) || !bytes.Equal(got.Signature, want.Signature) || got.Envelope.Signer != want.Envelope.Signer || got.CheckExact() != nil):
				t.Fatalf("OpenReader read %q/%q, read whole %q/%q", got.Body, got.Signature, want.Body, want.Signature)
			}
		}
	}
}

// TestOpenReaderRefusesSizes checks the declared size: over the limit is
// refused before anything is read, and a reader that ends before it is a
// truncated file, not a hang or a panic.
func TestOpenReaderRefusesSizes(t *testing.T) {
	good := sealed(t, `{"a":1}`)
	for name, c := range map[string]struct {
		r          io.Reader
		size       int64
		max        int
		rule, text string
	}{
		"over the limit":      {bytes.NewReader(good), int64(len(good)), len(good) - 1, domain.RuleSize, "the limit is"},
		"a huge claimed size": {bytes.NewReader(good), 1 << 62, 1 << 20, domain.RuleSize, "the limit is"},
		"a negative size":     {bytes.NewReader(good), -1, 1 << 20, domain.RuleSize, "the limit is"},
		"cut in the payload":  {bytes.NewReader(good[:bytes.Index(good, []byte(`"payload": "`))+15]), int64(len(good)), 1 << 20, domain.RuleFormat, "truncated"},
		"cut after it":        {bytes.NewReader(good[:len(good)-10]), int64(len(good)), 1 << 20, domain.RuleFormat, "truncated"},
		"a failing reader":    {io.MultiReader(bytes.NewReader(good[:100]), iotest.ErrReader(io.ErrClosedPipe)), int64(len(good)), 1 << 20, domain.RuleFormat, "closed pipe"},
		"more than the size":  {bytes.NewReader(good), int64(len(good) - 3), 1 << 20, domain.RuleFormat, "truncated"},
	} {
		_, err := OpenReader(c.r, c.size, "ferry-test", 1, 1, c.max, "test file")
		if domain.KindOf(err) != domain.KindInvalid || !strings.Contains(err.Error(), "["+c.rule+"]") || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: %v, want rule %s", name, err, c.rule)
		}
	}
	// Bytes after the declared size belong to whatever follows (the next
	// tar entry): they are not read.
	rest := bytes.NewReader(append(bytes.Clone(good), "next"...))
	if _, err := OpenReader(rest, int64(len(good)), "ferry-test", 1, 1, 1<<20, "test file"); err != nil || rest.Len() != 4 {
		t.Errorf("a good envelope followed by more: %v, %d bytes left", err, rest.Len())
	}
}

// TestOpenReaderAllocatesWhatArrives: a file that claims the largest size
// allowed but holds a small envelope costs about what it holds, not 3/4
// of what it claims (before, the payload buffer was made at the claimed
// size up front: 192 MB for a 256 MB claim).
func TestOpenReaderAllocatesWhatArrives(t *testing.T) {
	good := sealed(t, `{"a":1}`)
	const claimed = 256 << 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	// (A tar entry shorter than its header says fails in archive/tar.)
	_, err := OpenReader(bytes.NewReader(good), claimed, "ferry-test", 1, 1, claimed, "test file")
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
		t.Errorf("a %d-byte file claiming %d bytes allocated %d bytes", len(good), claimed, got)
	}
}
