package api

import (
	"net/http"
	"testing"
)

// TestKindStatus: the one table, and its way back from an answer.
func TestKindStatus(t *testing.T) {
	want := map[Kind]int{
		KindInvalid: 400, KindUnauthorized: 401, KindForbidden: 403, KindUntrusted: 403, KindNotFound: 404,
		KindConflict: 409, KindTooManyRequests: 429, KindInternal: 500, KindUnavailable: 503,
	}
	if len(want) != len(Kinds) {
		t.Fatalf("the test knows %d kinds, the package %d", len(want), len(Kinds))
	}
	for _, k := range Kinds {
		if k.Status() != want[k] {
			t.Errorf("%s: status %d, want %d", k, k.Status(), want[k])
		}
		if got := KindOfAnswer(k.Status(), k); got != k {
			t.Errorf("an answer %d saying %s reads as %s", k.Status(), k, got)
		}
	}
	for _, tc := range []struct {
		status int
		said   Kind
		want   Kind
	}{
		{404, "", KindNotFound},              // a proxy's, or an old server's
		{403, "", KindForbidden},             // untrusted must say so
		{502, "", KindUnavailable},           // a proxy with nothing behind it
		{500, "", KindInternal},              //
		{408, "", KindUnavailable},           //
		{400, "weird", KindInvalid},          // a kind no server answers
		{503, KindNotFound, KindUnavailable}, // a kind that does not fit the status
		{418, "", KindInvalid},               // any other refusal
		{http.StatusTooManyRequests, "", KindTooManyRequests},
	} {
		if got := KindOfAnswer(tc.status, tc.said); got != tc.want {
			t.Errorf("KindOfAnswer(%d, %q) = %s, want %s", tc.status, tc.said, got, tc.want)
		}
	}
	for k, temp := range map[Kind]bool{KindUnavailable: true, KindTooManyRequests: true, KindInternal: true, KindUnreachable: true,
		KindInvalid: false, KindNotFound: false, KindUntrusted: false, KindForbidden: false, KindConflict: false, KindUnauthorized: false} {
		if k.Temporary() != temp {
			t.Errorf("%s.Temporary() = %v", k, !temp)
		}
	}
}
