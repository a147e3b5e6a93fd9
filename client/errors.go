package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/ferrydeploy/ferry/api"
)

// Error is an error the server answered, with its kind, or — with kind
// api.KindUnreachable — the failure to get an answer at all.
type Error struct {
	Kind    api.Kind
	Message string // safe to show; the server's words
	Status  int    // the HTTP status; 0 when unreachable
	// RetryAfter is how long the server asked to wait (busy, throttled).
	RetryAfter time.Duration
	// Err is the cause of an unreachable server.
	Err error
	// Rule names the rule of a refusal ("in-use", "signer-trusted"; see
	// api.ErrorBody), and Referrers are what uses the thing of a refused
	// delete; empty for other errors and from servers before they existed.
	Rule      string
	Referrers []api.Referrer
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, client.ErrNotFound) true for every error of
// kind not found, and so on for each kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Status == 0 && t.Err == nil && t.Kind == e.Kind
}

// Sentinels for errors.Is, one per kind.
var (
	ErrInvalid         = &Error{Kind: api.KindInvalid}
	ErrNotFound        = &Error{Kind: api.KindNotFound}
	ErrConflict        = &Error{Kind: api.KindConflict}
	ErrForbidden       = &Error{Kind: api.KindForbidden}
	ErrUnauthorized    = &Error{Kind: api.KindUnauthorized}
	ErrUntrusted       = &Error{Kind: api.KindUntrusted}
	ErrTooManyRequests = &Error{Kind: api.KindTooManyRequests}
	ErrUnavailable     = &Error{Kind: api.KindUnavailable}
	ErrInternal        = &Error{Kind: api.KindInternal}
	ErrUnreachable     = &Error{Kind: api.KindUnreachable}
)

// KindOf returns the kind of the first *Error in err's chain, or "" when
// there is none (an error of the caller's own, such as a cancelled
// context).
func KindOf(err error) api.Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// errorOf reads an error answer (api.ErrorBody) into an *Error.
func errorOf(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusBadRequest && bytes.Contains(data, []byte("Client sent an HTTP request to an HTTPS server")) {
		// Go's HTTPS server answers plain HTTP with this: no ferry answer.
		return &Error{Kind: api.KindUnreachable, Status: resp.StatusCode,
			Message: fmt.Sprintf("the server at %s speaks HTTPS, not plain HTTP: use https://", resp.Request.URL.Host)}
	}
	var body api.ErrorBody
	json.Unmarshal(data, &body) // a proxy's page is no ErrorBody: the status says enough
	e := &Error{Kind: api.KindOfAnswer(resp.StatusCode, body.Kind), Message: body.Error, Status: resp.StatusCode,
		Rule: body.Rule, Referrers: body.Referrers}
	if e.Message == "" {
		e.Message = "the server answered " + resp.Status
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}

func (c *Client) unreachable(err error) error {
	return &Error{Kind: api.KindUnreachable, Message: fmt.Sprintf("cannot reach the ferry server at %s: %v", c.BaseURL, err), Err: err}
}
