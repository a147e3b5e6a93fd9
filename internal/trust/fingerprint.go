package trust

import (
	"encoding/hex"
	"strings"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// ParseFingerprint reads a certificate's SHA-256 fingerprint (a space's, or
// a server's TLS certificate) as people copy it — "AB:CD:…", "abcd…", or openssl's
// "sha256 Fingerprint=AB:CD:…" — and returns it in the form ferry prints
// everywhere: uppercase hex pairs joined by colons. "" stays "" (no pin).
func ParseFingerprint(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if _, after, ok := strings.Cut(s, "="); ok {
		s = after
	}
	s = strings.TrimPrefix(strings.ToLower(s), "sha256:")
	raw, err := hex.DecodeString(strings.NewReplacer(":", "", " ", "").Replace(s))
	if err != nil || len(raw) != 32 {
		return "", domain.Invalidf("fingerprint %q is not a SHA-256 fingerprint (64 hex digits, as `ferry server --tls-generate` or `openssl x509 -noout -fingerprint -sha256` print it)", s)
	}
	parts := make([]string, len(raw))
	for i, b := range raw {
		parts[i] = strings.ToUpper(hex.EncodeToString([]byte{b}))
	}
	return strings.Join(parts, ":"), nil
}
