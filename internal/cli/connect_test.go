package cli

import (
	"strings"
	"testing"
)

func TestServerURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                          defaultServer,
		"127.0.0.1:8080":            "http://127.0.0.1:8080",
		"localhost:8080/":           "http://localhost:8080",
		"[::1]:8080":                "http://[::1]:8080",
		"ferry.example.com:8443":    "https://ferry.example.com:8443",
		"10.0.0.5:8080":             "https://10.0.0.5:8080",
		"http://ferry.example.com/": "http://ferry.example.com",
		" https://a.example:8443 ":  "https://a.example:8443",
	} {
		if got, err := serverURL(in); err != nil || got != want {
			t.Errorf("serverURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"ftp://x", "http://", "https://u:p@x", "http://x:port", "http://x:99999", "://x", "http://x/?a=b"} {
		if got, err := serverURL(bad); err == nil {
			t.Errorf("serverURL(%q) = %q, want an error", bad, got)
		}
	}
}

func TestNear(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"Shpo", "Shop", true}, {"shop", "Shop", true}, {"Devlopment", "Development", true}, {"Prod", "Prod Space", true},
		{"1.0", "1.0.0", true}, {"Api", "Shop", false}, {"Test", "Production", false},
	} {
		if got := near(tc.a, tc.b); got != tc.want {
			t.Errorf("near(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

func TestIDAndVersionFromName(t *testing.T) {
	for name, want := range map[string][2]string{
		"shop-web.1.2.3.zip":             {"shop-web", "1.2.3"},
		"dist/shop-web-1.2.3.tar.gz":     {"shop-web", "1.2.3"},
		"My.App.2.0.0-beta1.nupkg":       {"My.App", "2.0.0-beta1"},
		"api.10.0.tgz":                   {"api", "10.0"},
		"tool.1.0.0+build.5.jar":         {"tool", "1.0.0+build.5"},
		"Octopus.Server.2024.1.7530.zip": {"Octopus.Server", "2024.1.7530"},
	} {
		id, v, ok := idAndVersion(name)
		if !ok || id != want[0] || v != want[1] {
			t.Errorf("idAndVersion(%q) = %q, %q, %v; want %q", name, id, v, ok, want)
		}
	}
	for _, name := range []string{"shop.zip", "1.2.3.zip", "shop-web.latest.zip", "README"} {
		if id, v, ok := idAndVersion(name); ok {
			t.Errorf("idAndVersion(%q) = %q, %q; want none", name, id, v)
		}
	}
}

// A key put into --server by mistake (as a URL's password or query) is
// not printed back in the error that refuses it.
func TestServerURLErrorHidesKey(t *testing.T) {
	const key = "ferry_SECRETKEY0123456789"
	for _, bad := range []string{"https://admin:" + key + "@ferry.example", "http://127.0.0.1:8080/?key=" + key, "http://x:8080#" + key, "ftp://u:" + key + "@x", key + "@ferry.example:8443", "http://u:" + key + "@x:port"} {
		_, err := serverURL(bad)
		if err == nil {
			t.Errorf("serverURL(%q) accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), key) {
			t.Errorf("serverURL(%q) error prints the key: %v", bad, err)
		}
	}
}
