package api

import "net/http"

// Kind classifies an error answer. Every error answer of a ferry server
// has the JSON body ErrorBody, whose "kind" is one of these; a client
// turns it back into an error of the same kind.
type Kind string

const (
	KindInvalid         Kind = "invalid"           // the request is malformed or breaks a rule (400)
	KindNotFound        Kind = "not_found"         // a named thing does not exist (404)
	KindConflict        Kind = "conflict"          // the thing exists already or changed underneath (409)
	KindForbidden       Kind = "forbidden"         // the caller may not do this (403)
	KindUnauthorized    Kind = "unauthorized"      // the caller is not known: no or a wrong API key (401)
	KindUntrusted       Kind = "untrusted"         // a signed document comes from a space not trusted for it (403)
	KindTooManyRequests Kind = "too_many_requests" // the caller must wait before trying again (429)
	KindUnavailable     Kind = "unavailable"       // busy or too slow for now; try again later (503, Retry-After)
	KindInternal        Kind = "internal"          // a bug or an outage; details are in the server's log (500)

	// KindUnreachable is never answered by a server: a client reports it
	// when no answer came (no server at the address, a TLS certificate
	// that does not match the pinned one, a connection cut off).
	KindUnreachable Kind = "unreachable"
)

// Kinds lists every kind a server answers, in the order of the table
// above (KindUnreachable, which no server answers, is not among them).
var Kinds = []Kind{KindInvalid, KindNotFound, KindConflict, KindForbidden, KindUnauthorized,
	KindUntrusted, KindTooManyRequests, KindUnavailable, KindInternal}

// Status is the HTTP status of an answer of kind k. This is the one table
// from kinds to statuses: ferry's JSON API, its web pages and the
// connected-space transfer endpoints all answer with it. An unknown kind
// is an internal error (500).
func (k Kind) Status() int {
	switch k {
	case KindInvalid:
		return http.StatusBadRequest
	case KindNotFound:
		return http.StatusNotFound
	case KindConflict:
		return http.StatusConflict
	case KindForbidden, KindUntrusted:
		return http.StatusForbidden
	case KindUnauthorized:
		return http.StatusUnauthorized
	case KindTooManyRequests:
		return http.StatusTooManyRequests
	case KindUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// Temporary reports whether the same request may succeed later without
// anyone changing anything: the server was busy, overloaded, broken for a
// moment or not reached. The other kinds are considered answers: sending
// the request again changes nothing until a person acts.
func (k Kind) Temporary() bool {
	switch k {
	case KindTooManyRequests, KindUnavailable, KindInternal, KindUnreachable:
		return true
	}
	return false
}

// KindOfAnswer is the kind of an error answer with HTTP status status
// whose body said kind said: said, when it is a kind a server answers with
// that status; otherwise (a proxy's answer, a server from before kinds
// existed) the kind its status means.
func KindOfAnswer(status int, said Kind) Kind {
	for _, k := range Kinds {
		if k == said && k.Status() == status {
			return k
		}
	}
	return kindOfStatus(status)
}

func kindOfStatus(status int) Kind {
	switch {
	case status == http.StatusRequestTimeout:
		return KindUnavailable
	case status >= 500 && status != http.StatusInternalServerError:
		return KindUnavailable
	case status >= 500:
		return KindInternal
	}
	for _, k := range Kinds {
		if k.Status() == status && k != KindUntrusted {
			return k
		}
	}
	return KindInvalid
}

// ErrorBody is the JSON body of every error answer:
//
//	{"error": "release 9.9.9 of Shop not found", "kind": "not_found"}
//
// Error is a message safe to show to a person; it never holds secrets or
// internal details (those go to the server's log). A refusal also names
// its rule (the name its message carries in brackets, listed in
// docs/trust.md and docs/removal.md), and a delete refused because others
// use the thing (rule "in-use") lists them all:
//
//	{"error": "refused [in-use]: cannot delete environment \"QA\": it is used by lifecycle \"Main\" (phase \"QA\")",
//	 "kind": "conflict", "rule": "in-use",
//	 "referrers": [{"kind": "lifecycle", "name": "Main", "detail": "phase \"QA\""}]}
//
// Rule and Referrers are absent from other errors, and from the answers of
// servers from before they existed: a client must not rely on them.
type ErrorBody struct {
	Error     string     `json:"error"`
	Kind      Kind       `json:"kind"`
	Rule      string     `json:"rule,omitempty"`
	Referrers []Referrer `json:"referrers,omitempty"`
}

// Referrer is something that uses a thing a refused delete would remove.
type Referrer struct {
	// Kind is what it is: lifecycle, project, step, variable, team,
	// release, task, target, ...
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Detail says how it refers ("phase \"QA\"", "running task 12").
	Detail string `json:"detail,omitempty"`
}
