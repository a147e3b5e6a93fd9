// Package seal encrypts a secret to a space with age, so that sensitive
// variable values can travel inside a release bundle readable only by the
// target space.
//
// The output is a standard ASCII-armored age file: a person holding the
// space's age key can decrypt it with `age -d -i key.txt`, without ferry.
package seal

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
)

const (
	// MaxArmoredSize caps what Open reads, so a hostile bundle cannot make
	// the importer buffer unbounded data.
	MaxArmoredSize = 1 << 20

	// MaxPlaintextSize caps a secret. Armoring grows data by about 4/3
	// plus line breaks and age adds a small header, so a secret of this
	// size still seals to well under MaxArmoredSize; Seal refusing larger
	// secrets means Open never meets one it made.
	MaxPlaintextSize = 512 << 10
)

// Seal encrypts plaintext to the recipient with age (X25519) and returns it
// ASCII-armored ("-----BEGIN AGE ENCRYPTED FILE-----").
func Seal(r *age.X25519Recipient, plaintext []byte) (string, error) {
	if r == nil {
		return "", errors.New("sealing secret: no recipient")
	}
	if len(plaintext) > MaxPlaintextSize {
		return "", fmt.Errorf("sealing secret: it is %d bytes, over the %d-byte limit", len(plaintext), MaxPlaintextSize)
	}
	var out strings.Builder
	aw := armor.NewWriter(&out)
	w, err := age.Encrypt(aw, r)
	if err != nil {
		return "", fmt.Errorf("sealing secret: %w", err)
	}
	if _, err := w.Write(plaintext); err != nil {
		return "", fmt.Errorf("sealing secret: %w", err)
	}
	// Both closes matter: the first writes the final encrypted chunk, the
	// second the armor footer.
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("sealing secret: %w", err)
	}
	if err := aw.Close(); err != nil {
		return "", fmt.Errorf("sealing secret: armoring: %w", err)
	}
	return out.String(), nil
}

// Open decrypts an armored age file made by Seal (or by the age tool). A
// wrong key, or text that was altered or cut short, is an error: age
// authenticates every chunk and marks the last one, so truncation is
// detected rather than yielding a shorter secret.
func Open(id *age.X25519Identity, armored string) ([]byte, error) {
	if id == nil {
		return nil, errors.New("opening sealed secret: no identity")
	}
	if len(armored) > MaxArmoredSize {
		return nil, fmt.Errorf("opening sealed secret: it is %d bytes, over the %d-byte limit", len(armored), MaxArmoredSize)
	}
	if !strings.HasPrefix(strings.TrimSpace(armored), armor.Header) {
		return nil, fmt.Errorf("opening sealed secret: not an armored age file (expected %s)", armor.Header)
	}
	r, err := age.Decrypt(armor.NewReader(strings.NewReader(armored)), id)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return nil, fmt.Errorf("opening sealed secret: it was not encrypted to this space's age key (sealed for another space, or this space's key was replaced): %w", err)
		}
		return nil, fmt.Errorf("opening sealed secret: the encrypted data is damaged, altered or truncated: %w", err)
	}
	plaintext, err := io.ReadAll(io.LimitReader(r, MaxPlaintextSize+1))
	if err != nil {
		return nil, fmt.Errorf("opening sealed secret: the encrypted data is damaged, altered or truncated: %w", err)
	}
	if len(plaintext) > MaxPlaintextSize {
		return nil, fmt.Errorf("opening sealed secret: the secret is over the %d-byte limit", MaxPlaintextSize)
	}
	return plaintext, nil
}
