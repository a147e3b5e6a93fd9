package client

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
)

// PinCertificate makes the client accept exactly the server TLS certificate
// whose SHA-256 fingerprint is fingerprint (hex, with or without colons, as
// `ferry server --tls-generate` logs it), whoever signed it: for a server
// with a self-signed certificate.
func (c *Client) PinCertificate(fingerprint string) error {
	want := strings.ToLower(strings.NewReplacer(":", "", " ", "").Replace(strings.TrimSpace(fingerprint)))
	if b, err := hex.DecodeString(want); err != nil || len(b) != sha256.Size {
		return fmt.Errorf("server fingerprint %q is not a SHA-256 fingerprint (64 hex digits)", fingerprint)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The fingerprint check below replaces the chain and name checks.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("the server presented no TLS certificate")
			}
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if got := hex.EncodeToString(sum[:]); got != want {
				return fmt.Errorf("the server's TLS certificate has fingerprint %s, not the pinned one", strings.ToUpper(got))
			}
			return nil
		},
	}
	c.HTTP.Transport = tr
	return nil
}
