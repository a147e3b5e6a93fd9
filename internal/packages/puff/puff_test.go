package puff

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// roundTrip puffs a deflate stream, checks the token form huffs back to
// exactly the same bytes, and returns the token form.
func roundTrip(t testing.TB, stream []byte) []byte {
	t.Helper()
	var tok bytes.Buffer
	res, err := Puff(bytes.NewReader(stream), &tok)
	if err != nil {
		t.Fatalf("puff: %v", err)
	}
	if res.In != int64(len(stream)) || res.Out != int64(tok.Len()) {
		t.Fatalf("puff took %d of %d bytes, wrote %d of %d", res.In, len(stream), res.Out, tok.Len())
	}
	var back bytes.Buffer
	r := bytes.NewReader(tok.Bytes())
	if err := Huff(r, &back); err != nil {
		t.Fatalf("huff: %v", err)
	}
	if r.Len() != 0 {
		t.Fatalf("huff left %d bytes of the token form", r.Len())
	}
	if !bytes.Equal(back.Bytes(), stream) {
		t.Fatalf("huff did not rebuild the stream: %d bytes vs %d", back.Len(), len(stream))
	}
	return tok.Bytes()
}

func sample(r *rand.Rand, n int) []byte {
	words := []string{"deploy ", "release ", "ferry ", "space\n", "{", "}", "x := ", "0123", "the ", "of "}
	var b bytes.Buffer
	for b.Len() < n {
		if r.Intn(5) == 0 {
			raw := make([]byte, r.Intn(300))
			r.Read(raw)
			b.Write(raw)
		}
		b.WriteString(words[r.Intn(len(words))])
	}
	return b.Bytes()[:n]
}

func TestGoFlateAllLevels(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, n := range []int{0, 1, 100, 70_000, 300_000} {
		data := sample(r, n)
		for lv := -2; lv <= 9; lv++ {
			var z bytes.Buffer
			w, _ := flate.NewWriter(&z, lv)
			w.Write(data)
			w.Close()
			roundTrip(t, z.Bytes())
		}
	}
}

// TestRealTools puffs streams made by zlib (python), GNU gzip at several
// levels, and Info-ZIP zip, when they are installed.
func TestRealTools(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	data := sample(r, 500_000)
	dir := t.TempDir()
	in := dir + "/in"
	os.WriteFile(in, data, 0o644)
	if _, err := exec.LookPath("gzip"); err != nil {
		t.Skip("gzip is not installed (apt-get install gzip); the real-tool streams are not checked")
	}
	for _, lv := range []string{"-1", "-6", "-9"} {
		out, err := exec.Command("gzip", lv, "-n", "-c", in).Output()
		if err != nil {
			t.Fatal(err)
		}
		// a gzip member: 10-byte header, deflate, 8-byte trailer
		roundTrip(t, out[10:len(out)-8])
	}
	if _, err := exec.LookPath("python3"); err == nil {
		for _, lv := range []string{"1", "6", "9"} {
			cmd := exec.Command("python3", "-c", "import sys,zlib; c=zlib.compressobj("+lv+", zlib.DEFLATED, -15); sys.stdout.buffer.write(c.compress(open(sys.argv[1],'rb').read())+c.flush())", in)
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, out)
		}
	}
}

// TestPredictedHeaders: the dynamic block headers zlib and GNU gzip write
// are the ones trees.c builds, so the token form leaves them out.
func TestPredictedHeaders(t *testing.T) {
	if _, err := exec.LookPath("gzip"); err != nil {
		t.Skip("gzip is not installed (apt-get install gzip)")
	}
	in := filepath.Join(t.TempDir(), "in")
	os.WriteFile(in, sample(rand.New(rand.NewSource(5)), 400_000), 0o644)
	out, err := exec.Command("gzip", "-6", "-n", "-c", in).Output()
	if err != nil {
		t.Fatal(err)
	}
	tok := roundTrip(t, out[10:len(out)-8])
	if tok[0]&predicted == 0 {
		t.Errorf("GNU gzip's first block header was not predicted (header byte %#x)", tok[0])
	}
}

func TestStreamEndsEarly(t *testing.T) {
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, 6)
	w.Write([]byte("hello hello hello hello"))
	w.Close()
	stream := append(z.Bytes(), "TRAILER"...)
	br := bufio.NewReader(bytes.NewReader(stream))
	res, err := Puff(br, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.In != int64(z.Len()) {
		t.Fatalf("stream is %d bytes, puff says %d", z.Len(), res.In)
	}
}

func TestMalformed(t *testing.T) {
	for _, s := range [][]byte{{}, {0xff}, {0x07}, {0x01, 0x05, 0x00, 0x00, 0x00}, bytes.Repeat([]byte{0xff}, 100)} {
		if _, err := Puff(bytes.NewReader(s), io.Discard); err == nil {
			t.Errorf("puff accepted %x", s)
		}
	}
	for _, s := range [][]byte{{}, {0x08}, {0x02, 0x80}, {0x02, 0x80, 0, 0xff, 0xff}, {0x05, 30, 0, 0}, {0x01, 0x00}, {0x00, 0x09, 0, 0}} {
		if err := Huff(bytes.NewReader(s), io.Discard); err == nil {
			t.Errorf("huff accepted %x", s)
		} else if !errors.Is(err, ErrFormat) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("huff %x: %v", s, err)
		}
	}
}

// FuzzHuff feeds untrusted token streams to Huff: it must fail cleanly or
// write a deflate stream that puffs back to the same tokens.
func FuzzHuff(f *testing.F) {
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, 6)
	w.Write(sample(rand.New(rand.NewSource(3)), 3000))
	w.Close()
	var tok bytes.Buffer
	Puff(bytes.NewReader(z.Bytes()), &tok)
	f.Add(tok.Bytes())
	f.Add([]byte{0x03, 0x00, 0xff, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		if err := Huff(bytes.NewReader(in), &out); err != nil {
			return
		}
		// Puff writes the canonical tokens (a header it can predict is left
		// out), which huff back to the same stream.
		var again bytes.Buffer
		if _, err := Puff(bytes.NewReader(out.Bytes()), &again); err != nil {
			t.Fatalf("huff wrote a stream puff refuses: %v", err)
		}
		var back bytes.Buffer
		if err := Huff(bytes.NewReader(again.Bytes()), &back); err != nil || !bytes.Equal(back.Bytes(), out.Bytes()) {
			t.Fatalf("the stream does not survive puff then huff: %v", err)
		}
	})
}

// FuzzPuff feeds arbitrary bytes to Puff: whatever it accepts must huff
// back to exactly the bytes it took.
func FuzzPuff(f *testing.F) {
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, 9)
	w.Write(sample(rand.New(rand.NewSource(4)), 5000))
	w.Close()
	f.Add(z.Bytes())
	f.Fuzz(func(t *testing.T, in []byte) {
		var tok bytes.Buffer
		res, err := Puff(bytes.NewReader(in), &tok)
		if err != nil {
			return
		}
		var back bytes.Buffer
		if err := Huff(bytes.NewReader(tok.Bytes()), &back); err != nil {
			t.Fatalf("huff refuses what puff wrote: %v", err)
		}
		if !bytes.Equal(back.Bytes(), in[:res.In]) {
			t.Fatalf("not rebuilt bit for bit")
		}
	})
}
