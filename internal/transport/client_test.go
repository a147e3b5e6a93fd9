package transport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/identity"
)

func TestSendPinsTheServerCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"state":"imported"}`)
	}))
	defer srv.Close()
	pin := identity.Fingerprint(srv.Certificate().Raw)
	c := NewClient(10 * time.Second)
	remote := domain.RemoteSpace{Name: "Prod Space", URL: srv.URL, Fingerprint: "AA", TLSFingerprint: pin}
	if _, err := c.Send(t.Context(), remote, PathBundles, "BB", []byte("{}")); err != nil {
		t.Fatalf("pinned: %v", err)
	}

	var refused *Refused
	remote.TLSFingerprint = strings.Repeat("AB:", 31) + "AB"
	_, err := c.Send(t.Context(), remote, PathBundles, "BB", []byte("{}"))
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), "not the pinned") || !strings.Contains(err.Error(), pin) {
		t.Errorf("wrong pin: %v", err)
	}
	remote.TLSFingerprint = ""
	_, err = c.Send(t.Context(), remote, PathBundles, "BB", []byte("{}"))
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), "--tls-fingerprint") {
		t.Errorf("self-signed, no pin: %v", err)
	}
}

func TestSendTellsRefusalsFromFailures(t *testing.T) {
	var got http.Header
	answers := map[string]struct {
		status int
		body   string
	}{
		"/refused":  {403, `{"error":"refused: not trusted","kind":"untrusted"}`},
		"/down":     {503, `{"error":"store unavailable","kind":"internal"}`},
		"/limited":  {429, `slow down`},
		"/notferry": {404, `<html>not found</html>`},
		"/ok":       {200, `{"state":"pending"}`},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		a := answers[r.URL.Path]
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	defer srv.Close()
	c := NewClient(10 * time.Second)
	remote := domain.RemoteSpace{Name: "Prod Space", URL: srv.URL + "/", Fingerprint: "TARGET"}
	send := func(path string) ([]byte, error) {
		return c.Send(context.Background(), remote, path, "SENDER", []byte(`{"x":1}`))
	}

	answer, err := send("/ok")
	if err != nil || string(answer) != `{"state":"pending"}` {
		t.Fatalf("ok: %s %v", answer, err)
	}
	if got.Get(HeaderSender) != "SENDER" || got.Get(HeaderTarget) != "TARGET" || got.Get("Content-Length") != "" && got.Get("Content-Length") != "7" {
		t.Errorf("headers: %v", got)
	}
	var refused *Refused
	if _, err := send("/refused"); !errors.As(err, &refused) || refused.Kind != "untrusted" || !strings.Contains(err.Error(), `Prod Space answered: refused: not trusted`) {
		t.Errorf("403: %v", err)
	}
	if _, err := send("/notferry"); !errors.As(err, &refused) || !strings.Contains(err.Error(), "no ferry transfer endpoint") {
		t.Errorf("404 from something else: %v", err)
	}
	for _, path := range []string{"/down", "/limited"} {
		if _, err := send(path); err == nil || errors.As(err, &refused) {
			t.Errorf("%s should be retried, got %v", path, err)
		}
	}
	srv.Close()
	if _, err := send("/ok"); err == nil || errors.As(err, &refused) || !strings.Contains(err.Error(), "cannot reach") {
		t.Errorf("server gone: %v", err)
	}
	if _, err := c.Send(context.Background(), domain.RemoteSpace{Name: "Air Gapped"}, PathBundles, "S", nil); !errors.As(err, &refused) {
		t.Errorf("no URL: %v", err)
	}
}
