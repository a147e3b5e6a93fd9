package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/ferrytest"

	_ "modernc.org/sqlite"
)

// fastDelivery makes a server's delivery loop retry quickly, so that tests
// of a target that is away do not wait minutes.
var fastDelivery = []string{"FERRY_DELIVERY_POLL=100ms", "FERRY_DELIVERY_RETRY_MIN=50ms", "FERRY_DELIVERY_RETRY_MAX=400ms"}

// newConnectedPair is newPair with URLs: DevTest reaches Prod at prodURL
// (Prod's own URL unless a proxy stands between), and Prod sends receipts
// back to DevTest's URL.
func newConnectedPair(t *testing.T, prodURL func(prod *ferrytest.Server) string) *pair {
	bin := ferrytest.Build(t)
	p := &pair{dev: bin.StartServer(t, fastDelivery...), prod: bin.StartServer(t, fastDelivery...)}
	p.dev.Must("space", "create", "DevTest Space")
	p.prod.Must("space", "create", "Prod Space")
	dir := t.TempDir()
	p.devPEM, p.prodPEM = filepath.Join(dir, "devtest.pem"), filepath.Join(dir, "prod.pem")
	p.dev.Must("space", "cert", "DevTest Space", "--out", p.devPEM)
	p.prod.Must("space", "cert", "Prod Space", "--out", p.prodPEM)
	p.dev.Must("--space", "DevTest Space", "remote-space", "add", "Prod Space", "--cert", p.prodPEM, "--trust", "promote,receipts", "--url", prodURL(p.prod))
	p.prod.Must("--space", "Prod Space", "remote-space", "add", "DevTest Space", "--cert", p.devPEM, "--trust", "releases", "--url", p.dev.URL)
	p.prod.Must("--space", "Prod Space", "apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}]
lifecycles: [{name: Production, phases: [{name: Live, environments: [Production]}]}]
`))
	return p
}

type bundleRow struct {
	Direction, State, Digest, Project, Version string
	Delivery                                   *struct {
		ID               int64
		State, LastError string
		Result           string
		Attempts         int
	}
}

func bundles(t *testing.T, s *ferrytest.Server, space string) []bundleRow {
	t.Helper()
	var list []bundleRow
	decodeJSON(t, s.Must("--space", space, "bundle", "list", "-o", "json").Stdout, &list)
	return list
}

type remoteRow struct {
	Name     string
	Delivery struct {
		Queued, InFlight, Delivered, Failed int
		LastError                           string
	}
}

func remotes(t *testing.T, s *ferrytest.Server, space string) map[string]remoteRow {
	t.Helper()
	var list []remoteRow
	decodeJSON(t, s.Must("--space", space, "remote-space", "list", "-o", "json").Stdout, &list)
	out := map[string]remoteRow{}
	for _, r := range list {
		out[r.Name] = r
	}
	return out
}

// TestConnectedPromotion is the walkthrough with connected servers: promote
// sends the release, Prod imports it by itself, deploys it, and the receipt
// comes back to DevTest's dashboard — no file handled by anyone. Then Prod
// is stopped: the next promotion waits in the outbox, with the reason, and
// arrives once, when Prod is back.
func TestConnectedPromotion(t *testing.T) {
	p := newConnectedPair(t, func(prod *ferrytest.Server) string { return prod.URL })
	p.release(t)
	dev := func(args ...string) ferrytest.Result {
		return p.dev.Must(append([]string{"--space", "DevTest Space"}, args...)...)
	}
	prod := func(args ...string) ferrytest.Result {
		return p.prod.Must(append([]string{"--space", "Prod Space"}, args...)...)
	}

	r := dev("promote", "My Project", "1.0.0", "--to", "Prod Space", "--wait")
	contains(t, r.Stdout, "delivered", "imported as DevTest Space: My Project 1.0.0", `lifecycle Production`)
	contains(t, prod("release", "list", "DevTest Space: My Project").Stdout, "1.0.0")
	contains(t, prod("bundle", "list").Stdout, "imported", "from DevTest Space")
	contains(t, prod("audit", "list").Stdout, "remote:DevTest Space", "bundle.import")

	prod("var", "set", "DevTest Space: My Project", "ConnectionString", "Server=prod-db", "--env", "Production")
	r = prod("deploy", "DevTest Space: My Project", "1.0.0", "--to", "Production", "--wait")
	contains(t, r.Stdout, "hello on Production db=Server=prod-db token=***", "prod-only-step prod-banner")

	ferrytest.WaitFor(t, 20*time.Second, "the receipt on DevTest's dashboard", func() bool {
		line := lineWith(t, dev("dashboard").Stdout, "Prod Space: Production")
		return strings.Contains(line, "1.0.0") && strings.Contains(line, "Success")
	})
	if d := remotes(t, p.prod, "Prod Space")["DevTest Space"].Delivery; d.Delivered != 1 || d.Queued+d.InFlight+d.Failed != 0 {
		t.Errorf("Prod's deliveries to DevTest: %+v", d)
	}
	// Receipts sent connected count as sent for file exports too.
	out := filepath.Join(t.TempDir(), "receipts.json")
	prod("receipt", "export", "--to", "DevTest Space", "--out", out)
	contains(t, dev("receipt", "import", out).Stdout, "Imported 0 receipt")

	// Prod goes away; the next release waits in DevTest's outbox.
	p.prod.Stop()
	dev("release", "create", "My Project", "--version", "1.0.1")
	dev("deploy", "My Project", "1.0.1", "--to", "Development", "--wait")
	dev("deploy", "My Project", "1.0.1", "--to", "Test", "--wait")
	r = dev("promote", "My Project", "1.0.1", "--to", "Prod Space")
	contains(t, r.Stdout, "queued", "bundle list")
	// The item moves between queued and in flight while it retries, so each
	// view is polled until it shows the queued state between two attempts.
	ferrytest.WaitFor(t, 20*time.Second, "a failed attempt to be recorded", func() bool {
		d := remotes(t, p.dev, "DevTest Space")["Prod Space"].Delivery
		return d.Queued == 1 && strings.Contains(d.LastError, "cannot reach")
	})
	ferrytest.WaitFor(t, 20*time.Second, "remote-space list to show the queued retry", func() bool {
		out := dev("remote-space", "list").Stdout
		return strings.Contains(out, "1 queued") && strings.Contains(out, "last error") && strings.Contains(out, "cannot reach")
	})
	ferrytest.WaitFor(t, 20*time.Second, "bundle list to show the queued retry", func() bool {
		return strings.Contains(dev("bundle", "list").Stdout, "My Project 1.0.1 to Prod Space: queued, retrying")
	})

	p.prod.Restart()
	ferrytest.WaitFor(t, 20*time.Second, "delivery after Prod restarted", func() bool {
		for _, b := range bundles(t, p.dev, "DevTest Space") {
			if b.Version == "1.0.1" && b.Delivery != nil && b.Delivery.State == "delivered" {
				return true
			}
		}
		return false
	})
	var rels []struct{ Version string }
	decodeJSON(t, prod("release", "list", "DevTest Space: My Project", "-o", "json").Stdout, &rels)
	if len(rels) != 2 {
		t.Errorf("Prod's releases after the restart: %+v", rels)
	}
	in := 0
	for _, b := range bundles(t, p.prod, "Prod Space") {
		if b.Direction == "in" {
			in++
		}
	}
	if in != 2 {
		t.Errorf("Prod received %d bundles, want 2", in)
	}
}

// TestConnectedSameServer promotes between two spaces of one server over
// HTTPS with a generated, pinned certificate. The target has two
// lifecycles, so the bundle waits as pending until a person picks one. A
// wrong pin fails the delivery with the reason, until it is corrected.
func TestConnectedSameServer(t *testing.T) {
	bin := ferrytest.Build(t)
	s := bin.StartServer(t, append(fastDelivery, "FERRY_TLS_GENERATE=true")...)
	if !strings.HasPrefix(s.URL, "https://") || s.TLSFingerprint == "" {
		t.Fatalf("server did not serve HTTPS with a generated certificate: %s (fingerprint %q)", s.URL, s.TLSFingerprint)
	}
	if fi, err := os.Stat(filepath.Join(s.Data, "tls-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("generated TLS key: %v, mode %v", err, fi.Mode())
	}
	s.Must("space", "create", "Ops Space")
	dir := t.TempDir()
	defPEM, opsPEM := filepath.Join(dir, "default.pem"), filepath.Join(dir, "ops.pem")
	s.Must("space", "cert", "Default", "--out", defPEM)
	s.Must("space", "cert", "Ops Space", "--out", opsPEM)
	wrongPin := strings.Repeat("AB:", 31) + "AB"
	s.Must("remote-space", "add", "Ops Space", "--cert", opsPEM, "--trust", "promote,receipts", "--url", s.URL, "--tls-fingerprint", wrongPin)
	s.Must("--space", "Ops Space", "remote-space", "add", "Default", "--cert", defPEM, "--trust", "releases", "--url", s.URL, "--tls-fingerprint", s.TLSFingerprint)
	s.Must("apply", "-f", ferrytest.WriteFile(t, "default.yaml", `environments: [{name: Dev}]
remoteEnvironments: ["Ops Space: Live"]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Dev]}, {name: Ops, environments: ["Ops Space: Live"]}]}]
projects:
  - name: Api
    lifecycle: Main
    process: [{name: Say, type: script, script: "echo api #{Ferry.Release.Number} on #{Ferry.Environment.Name}"}]
`))
	s.Must("--space", "Ops Space", "apply", "-f", ferrytest.WriteFile(t, "ops.yaml", `environments: [{name: Live}, {name: Canary}]
lifecycles:
  - {name: Careful, phases: [{name: Canary, environments: [Canary]}, {name: Live, environments: [Live]}]}
  - {name: Fast, phases: [{name: Live, environments: [Live]}]}
`))
	s.Must("release", "create", "Api", "--version", "3.0.0")
	s.Must("deploy", "Api", "3.0.0", "--to", "Dev", "--wait")

	r := s.Fail("promote", "Api", "3.0.0", "--to", "Ops Space", "--wait", "--timeout", "20s")
	contains(t, r.Stdout, "FAILED", "not the pinned", "--tls-fingerprint")
	contains(t, r.Stderr, "delivery refused")
	contains(t, s.Must("remote-space", "list").Stdout, "1 failed", "not the pinned")

	s.Must("remote-space", "update", "Ops Space", "--tls-fingerprint", strings.ToLower(strings.ReplaceAll(s.TLSFingerprint, ":", "")))
	contains(t, s.Must("remote-space", "retry", "Ops Space").Stdout, "Queued 1 failed delivery")
	var digest string
	ferrytest.WaitFor(t, 20*time.Second, "the bundle to arrive pending", func() bool {
		for _, b := range bundles(t, s, "Ops Space") {
			if b.Direction == "in" && b.State == "pending" {
				digest = b.Digest
				return true
			}
		}
		return false
	})
	out := s.Must("--space", "Ops Space", "bundle", "list").Stdout
	contains(t, out, "pending", "waits for you", "ferry bundle import --pending")
	contains(t, s.Must("bundle", "list").Stdout, "delivered")
	r = s.Fail("--space", "Ops Space", "bundle", "import", "--pending", digest[:20])
	contains(t, r.Stderr, "several lifecycles", "Careful", "Fast")
	r = s.Must("--space", "Ops Space", "bundle", "import", "--pending", digest[:20], "--lifecycle", "Fast")
	contains(t, r.Stdout, "Imported Default: Api 3.0.0", `lifecycle "Fast"`)
	contains(t, s.Must("--space", "Ops Space", "bundle", "import", "--pending", digest).Stdout, "Already imported")
	r = s.Must("--space", "Ops Space", "deploy", "Default: Api", "3.0.0", "--to", "Live", "--wait")
	contains(t, r.Stdout, "api 3.0.0 on Live")
	ferrytest.WaitFor(t, 20*time.Second, "the receipt back in Default", func() bool {
		line := lineWith(t, s.Must("dashboard").Stdout, "Ops Space: Live")
		return strings.Contains(line, "3.0.0") && strings.Contains(line, "Success")
	})
}

// TestTransferRefusals posts forged, unsigned, unaddressed and oversized
// payloads straight to the receiving endpoints: each is refused with a
// clear message, and nothing is stored.
func TestTransferRefusals(t *testing.T) {
	bin := ferrytest.Build(t)
	s := bin.StartServer(t)
	s.Must("space", "create", "Prod Space")
	dir := t.TempDir()
	defPEM, prodPEM := filepath.Join(dir, "default.pem"), filepath.Join(dir, "prod.pem")
	s.Must("space", "cert", "Default", "--out", defPEM)
	s.Must("space", "cert", "Prod Space", "--out", prodPEM)
	s.Must("remote-space", "add", "Prod Space", "--cert", prodPEM, "--trust", "promote")
	s.Must("--space", "Prod Space", "remote-space", "add", "Default", "--cert", defPEM, "--trust", "releases")
	s.Must("apply", "-f", ferrytest.WriteFile(t, "default.yaml", `environments: [{name: Dev}]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Dev]}, {name: Prod, environments: ["Prod Space"]}]}]
projects: [{name: Api, lifecycle: Main, process: [{name: Say, type: script, script: "echo hi"}]}]
`))
	s.Must("--space", "Prod Space", "apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Live}]
lifecycles: [{name: Live, phases: [{name: Live, environments: [Live]}]}]
`))
	s.Must("release", "create", "Api", "--version", "1.0.0")
	s.Must("deploy", "Api", "1.0.0", "--to", "Dev", "--wait")
	file := filepath.Join(dir, "api.bundle")
	s.Must("promote", "Api", "1.0.0", "--to", "Prod Space", "--out", file)
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var spaces []struct{ Name, Fingerprint string }
	decodeJSON(t, s.Must("space", "list", "-o", "json").Stdout, &spaces)
	fp := map[string]string{}
	for _, sp := range spaces {
		fp[sp.Name] = sp.Fingerprint
	}

	forged := reseal(t, good, func(env *sealed) {
		payload, _ := base64.StdEncoding.DecodeString(env.Payload)
		payload = bytes.Replace(payload, []byte(`echo hi`), []byte(`rm -rf /`), 1)
		sum := sha256.Sum256(payload)
		env.Payload, env.Digest = base64.StdEncoding.EncodeToString(payload), "sha256:"+hex.EncodeToString(sum[:])
	})
	unsigned := reseal(t, good, func(env *sealed) { env.Signature = "" })
	post := func(path string, headers map[string]string, body []byte) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.URL+path, bytes.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	from := map[string]string{"X-Ferry-Sender": fp["Default"], "X-Ferry-Target": fp["Prod Space"]}
	for _, c := range []struct {
		name    string
		path    string
		headers map[string]string
		body    []byte
		status  int
		says    string
	}{
		{"no headers", "/api/v1/transfer/bundles", nil, good, 400, "X-Ferry-Sender"},
		{"unknown target", "/api/v1/transfer/bundles", map[string]string{"X-Ferry-Sender": fp["Default"], "X-Ferry-Target": strings.Repeat("00:", 31) + "00"}, good, 404, "no space on this server"},
		{"unknown sender", "/api/v1/transfer/bundles", map[string]string{"X-Ferry-Sender": fp["Prod Space"], "X-Ferry-Target": fp["Prod Space"]}, good, 403, "does not know the sending space"},
		{"sender not trusted for receipts", "/api/v1/transfer/receipts", from, []byte(`{}`), 403, "for receipts"},
		{"forged", "/api/v1/transfer/bundles", from, forged, 403, "does not match the contents"},
		{"unsigned", "/api/v1/transfer/bundles", from, unsigned, 400, "signature is damaged or missing"},
		{"not a bundle", "/api/v1/transfer/bundles", from, []byte(`{"format":"x"}`), 400, "refused"},
	} {
		status, body := post(c.path, c.headers, c.body)
		if status != c.status || !strings.Contains(body, c.says) {
			t.Errorf("%s: %d %s; want %d saying %q", c.name, status, body, c.status, c.says)
		}
	}

	// Oversized or undeclared bodies are refused before they are read.
	for _, head := range []string{"Content-Length: 999999999999", "Transfer-Encoding: chunked"} {
		conn, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /api/v1/transfer/bundles HTTP/1.1\r\nHost: x\r\nX-Ferry-Sender: %s\r\nX-Ferry-Target: %s\r\n%s\r\n\r\n", fp["Default"], fp["Prod Space"], head)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", head, err)
		}
		answer, _ := io.ReadAll(resp.Body)
		conn.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(answer), "refused") {
			t.Errorf("%s: answered %s %s", head, resp.Status, answer)
		}
	}

	if list := bundles(t, s, "Prod Space"); len(list) != 0 {
		t.Errorf("Prod stored bundles from refused transfers: %+v", list)
	}
	s.Fail("--space", "Prod Space", "release", "list", "Default: Api")
	contains(t, s.Must("--space", "Prod Space", "bundle", "import", file).Stdout, "Imported Default: Api 1.0.0")
}

// reseal rewrites a bundle file byte for byte as ferry writes one, after
// fn changed it, so that only what fn did is wrong with it.
func reseal(t *testing.T, data []byte, fn func(env *sealed)) []byte {
	t.Helper()
	var env sealed
	decodeJSON(t, string(data), &env)
	fn(&env)
	out, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

// sealed is the envelope of a bundle file, in its field order.
type sealed struct {
	Format        string `json:"format"`
	SchemaVersion int    `json:"schemaVersion"`
	Digest        string `json:"digest"`
	Payload       string `json:"payload"`
	Signature     string `json:"signature"`
	Signer        string `json:"signer"`
}

// TestConnectedFaults kills the target in the middle of a delivery, and
// loses the target's answer to another: each bundle arrives exactly once,
// intact, and deploys.
func TestConnectedFaults(t *testing.T) {
	var proxy *faultProxy
	p := newConnectedPair(t, func(prod *ferrytest.Server) string {
		proxy = startProxy(t, prod.Addr)
		return "http://" + proxy.addr()
	})
	p.release(t)
	dev := func(args ...string) ferrytest.Result {
		return p.dev.Must(append([]string{"--space", "DevTest Space"}, args...)...)
	}
	prod := func(args ...string) ferrytest.Result {
		return p.prod.Must(append([]string{"--space", "Prod Space"}, args...)...)
	}

	// The target dies while the bundle is half sent.
	cut := proxy.cutNext()
	dev("promote", "My Project", "1.0.0", "--to", "Prod Space")
	select {
	case <-cut:
	case <-time.After(20 * time.Second):
		t.Fatal("the delivery never reached the proxy")
	}
	p.prod.Kill()
	proxy.release()
	p.prod.Restart()
	ferrytest.WaitFor(t, 20*time.Second, "the cut delivery to be sent again", func() bool {
		b := bundles(t, p.dev, "DevTest Space")
		return len(b) == 1 && b[0].Delivery != nil && b[0].Delivery.State == "delivered" && b[0].Delivery.Attempts >= 2
	})

	// The answer to a delivery is lost after Prod imported it: DevTest
	// sends it again, and Prod says it has it.
	dev("release", "create", "My Project", "--version", "1.0.1")
	dev("deploy", "My Project", "1.0.1", "--to", "Development", "--wait")
	dev("deploy", "My Project", "1.0.1", "--to", "Test", "--wait")
	proxy.loseNextAnswer()
	r := dev("promote", "My Project", "1.0.1", "--to", "Prod Space", "--wait")
	contains(t, r.Stdout, "delivered (already received (imported))")

	var rels []struct{ Version string }
	decodeJSON(t, prod("release", "list", "DevTest Space: My Project", "-o", "json").Stdout, &rels)
	if len(rels) != 2 {
		t.Errorf("Prod's releases: %+v", rels)
	}
	var imports int
	var events []struct{ Action string }
	decodeJSON(t, prod("audit", "list", "-o", "json").Stdout, &events)
	for _, e := range events {
		if e.Action == "bundle.import" {
			imports++
		}
	}
	if imports != 2 {
		t.Errorf("Prod recorded %d bundle imports, want 2 (one per release)", imports)
	}
	prod("var", "set", "DevTest Space: My Project", "ConnectionString", "Server=prod-db", "--env", "Production")
	contains(t, prod("deploy", "DevTest Space: My Project", "1.0.1", "--to", "Production", "--wait").Stdout, "prod-only-step prod-banner")
}

// faultProxy stands between two servers and breaks one connection on
// request: cutting a request midway, or dropping the answer to one.
type faultProxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu       sync.Mutex
	cut      chan struct{} // set: cut the next request midway, then close cut
	held     chan struct{} // closed by release: the cut connection may close
	cutAt    int
	loseNext bool
	conns    []net.Conn
}

func startProxy(t *testing.T, target string) *faultProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{t: t, ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *faultProxy) addr() string { return p.ln.Addr().String() }

// The next request goes over a new connection, so closing every open one
// makes sure it is the one broken.
func (p *faultProxy) cutNext() <-chan struct{} { return p.cutNextAfter(1500) }

// cutNextAfter forwards n bytes of the next connection, then holds it until
// release.
func (p *faultProxy) cutNextAfter(n int) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closeAll()
	p.cut, p.held, p.cutAt = make(chan struct{}), make(chan struct{}), n
	return p.cut
}

func (p *faultProxy) closeAll() {
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *faultProxy) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.held)
}

func (p *faultProxy) loseNextAnswer() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closeAll()
	p.loseNext = true
}

func (p *faultProxy) serve(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	p.mu.Lock()
	cut, held, cutAt, lose := p.cut, p.held, p.cutAt, p.loseNext
	p.cut, p.loseNext = nil, false
	p.conns = append(p.conns, c)
	p.mu.Unlock()
	switch {
	case cut != nil:
		// Forward the first cutAt bytes (answers go back meanwhile), then
		// hold. Small buffers keep what is in flight small, so that what
		// was forwarded has mostly been read by the target.
		up.(*net.TCPConn).SetWriteBuffer(32 << 10)
		go io.Copy(c, up)
		io.CopyN(up, c, int64(cutAt))
		close(cut)
		<-held
	case lose:
		go io.Copy(up, c)
		// Wait for the target's answer, and drop it.
		io.ReadAtLeast(up, make([]byte, 1), 1)
	default:
		go io.Copy(up, c)
		io.Copy(c, up)
	}
}

// TestConnectedMultiHop is DevTest → QA → Prod, all connected (three spaces
// of one server reaching it by its URL): Prod's receipt comes back to QA by
// itself, and QA relays it on to DevTest with Prod's signature.
func TestConnectedMultiHop(t *testing.T) {
	bin := ferrytest.Build(t)
	s := bin.StartServer(t, fastDelivery...)
	dir := t.TempDir()
	pem := map[string]string{}
	for _, sp := range []string{"DevTest Space", "QA Space", "Prod Space"} {
		s.Must("space", "create", sp)
		pem[sp] = filepath.Join(dir, strings.ReplaceAll(sp, " ", "")+".pem")
		s.Must("space", "cert", sp, "--out", pem[sp])
	}
	in := func(space string) func(...string) ferrytest.Result {
		return func(args ...string) ferrytest.Result { return s.Must(append([]string{"--space", space}, args...)...) }
	}
	dev, qa, prod := in("DevTest Space"), in("QA Space"), in("Prod Space")
	dev("remote-space", "add", "QA Space", "--cert", pem["QA Space"], "--trust", "promote,receipts", "--url", s.URL)
	dev("remote-space", "add", "Prod Space", "--cert", pem["Prod Space"]) // known by certificate only
	qa("remote-space", "add", "DevTest Space", "--cert", pem["DevTest Space"], "--trust", "releases", "--url", s.URL)
	qa("remote-space", "add", "Prod Space", "--cert", pem["Prod Space"], "--trust", "promote,receipts", "--url", s.URL)
	prod("remote-space", "add", "QA Space", "--cert", pem["QA Space"], "--trust", "releases", "--url", s.URL)

	dev("apply", "-f", ferrytest.WriteFile(t, "dev.yaml", `environments: [{name: Development}]
remoteEnvironments: ["QA Space: Verify", "Prod Space: Production"]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Development]}, {name: QA, environments: ["QA Space: Verify"]}, {name: Prod, environments: ["Prod Space: Production"]}]}]
projects: [{name: Api, lifecycle: Main, process: [{name: Say, type: script, script: "echo api #{Ferry.Release.Number} on #{Ferry.Environment.Name}"}]}]
`))
	qa("apply", "-f", ferrytest.WriteFile(t, "qa.yaml", `environments: [{name: Verify}]
remoteEnvironments: ["Prod Space: Production"]
lifecycles: [{name: QA, phases: [{name: Verify, environments: [Verify]}, {name: Prod, environments: ["Prod Space: Production"]}]}]
`))
	prod("apply", "-f", ferrytest.WriteFile(t, "prod.yaml", `environments: [{name: Production}]
lifecycles: [{name: Live, phases: [{name: Live, environments: [Production]}]}]
`))
	dev("release", "create", "Api", "--version", "2.0.0")
	dev("deploy", "Api", "2.0.0", "--to", "Development", "--wait")
	contains(t, dev("promote", "Api", "2.0.0", "--to", "QA Space", "--wait").Stdout, "imported as DevTest Space: Api 2.0.0")
	qa("deploy", "DevTest Space: Api", "2.0.0", "--to", "Verify", "--wait")
	contains(t, qa("promote", "DevTest Space: Api", "2.0.0", "--to", "Prod Space", "--wait").Stdout, "imported as DevTest Space: Api 2.0.0")
	contains(t, prod("deploy", "DevTest Space: Api", "2.0.0", "--to", "Production", "--wait").Stdout, "api 2.0.0 on Production")

	ferrytest.WaitFor(t, 20*time.Second, "Prod's receipt relayed to DevTest", func() bool {
		out := dev("dashboard").Stdout
		return strings.Contains(lineWith(t, out, "Prod Space: Production"), "Success") &&
			strings.Contains(lineWith(t, out, "QA Space: Verify"), "Success")
	})
	contains(t, lineWith(t, qa("dashboard").Stdout, "Prod Space: Production"), "2.0.0", "Success")
}

// TestConnectedPackages sends a release's package with it: promote alone
// moves the bundle and then only the chunks Prod lacks; Prod is killed
// midway through the package, and once back the transfer resumes with what
// had not arrived; the package deploys byte-identical.
func TestConnectedPackages(t *testing.T) {
	var proxy *faultProxy
	p := newConnectedPair(t, func(prod *ferrytest.Server) string {
		proxy = startProxy(t, prod.Addr)
		return "http://" + proxy.addr()
	})
	dir := t.TempDir()
	devRoot, prodRoot := filepath.Join(dir, "dev-root"), filepath.Join(dir, "prod-root")
	dev := func(args ...string) ferrytest.Result {
		return p.dev.Must(append([]string{"--space", "DevTest Space"}, args...)...)
	}
	prod := func(args ...string) ferrytest.Result {
		return p.prod.Must(append([]string{"--space", "Prod Space"}, args...)...)
	}

	files := appFiles(7, 200)
	zipped := writeZip(t, filepath.Join(dir, "shop.zip"), files)
	dev("package", "push", filepath.Join(dir, "shop.zip"), "--id", "shop-web", "--version", "1.0.0")
	dev("apply", "-f", ferrytest.WriteFile(t, "dev.yaml", fmt.Sprintf(`environments: [{name: Development}]
remoteEnvironments: ["Prod Space: Production"]
lifecycles: [{name: Main, phases: [{name: Dev, environments: [Development]}, {name: Prod, environments: ["Prod Space: Production"]}]}]
projects:
  - name: Shop
    lifecycle: Main
    variables:
      - {name: Root, value: %q}
      - {name: Root, value: %q, environments: ["Prod Space: Production"]}
      - {name: Greeting, value: hello}
    process:
      - {name: Deploy web, type: deploy-package, package: shop-web, destination: "#{Root}/shop", substitute: [config/app.json]}
`, devRoot, prodRoot)))
	dev("release", "create", "Shop", "--version", "1.0.0", "--package", "shop-web:1.0.0")
	dev("deploy", "Shop", "1.0.0", "--to", "Development", "--wait")

	cut := proxy.cutNextAfter(len(zipped) * 2 / 3)
	contains(t, dev("promote", "Shop", "1.0.0", "--to", "Prod Space").Stdout, "queued")
	select {
	case <-cut:
	case <-time.After(30 * time.Second):
		t.Fatal("the package transfer never got two thirds of the way")
	}
	p.prod.Kill()
	receivedOnDisk(t, p.prod.Data)
	proxy.release()
	p.prod.Restart()

	var result string
	ferrytest.WaitFor(t, 30*time.Second, "the package to arrive", func() bool {
		var list []struct{ Kind, State, Result string }
		decodeJSON(t, p.dev.Must("--space", "DevTest Space", "remote-space", "deliveries", "Prod Space", "-o", "json").Stdout, &list)
		for _, d := range list {
			if d.Kind == "packages" && d.State == "delivered" {
				result = d.Result
				return true
			}
		}
		return false
	})
	var sent, total int
	if _, err := fmt.Sscanf(result[strings.Index(result, "; ")+2:], "%d of %d chunks sent", &sent, &total); err != nil || sent == 0 || sent >= total {
		t.Errorf("the resumed transfer sent %d of %d chunks (%q); want some, but not all", sent, total, result)
	}
	t.Logf("resumed: %s", result)

	prod("deploy", "DevTest Space: Shop", "1.0.0", "--to", "Production", "--wait")
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(prodRoot, "shop", filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		if name != "config/app.json" && !bytes.Equal(got, want) {
			t.Fatalf("%s differs after the connected transfer", name)
		}
	}
	prod("package", "download", "shop-web", "1.0.0", "--out", filepath.Join(dir, "copy.zip"))
	if copy, _ := os.ReadFile(filepath.Join(dir, "copy.zip")); !bytes.Equal(copy, zipped) {
		t.Fatal("the package in Prod's feed is not byte-identical to the one pushed in DevTest")
	}
}

// receivedOnDisk checks, in the data folder of a killed server, that every
// chunk its database records as received is on disk with the bytes its
// hash names: chunks are synced a batch at a time, and recorded only after.
func receivedOnDisk(t *testing.T, data string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT hash FROM received_chunks`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(data, "chunks", h[:2], h))
		if sum := sha256.Sum256(b); err != nil || hex.EncodeToString(sum[:]) != h {
			t.Fatalf("chunk %s is recorded as received but is not on disk intact (%v)", h, err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d received chunks recorded, each on disk", n)
}
