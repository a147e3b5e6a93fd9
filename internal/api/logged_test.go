package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestLoggedKeepsTheConnectionReachable: handlers behind the access log set
// read deadlines through http.ResponseController (transport.Paced); the
// log's recorder must let them reach the connection, or a body sent a byte
// at a time would be waited for forever.
func TestLoggedKeepsTheConnectionReachable(t *testing.T) {
	h := &handler{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	got := make(chan error, 1)
	srv := httptest.NewServer(h.logged(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		got <- rc.SetReadDeadline(time.Now().Add(time.Minute))
	})))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-got; err != nil {
		t.Errorf("SetReadDeadline behind the access log: %v", err)
	}
}
