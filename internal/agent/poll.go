package agent

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/net/http2"

	"github.com/ferrydeploy/ferry/internal/agentproto"
)

// Backoff of a polling agent between attempts: from minBackoff, doubling,
// capped at maxBackoff (SPEC §5: 10 s); back to minBackoff once connected.
const (
	minBackoff = time.Second
	maxBackoff = 10 * time.Second
)

// poll dials the server's agent listener and serves the server over that
// connection until ctx ends, dialling again whenever it drops or is
// refused (not registered yet, disabled, revoked: the server may change
// its mind).
func (h *handler) poll(ctx context.Context, server string) error {
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Port() == "" {
		return fmt.Errorf("--poll %q: give the server's agent listener as https://HOST:PORT (`ferry target trust-info` prints it)", server)
	}
	h.log.Info("ferry agent polling", "server", u.Host, "fingerprint", h.id.Fingerprint, "trusted", h.trust.list(), "sandbox", h.sandbox)
	wait := minBackoff
	for {
		connected, err := h.pollOnce(ctx, u.Host)
		if ctx.Err() != nil {
			h.log.Info("stopped")
			return nil
		}
		if connected {
			wait = minBackoff
		}
		h.log.Warn(fmt.Sprintf("%v; trying again in %s", err, wait), "server", u.Host)
		select {
		case <-ctx.Done():
			h.log.Info("stopped")
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, maxBackoff)
	}
}

// pollOnce makes one connection: it asks the server to take it (PathPoll)
// and, once the server answers 101, serves HTTP/2 on it until it closes.
// It reports whether the server took the connection.
func (h *handler) pollOnce(ctx context.Context, addr string) (bool, error) {
	conf := agentproto.DialTLS(h.identity, "server at "+addr,
		"if the server's agent identity really changed, start the agent with --trust set to the new fingerprint (`ferry target trust-info` on the server prints it)", h.trust.list)
	conf.NextProtos = []string{"http/1.1"}
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 15 * time.Second}, Config: conf}
	raw, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false, fmt.Errorf("cannot connect to the server: %w", err)
	}
	conn, err := h.upgrade(raw, addr)
	if err != nil {
		raw.Close()
		return false, err
	}
	h.log.Info("connected to the server; serving it", "server", addr)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	srv := &http2.Server{ReadIdleTimeout: agentproto.HeartbeatTimeout / 2, PingTimeout: agentproto.HeartbeatTimeout / 2}
	srv.ServeConn(conn, &http2.ServeConnOpts{Context: ctx, Handler: h.routes()})
	return true, errors.New("the connection to the server closed")
}

// upgrade sends the poll request and reads the answer: 101 turns the
// connection around; a refusal says why, naming both fingerprints.
func (h *handler) upgrade(conn net.Conn, addr string) (net.Conn, error) {
	req, _ := http.NewRequest(http.MethodPost, "https://"+addr+agentproto.PathPoll, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", agentproto.UpgradeToken)
	req.Header.Set(agentproto.HeaderAgentVersion, agentproto.Version())
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if err := req.Write(conn); err != nil {
		return nil, fmt.Errorf("ask the server to take this agent: %w", err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, fmt.Errorf("read the server's answer: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		var refusal agentproto.Refusal
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(body, &refusal) == nil && refusal.Error != "" {
			return nil, fmt.Errorf("the server refused this agent: %s", refusal.Error)
		}
		return nil, fmt.Errorf("the server answered %s to this agent's connection", resp.Status)
	}
	conn.SetDeadline(time.Time{})
	return &bufferedConn{Conn: conn, r: br}, nil
}

// bufferedConn is a connection whose first bytes were read into r.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
