package server

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// connsPerAddrEnv bounds the connections one remote address may hold open
// at once (default defaultConnsPerAddr; 0: no bound). Behind a reverse
// proxy every client shares the proxy's address: raise it there, or bound
// connections at the proxy and set 0.
const connsPerAddrEnv = "FERRY_MAX_CONNS_PER_ADDR"

// defaultConnsPerAddr is generous for browsers (6 per host), the CLI and
// several servers delivering at once, and far below the process's file
// limit, so one address cannot exhaust it before it authenticates.
const defaultConnsPerAddr = 256

// connsPerAddr reads connsPerAddrEnv.
func connsPerAddr() (int, error) {
	v := os.Getenv(connsPerAddrEnv)
	if v == "" {
		return defaultConnsPerAddr, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q: want a whole number of connections (0 for no bound)", connsPerAddrEnv, v)
	}
	return n, nil
}

// limitPerAddr wraps ln so that each remote address holds at most max
// connections at once: one more is closed as soon as it is accepted, before
// anything is read from it (a TLS handshake included). max 0 returns ln.
func limitPerAddr(ln net.Listener, max int, log *slog.Logger) net.Listener {
	if max <= 0 {
		return ln
	}
	return &addrLimit{Listener: ln, max: max, log: log, open: map[string]int{}}
}

type addrLimit struct {
	net.Listener
	max int
	log *slog.Logger

	mu         sync.Mutex
	open       map[string]int
	lastWarned time.Time
}

// Accept returns the next connection whose address is under its bound,
// closing those that are not.
func (l *addrLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host := remoteHost(c)
		if l.admit(host) {
			return &countedConn{Conn: c, release: func() { l.release(host) }}, nil
		}
		c.Close()
	}
}

func (l *addrLimit) admit(host string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[host] >= l.max {
		if now := time.Now(); now.Sub(l.lastWarned) > time.Minute {
			l.lastWarned = now
			l.log.Warn("refused connections: too many open from one address", "address", host, "max", l.max, "setting", connsPerAddrEnv)
		}
		return false
	}
	l.open[host]++
	return true
}

func (l *addrLimit) release(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[host]--; l.open[host] <= 0 {
		delete(l.open, host)
	}
}

func remoteHost(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// countedConn gives its address's place back once, when it is closed.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
