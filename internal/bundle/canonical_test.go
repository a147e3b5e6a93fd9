package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/envelope"
	"github.com/ferrydeploy/ferry/internal/signing"
)

// compactDocs are payloads as ferry writes them (encoding/json, as Encode
// does), with every member set, and variables with every field, escapes
// (quotes, backslashes, control characters, the HTML characters
// encoding/json escapes, U+2028), non-ASCII text, sealed values and
// downstream spaces; then hand-written ones with members in another order,
// empty lists and objects.
func compactDocs(t testing.TB) [][]byte {
	t.Helper()
	p := testPayload()
	p.TenantedDeployments = "both"
	p.Downstream = &Downstream{Spaces: []SpaceRef{{Space: "Prod", Fingerprint: "EE:FF"}},
		Sealed: []SealedValue{{Name: "Token", For: "EE:FF", Environments: []string{"Prod: Production"}, Sealed: "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n"}}}
	p.Process = append(p.Process, domain.Step{Name: "Ask", Type: domain.StepManualIntervention, TimeoutSeconds: 60, Roles: []string{"web"}})
	for i := range 60 {
		v := Variable{Name: fmt.Sprintf("App.Setting%02d", i), Value: []string{"plain", "q\"b\\s/", "<a>&</a>", "é\u2028ü\u2029日本", "tab\tnl\ncr\r\x00\x1f\x7f", ""}[i%6] + strings.Repeat("x", i%5)}
		if i%4 == 0 {
			v.Sensitive, v.Value, v.Sealed = true, "", "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n"
		}
		if i%3 == 0 {
			v.Environments = []string{"Production", "Staging <eu>"}
		}
		if i%5 == 0 {
			v.TenantTags = []string{"Region/EU", "Tier/\"gold\""}
		}
		p.Variables = append(p.Variables, v)
	}
	full, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	small, _ := json.Marshal(testPayload())
	return [][]byte{
		full,
		small,
		[]byte(`{"variables":[]}`),
		[]byte(`{"variables":[{}],"kind":"k"}`),
		[]byte(`{"kind":"k","variables":[{"tenantTags":[],"environments":["a"],"sensitive":false,"sealed":"s","value":"v","name":"n"}],"schemaVersion":3}`),
		[]byte(`{"variables":[{"name":"a\u00e9\u0000\ud7ff\ue000\/"}],"history":[],"process":[{"name":"s","type":"script"}]}`),
	}
}

// TestCompactReadsWhatStrictReads holds readCompact to envelope.Strict,
// which defines what a payload says: on every input that readCompact
// accepts, Strict accepts and reads the same payload. The inputs are real
// payloads and 30,000 random byte edits, insertions and deletions of them
// (with the characters JSON gives meaning to, invalid UTF-8 and member
// names), so that refusals of every kind are met: unknown, case-folded,
// escaped and repeated names, wrong kinds of value, bad escapes and
// surrogates, invalid UTF-8, bad syntax, trailing data. Every payload
// ferry writes must take the compact path, or it would not be faster.
func TestCompactReadsWhatStrictReads(t *testing.T) {
	docs := compactDocs(t)
	for _, d := range docs {
		var p Payload
		if !readCompact(d, &p) {
			t.Errorf("a payload as ferry writes it does not take the compact path:\n%s", d)
		}
	}
	cases := append([][]byte{}, docs...)
	r := rand.New(rand.NewPCG(24, 2))
	const alphabet = " \n\t\\\"{}[]:,0-1eE.ntfrulsaNu\xff\xc3\xed\xa0\x80\x00\x1f\x10/"
	names := []string{`"name":`, `"Name":`, `"value":"x",`, `"sensitive":true,`, `"environments":[],`, `"kind":"k",`, `"n\u0061me":"a",`, `"extra":1,`, `null`, `"\ud800"`, `"\u00e9"`, `\u`}
	for range 30000 {
		c := bytes.Clone(docs[r.IntN(len(docs))])
		at := r.IntN(len(c))
		switch r.IntN(4) {
		case 0:
			c[at] = alphabet[r.IntN(len(alphabet))]
		case 1:
			c = append(c[:at], c[at+1:]...)
		case 2:
			c = append(c[:at], append([]byte{alphabet[r.IntN(len(alphabet))]}, c[at:]...)...)
		default:
			c = append(c[:at], append([]byte(names[r.IntN(len(names))]), c[at:]...)...)
		}
		cases = append(cases, c)
	}
	compact, refused := 0, 0
	for _, in := range cases {
		var fast, strict Payload
		errStrict := envelope.Strict(in, &strict)
		if errStrict != nil {
			refused++
		}
		r := compactReader{b: in, s: string(in)}
		if !r.payload(&fast) {
			continue
		}
		compact++
		if objects, items, others := countItems(in); r.objects != objects || r.items != items || r.others != others {
			t.Fatalf("the compact path counted %d objects, %d items and %d others, countItems %d, %d and %d, in:\n%.600s", r.objects, r.items, r.others, objects, items, others, in)
		}
		if errStrict != nil {
			t.Fatalf("the compact path accepts what Strict refuses (%v):\n%.600s", errStrict, in)
		}
		if !reflect.DeepEqual(fast, strict) {
			t.Fatalf("the compact path reads another payload than Strict from:\n%.600s\ncompact: %+v\nstrict:  %+v", in, fast, strict)
		}
	}
	t.Logf("%d inputs: %d read on the compact path, %d refused by Strict", len(cases), compact, refused)
	if compact < len(cases)/20 || refused < len(cases)/4 {
		t.Errorf("the edits no longer reach both paths: %d compact, %d refused", compact, refused)
	}
}

// TestDecodePayloadSaysWhatStrictSays: decodePayload gives Strict's own
// messages for what it refuses.
func TestDecodePayloadSaysWhatStrictSays(t *testing.T) {
	for _, in := range []string{
		`{"variables":[{"name":"a","name":"b"}]}`,
		`{"variables":[{"Name":"a"}]}`,
		`{"kind":"a","kind":"b"}`,
		`{"variables":[]} x`,
		"{\"variables\":[{\"name\":\"\xff\"}]}",
		`{"variables":[{"name":"\ud800"}]}`,
	} {
		var a, b Payload
		got, want := decodePayload([]byte(in), &a), envelope.Strict([]byte(in), &b)
		if got == nil || want == nil || got.Error() != want.Error() {
			t.Errorf("%s: decodePayload %v, Strict %v", in, got, want)
		}
	}
}

// TestCompactKnowsEveryField: Payload.member names every field of Payload
// by its JSON name (variables aside, which the reader reads itself), so a
// field added later is not refused by the compact path — which would only
// make it slower — or read into the wrong place.
func TestCompactKnowsEveryField(t *testing.T) {
	var p Payload
	v := reflect.ValueOf(&p).Elem()
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		got := p.member(name)
		if name == "variables" {
			if got != nil {
				t.Errorf("member(%q) = %T; the reader reads variables itself", name, got)
			}
			continue
		}
		if got == nil || reflect.ValueOf(got).Pointer() != v.Field(i).Addr().Pointer() {
			t.Errorf("member(%q) is not field %s", name, v.Type().Field(i).Name)
		}
	}
	if p.member("Kind") != nil || p.member("extra") != nil {
		t.Error("member must match names exactly")
	}
}

// BenchmarkDecodePayload reads the payload of a 10 MB bundle like the one
// bench.BenchmarkBundleVerifyPerMB checks, on the compact path and by
// envelope.Strict.
func BenchmarkDecodePayload(b *testing.B) {
	p := testPayload()
	sealed := "-----BEGIN AGE ENCRYPTED FILE-----\n" + strings.Repeat(strings.Repeat("Q", 64)+"\n", 4) + "-----END AGE ENCRYPTED FILE-----\n"
	p.Variables = nil
	for i := range 56000 {
		v := Variable{Name: fmt.Sprintf("App.Setting%05d", i), Environments: []string{"Production"}}
		if i%10 == 0 {
			v.Sensitive, v.Sealed = true, sealed
		} else {
			v.Value = fmt.Sprintf("value-%05d-%s", i, strings.Repeat("x", 24))
		}
		p.Variables = append(p.Variables, v)
	}
	body, err := json.Marshal(p)
	if err != nil {
		b.Fatal(err)
	}
	for name, decode := range map[string]func([]byte, *Payload) error{"compact": decodePayload, "strict": func(b []byte, p *Payload) error { return envelope.Strict(b, p) }} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			cpu0 := cpuTime(b)
			for b.Loop() {
				var out Payload
				if err := decode(body, &out); err != nil {
					b.Fatal(err)
				}
			}
			// CPU time moves far less than wall time on a shared machine.
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N)/float64(time.Millisecond), "cpu-ms/op")
		})
	}
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// FuzzCompactReadsWhatStrictReads is TestCompactReadsWhatStrictReads for
// `go test -fuzz`: whatever readCompact accepts, Strict accepts and reads
// the same.
func FuzzCompactReadsWhatStrictReads(f *testing.F) {
	for _, d := range compactDocs(f) {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var fast, strict Payload
		r := compactReader{b: in, s: string(in)}
		if !r.payload(&fast) {
			return
		}
		if objects, items, others := countItems(in); r.objects != objects || r.items != items || r.others != others {
			t.Fatalf("the compact path counted %d objects, %d items and %d others, countItems %d, %d and %d", r.objects, r.items, r.others, objects, items, others)
		}
		if err := envelope.Strict(in, &strict); err != nil {
			t.Fatalf("the compact path accepts what Strict refuses (%v)", err)
		}
		if !reflect.DeepEqual(fast, strict) {
			t.Fatalf("the compact path reads another payload than Strict:\ncompact: %+v\nstrict:  %+v", fast, strict)
		}
	})
}

// TestPayloadBounds: a payload of more objects or items than a bundle may
// hold is refused before it is decoded, on either path, with what it holds
// and the bounds — a viewer may upload a bundle to inspect, and a payload
// of millions of empty variables decoded into gigabytes. Braces, brackets
// and commas inside strings are text, not counted.
func TestPayloadBounds(t *testing.T) {
	empties := func(n int, sep string) []byte {
		return []byte(`{"kind":"k","variables":[` + strings.Repeat(`{}`+sep, n-1) + `{}]}`)
	}
	strs := func(n int) []byte {
		return []byte(`{"variables":[{"name":"a","environments":[` + strings.Repeat(`"",`, n-1) + `""]}]}`)
	}
	for name, in := range map[string][]byte{
		"objects, compact":        empties(MaxObjects+1, ","),
		"objects, with spaces":    empties(MaxObjects+1, ", "),
		"objects in process":      []byte(`{"process":[` + strings.Repeat(`{},`, MaxObjects) + `{}]}`),
		"steps":                   []byte(`{"process":[` + strings.Repeat(`{},`, MaxOthers) + `{}]}`),
		"steps, with spaces":      []byte(`{"process": [` + strings.Repeat(`{ }, `, MaxOthers) + `{}]}`),
		"templates":               []byte(`{"templates":[` + strings.Repeat(`{},`, MaxOthers) + `{}]}`),
		"variables, escaped name": []byte(`{"variabl\u0065s":[` + strings.Repeat(`{},`, MaxOthers) + `{}]}`),
		"sealed values":           []byte(`{"downstream":{"spaces":[],"sealed":[` + strings.Repeat(`{},`, MaxOthers) + `{}]}}`),
		"items in one list":       strs(MaxItems),
		"objects, four million":   empties(4_000_000, ","),
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var p Payload
		err := decodePayload(in, &p)
		runtime.ReadMemStats(&after)
		var de *domain.Error
		if !errors.As(err, &de) || de.Rule != domain.RuleSize || !strings.Contains(err.Error(), "a bundle may hold at most") {
			t.Errorf("%s: %v", name, err)
		}
		// What was decoded before the refusal is bounded by the bounds,
		// not by the payload: 4 million empty variables were 416 MB.
		t.Logf("%s: %d MB allocated to refuse a %d MB payload", name, (after.TotalAlloc-before.TotalAlloc)>>20, len(in)>>20)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 150<<20+2*uint64(len(in)) {
			t.Errorf("%s: %d MB allocated to refuse a %d MB payload", name, grew>>20, len(in)>>20)
		}
	}
	// Whole, as a viewer uploads it to inspect: signed by anyone.
	id := testSigner(t)
	file, err := envelope.Seal(Format, SchemaVersion, empties(4_000_000, ","), id.CertPEM, func(b []byte) ([]byte, error) { return signing.Sign(id.Signer, b) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(file); err == nil || !strings.Contains(err.Error(), "a bundle may hold at most") {
		t.Errorf("a bundle of 4 million empty variables: %v", err)
	}
	text := []byte(`{"variables":[{"name":"a","value":"` + strings.Repeat(`{[,`, MaxItems) + `"}]}`)
	if objects, items, _ := countItems(text); objects != 2 || items != 4 {
		t.Errorf("countItems counted text: %d objects, %d items", objects, items)
	}
	var p Payload
	if err := decodePayload(text, &p); err != nil || len(p.Variables) != 1 {
		t.Errorf("a long value of braces: %v", err)
	}
}
