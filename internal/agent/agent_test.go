package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/agentproto"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/sandbox"
)

func TestMain(m *testing.M) {
	sandbox.Main()
	os.Exit(m.Run())
}

// listeningAgent runs a listening agent (its own data folder) that trusts
// the returned server identity; it returns the agent's address and data
// folder.
func listeningAgent(t *testing.T) (addr, data string, server agentproto.Identity) {
	t.Helper()
	server = newIdentity(t)
	data = t.TempDir()
	if _, _, err := Init(data, time.Now()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Data: data, Listen: addr, Trust: []string{server.Fingerprint}, Sandbox: sandbox.Off,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr, data, server
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent never listened on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond) // polling for the listener, with a deadline
	}
}

func newIdentity(t *testing.T) agentproto.Identity {
	t.Helper()
	c, k, err := agentproto.NewIdentity("test server", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	id, err := agentproto.ParseIdentity(c, k)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// client dials the agent as the server with identity id, pinning the
// agent's fingerprint.
func client(t *testing.T, id agentproto.Identity, agentFP string) *http.Client {
	cfg := agentproto.DialTLS(func() agentproto.Identity { return id }, "agent", "", func() []string { return []string{agentFP} })
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

func call(t *testing.T, c *http.Client, method, url string, body io.Reader) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func jobBody(t *testing.T, script string) io.Reader {
	b, err := json.Marshal(agentproto.Job{Task: 1, Machine: "m", Step: domain.Step{Name: "S", Type: domain.StepScript, Script: script}})
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

// A server with a certificate the agent does not trust gets a refusal
// naming both fingerprints on every path, and nothing else: no step runs,
// no chunk is stored, no trust is learned.
func TestAgentRefusesAnUntrustedServer(t *testing.T) {
	addr, data, server := listeningAgent(t)
	agentFP, err := Fingerprint(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, intruder := range []agentproto.Identity{newIdentity(t), newIdentity(t)} {
		c := client(t, intruder, agentFP)
		marker := filepath.Join(t.TempDir(), "ran")
		frame := &bytes.Buffer{}
		agentproto.WriteChunk(frame, []byte("evil chunk"))
		for _, r := range []struct {
			method, path string
			body         io.Reader
		}{
			{"GET", agentproto.PathInfo, nil},
			{"POST", agentproto.PathTrust, strings.NewReader(`{"fingerprint":"` + intruder.Fingerprint + `"}`)},
			{"POST", agentproto.PathChunksMissing, strings.NewReader(`{"chunks":[]}`)},
			{"PUT", agentproto.PathChunks, frame},
			{"POST", agentproto.PathSteps, jobBody(t, "touch "+marker)},
			{"GET", "/../../etc/passwd", nil},
			{"POST", "/agent/v1/steps/../trust", strings.NewReader(`{"fingerprint":"` + intruder.Fingerprint + `"}`)},
		} {
			code, body := call(t, c, r.method, "https://"+addr+r.path, r.body)
			if code != http.StatusForbidden || !strings.Contains(body, intruder.Fingerprint) || !strings.Contains(body, server.Fingerprint) {
				t.Errorf("%s %s by an untrusted server: %d %s", r.method, r.path, code, body)
			}
		}
		if _, err := os.Stat(marker); err == nil {
			t.Error("an untrusted server ran a step")
		}
	}
	// The trusted server still sees only itself trusted.
	code, body := call(t, client(t, server, agentFP), "GET", "https://"+addr+agentproto.PathInfo, nil)
	var info agentproto.Info
	json.Unmarshal([]byte(body), &info)
	if code != 200 || len(info.Trusted) != 1 || info.Trusted[0] != server.Fingerprint {
		t.Errorf("after the attempts the agent trusts %v (%d)", info.Trusted, code)
	}
	// The server refuses an agent that is not the pinned one, naming both.
	_, err = client(t, server, server.Fingerprint).Get("https://" + addr + agentproto.PathInfo)
	if m, ok := agentproto.AsMismatch(err); !ok || m.Presented != agentFP {
		t.Errorf("a pin the agent does not match: %v", err)
	}
}

// The trusted server's malformed or oversized requests are refused whole.
func TestAgentRefusesBadRequests(t *testing.T) {
	addr, data, server := listeningAgent(t)
	agentFP, _ := Fingerprint(data)
	c := client(t, server, agentFP)
	base := "https://" + addr

	// A job over the limit: refused before anything runs.
	marker := filepath.Join(t.TempDir(), "ran")
	big := `{"task":1,"machine":"m","step":{"name":"S","type":"script","script":"touch ` + marker + `"},"variables":[{"name":"X","value":"` + strings.Repeat("x", maxJob) + `"}]}`
	if code, _ := call(t, c, "POST", base+agentproto.PathSteps, strings.NewReader(big)); code != http.StatusBadRequest {
		t.Errorf("an oversized job: %d", code)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("an oversized job ran")
	}
	for _, body := range []string{"{not json", `{"fingerprint":"12:34"}`, `{"fingerprint":""}`, strings.Repeat(" ", 5000) + `{"fingerprint":"` + server.Fingerprint + `"}`} {
		if code, _ := call(t, c, "POST", base+agentproto.PathTrust, strings.NewReader(body)); code != http.StatusBadRequest {
			t.Errorf("trust %q: %d", body[:min(len(body), 40)], code)
		}
	}
	for _, body := range []string{`{"chunks":["../../etc/passwd"]}`, `{"chunks":["` + strings.Repeat("g", 64) + `"]}`, `{"chunks":`} {
		if code, _ := call(t, c, "POST", base+agentproto.PathChunksMissing, strings.NewReader(body)); code != http.StatusBadRequest {
			t.Errorf("missing %q: %d", body, code)
		}
	}
	// A chunk whose bytes do not match its SHA-256: refused, not kept.
	frame := &bytes.Buffer{}
	agentproto.WriteChunk(frame, []byte("good bytes"))
	bad := frame.Bytes()
	bad[len(bad)-1] ^= 1
	if code, _ := call(t, c, "PUT", base+agentproto.PathChunks, bytes.NewReader(bad)); code != http.StatusBadRequest {
		t.Errorf("a chunk that does not match its hash: %d", code)
	}
	sum := sha256.Sum256([]byte("good bytes"))
	hexSum := hex.EncodeToString(sum[:])
	_, body := call(t, c, "POST", base+agentproto.PathChunksMissing, strings.NewReader(`{"chunks":["`+hexSum+`"]}`))
	if !strings.Contains(body, hexSum) {
		t.Errorf("a refused chunk was kept: %s", body)
	}

	// A package whose manifest is not of the SHA-256 the release pinned
	// fails before anything is extracted.
	dest := filepath.Join(t.TempDir(), "app")
	job := agentproto.Job{Task: 2, Machine: "m", Step: domain.Step{Name: "P", Type: domain.StepDeployPackage, Package: "app", Destination: dest},
		Package: &agentproto.Package{Ref: domain.PackageRef{ID: "app", Version: "1.0.0", SHA256: strings.Repeat("ab", 32)}, Manifest: json.RawMessage(`{"chunker":"x","format":"file","sha256":"` + strings.Repeat("cd", 32) + `","size":0,"chunks":""}`)}}
	b, _ := json.Marshal(job)
	_, stream := call(t, c, "POST", base+agentproto.PathSteps, bytes.NewReader(b))
	var end agentproto.Event
	err := agentproto.ReadEvents(strings.NewReader(stream), func(e agentproto.Event) error {
		if e.Type == agentproto.EventEnd {
			end = e
		}
		return nil
	})
	if (err != nil && !errors.Is(err, io.EOF)) || !strings.Contains(end.Error, "the release pins") {
		t.Errorf("a package whose manifest does not match the release: %v %+v\n%s", err, end, stream)
	}
	if entries, _ := os.ReadDir(dest); len(entries) > 0 {
		t.Errorf("something was extracted: %v", entries)
	}
}
