package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// TestRetryRemoteSpaceOnPages: a refused delivery shows a Retry control
// to an admin, the control queues it again and says so; a viewer is
// offered no control and a viewer's post is refused.
func TestRetryRemoteSpaceOnPages(t *testing.T) {
	f := newFixture(t)
	ctx, st := f.env.Ctx, f.env.Store
	sp, err := st.Spaces().Get(ctx, domain.DefaultSpace)
	must(t, err)
	rs, err := st.RemoteSpaces().Get(ctx, sp.ID, "Prod")
	must(t, err)
	it := &domain.OutboxItem{SpaceID: sp.ID, RemoteSpaceID: rs.ID, Kind: "bundle", Ref: "sha256:" + strings.Repeat("cd", 32), Summary: "Api 2.0.0", Body: []byte("{}"), CreatedBy: "admin"}
	_, err = st.Outbox().Enqueue(ctx, it)
	must(t, err)
	now := time.Now()
	_, err = st.Outbox().Start(ctx, it.ID, now)
	must(t, err)
	must(t, st.Outbox().Fail(ctx, it.ID, "refused: untrusted signer", now))

	c, token := f.signIn(t)
	base := f.srv.URL + "/spaces/Default/remote-spaces"
	// Without a URL there is nowhere to send: no control, but the way to one.
	_, page, _ := get(t, c, base)
	if strings.Contains(page, "/retry") || !strings.Contains(page, "Give it a URL") {
		t.Errorf("a remote space without a URL is offered a retry that cannot work:\n%s", page)
	}
	rs.URL = "https://prod.example:8443" // never dialled: nothing sends in this test
	must(t, st.RemoteSpaces().Update(ctx, &rs))
	_, page, _ = get(t, c, base)
	if !strings.Contains(page, `action="/spaces/Default/remote-spaces/Prod/retry"`) {
		t.Fatalf("the remote spaces page offers no retry of a refused delivery:\n%s", page)
	}

	key, err := f.auth.NewAPIKey(ctx, "vera", "test") // a viewer
	must(t, err)
	vc := f.browser(t)
	_, page, _ = get(t, vc, base, "Authorization", "Bearer "+key)
	if strings.Contains(page, "/retry") {
		t.Error("a viewer is offered the retry control")
	}
	if code, _, _ := post(t, vc, base+"/Prod/retry", url.Values{}, "Authorization", "Bearer "+key); code != http.StatusForbidden {
		t.Errorf("a viewer's retry: %d, want 403", code)
	}
	if code, _, _ := post(t, c, base+"/Prod/retry", url.Values{}); code != http.StatusForbidden {
		t.Errorf("a retry without the CSRF token: %d, want 403", code)
	}

	code, body, hdr := post(t, c, base+"/Prod/retry", url.Values{"csrf": {token}})
	if code != http.StatusSeeOther {
		t.Fatalf("retry: %d\n%s", code, body)
	}
	_, page, _ = get(t, c, f.srv.URL+hdr.Get("Location"))
	if !strings.Contains(page, "Queued 1 deliveries to Prod again.") {
		t.Errorf("the page after a retry:\n%s", page)
	}
	got, err := st.Outbox().Get(ctx, it.ID)
	must(t, err)
	if got.State != "queued" {
		t.Errorf("the refused delivery is %s after a retry, want queued", got.State)
	}
}
