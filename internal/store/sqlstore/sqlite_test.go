package sqlstore

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTemp(t, filepath.Join(t.TempDir(), "ferry.db"), newTestSealer(t))
	})
}

// openTemp opens the SQLite file at path; the caller closes it.
func openTemp(t *testing.T, path string, sealer Sealer) *DB {
	t.Helper()
	db, err := OpenSQLite(t.Context(), path, sealer)
	if err != nil {
		t.Fatal(err)
	}
	if db.Kind() != "sqlite" {
		t.Errorf("Kind = %q", db.Kind())
	}
	return db
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.db")
	sealer := newTestSealer(t)
	db := openTemp(t, path, sealer)
	sp := domain.Space{Name: "Default"}
	if err := db.Spaces().Create(t.Context(), &sp); err != nil {
		t.Fatal(err)
	}
	p := domain.Project{SpaceID: sp.ID, Name: "Shop", Lifecycle: "Main",
		Variables: []domain.Variable{{Name: "Token", Value: "abc", Sensitive: true}}}
	if err := db.Projects().Put(t.Context(), &p); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openTemp(t, path, sealer)
	defer db.Close()
	got, err := db.Projects().Get(t.Context(), sp.ID, "Shop")
	if err != nil {
		t.Fatalf("after reopening: %v", err)
	}
	if got.ID != p.ID || len(got.Variables) != 1 || got.Variables[0].Value != "abc" {
		t.Errorf("after reopening: %+v, want %+v", got, p)
	}

	// Another key cannot open the sealed value.
	other := openTemp(t, path, newTestSealer(t))
	defer other.Close()
	if _, err := other.Projects().Get(t.Context(), sp.ID, "Shop"); err == nil {
		t.Error("a store with another sealer key opened a sensitive value")
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	db := openTemp(t, filepath.Join(t.TempDir(), "ferry.db"), newTestSealer(t))
	defer db.Close()
	want, err := loadMigrations(db.d.migrations)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := migrate(t.Context(), db.sql, db.d); err != nil {
			t.Fatalf("migrating again: %v", err)
		}
	}
	var n, max int64
	err = db.sql.QueryRowContext(t.Context(), `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &max)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(want)) || max != want[len(want)-1].version {
		t.Errorf("schema_migrations has %d rows up to %d, want %d up to %d", n, max, len(want), want[len(want)-1].version)
	}
}

// TestSecretsSealedAtRest stores sensitive values in a project and a release
// and looks for them in the bytes of the database and its write-ahead log.
func TestSecretsSealedAtRest(t *testing.T) {
	const projectSecret, releaseSecret = "hunter2-project-secret", "hunter2-release-secret"
	path := filepath.Join(t.TempDir(), "ferry.db")
	db := openTemp(t, path, newTestSealer(t))
	ctx := t.Context()
	sp := domain.Space{Name: "Default"}
	if err := db.Spaces().Create(ctx, &sp); err != nil {
		t.Fatal(err)
	}
	p := domain.Project{SpaceID: sp.ID, Name: "Shop", Lifecycle: "Main", Variables: []domain.Variable{
		{Name: "Token", Value: projectSecret, Sensitive: true},
		{Name: "Plain", Value: "plain-marker-value"},
	}}
	if err := db.Projects().Put(ctx, &p); err != nil {
		t.Fatal(err)
	}
	r := domain.Release{ProjectID: p.ID, Version: "1.0.0", Snapshot: domain.Snapshot{
		Variables: []domain.Variable{{Name: "Token", Value: releaseSecret, Sensitive: true}},
	}}
	if err := db.Releases().Create(ctx, &r); err != nil {
		t.Fatal(err)
	}
	got, err := db.Releases().Get(ctx, p.ID, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if got.Snapshot.Variables[0].Value != releaseSecret {
		t.Fatalf("release secret did not round-trip: %+v", got.Snapshot.Variables)
	}

	check := func(when string) {
		t.Helper()
		files, _ := filepath.Glob(path + "*")
		var all []byte
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		// The plain value proves the files hold the data at all.
		if !bytes.Contains(all, []byte("plain-marker-value")) {
			t.Fatalf("%s: files %v do not hold the plain variable; is the test reading the right files?", when, files)
		}
		for _, secret := range []string{projectSecret, releaseSecret} {
			if bytes.Contains(all, []byte(secret)) {
				t.Errorf("%s: %q is in the database files in plaintext", when, secret)
			}
		}
	}
	check("while open")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	check("after close")
}

func TestSQLitePragmas(t *testing.T) {
	db := openTemp(t, filepath.Join(t.TempDir(), "ferry.db"), newTestSealer(t))
	defer db.Close()
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"busy_timeout": "10000",
		"synchronous":  "1", // NORMAL
	} {
		var got string
		if err := db.sql.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
		}
	}
}

func TestRebindDollar(t *testing.T) {
	got := rebindDollar(`SELECT a FROM t WHERE b = ? AND c IN (?, ?)`)
	if want := `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)`; got != want {
		t.Errorf("rebindDollar = %q, want %q", got, want)
	}
}

func TestOpenWithoutSealer(t *testing.T) {
	_, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "ferry.db"), nil)
	if err == nil || !strings.Contains(err.Error(), "sealer") {
		t.Errorf("OpenSQLite without a sealer: %v", err)
	}
}

// testSealer is AES-256-GCM with a random key, like the server's, so that
// tests see ciphertext in the database and a wrong key fails to open.
type testSealer struct{ aead cipher.AEAD }

func newTestSealer(t testing.TB) *testSealer {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return &testSealer{aead}
}

func (s *testSealer) Seal(plaintext []byte, aad string) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return "test:" + base64.StdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plaintext, []byte(aad))), nil
}

func (s *testSealer) Open(sealed string, aad string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, "test:"))
	if err != nil {
		return nil, err
	}
	n := s.aead.NonceSize()
	if len(b) < n {
		return nil, errors.New("sealed value too short")
	}
	return s.aead.Open(nil, b[:n], b[n:], []byte(aad))
}
