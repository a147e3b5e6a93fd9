package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestNoRedirectedChanges: a request that changes something, sent to a
// path with a "." or ".." segment, is refused (400), never redirected to
// the cleaned path — there another route (DELETE
// .../projects/P/variables/.. would reach DELETE .../projects/P, and Go's
// client follows a 307 with the same method). Before, the mux answered
// 307 and the client deleted the project. Reads are still redirected.
func TestNoRedirectedChanges(t *testing.T) {
	var hit string
	mux := http.NewServeMux()
	mux.HandleFunc("DELETE /api/spaces/{space}/projects/{project}", func(w http.ResponseWriter, r *http.Request) { hit = r.URL.Path })
	mux.HandleFunc("DELETE /api/spaces/{space}/projects/{project}/variables/{name}", func(w http.ResponseWriter, r *http.Request) {
		hit = "variable " + r.PathValue("name")
	})
	mux.HandleFunc("GET /api/spaces/{space}", func(w http.ResponseWriter, r *http.Request) { hit = "get " + r.PathValue("space") })
	srv := httptest.NewServer(noRedirectedChanges(mux))
	defer srv.Close()
	for _, c := range []struct {
		method, path string
		status       int
		hit          string
	}{
		{http.MethodDelete, "/api/spaces/S/projects/P/variables/..", http.StatusBadRequest, ""},
		{http.MethodDelete, "/api/spaces/S/projects/P/variables/../../P", http.StatusBadRequest, ""},
		{http.MethodDelete, "/api/spaces/S/projects/P/./variables/x", http.StatusBadRequest, ""},
		{http.MethodDelete, "/api/spaces/S/projects//P", http.StatusBadRequest, ""},
		{http.MethodPost, "/api/spaces/S/../S/projects/P", http.StatusBadRequest, ""},
		{http.MethodDelete, "/api/spaces/S/projects/P/variables/%2E%2E", http.StatusOK, "variable .."},
		{http.MethodDelete, "/api/spaces/S/projects/P", http.StatusOK, "/api/spaces/S/projects/P"},
		{http.MethodGet, "/api/spaces/x/../S", http.StatusOK, "get S"},
	} {
		hit = ""
		req, err := http.NewRequest(c.method, srv.URL+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || hit != c.hit {
			t.Errorf("%s %s: %d, reached %q; want %d, %q", c.method, c.path, resp.StatusCode, hit, c.status, c.hit)
		}
	}
}
