package server

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// TestLimitPerAddr: one address holds at most max connections; one more
// is closed before anything is read, and a place freed by a close is
// taken by the next connection.
func TestLimitPerAddr(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := limitPerAddr(raw, 3, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer ln.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// closedByServer reports whether the server closed c: a read ends at
	// once instead of waiting.
	closedByServer := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := c.Read(make([]byte, 1))
		return err == io.EOF
	}
	var held []net.Conn
	for range 3 {
		dial()
		held = append(held, <-accepted)
	}
	extra := dial()
	if !closedByServer(extra) {
		t.Fatal("a fourth connection from one address was kept open")
	}
	held[0].Close()
	dial()
	select {
	case <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("a freed place was not taken by the next connection")
	}
	if n := len(ln.(*addrLimit).open); n != 1 {
		t.Errorf("addresses counted: %d, want 1", n)
	}
}

// TestConnsPerAddrSetting: the bound comes from FERRY_MAX_CONNS_PER_ADDR,
// 0 turns it off, and nonsense is refused naming the setting.
func TestConnsPerAddrSetting(t *testing.T) {
	for v, want := range map[string]int{"": defaultConnsPerAddr, "0": 0, "1000": 1000} {
		t.Setenv(connsPerAddrEnv, v)
		if got, err := connsPerAddr(); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", v, got, err, want)
		}
	}
	for _, v := range []string{"-1", "many"} {
		t.Setenv(connsPerAddrEnv, v)
		if _, err := connsPerAddr(); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
}
