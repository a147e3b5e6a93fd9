package envelope

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/domain"
)

const testCert = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"

func sealed(t *testing.T, body string) []byte {
	t.Helper()
	data, err := Seal("ferry-test", 1, []byte(body), []byte(testCert), func([]byte) ([]byte, error) { return []byte("sig"), nil })
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// edit changes one field of a sealed envelope and writes it back as Seal
// would.
func edit(t *testing.T, data []byte, change func(*Envelope)) []byte {
	t.Helper()
	var env Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	change(&env)
	out, err := encode(env)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOpenRefusesEachKindOfDamage(t *testing.T) {
	good := sealed(t, `{"a":1}`)
	o, err := Open(good, "ferry-test", 1, 1<<20, "test file")
	if err != nil || string(o.Body) != `{"a":1}` || string(o.Signature) != "sig" || o.CheckExact() != nil {
		t.Fatalf("a good envelope: %+v %v", o, err)
	}
	for name, c := range map[string]struct {
		data []byte
		max  int
		rule string
	}{
		"too big":            {good, len(good) - 1, domain.RuleSize},
		"truncated":          {good[:len(good)/2], 1 << 20, domain.RuleFormat},
		"another format":     {edit(t, good, func(e *Envelope) { e.Format = "ferry-other" }), 1 << 20, domain.RuleFormat},
		"a newer schema":     {edit(t, good, func(e *Envelope) { e.SchemaVersion = 2 }), 1 << 20, domain.RuleSchema},
		"another payload":    {edit(t, good, func(e *Envelope) { e.Payload = "eyJhIjoyfQ==" }), 1 << 20, domain.RuleDigest},
		"bad base64":         {edit(t, good, func(e *Envelope) { e.Payload = "not base64!" }), 1 << 20, domain.RuleDigest},
		"no signature":       {edit(t, good, func(e *Envelope) { e.Signature = "" }), 1 << 20, domain.RuleSignature},
		"an unknown field":   {bytes.Replace(good, []byte(`"format"`), []byte(`"extra": 1, "format"`), 1), 1 << 20, domain.RuleFormat},
		"a field twice":      {bytes.Replace(good, []byte(`"format": "ferry-test"`), []byte(`"format": "ferry-test", "format": "ferry-test"`), 1), 1 << 20, domain.RuleFormat},
		"a name in capitals": {bytes.Replace(good, []byte(`"format"`), []byte(`"Format"`), 1), 1 << 20, domain.RuleFormat},
	} {
		_, err := Open(c.data, "ferry-test", 1, c.max, "test file")
		if domain.KindOf(err) != domain.KindInvalid || !strings.Contains(err.Error(), "["+c.rule+"]") || !strings.Contains(err.Error(), "test file") {
			t.Errorf("%s: %v, want rule %s", name, err, c.rule)
		}
	}
}

func TestCheckExactRefusesAnyChange(t *testing.T) {
	good := sealed(t, `{"a":1}`)
	for name, data := range map[string][]byte{
		"another indent":               bytes.ReplaceAll(good, []byte("\n  "), []byte("\n    ")),
		"no final newline":             bytes.TrimSuffix(good, []byte("\n")),
		"a newline in PEM":             bytes.Replace(good, []byte(`AA==\n`), []byte(`AA==\n\n`), 1),
		"written again as Seal writes": edit(t, good, func(e *Envelope) {}), // the same: must pass
		"a wrapped payload":            bytes.Replace(good, []byte(`"eyJhIjoxfQ=="`), []byte(`"eyJhIjox\nfQ=="`), 1),
	} {
		o, err := Open(data, "ferry-test", 1, 1<<20, "test file")
		if err != nil {
			if name == "written again as Seal writes" {
				t.Errorf("%s: %v", name, err)
			}
			continue // refused already
		}
		err = o.CheckExact()
		if name == "written again as Seal writes" {
			if err != nil {
				t.Errorf("what Seal writes: %v", err)
			}
			continue
		}
		if domain.KindOf(err) != domain.KindInvalid || !strings.Contains(err.Error(), "["+domain.RuleExact+"]") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestCheckExactAgreesWithRewriting checks CheckExact, which compares the
// file in place, against its definition: a file passes when it is byte for
// byte the canonical envelope of what it decodes to. Edits are the ones
// JSON and base64 decoding forgive (escapes, whitespace, wrapping) and
// random byte edits, insertions and deletions everywhere in the file.
func TestCheckExactAgreesWithRewriting(t *testing.T) {
	good := sealed(t, `{"a":"a payload long enough to wrap /+/+ when base64 is written in lines"}`)
	var cases [][]byte
	for _, r := range [][2]string{
		{`"payload": "ey`, `"payload": "\u0065y`},
		{`"signature": "c2`, `"signature": "\u00632`},
		{`"format": "ferry-test"`, `"format": "ferry\u002dtest"`},
		{`"format": "ferry-test"`, `"format":"ferry-test"`},
		{`"schemaVersion": 1`, `"schemaVersion": 1.0`},
		{`"schemaVersion": 1`, `"schemaVersion": 01`},
		{"-----\\n\"\n}", "-----\\n\"\n}\n"},
		{"-----\\n\"\n}", "-----\\n\" \n}"},
		{`"signer": "-----BEGIN`, `"signer": "\u002d----BEGIN`},
		{"{\n", "{\r\n"},
		{"/", `\/`},
	} {
		cases = append(cases, bytes.Replace(good, []byte(r[0]), []byte(r[1]), 1))
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		c := bytes.Clone(good)
		at := r.IntN(len(c))
		switch r.IntN(3) {
		case 0:
			c[at] = " \n\\\"=/+Aa0{}:,"[r.IntN(14)]
		case 1:
			c = slices.Insert(c, at, " \n\\\"=/+Aa0{}:,"[r.IntN(14)])
		default:
			c = slices.Delete(c, at, at+1)
		}
		cases = append(cases, c)
	}
	cases = append(cases, good)
	for _, data := range cases {
		o, err := Open(data, "ferry-test", 1, 1<<20, "test file")
		if err != nil {
			continue
		}
		canon, err := encode(Envelope{Format: o.Envelope.Format, SchemaVersion: o.Envelope.SchemaVersion, Digest: o.Envelope.Digest,
			Payload: base64.StdEncoding.EncodeToString(o.Body), Signature: base64.StdEncoding.EncodeToString(o.Signature), Signer: o.Envelope.Signer})
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode([]byte(o.Envelope.Signer))
		want := bytes.Equal(canon, data) && block != nil && string(pem.EncodeToMemory(block)) == o.Envelope.Signer
		if got := o.CheckExact() == nil; got != want {
			t.Errorf("CheckExact passes %v, rewriting says %v, for:\n%s", got, want, data)
		}
	}
}

// TestExactPartsAgreesWithGeneral holds OpenVersions' reading of files in
// the exact form (exactParts) to the general path it skips: over real
// envelopes (empty, small and large payloads, another format and schema
// version, a wrong digest, an empty signature) and thousands of random
// edits, both refuse with the same message, or both open the same fields,
// body, signature and sum, with the same CheckExact result; and every file
// Seal writes takes the exact path.
func TestExactPartsAgreesWithGeneral(t *testing.T) {
	var goods [][]byte
	for _, body := range []string{``, `{}`, `{"b":"` + strings.Repeat("x/+?", 3000) + `"}`, `{"a":1}`} {
		goods = append(goods, sealed(t, body))
	}
	good := goods[1]
	goods = append(goods,
		edit(t, good, func(e *Envelope) { e.Format = "ferry-other\"payload\": \"" }),
		edit(t, good, func(e *Envelope) { e.SchemaVersion = 7 }),
		edit(t, good, func(e *Envelope) { e.Digest = Digest([]byte("other")) }),
		edit(t, good, func(e *Envelope) { e.Signature = "" }),
	)
	for _, g := range goods {
		if _, _, ok := exactParts(g); !ok {
			t.Errorf("what Seal writes does not take the exact path:\n%s", g)
		}
	}
	cases := slices.Clone(goods)
	r := rand.New(rand.NewPCG(5, 6))
	const alphabet = " \n\r\\\"=/+Aa0{}:,u"
	for range 6000 {
		c := bytes.Clone(goods[r.IntN(len(goods))])
		at := r.IntN(len(c))
		switch r.IntN(4) {
		case 0:
			c[at] = alphabet[r.IntN(len(alphabet))]
		case 1:
			c = slices.Insert(c, at, alphabet[r.IntN(len(alphabet))])
		case 2:
			c = slices.Delete(c, at, at+1)
		default:
			c = slices.Insert(c, at, []byte(`"payload": "`)...)
		}
		cases = append(cases, c)
	}
	exact := 0
	for _, data := range cases {
		fast, errFast := OpenVersions(data, "ferry-test", 1, 1, 1<<20, "test file")
		slow, errSlow := openGeneral(data, "ferry-test", 1, 1, "test file")
		if (errFast == nil) != (errSlow == nil) || errFast != nil && errFast.Error() != errSlow.Error() {
			t.Fatalf("disagree on:\n%s\nexact path: %v\ngeneral:    %v", data, errFast, errSlow)
		}
		if _, _, ok := exactParts(data); ok {
			exact++
		}
		// A reader of the payload runs beside the digest, and its refusal
		// comes after every refusal of the envelope, as it would after
		// OpenVersions.
		refuseA := func(body []byte) error {
			if bytes.Contains(body, []byte("a")) {
				return errors.New("the payload has an a")
			}
			return nil
		}
		_, errAnd := OpenVersionsAnd(data, "ferry-test", 1, 1, 1<<20, "test file", refuseA)
		errThen := errSlow
		if errThen == nil {
			errThen = refuseA(slow.Body)
		}
		if (errAnd == nil) != (errThen == nil) || errAnd != nil && errAnd.Error() != errThen.Error() {
			t.Fatalf("OpenVersionsAnd says %v, OpenVersions then read %v, for:\n%s", errAnd, errThen, data)
		}
		if errFast != nil {
			continue
		}
		envFast, envSlow := fast.Envelope, slow.Envelope
		envFast.Payload, envSlow.Payload = "", ""
		errExactFast, errExactSlow := fast.CheckExact(), slow.CheckExact()
		if envFast != envSlow || !bytes.Equal(fast.Body, slow.Body) || !bytes.Equal(fast.Signature, slow.Signature) || fast.Sum != slow.Sum ||
			(errExactFast == nil) != (errExactSlow == nil) {
			t.Fatalf("different results for:\n%s\nexact path: %+v (%v)\ngeneral:    %+v (%v)", data, envFast, errExactFast, envSlow, errExactSlow)
		}
	}
	t.Logf("%d files, %d in the exact form", len(cases), exact)
}

// TestDecodeExactInParts: decoding base64 in pieces at once accepts
// exactly the texts that are the one strict form of their bytes, and
// gives those bytes, whatever the number of pieces — with padding,
// line breaks and foreign bytes put anywhere, at the pieces' edges too.
func TestDecodeExactInParts(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	reference := func(text []byte) ([]byte, bool) {
		enc := base64.StdEncoding.Strict()
		b, err := enc.DecodeString(string(text))
		return b, err == nil && enc.EncodedLen(len(b)) == len(text)
	}
	for range 4000 {
		raw := make([]byte, r.IntN(200))
		for i := range raw {
			raw[i] = byte(r.Uint32())
		}
		text := []byte(base64.StdEncoding.EncodeToString(raw))
		if len(text) > 0 && r.IntN(4) > 0 {
			at := r.IntN(len(text))
			c := "=\n\r A/+.\x00"[r.IntN(9)]
			switch r.IntN(3) {
			case 0:
				text[at] = c
			case 1:
				text = slices.Insert(text, at, c)
			default:
				text = slices.Delete(text, at, at+1)
			}
		}
		wantBody, want := reference(text)
		for parts := 1; parts <= 5; parts++ {
			body, ok := decodeExact(text, parts)
			if ok != want || ok && !bytes.Equal(body, wantBody) {
				t.Fatalf("%q in %d parts: %v %x, want %v %x", text, parts, ok, body, want, wantBody)
			}
		}
	}
}
