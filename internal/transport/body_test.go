package transport

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// TestPacedBody: a transfer body that stops arriving, or arrives too slowly
// as a whole, ends the request with 503 instead of holding it open.
func TestPacedBody(t *testing.T) {
	lim := Limits{Idle: 200 * time.Millisecond, MinRate: 64 << 10}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		whole := int64(0)
		if r.URL.Path == "/whole" {
			whole = r.ContentLength
		}
		_, err := io.ReadAll(Paced(w, r, lim, whole))
		if domain.KindOf(err) == domain.KindUnavailable {
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()

	send := func(path string, size int64, write func(w *io.PipeWriter)) int {
		pr, pw := io.Pipe()
		defer pw.Close()
		go write(pw)
		req, _ := http.NewRequest("POST", srv.URL+path, pr)
		req.ContentLength = size
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Stalls after a few bytes.
	if got := send("/stream", -1, func(w *io.PipeWriter) { w.Write([]byte("start")) }); got != http.StatusServiceUnavailable {
		t.Errorf("a stalled stream: %d, want 503", got)
	}
	// Keeps trickling, never stalling for long, but far below MinRate.
	stop := make(chan struct{})
	defer close(stop)
	trickle := func(w *io.PipeWriter) {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				if _, err := w.Write([]byte(strings.Repeat("x", 16))); err != nil {
					return
				}
			}
		}
	}
	if got := send("/whole", 128<<10, trickle); got != http.StatusServiceUnavailable {
		t.Errorf("a whole body below the minimum rate: %d, want 503", got)
	}
	// A body that arrives is read.
	if got := send("/whole", 5, func(w *io.PipeWriter) { w.Write([]byte("hello")); w.Close() }); got != http.StatusOK {
		t.Errorf("a body that arrives: %d", got)
	}
}
