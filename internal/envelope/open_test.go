package envelope

import (
	"bytes"
	"encoding/json"
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
