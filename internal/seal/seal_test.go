package seal

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"
)

func newID(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func mustSeal(t *testing.T, r *age.X25519Recipient, p []byte) string {
	t.Helper()
	s, err := Seal(r, p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	id := newID(t)
	for _, p := range [][]byte{{}, []byte("Server=db;Password=hunter2"), bytes.Repeat([]byte{0}, 64<<10), bytes.Repeat([]byte("z"), MaxPlaintextSize)} {
		s := mustSeal(t, id.Recipient(), p)
		if !strings.HasPrefix(s, armor.Header+"\n") || !strings.HasSuffix(s, armor.Footer+"\n") {
			t.Fatalf("not armored: %.60q", s)
		}
		if len(s) > MaxArmoredSize {
			t.Fatalf("%d-byte secret sealed to %d bytes, over MaxArmoredSize", len(p), len(s))
		}
		if len(p) > 4 && strings.Contains(s, string(p)) {
			t.Fatal("plaintext visible")
		}
		got, err := Open(id, s)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, p) {
			t.Fatalf("round trip of %d bytes changed the data", len(p))
		}
	}
}

func TestWrongIdentity(t *testing.T) {
	s := mustSeal(t, newID(t).Recipient(), []byte("secret"))
	_, err := Open(newID(t), s)
	if err == nil || !strings.Contains(err.Error(), "not encrypted to this space's age key") {
		t.Fatalf("got %v", err)
	}
}

func TestTampered(t *testing.T) {
	id := newID(t)
	s := mustSeal(t, id.Recipient(), []byte("a secret worth protecting"))
	body := strings.TrimSuffix(strings.TrimPrefix(s, armor.Header+"\n"), armor.Footer+"\n")
	// Flip characters across the armored body (header stanza, MAC and
	// payload); each must be refused, never decrypt to something else.
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '\n' || c == '=' {
			continue
		}
		repl := byte('A')
		if c == 'A' {
			repl = 'B'
		}
		mod := armor.Header + "\n" + body[:i] + string(repl) + body[i+1:] + armor.Footer + "\n"
		if got, err := Open(id, mod); err == nil {
			t.Fatalf("changing character %d was not detected (got %q)", i, got)
		}
	}
}

func TestTruncated(t *testing.T) {
	id := newID(t)
	s := mustSeal(t, id.Recipient(), bytes.Repeat([]byte("secret "), 20000))
	lines := strings.SplitAfter(s, "\n")
	// Dropping whole lines of base64 (and keeping the footer) is the
	// subtle case: the armor is well formed, only age can notice.
	for keep := 1; keep < len(lines)-1; keep += max(1, len(lines)/40) {
		mod := strings.Join(lines[:keep], "") + armor.Footer + "\n"
		if _, err := Open(id, mod); err == nil {
			t.Fatalf("keeping %d of %d lines was not detected", keep, len(lines))
		}
	}
	for _, n := range []int{0, 10, len(s) / 2, len(s) - 2} {
		if _, err := Open(id, s[:n]); err == nil {
			t.Fatalf("cutting at %d bytes was not detected", n)
		}
	}
}

func TestJunk(t *testing.T) {
	id := newID(t)
	s := mustSeal(t, id.Recipient(), []byte("x"))
	for name, in := range map[string]string{
		"empty":         "",
		"plain":         "hunter2",
		"trailing":      s + "junk\n",
		"binary age":    "age-encryption.org/v1\n",
		"two files":     s + s,
		"header only":   armor.Header + "\n" + armor.Footer + "\n",
		"lowercase hdr": strings.ToLower(s),
	} {
		if _, err := Open(id, in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSizeLimits(t *testing.T) {
	id := newID(t)
	if _, err := Seal(id.Recipient(), make([]byte, MaxPlaintextSize+1)); err == nil {
		t.Fatal("oversized plaintext sealed")
	}
	big := armor.Header + "\n" + strings.Repeat(strings.Repeat("A", 64)+"\n", MaxArmoredSize/65+1) + armor.Footer + "\n"
	if _, err := Open(id, big); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("oversized input: got %v", err)
	}
	// A file made elsewhere (here with age directly) that fits the input
	// cap but decrypts past the output cap is refused too. Zeros compress
	// nothing in age, so this relies on the output check, not the input one.
	var buf strings.Builder
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	w.Write(make([]byte, MaxPlaintextSize+1))
	w.Close()
	aw.Close()
	if buf.Len() > MaxArmoredSize {
		t.Fatalf("test input is %d bytes, over the input cap", buf.Len())
	}
	if _, err := Open(id, buf.String()); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("oversized output: got %v", err)
	}
	if _, err := Seal(nil, []byte("x")); err == nil {
		t.Fatal("nil recipient accepted")
	}
	if _, err := Open(nil, "x"); err == nil {
		t.Fatal("nil identity accepted")
	}
}

// TestAgeCLI checks the promise made to users: the age tool alone, given
// the space's key, decrypts a sealed secret.
func TestAgeCLI(t *testing.T) {
	if _, err := exec.LookPath("age"); err != nil {
		t.Skip("age not on PATH")
	}
	id := newID(t)
	secret := "Password=correct horse battery staple"
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "key.txt")
	if err := os.WriteFile(keyPath, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sealedPath := filepath.Join(dir, "secret.age")
	if err := os.WriteFile(sealedPath, []byte(mustSeal(t, id.Recipient(), []byte(secret))), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("age", "-d", "-i", keyPath, sealedPath).Output()
	if err != nil {
		t.Fatalf("age -d: %v", err)
	}
	if string(out) != secret {
		t.Fatalf("age decrypted %q", out)
	}
	// And the reverse: what `age -a -r` makes, Open reads.
	cmd := exec.Command("age", "-a", "-r", id.Recipient().String())
	cmd.Stdin = strings.NewReader(secret)
	armored, err := cmd.Output()
	if err != nil {
		t.Fatalf("age -a -r: %v", err)
	}
	got, err := Open(id, string(armored))
	if err != nil || string(got) != secret {
		t.Fatalf("Open(age output) = %q, %v", got, err)
	}
}
