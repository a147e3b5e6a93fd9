package e2e

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/agentproto"
	"github.com/ferrydeploy/ferry/internal/ferrytest"
	"github.com/ferrydeploy/ferry/internal/identity"
)

// TestAgentListenersDropRefusedPeers: a peer with a self-made certificate
// that speaks the protocol is refused by the server's agent listener and
// by a listening agent, naming its fingerprint — and then its connection
// is closed, so that many such peers cannot hold the listener's
// connections (before, a refused peer's connection stayed open for as
// long as it liked). A peer that opens a connection and says nothing is
// dropped too.
func TestAgentListenersDropRefusedPeers(t *testing.T) {
	bin := ferrytest.Build(t)
	listen := ferrytest.FreePort(t)
	srv := bin.StartServer(t, "FERRY_AGENT_LISTEN="+listen)
	var trust api.AgentTrust
	decodeJSON(t, srv.Must("target", "trust-info", "-o", "json").Stdout, &trust)
	agent := bin.StartAgent(t, ferrytest.AgentConfig{Trust: []string{trust.Fingerprint}})
	certPEM, keyPEM, err := agentproto.NewIdentity("rogue", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	rogueFP := identity.Fingerprint(rogue.Certificate[0])

	for _, c := range []struct{ what, addr, request string }{
		{"the server's agent listener", listen, "POST " + agentproto.PathPoll},
		{"a listening agent", strings.TrimPrefix(agent.URL, "https://"), "GET " + agentproto.PathInfo},
		{"a listening agent, for a step", strings.TrimPrefix(agent.URL, "https://"), "POST " + agentproto.PathSteps},
	} {
		conn, err := tls.Dial("tcp", c.addr, &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{rogue}})
		if err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "%s HTTP/1.1\r\nHost: ferry\r\nUpgrade: %s\r\nContent-Length: 2\r\n\r\n{}", c.request, agentproto.UpgradeToken)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), rogueFP) {
			t.Errorf("%s answered a self-made certificate %s: %s", c.what, resp.Status, body)
		}
		if !closedWithin(conn, br, 60*time.Second) {
			t.Errorf("%s kept a refused peer's connection open", c.what)
		}
	}

	// Slowloris: a connection that never finishes its TLS handshake.
	raw, err := net.Dial("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if !closedWithin(raw, bufio.NewReader(raw), 60*time.Second) {
		t.Error("the server's agent listener kept a silent connection open")
	}
}

// closedWithin reports whether the peer closes conn before d passes.
func closedWithin(conn net.Conn, r *bufio.Reader, d time.Duration) bool {
	conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, r)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}
