package delta

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func roundTrip(t testing.TB, base, target []byte) (Stats, int) {
	t.Helper()
	var d bytes.Buffer
	st, err := Encode(base, target, &d, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	n, err := Apply(bytes.NewReader(base), int64(len(base)), bytes.NewReader(d.Bytes()), &out, int64(len(target)))
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if n != int64(len(target)) || !bytes.Equal(out.Bytes(), target) {
		t.Fatalf("rebuilt %d bytes, not the target's %d", n, len(target))
	}
	if st.Copied+st.Diffed+st.Added != int64(len(target)) {
		t.Fatalf("stats cover %d bytes of %d", st.Copied+st.Diffed+st.Added, len(target))
	}
	return st, d.Len()
}

func textish(r *rand.Rand, n int) []byte {
	words := []string{"deploy ", "release ", "ferry ", "space\n", "{", "}", "x := ", "the ", "of "}
	var b bytes.Buffer
	for b.Len() < n {
		if r.Intn(4) == 0 {
			raw := make([]byte, r.Intn(200))
			r.Read(raw)
			b.Write(raw)
		}
		b.WriteString(words[r.Intn(len(words))])
	}
	return b.Bytes()[:n]
}

func TestEdits(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	base := textish(r, 3<<20)
	cases := map[string]func([]byte) []byte{
		"same":         func(b []byte) []byte { return bytes.Clone(b) },
		"empty target": func(b []byte) []byte { return nil },
		"insert": func(b []byte) []byte {
			return append(append(bytes.Clone(b[:1<<20]), "a new line\n"...), b[1<<20:]...)
		},
		"delete": func(b []byte) []byte { return append(bytes.Clone(b[:1<<20]), b[1<<20+5000:]...) },
		"scattered bytes": func(b []byte) []byte {
			c := bytes.Clone(b)
			for i := 0; i < 2000; i++ {
				c[r.Intn(len(c))] ^= 0x55
			}
			return c
		},
		"timestamps every 4 KiB": func(b []byte) []byte {
			c := bytes.Clone(b)
			for i := 100; i+12 < len(c); i += 4096 {
				copy(c[i:], "174001234567")
			}
			return c
		},
		"moved far": func(b []byte) []byte { return append(bytes.Clone(b[2<<20:]), b[:2<<20]...) },
		"all new":   func(b []byte) []byte { return textish(rand.New(rand.NewSource(9)), 1<<20) },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			target := edit(base)
			st, size := roundTrip(t, base, target)
			t.Logf("%d bytes: delta %d (copied %d, diffed %d, added %d, %d ops)", len(target), size, st.Copied, st.Diffed, st.Added, st.Ops)
			if name == "same" && size > 1000 {
				t.Errorf("an unchanged file costs %d bytes", size)
			}
			if name == "timestamps every 4 KiB" && size > 20_000 {
				t.Errorf("768 changed timestamps cost %d bytes", size)
			}
		})
	}
	roundTrip(t, nil, []byte("from nothing"))
	roundTrip(t, []byte("x"), nil)
}

// TestLargeBase crosses many slabs of the base.
func TestLargeBase(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	r := rand.New(rand.NewSource(2))
	base := make([]byte, 40<<20)
	r.Read(base)
	target := bytes.Clone(base)
	for i := 0; i < 50; i++ {
		at := r.Intn(len(target) - 200)
		r.Read(target[at : at+100])
	}
	target = append(target[:20<<20], append([]byte("inserted"), target[20<<20:]...)...)
	_, size := roundTrip(t, base, target)
	if size > 20_000 {
		t.Errorf("50 changes of 100 bytes and an insertion cost %d bytes", size)
	}
}

func encodeOps(ops []byte) []byte {
	var b bytes.Buffer
	zw, _ := zstd.NewWriter(&b)
	zw.Write(ops)
	zw.Close()
	return b.Bytes()
}

func TestApplyHostile(t *testing.T) {
	base := []byte("0123456789")
	for name, ops := range map[string][]byte{
		"no magic":          []byte("XX"),
		"too long":          []byte("FD1\xff\xff\xff\xff\x0f"),
		"copy out of range": append([]byte("FD1\x05"), opCopy, 0x14, 5, opEnd),
		"copy before start": append([]byte("FD1\x05"), opCopy, 0x01, 5, opEnd),
		"zero length":       append([]byte("FD1\x05"), opAdd, 0, opEnd),
		"past size":         append([]byte("FD1\x02"), opAdd, 3, 'a', 'b', 'c', opEnd),
		"short":             append([]byte("FD1\x05"), opCopy, 0, 3, opEnd),
		"truncated add":     append([]byte("FD1\x05"), opAdd, 5, 'a'),
		"no end":            append([]byte("FD1\x01"), opAdd, 1, 'a'),
		"unknown op":        append([]byte("FD1\x01"), 9),
		"after end":         append([]byte("FD1\x01"), opAdd, 1, 'a', opEnd, 'x'),
	} {
		_, err := Apply(bytes.NewReader(base), int64(len(base)), bytes.NewReader(encodeOps(ops)), io.Discard, 100)
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Apply(bytes.NewReader(base), 10, bytes.NewReader([]byte("not zstd at all")), io.Discard, 100); err == nil {
		t.Error("not zstd: applied")
	}
	// A small delta that would expand past the limit is refused before it is written.
	big := append([]byte("FD1\x80\x80\x80\x80\x01"), opAdd)
	if _, err := Apply(bytes.NewReader(base), 10, bytes.NewReader(encodeOps(big)), io.Discard, 1<<20); !errors.Is(err, ErrFormat) {
		t.Errorf("over the limit: %v", err)
	}
}

func FuzzApply(f *testing.F) {
	base := textish(rand.New(rand.NewSource(3)), 5000)
	target := append(bytes.Clone(base[:2000]), base[2500:]...)
	var d bytes.Buffer
	Encode(base, target, &d, nil)
	f.Add(d.Bytes())
	f.Add(encodeOps(append([]byte("FD1\x05"), opCopy, 0x10, 5, opEnd)))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		n, err := Apply(bytes.NewReader(base), int64(len(base)), bytes.NewReader(in), &out, 10_000)
		if n > 10_000 || out.Len() > 10_000 {
			t.Fatalf("wrote %d bytes past the limit", out.Len())
		}
		_ = err
	})
}
