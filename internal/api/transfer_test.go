package api

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	wire "github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/envelope"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/packages"
	"github.com/ferrydeploy/ferry/internal/receipt"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/signing"
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
	other := newPeer(t, s, "releases")
	srv := serveAPI(t, s)

	for _, path := range []string{wire.Routes().TransferBundle.Path, wire.Routes().TransferPackages.Path} {
		pr, pw := io.Pipe() // nothing is ever written
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, pr)
		req.ContentLength = 128 << 10
		req.Header.Set(wire.HeaderSender, other.sender)
		req.Header.Set(wire.HeaderTarget, other.target)
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

// TestForgedBundleIsRefusedBeforeItsPayloadIsRead: a request that names a
// trusted sender but is signed by another key is refused for its signature,
// before its payload is read — here a payload that is not even JSON, which
// was reported as malformed before, so its reading came first.
func TestForgedBundleIsRefusedBeforeItsPayloadIsRead(t *testing.T) {
	s, _, _ := newTestServices(t)
	other := newPeer(t, s, "releases")
	srv := serveAPI(t, s)
	for name, payload := range map[string]string{
		"not JSON":                     "not JSON at all",
		"a million nothings, unsigned": `{"variables":[` + strings.Repeat(`{},`, 1<<20) + `{}]}`,
	} {
		forged, err := other.forge(bundle.Format, bundle.SchemaVersion, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+wire.Routes().TransferBundle.Path, strings.NewReader(string(forged)))
		req.Header.Set(wire.HeaderSender, other.sender)
		req.Header.Set(wire.HeaderTarget, other.target)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.Contains(string(body), "signature") || strings.Contains(string(body), "malformed") {
			t.Errorf("%s: a forged bundle answered %d: %s", name, resp.StatusCode, body)
		}
	}
}

// TestForgedReceiptsAndChunkQueriesAreRefusedBeforeTheirPayloadIsRead: as
// for a bundle, a receipt file or chunk query that names a trusted sender
// but is signed by another key is refused for its signature before its
// payload is read. Before, both were decoded first: a forged receipt file
// of a million empty receipts (3 bytes each in the file, 64 in memory)
// was decoded whole, and a payload that is not JSON was reported as
// malformed.
func TestForgedReceiptsAndChunkQueriesAreRefusedBeforeTheirPayloadIsRead(t *testing.T) {
	s, _, _ := newTestServices(t)
	other := newPeer(t, s, "releases,receipts")
	srv := serveAPI(t, s)
	for _, c := range []struct {
		name, path, format string
		schema             int
		payload            string
	}{
		{"receipts, not JSON", wire.Routes().TransferReceipts.Path, receipt.FileFormat, receipt.SchemaVersion, "not JSON at all"},
		{"receipts, a million nothings", wire.Routes().TransferReceipts.Path, receipt.FileFormat, receipt.SchemaVersion, `{"receipts":[` + strings.Repeat(`{},`, 1<<20) + `{}]}`},
		{"chunk query, not JSON", wire.Routes().TransferChunks.Path, transport.ChunkQueryFormat, 1, "not JSON at all"},
		{"chunk query, unknown fields", wire.Routes().TransferChunks.Path, transport.ChunkQueryFormat, 1, `{"nothing":[]}`},
	} {
		forged, err := other.forge(c.format, c.schema, []byte(c.payload))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+c.path, strings.NewReader(string(forged)))
		req.Header.Set(wire.HeaderSender, other.sender)
		req.Header.Set(wire.HeaderTarget, other.target)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.Contains(string(body), "signature") || strings.Contains(string(body), "malformed") {
			t.Errorf("%s: a forged file answered %d: %s", c.name, resp.StatusCode, body)
		}
	}
}

// TestForgedPackageTransferIsRefusedBeforeItsPayloadIsRead: a package
// transfer pushed in the name of a trusted sender but signed by another
// key is refused for its signature before its header's payload is read
// (it was reported as malformed before).
func TestForgedPackageTransferIsRefusedBeforeItsPayloadIsRead(t *testing.T) {
	s, _, _ := newTestServices(t)
	other := newPeer(t, s, "releases")
	forged, err := other.forge(packages.TransferFormat, packages.TransferSchema, []byte("not JSON at all"))
	if err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	tw := tar.NewWriter(&file)
	if err := tw.WriteHeader(&tar.Header{Name: "ferry-transfer.json", Mode: 0o644, Size: int64(len(forged))}); err != nil {
		t.Fatal(err)
	}
	tw.Write(forged)
	tw.Close()
	srv := serveAPI(t, s)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+wire.Routes().TransferPackages.Path, &file)
	req.Header.Set(wire.HeaderSender, other.sender)
	req.Header.Set(wire.HeaderTarget, other.target)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.Contains(string(body), "signature") || strings.Contains(string(body), "malformed") {
		t.Errorf("a forged package transfer answered %d: %s", resp.StatusCode, body)
	}
}

// transferPeer is space "Other" of a test server, known to its "Default" space
// with some trust, and what a transfer to Default in Other's name needs.
type transferPeer struct {
	sender, target string // the transfer headers' fingerprints
	// forge seals payload as Other's, signed by another key (Mallory's).
	forge func(format string, schema int, payload []byte) ([]byte, error)
}

func newPeer(t *testing.T, s Services, trusted string) transferPeer {
	t.Helper()
	ctx := domain.WithActor(context.Background(), domain.System)
	if _, err := s.Catalog.CreateSpace(ctx, "Other"); err != nil {
		t.Fatal(err)
	}
	_, otherPEM, err := s.Trust.Certificate(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := s.Trust.Add(ctx, "Default", trust.AddRequest{Name: "Other", Certificate: string(otherPEM), Trust: trusted})
	if err != nil {
		t.Fatal(err)
	}
	def, err := s.Catalog.Space(ctx, "Default")
	if err != nil {
		t.Fatal(err)
	}
	mallory, err := identity.Generate("Mallory", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return transferPeer{sender: other.Fingerprint, target: def.Fingerprint, forge: func(format string, schema int, payload []byte) ([]byte, error) {
		return envelope.Seal(format, schema, payload, otherPEM, func(b []byte) ([]byte, error) { return signing.Sign(mallory.Signer, b) })
	}}
}
