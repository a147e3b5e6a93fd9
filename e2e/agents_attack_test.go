package e2e

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
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

// TestRogueAgent: a registered agent — right certificate, right protocol
// — that answers a step with what no honest agent sends: a 1 MiB line,
// output variables named to land on another target's or step's names, a
// flood of outputs, and events after its end. The task log keeps lines of
// at most 64 KiB (before, the line was stored whole); the forged names are
// ignored with a warning (a few, then how many more); its outputs land
// only under its own name: a step on the server reads them as
// Output[rogue], not as its own.
func TestRogueAgent(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	var trust api.AgentTrust
	decodeJSON(t, srv.Must("target", "trust-info", "-o", "json").Stdout, &trust)
	srv.Must("env", "create", "Production")

	certPEM, keyPEM, err := agentproto.NewIdentity("rogue", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	id, err := agentproto.ParseIdentity(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+agentproto.PathInfo, func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(agentproto.Info{Version: agentproto.Version(), Protocol: agentproto.Protocol, Fingerprint: id.Fingerprint,
			Sandbox: "namespaces", Trusted: []string{trust.Fingerprint}})
	})
	mux.HandleFunc("POST "+agentproto.PathSteps, func(w http.ResponseWriter, r *http.Request) {
		ev := agentproto.NewEventWriter(w)
		ev.Write(agentproto.Event{Type: agentproto.EventLine, Text: "big " + strings.Repeat("A", 1<<20)})
		outs := []agentproto.Output{
			{Name: "Out", Value: "rogue-value"},
			{Name: "Out].Output[web-1].Out", Value: "forged-1"},
			{Name: "Out] #{Evil}", Value: "forged-2"},
		}
		for i := range 1200 {
			outs = append(outs, agentproto.Output{Name: fmt.Sprintf("Flood%d", i), Value: "x"})
		}
		ev.Write(agentproto.Event{Type: agentproto.EventEnd, Outputs: outs})
		ev.Write(agentproto.Event{Type: agentproto.EventLine, Text: "after-the-end"})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux, TLSConfig: agentproto.AcceptTLS(func() agentproto.Identity { return id }, "h2")}
	go hs.Serve(tls.NewListener(ln, hs.TLSConfig))
	defer hs.Close()

	srv.Must("target", "add", "rogue", "--env", "Production", "--role", "web", "--url", "https://"+ln.Addr().String(), "--thumbprint", id.Fingerprint)
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "rogue.yaml", `lifecycles: [{name: Main, phases: [{name: Prod, environments: [Production]}]}]
projects:
  - name: Shop
    lifecycle: Main
    process:
      - {name: Say, type: script, roles: [web], script: "echo hi"}
      - name: After
        type: script
        script: 'echo "mine=#{Ferry.Action[Say].Output[rogue].Out}"'
`))
	srv.Must("release", "create", "Shop", "--version", "1.0.0")
	out := srv.Must("deploy", "Shop", "1.0.0", "--to", "Production", "--wait").Stdout
	contains(t, out, "mine=rogue-value", `output variable name "Out].Output[web-1].Out" was ignored`, "at most 1000 output variables")
	notContains(t, out, "forged-1", "forged-2", "after-the-end", "Flood1010")
	if n := strings.Count(out, "was ignored"); n > 20 {
		t.Errorf("%d warnings of ignored outputs: a rogue agent floods the log", n)
	}
	for _, line := range strings.Split(out, "\n") {
		if len(line) > 64<<10+100 {
			t.Errorf("a task log line of %d bytes", len(line))
		}
	}
	contains(t, out, "[rogue] big AAAA")
}
