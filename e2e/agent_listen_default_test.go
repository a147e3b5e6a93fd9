package e2e

import (
	"net"
	"strings"
	"testing"

	"github.com/ferrydeploy/ferry/internal/ferrytest"
)

// TestSecondServerOnOneHost: the agent listener's default address
// (127.0.0.1:10943, SPEC §5) is taken — by another ferry server on the
// same host, as in the README's two-server walkthrough. A server left on
// the default still starts, and says polling agents cannot reach it and
// what to set; one given that address explicitly refuses to start.
func TestSecondServerOnOneHost(t *testing.T) {
	bin := ferrytest.Build(t)
	if ln, err := net.Listen("tcp", "127.0.0.1:10943"); err == nil {
		defer ln.Close()
	} // else something holds it already, which is the case under test too
	srv := bin.StartServer(t, "FERRY_AGENT_LISTEN=")
	srv.Must("env", "list")
	if log := srv.Log(); !strings.Contains(log, "polling agents cannot connect to this server") || !strings.Contains(log, "--agent-listen") {
		t.Errorf("no warning about the agent address in use:\n%s", log)
	}
	res := bin.Run(t, "", "server", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--agent-listen", "127.0.0.1:10943")
	if res.Code == 0 || !strings.Contains(res.Stderr, "address already in use") {
		t.Errorf("an explicit --agent-listen in use: exit %d, %s", res.Code, res.Stderr)
	}
}
