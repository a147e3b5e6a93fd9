package domain

import (
	"errors"
	"fmt"
)

// Kind classifies an error so that every layer above the one that made it
// can decide what to do (the API maps kinds to HTTP status codes) without
// parsing messages.
type Kind string

const (
	KindInvalid         Kind = "invalid"           // the request is malformed or breaks a rule
	KindNotFound        Kind = "not_found"         // a named thing does not exist
	KindConflict        Kind = "conflict"          // the thing exists already or changed underneath
	KindForbidden       Kind = "forbidden"         // the caller may not do this
	KindUnauthorized    Kind = "unauthorized"      // the caller is not known
	KindUntrusted       Kind = "untrusted"         // a signed document comes from a space we do not trust
	KindTooManyRequests Kind = "too_many_requests" // the caller must wait before trying again
	KindUnavailable     Kind = "unavailable"       // busy or too slow for now; the caller may try again later
	KindInternal        Kind = "internal"          // a bug or an outage; details go to the log only
)

// Error is an error with a kind and a message that is safe to show to the
// caller. Err, when set, is the cause; it is logged but never sent to clients.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
	// Rule is the name of the rule a refusal applies (Refuse), which Msg
	// also carries ("refused [in-use]: ..."); "" for other errors.
	Rule string
	// Referrers are, for a delete refused because others use the thing
	// (Refusal), every one of them.
	Referrers []Referrer
}

func (e *Error) Error() string {
	if e.Err != nil && e.Msg == "" {
		return e.Err.Error()
	}
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, domain.ErrNotFound) true for every NotFound error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Err == nil && t.Kind == e.Kind
}

// Sentinels for errors.Is; they carry only a kind.
var (
	ErrInvalid      = &Error{Kind: KindInvalid}
	ErrNotFound     = &Error{Kind: KindNotFound}
	ErrConflict     = &Error{Kind: KindConflict}
	ErrForbidden    = &Error{Kind: KindForbidden}
	ErrUnauthorized = &Error{Kind: KindUnauthorized}
	ErrUntrusted    = &Error{Kind: KindUntrusted}
)

// Errorf builds an Error of the given kind with a formatted, client-safe message.
func Errorf(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// NotFoundf reports that a named thing does not exist.
func NotFoundf(format string, args ...any) error { return Errorf(KindNotFound, format, args...) }

// NoSpace reports that space name does not exist for the caller: it does
// not exist, or the caller has no role in it. The two answers are the same
// (NotFound, one message) so that nobody learns which spaces exist by
// asking for ones they are not a member of.
func NoSpace(name string) error {
	return NotFoundf("no space %q (or you are not a member of it); `ferry space list` shows yours — ask a system administrator, or one of the space's administrators, to add you to a team", name)
}

// Invalidf reports bad input.
func Invalidf(format string, args ...any) error { return Errorf(KindInvalid, format, args...) }

// Conflictf reports a clash with existing state.
func Conflictf(format string, args ...any) error { return Errorf(KindConflict, format, args...) }

// KindOf returns the kind of the first *Error in err's chain, or KindInternal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// Message returns the client-safe message of err: the message of the
// outermost *Error (with any context wrapped around it), or a generic text for
// errors without a kind, whose details belong in the log only.
func Message(err error) string {
	if KindOf(err) == KindInternal {
		return "internal error; see the server log"
	}
	return err.Error()
}

// RefusalOf returns the rule and the referrers of the first refusal in
// err's chain (Refuse, Refusal), or "" and nil when err is no refusal.
func RefusalOf(err error) (rule string, refs []Referrer) {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			break
		}
		if e.Rule != "" {
			return e.Rule, e.Referrers
		}
		err = e.Err
	}
	return "", nil
}
