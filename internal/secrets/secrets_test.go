package secrets

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func newTestBox(t *testing.T) *Box {
	t.Helper()
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	b, err := NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	b := newTestBox(t)
	for _, pt := range [][]byte{nil, []byte("x"), []byte("hunter2"), bytes.Repeat([]byte{0xff}, 10000)} {
		s, err := b.Seal(pt, "variable:p1:Token")
		if err != nil {
			t.Fatal(err)
		}
		if !IsSealed(s) {
			t.Fatalf("IsSealed(%q) = false", s)
		}
		if len(pt) > 4 && strings.Contains(s, string(pt)) { // short strings can occur in base64 by chance
			t.Fatal("sealed text contains the plaintext")
		}
		got, err := b.Open(s, "variable:p1:Token")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("got %q, want %q", got, pt)
		}
	}
}

func TestSealIsRandomised(t *testing.T) {
	b := newTestBox(t)
	s1, _ := b.Seal([]byte("same"), "a")
	s2, _ := b.Seal([]byte("same"), "a")
	if s1 == s2 {
		t.Fatal("two seals of the same value are identical; nonce is not random")
	}
}

func TestWrongAAD(t *testing.T) {
	b := newTestBox(t)
	s, _ := b.Seal([]byte("secret"), "variable:p1:Token")
	for _, aad := range []string{"variable:p2:Token", "variable:p1:Other", "", "variable:p1:Token "} {
		if _, err := b.Open(s, aad); err == nil {
			t.Errorf("Open with aad %q succeeded", aad)
		}
	}
}

func TestWrongKey(t *testing.T) {
	s, _ := newTestBox(t).Seal([]byte("secret"), "a")
	if _, err := newTestBox(t).Open(s, "a"); err == nil {
		t.Fatal("Open with another key succeeded")
	}
}

func TestTampered(t *testing.T) {
	b := newTestBox(t)
	s, _ := b.Seal([]byte("a secret value"), "a")
	raw, _ := base64.RawURLEncoding.DecodeString(s[len(Prefix):])
	for i := range raw {
		mod := bytes.Clone(raw)
		mod[i] ^= 0x01
		if _, err := b.Open(Prefix+base64.RawURLEncoding.EncodeToString(mod), "a"); err == nil {
			t.Fatalf("flipping byte %d was not detected", i)
		}
	}
	for n := 0; n < len(raw); n++ {
		if _, err := b.Open(Prefix+base64.RawURLEncoding.EncodeToString(raw[:n]), "a"); err == nil {
			t.Fatalf("truncation to %d bytes was not detected", n)
		}
	}
	for _, bad := range []string{"", "enc:v1:", "enc:v1:!!!", "plain", "enc:v2:" + s[len(Prefix):], s + "=", s + "A"} {
		if _, err := b.Open(bad, "a"); err == nil {
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
}

func TestNewBoxKeyLength(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := NewBox(make([]byte, n)); err == nil {
			t.Errorf("NewBox accepted a %d-byte key", n)
		}
	}
}

func TestLoadOrCreateKeyCreates0600AndReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	b1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %04o, want 0600", info.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if !bytes.HasSuffix(data, []byte("\n")) {
		t.Fatal("key file does not end with a newline")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != KeySize {
		t.Fatalf("key file is not base64 of %d bytes: %q", KeySize, data)
	}
	s, _ := b1.Seal([]byte("v"), "a")
	b2, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b2.Open(s, "a"); err != nil || string(got) != "v" {
		t.Fatalf("reloaded key cannot open: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestLoadOrCreateKeyRefusesLoosePerms(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if _, err := LoadOrCreateKey(path); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateKey(path)
		if err == nil {
			t.Fatalf("mode %04o accepted", mode)
		}
		if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("error does not name the path and the fix: %v", err)
		}
	}
}

func TestLoadOrCreateKeyRejectsMalformed(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"short":    base64.StdEncoding.EncodeToString(make([]byte, 16)) + "\n",
		"long":     base64.StdEncoding.EncodeToString(make([]byte, 48)) + "\n",
		"notb64":   "this is not base64!\n",
		"empty":    "",
		"raw":      string(make([]byte, 32)),
		"twolines": base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\n" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\n",
		"huge":     strings.Repeat("A", 5000),
	}
	for name, content := range cases {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateKey(path)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error does not name the file: %v", name, err)
		}
		// The file must be left as it was, never replaced by a new key.
		if got, _ := os.ReadFile(path); string(got) != content {
			t.Errorf("%s: file was modified", name)
		}
	}
}

func TestLoadOrCreateKeyConcurrentYieldsOneKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	const n = 32
	boxes := make([]*Box, n)
	errs := make([]error, n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range n {
		wg.Go(func() {
			start.Wait()
			boxes[i], errs[i] = LoadOrCreateKey(path)
		})
	}
	start.Done()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", i, err)
		}
	}
	s, _ := boxes[0].Seal([]byte("one key"), "a")
	for i, b := range boxes {
		if _, err := b.Open(s, "a"); err != nil {
			t.Fatalf("box %d has a different key: %v", i, err)
		}
	}
}
