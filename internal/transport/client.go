package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	wire "github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/compat"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/identity"
)

// Client sends items to remote spaces' servers. It keeps connections open
// between deliveries (one pool per pinned certificate), so a burst of
// items to a distant server pays for one TCP and TLS handshake.
type Client struct {
	// Timeout bounds one delivery, from connecting to reading the answer.
	Timeout time.Duration

	mu    sync.Mutex
	pools map[string]*http.Client // by pinned fingerprint; "" trusts the system's CAs
	told  map[string]int          // by URL: the schema version its server last said it reads
}

// NewClient returns a client whose deliveries time out after timeout.
func NewClient(timeout time.Duration) *Client {
	return &Client{Timeout: timeout, pools: map[string]*http.Client{}, told: map[string]int{}}
}

// Told returns the newest schema version the remote space's server said,
// in its last answer, that it reads (compat.Header); ok is false when it
// said nothing (a server from before the header existed).
func (c *Client) Told(remote domain.RemoteSpace) (version int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	version, ok = c.told[remote.URL]
	return version, ok
}

func (c *Client) remember(remote domain.RemoteSpace, h http.Header) {
	v, err := strconv.Atoi(h.Get(compat.Header))
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil && v > 0 {
		c.told[remote.URL] = v
	} else {
		delete(c.told, remote.URL)
	}
}

// Handshake asks the remote space's server which schema versions it reads
// (compat.Path) and returns the newest. A server that has no handshake
// answers 404 and reads compat.Previous. It takes at most a few seconds.
func (c *Client) Handshake(ctx context.Context, remote domain.RemoteSpace) (int, error) {
	if remote.URL == "" {
		return 0, fmt.Errorf("remote space %q has no URL", remote.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(remote.URL, "/")+compat.Path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.pool(remote.TLSFingerprint).Do(req)
	if err != nil {
		return 0, describe(remote, err)
	}
	defer resp.Body.Close()
	var h compat.Handshake
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return compat.Previous, nil
	case resp.StatusCode != http.StatusOK:
		return 0, fmt.Errorf("%s answered the handshake with %s", remote.URL, resp.Status)
	case json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(&h) != nil || len(h.Reads) == 0:
		return 0, fmt.Errorf("%s answered the handshake with something that is not one", remote.URL)
	}
	return slices.Max(h.Reads), nil
}

const handshakeTimeout = 5 * time.Second

// Refused is a remote server's considered refusal (an answer whose kind is
// not wire.Kind.Temporary): sending the same item again will not change it
// until someone changes trust or configuration.
type Refused struct {
	Status  int
	Kind    string
	Message string
}

func (e *Refused) Error() string { return e.Message }

// Send posts body to path on the remote space's server, naming the sending
// space and the target, and returns the answer's body. A *Refused error
// means the remote server said no; any other error may pass if retried.
func (c *Client) Send(ctx context.Context, remote domain.RemoteSpace, path, sender string, body []byte) ([]byte, error) {
	return c.send(ctx, remote, path, sender, bytes.NewReader(body), int64(len(body)), c.Timeout)
}

// SendStream is Send for a large body read from r as it is produced, its
// length not known beforehand (the receiving endpoint must accept that).
// Its time limit grows with about bytes, allowing at least 1 MiB/s.
func (c *Client) SendStream(ctx context.Context, remote domain.RemoteSpace, path, sender string, r io.Reader, about int64) ([]byte, error) {
	return c.send(ctx, remote, path, sender, r, -1, max(c.Timeout, time.Duration(about/(1<<20))*time.Second))
}

func (c *Client) send(ctx context.Context, remote domain.RemoteSpace, path, sender string, body io.Reader, size int64, timeout time.Duration) ([]byte, error) {
	if remote.URL == "" {
		return nil, &Refused{Message: fmt.Sprintf("remote space %q has no URL; set one with `ferry remote-space update %q --url URL`, or carry a file", remote.Name, remote.Name)}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(remote.URL, "/")+path, body)
	if err != nil {
		return nil, &Refused{Message: fmt.Sprintf("remote space %q has an unusable URL %q: %v", remote.Name, remote.URL, err)}
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set(HeaderSender, sender)
	req.Header.Set(HeaderTarget, remote.Fingerprint)
	if size < 0 || size > expectContinueAbove {
		// The receiver may refuse from the headers; then the body is
		// never sent. One round trip is little next to a large body.
		req.Header.Set("Expect", "100-continue")
	}
	resp, err := c.pool(remote.TLSFingerprint).Do(req)
	if err != nil {
		return nil, describe(remote, err)
	}
	defer resp.Body.Close()
	c.remember(remote, resp.Header)
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("read the answer of %s: %w", remote.URL, err)
	}
	if resp.StatusCode/100 == 2 {
		return answer, nil
	}
	var e wire.ErrorBody
	if json.Unmarshal(answer, &e) != nil || e.Error == "" {
		e.Error = fmt.Sprintf("%s answered %s", remote.URL, resp.Status)
	}
	kind := wire.KindOfAnswer(resp.StatusCode, e.Kind)
	switch {
	case kind.Temporary():
		return nil, fmt.Errorf("%s answered %s: %s", remote.URL, resp.Status, e.Error)
	case resp.StatusCode == http.StatusNotFound && e.Kind == "":
		// Not a ferry answer: a proxy, or a server too old to receive.
		return nil, &Refused{Status: resp.StatusCode, Message: fmt.Sprintf("%s has no ferry transfer endpoint (%s): is the URL right, and is that server recent enough?", remote.URL, resp.Status)}
	}
	return nil, &Refused{Status: resp.StatusCode, Kind: string(kind), Message: fmt.Sprintf("%s answered: %s", remote.Name, e.Error)}
}

const (
	expectContinueAbove = 1 << 20
	maxAnswer           = 1 << 20
)

// describe turns a transport error into a message a person can act on.
func describe(remote domain.RemoteSpace, err error) error {
	var pin *pinError
	var unknown x509.UnknownAuthorityError
	switch {
	case errors.As(err, &pin):
		return &Refused{Message: fmt.Sprintf("the server at %s presented TLS certificate %s, not the pinned %s; if its certificate changed, check the new fingerprint with its owners and `ferry remote-space update %q --tls-fingerprint FP`", remote.URL, pin.got, pin.want, remote.Name)}
	case errors.As(err, &unknown):
		return &Refused{Message: fmt.Sprintf("the server at %s presented a TLS certificate no trusted authority signed; if it is self-signed, pin it: `ferry remote-space update %q --tls-fingerprint FP`", remote.URL, remote.Name)}
	}
	return fmt.Errorf("cannot reach %s: %w", remote.URL, err)
}

// pool returns the HTTP client for a pinned fingerprint ("" for none).
func (c *Client) pool(pin string) *http.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hc, ok := c.pools[pin]; ok {
		return hc
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 5 * time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
	if pin != "" {
		tr.TLSClientConfig = PinnedTLS(pin)
	}
	hc := &http.Client{Transport: tr}
	c.pools[pin] = hc
	return hc
}

// PinnedTLS is a TLS client configuration that accepts exactly the server
// certificate whose SHA-256 fingerprint is pin, whoever signed it (a
// self-signed certificate made by `ferry server --tls-generate`, say).
// The pin replaces a CA's word: the check is by fingerprint, not by name.
func PinnedTLS(pin string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Chain and host name checks are replaced by VerifyConnection's
		// fingerprint check, which always runs.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return &pinError{want: pin, got: "none"}
			}
			if got := identity.Fingerprint(cs.PeerCertificates[0].Raw); got != pin {
				return &pinError{want: pin, got: got}
			}
			return nil
		},
	}
}

type pinError struct{ want, got string }

func (e *pinError) Error() string {
	return fmt.Sprintf("server TLS certificate %s is not the pinned %s", e.got, e.want)
}
