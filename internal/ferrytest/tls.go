package ferrytest

import (
	"crypto/tls"
	"net/http"
	"regexp"
	"strings"
)

// healthClient polls a starting server's health over http or https; it
// does not check the certificate (tests that care about TLS check it
// through the CLI and the servers themselves).
var healthClient = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

var tlsFingerprintRE = regexp.MustCompile(`"tls fingerprint"=(\S+)`)

// setURL records the URL a server logged, and for https the fingerprint
// of its certificate, which it logged before.
func (s *Server) setURL(u string) {
	s.URL = u
	_, s.Addr, _ = strings.Cut(u, "://")
	s.TLSFingerprint = ""
	if strings.HasPrefix(u, "https://") {
		if m := tlsFingerprintRE.FindAllStringSubmatch(s.log.String(), -1); len(m) > 0 {
			s.TLSFingerprint = m[len(m)-1][1]
		}
	}
}

// globalArgs are the CLI flags that point a command at this server as admin.
func (s *Server) globalArgs() []string {
	args := []string{"--server", s.URL, "--api-key", s.Key}
	if s.TLSFingerprint != "" {
		args = append(args, "--server-fingerprint", s.TLSFingerprint)
	}
	return args
}
