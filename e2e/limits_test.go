package e2e

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// TestTransferLimits sends 16 concurrent 60 MB junk bodies to the transfer
// endpoints, which need no API key, only the public fingerprints of a
// trusted sender and of the target: the server's peak memory must not grow
// with them, because it bounds what it holds before a signature is checked.
// (Memory, not time, is asserted: the kernel's high-water mark.)
func TestTransferLimits(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t)
	srv.Must("space", "create", "Sender")
	cert := filepath.Join(t.TempDir(), "sender.pem")
	srv.Must("space", "cert", "Sender", "--out", cert)
	srv.Must("remote-space", "add", "Sender", "--cert", cert, "--trust", "releases,receipts")
	var spaces []struct{ Name, Fingerprint string }
	decodeJSON(t, srv.Must("space", "list", "-o", "json").Stdout, &spaces)
	fp := map[string]string{}
	for _, s := range spaces {
		fp[s.Name] = s.Fingerprint
	}

	const n, size = 16, 60 << 20
	before := peakRSS(t, srv.Pid())
	paths := []string{"/api/v1/transfer/bundles", "/api/v1/transfer/receipts", "/api/v1/transfer/chunks/missing", "/api/v1/transfer/packages"}
	client := &http.Client{Transport: &http.Transport{}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	for i := range n {
		wg.Go(func() {
			path := paths[i%len(paths)]
			var body io.Reader = io.LimitReader(junk{}, size)
			if strings.HasSuffix(path, "/packages") {
				// A transfer file whose signed header claims to be huge.
				var hdr bytes.Buffer
				tw := tar.NewWriter(&hdr)
				tw.WriteHeader(&tar.Header{Name: "ferry-transfer.json", Mode: 0o644, Size: size - 1024})
				body = io.MultiReader(bytes.NewReader(hdr.Bytes()), io.LimitReader(junk{}, size-int64(hdr.Len())))
			}
			req, _ := http.NewRequest("POST", srv.URL+path, body)
			req.ContentLength = size
			req.Header.Set("X-Ferry-Sender", fp["Sender"])
			req.Header.Set("X-Ferry-Target", fp["Default"])
			outcome := "error"
			if resp, err := client.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				outcome = strconv.Itoa(resp.StatusCode)
			}
			mu.Lock()
			outcomes[outcome]++
			mu.Unlock()
		})
	}
	wg.Wait()
	after := peakRSS(t, srv.Pid())
	t.Logf("peak resident memory %d MiB before, %d MiB after %d concurrent %d MiB bodies; answers %v", before>>20, after>>20, n, size>>20, outcomes)
	if grew := after - before; grew > 384<<20 {
		t.Errorf("the server's peak memory grew by %d MiB under junk transfers; it must bound what it holds before checking signatures", grew>>20)
	}
	srv.Must("space", "list") // still serving
}

// junk is an endless stream of bytes that are no JSON, tar or anything.
type junk struct{}

func (junk) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'j'
	}
	return len(p), nil
}

// peakRSS is a process's peak resident memory (VmHWM) in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// TestBodiesBeforeAuthenticationEnd: a caller nobody knows sends a request
// to an endpoint that needs no key (sign-in, health, a page, a transfer)
// or to one that refuses it, and then its body a byte at a time. The server
// ends every such connection once FERRY_BODY_TIMEOUT has passed, instead of
// holding it open for as long as the bytes trickle. An authenticated upload
// that keeps arriving, and an authenticated request that runs long, are not
// cut off by it.
func TestBodiesBeforeAuthenticationEnd(t *testing.T) {
	bin := ferrytest.Build(t)
	srv := bin.StartServer(t, "FERRY_BODY_TIMEOUT=2s")
	addr := strings.TrimPrefix(srv.URL, "http://")
	paths := []string{"/signin", "/api/health", "/api/spaces/Default/apply", "/spaces/Default/apply", "/api/v1/transfer/bundles", "/api/v1/transfer/schema", "/static/app.css"}
	var wg sync.WaitGroup
	for _, path := range paths {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nuser=", path, addr)
			stop := make(chan struct{})
			defer close(stop)
			go func() { // one byte every 100 ms: never idle for long
				for {
					select {
					case <-stop:
						return
					case <-time.After(100 * time.Millisecond):
						if _, err := c.Write([]byte("a")); err != nil {
							return
						}
					}
				}
			}()
			c.SetReadDeadline(time.Now().Add(90 * time.Second))
			// The server ends the connection: a close, or a reset when it
			// closed with bytes of ours unread. Only the deadline means it
			// held on.
			if _, err := io.Copy(io.Discard, c); errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("POST %s trickling its body: the server still held the connection after 90s (%v)", path, err)
			}
		})
	}
	wg.Wait()

	// Authenticated, a body may take longer, as long as it keeps coming.
	yaml := strings.Repeat("# slowly\n", 40) + "environments: [{name: Slow}]\n"
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < len(yaml); i += len(yaml) / 40 {
			time.Sleep(100 * time.Millisecond)
			pw.Write([]byte(yaml[i:min(i+len(yaml)/40, len(yaml))]))
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", srv.URL+"/api/spaces/Default/apply", pr)
	req.ContentLength = int64(len(yaml))
	req.Header.Set("Authorization", "Bearer "+srv.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("an authenticated body that kept arriving for 4s: %d %s", resp.StatusCode, body)
	}
	// ...and a request may run longer (deploy --wait follows the log).
	srv.Must("apply", "-f", ferrytest.WriteFile(t, "slow.yaml", `lifecycles: [{name: Main, phases: [{name: Slow, environments: [Slow]}]}]
projects: [{name: Sleepy, lifecycle: Main, process: [{name: Nap, type: script, script: "sleep 4; echo rested"}]}]
`))
	srv.Must("release", "create", "Sleepy", "--version", "1")
	contains(t, srv.Must("deploy", "Sleepy", "1", "--to", "Slow", "--wait").Stdout, "rested", "Success")
}
