// Package secrets encrypts values at rest (sensitive variables, space
// private keys) with the server's master key, which lives in the data folder
// as DATA/master.key.
//
// The database only ever holds sealed text, so a copy of the database alone
// reveals no secret; the master key file is the one thing to protect (and to
// back up, since without it sealed values are unrecoverable).
package secrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

const (
	// KeySize is the master key length: AES-256.
	KeySize = 32

	// Prefix marks a sealed value. The version lets a later format (or a
	// rotated key scheme) coexist with values written by this one.
	Prefix = "enc:v1:"

	nonceSize = 12 // the standard GCM nonce; random nonces are safe for far more values than a server will ever seal
	tagSize   = 16

	// keyFileMode keeps the master key readable by the server's user only.
	keyFileMode fs.FileMode = 0o600

	// maxKeyFileSize bounds how much of a (possibly wrong) file is read; a
	// valid key file is 45 bytes.
	maxKeyFileSize = 1024
)

// Box seals and opens values with one master key. It is safe for concurrent
// use.
type Box struct {
	aead cipher.AEAD
}

// NewBox returns a Box for a 32-byte key. Servers use LoadOrCreateKey; this
// exists for tests and tools that hold the key some other way.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("master key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("creating AES cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("creating AES-GCM: %w", err)
	}
	return &Box{aead: aead}, nil
}

// LoadOrCreateKey reads the master key at path (32 random bytes, standard
// base64 plus a newline), creating it with mode 0600 if it does not exist.
// It refuses a key file that group or others can access, because anyone who
// can read it can read every secret on the server.
func LoadOrCreateKey(path string) (*Box, error) {
	key, err := readKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createKey(path)
		if errors.Is(err, fs.ErrExist) {
			// Another process created the key between our read and our
			// create; use theirs so both agree on one key.
			key, err = readKey(path)
		}
	}
	if err != nil {
		return nil, err
	}
	return NewBox(key)
}

func readKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening master key %s: %w", path, err)
	}
	defer f.Close()
	// Stat the open file rather than the path so the check applies to the
	// very file we read.
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("checking master key %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("master key %s is not a regular file", path)
	}
	// Windows does not report Unix permission bits, so the check would
	// always fail there; access is governed by ACLs instead.
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("master key %s has mode %04o, so other users may read every secret on this server; run `chmod 600 %s` and restart",
			path, info.Mode().Perm(), path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading master key %s: %w", path, err)
	}
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("master key %s is not a ferry master key: it is larger than %d bytes", path, maxKeyFileSize)
	}
	// Tolerate surrounding whitespace (an editor's extra newline) but
	// nothing else.
	text := bytes.TrimSpace(data)
	key, err := base64.StdEncoding.Strict().DecodeString(string(text))
	if err != nil {
		return nil, fmt.Errorf("master key %s is not valid base64 (expected 32 random bytes, base64-encoded, on one line): %w", path, err)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("master key %s holds %d bytes, want %d (base64-encoded on one line)", path, len(key), KeySize)
	}
	return key, nil
}

// createKey writes a new key to a private temporary file and then hard-links
// it into place. The link fails if path exists, so exactly one of several
// racing processes wins, and the file is complete whenever it is visible at
// path (creating path itself with O_EXCL would let a loser read it half
// written).
func createKey(path string) ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generating master key: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".master.key.*.tmp") // CreateTemp uses O_EXCL and mode 0600
	if err != nil {
		return nil, fmt.Errorf("creating master key in %s: %w", dir, err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if err := tmp.Chmod(keyFileMode); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("setting mode of new master key %s: %w", tmpName, err)
	}
	line := base64.StdEncoding.EncodeToString(key) + "\n"
	if _, err := tmp.WriteString(line); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("writing new master key %s: %w", tmpName, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("syncing new master key %s: %w", tmpName, err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("closing new master key %s: %w", tmpName, err)
	}
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("creating master key %s: %w", path, fs.ErrExist)
		}
		return nil, fmt.Errorf("creating master key %s: %w", path, err)
	}
	// Persist the directory entry so a crash right after cannot lose a key
	// that values may already have been sealed with.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: not every platform can sync a directory
		d.Close()
	}
	return key, nil
}

// Seal encrypts plaintext with AES-256-GCM under a random nonce. aad is
// authenticated but not stored: callers pass where the value lives (for
// example "variable:<projectID>:<name>"), so a sealed value copied into
// another row fails to open instead of silently decrypting there.
// The result is Prefix followed by base64url (no padding) of nonce||ciphertext.
func (b *Box) Seal(plaintext []byte, aad string) (string, error) {
	nonce := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("generating nonce: %w", err)
	}
	out := b.aead.Seal(nonce, nonce, plaintext, []byte(aad))
	return Prefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a value made by Seal with the same key and aad. Any
// mismatch (wrong key, wrong aad, altered or truncated text) is an error.
func (b *Box) Open(sealed string, aad string) ([]byte, error) {
	if !IsSealed(sealed) {
		return nil, errors.New("opening sealed value: not a sealed value (missing " + Prefix + " prefix)")
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(sealed[len(Prefix):])
	if err != nil {
		return nil, fmt.Errorf("opening sealed value: malformed encoding: %w", err)
	}
	if len(raw) < nonceSize+tagSize {
		return nil, fmt.Errorf("opening sealed value: truncated (%d bytes, need at least %d)", len(raw), nonceSize+tagSize)
	}
	plaintext, err := b.aead.Open(nil, raw[:nonceSize], raw[nonceSize:], []byte(aad))
	if err != nil {
		// GCM cannot tell these causes apart, so name them all.
		return nil, fmt.Errorf("opening sealed value: wrong master key, value moved from another record, or value altered: %w", err)
	}
	return plaintext, nil
}

// IsSealed reports whether s looks like a value made by Seal.
func IsSealed(s string) bool {
	return strings.HasPrefix(s, Prefix)
}
