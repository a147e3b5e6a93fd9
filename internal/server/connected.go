package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/outbox"
)

// TLSConfig says how a server serves HTTPS: with a certificate and key
// from files, or with a self-signed certificate it generates once in the
// data folder, whose fingerprint other servers pin. Zero: plain HTTP.
type TLSConfig struct {
	CertFile, KeyFile string
	Generate          bool
}

// Files of a generated TLS certificate, in the data folder.
const (
	tlsCertFile = "tls-cert.pem"
	tlsKeyFile  = "tls-key.pem"
)

// Delivery settings from the environment, for tests and slow links
// (defaults in outbox.DefaultSettings).
const (
	deliveryPollEnv     = "FERRY_DELIVERY_POLL"
	deliveryRetryMinEnv = "FERRY_DELIVERY_RETRY_MIN"
	deliveryRetryMaxEnv = "FERRY_DELIVERY_RETRY_MAX"
	deliveryTimeoutEnv  = "FERRY_DELIVERY_TIMEOUT"
	deliveryLock        = "deliver-outbox"
)

// deliverySettings fills unset fields of s from the environment, then from
// the defaults.
func deliverySettings(s outbox.Settings) (outbox.Settings, error) {
	def := outbox.DefaultSettings
	for _, f := range []struct {
		field *time.Duration
		env   string
		def   time.Duration
	}{
		{&s.Poll, deliveryPollEnv, def.Poll},
		{&s.RetryMin, deliveryRetryMinEnv, def.RetryMin},
		{&s.RetryMax, deliveryRetryMaxEnv, def.RetryMax},
		{&s.Timeout, deliveryTimeoutEnv, def.Timeout},
	} {
		if *f.field > 0 {
			continue
		}
		d, err := durationEnv(f.env, f.def)
		if err != nil {
			return s, err
		}
		*f.field = d
	}
	if s.RetryMax < s.RetryMin {
		return s, fmt.Errorf("%s (%s) must not be shorter than %s (%s)", deliveryRetryMaxEnv, s.RetryMax, deliveryRetryMinEnv, s.RetryMin)
	}
	return s, nil
}

// serveTLS wraps ln in TLS when cfg asks for it and returns the scheme of
// the server's URL.
func serveTLS(cfg Config, ln net.Listener, log *slog.Logger) (net.Listener, string, error) {
	t := cfg.TLS
	switch {
	case t.Generate && (t.CertFile != "" || t.KeyFile != ""):
		return nil, "", errors.New("give either --tls-generate or --tls-cert and --tls-key, not both")
	case !t.Generate && t.CertFile == "" && t.KeyFile == "":
		return ln, "http", nil
	case !t.Generate && (t.CertFile == "" || t.KeyFile == ""):
		return nil, "", errors.New("--tls-cert and --tls-key go together")
	}
	if t.Generate {
		t.CertFile, t.KeyFile = filepath.Join(cfg.DataDir, tlsCertFile), filepath.Join(cfg.DataDir, tlsKeyFile)
		made, err := generateTLS(t.CertFile, t.KeyFile, cfg.Listen)
		if err != nil {
			return nil, "", err
		}
		if made {
			log.Info("generated a self-signed TLS certificate", "certificate", t.CertFile, "key", t.KeyFile)
		}
	}
	pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, "", fmt.Errorf("load the TLS certificate: %w", err)
	}
	fp := identity.Fingerprint(pair.Certificate[0])
	log.Info("serving HTTPS; when no CA signed its certificate, the CLI pins it with `ferry login --server https://HOST:PORT --server-fingerprint "+fp+"` and other servers with `ferry remote-space add|update ... --tls-fingerprint "+fp+"`",
		"certificate", t.CertFile, "tls fingerprint", fp)
	return tls.NewListener(ln, &tls.Config{
		Certificates: []tls.Certificate{pair},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}), "https", nil
}

// generateTLS writes a self-signed ECDSA P-256 server certificate and its
// key (mode 0600) unless both files exist; it reports whether it made them.
// Connected servers check it by fingerprint, so its names matter little;
// it names localhost, the host name and the listening address anyway.
func generateTLS(certFile, keyFile, listen string) (bool, error) {
	_, errC := os.Stat(certFile)
	_, errK := os.Stat(keyFile)
	if errC == nil && errK == nil {
		return false, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return false, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return false, err
	}
	host, _ := os.Hostname()
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "ferry server " + host, Organization: []string{"ferry"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if host != "" {
		tmpl.DNSNames = append(tmpl.DNSNames, host)
	}
	if h, _, err := net.SplitHostPort(listen); err == nil {
		if ip := net.ParseIP(h); ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return false, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return false, err
	}
	if err := writeAtomic(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return false, err
	}
	if err := writeAtomic(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return false, err
	}
	return true, nil
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	os.Remove(tmp) // a leftover would keep its old mode
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
