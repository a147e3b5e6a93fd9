package transport

import (
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// Every request the server reads starts with a deadline for its whole body
// (set by the server before any handler runs), so that a caller nobody
// knows yet cannot hold a connection open by sending its body a byte at a
// time. Once a request is authenticated — by an API key, a session, or a
// connected space's admission — Authenticated or Paced lift that deadline.

// Paced wraps a request body so that it must keep arriving: each read may
// wait at most l.Idle, and a body of known size (whole > 0) must be in by
// l.Idle plus its size at l.MinRate. A body that is late ends the request
// (a KindUnavailable error: the sender retries later) and frees what it
// held. Once the body has been read to its end, no deadline is left, so the
// handler may take as long as its work does.
func Paced(w http.ResponseWriter, r *http.Request, l Limits, whole int64) io.ReadCloser {
	b := &pacedBody{ReadCloser: r.Body, rc: http.NewResponseController(w), l: l}
	if whole > 0 && l.MinRate > 0 {
		b.end = time.Now().Add(l.Idle + time.Duration(whole/l.MinRate)*time.Second)
	}
	return b
}

type pacedBody struct {
	io.ReadCloser
	rc  *http.ResponseController
	l   Limits
	end time.Time
}

func (b *pacedBody) Read(p []byte) (int, error) {
	d := time.Now().Add(b.l.Idle)
	if !b.end.IsZero() && b.end.Before(d) {
		d = b.end
	}
	b.rc.SetReadDeadline(d) // an error means the connection cannot: nothing to enforce
	n, err := b.ReadCloser.Read(p)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return n, domain.Errorf(domain.KindUnavailable, "refused: the request body stopped arriving (nothing for %s, or slower than %d KiB/s on average)", b.l.Idle, b.l.MinRate>>10)
	case errors.Is(err, io.EOF):
		// The server now watches the idle connection for the client going
		// away; a deadline left behind would end the request when it passed.
		b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// Authenticated lifts the deadline the server set before it knew the
// caller: the body of an authenticated request may take as long as it needs
// (a package of gigabytes on a slow link), but may not stall for longer
// than idle; a request without a body has none left to wait for, and may
// run as long as its work does (a log followed until the task ends).
func Authenticated(w http.ResponseWriter, r *http.Request, idle time.Duration) {
	if r.Body == nil || r.Body == http.NoBody {
		http.NewResponseController(w).SetReadDeadline(time.Time{})
		return
	}
	r.Body = Paced(w, r, Limits{Idle: idle}, 0)
}
