package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	wire "github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/transport"
	"github.com/ferrydeploy/ferry/internal/trust"
)

// TestTransferBodyMustKeepArriving: through the whole handler (its access
// log wraps the response writer), a transfer body that stalls after the
// request was admitted ends with 503 instead of holding the request open.
// It failed before the log's wrapper let http.ResponseController reach the
// connection: the read deadline was silently not set.
func TestTransferBodyMustKeepArriving(t *testing.T) {
	s, _, _ := newTestServices(t, servicetest.Limits(transport.Limits{Bytes: 64 << 20, Transfers: 4, PerPeer: 4, Idle: 200 * time.Millisecond, MinRate: 64 << 10, RetryAfter: time.Second}))
	ctx := domain.WithActor(context.Background(), domain.System)
	if _, err := s.Catalog.CreateSpace(ctx, "Other"); err != nil {
		t.Fatal(err)
	}
	_, pem, err := s.Trust.Certificate(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := s.Trust.Add(ctx, "Default", trust.AddRequest{Name: "Other", Certificate: string(pem), Trust: "releases"})
	if err != nil {
		t.Fatal(err)
	}
	def, err := s.Catalog.Space(ctx, "Default")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(s, slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer srv.Close()

	for _, path := range []string{wire.Routes().TransferBundle.Path, wire.Routes().TransferPackages.Path} {
		pr, pw := io.Pipe() // nothing is ever written
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, pr)
		req.ContentLength = 128 << 10
		req.Header.Set(wire.HeaderSender, other.Fingerprint)
		req.Header.Set(wire.HeaderTarget, def.Fingerprint)
		hc := &http.Client{Timeout: 30 * time.Second} // a deadline for the test, far beyond Idle
		resp, err := hc.Do(req)
		pw.Close()
		if err != nil {
			t.Fatalf("%s: no answer to a stalled body: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// A package transfer's reader reports the stall as a cut-off file
		// (400; internal/packages wraps it as invalid), a bundle's as 503.
		if !strings.Contains(string(body), "stopped arriving") || path == wire.Routes().TransferBundle.Path && resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s: a stalled body answered %d: %s", path, resp.StatusCode, body)
		}
	}
}
