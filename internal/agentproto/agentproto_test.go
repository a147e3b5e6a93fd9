package agentproto

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestChunkFrames(t *testing.T) {
	var b bytes.Buffer
	chunks := [][]byte{[]byte("hello"), {}, bytes.Repeat([]byte{7}, 100000)}
	for _, c := range chunks {
		if err := WriteChunk(&b, c); err != nil {
			t.Fatal(err)
		}
	}
	whole := b.Bytes()
	r := bytes.NewReader(whole)
	var buf []byte
	for i, want := range chunks {
		_, got, err := ReadChunk(r, buf)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("chunk %d: %v (%d bytes)", i, err, len(got))
		}
		buf = got[:0]
	}
	if _, _, err := ReadChunk(r, nil); !errors.Is(err, io.EOF) {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}

	// A flipped byte anywhere in the first frame: refused.
	for i := range 36 + 5 {
		bad := bytes.Clone(whole)
		bad[i] ^= 0x40
		_, _, err := ReadChunk(bytes.NewReader(bad), nil)
		if err == nil {
			t.Errorf("byte %d flipped: accepted", i)
		}
	}
	// Cut off in the head or the body; a length over the limit.
	for _, n := range []int{10, 36, 38} {
		if _, _, err := ReadChunk(bytes.NewReader(whole[:n]), nil); err == nil || errors.Is(err, io.EOF) && n > 0 {
			t.Errorf("cut at %d: %v", n, err)
		}
	}
	huge := make([]byte, 36)
	huge[32], huge[33] = 0xff, 0xff
	if _, _, err := ReadChunk(bytes.NewReader(huge), nil); !errors.Is(err, ErrBadChunk) {
		t.Errorf("a frame announcing 4 GiB: %v", err)
	}
	if err := WriteChunk(io.Discard, make([]byte, MaxChunk+1)); err == nil {
		t.Error("wrote a chunk over the limit")
	}
}

func TestEvents(t *testing.T) {
	var b bytes.Buffer
	w := NewEventWriter(&b)
	w.Write(Event{Type: EventLine, Text: "one"})
	w.Write(Event{Type: EventBeat})
	w.Write(Event{Type: EventEnd, Error: "boom", Outputs: []Output{{Name: "X", Value: "1"}}})
	var got []Event
	err := ReadEvents(bytes.NewReader(b.Bytes()), func(e Event) error { got = append(got, e); return nil })
	if err != nil || len(got) != 3 || got[2].Outputs[0].Value != "1" {
		t.Fatalf("%v %+v", err, got)
	}
	// A stream that stops before its end event is not an end.
	cut := bytes.SplitAfter(b.Bytes(), []byte("\n"))
	err = ReadEvents(bytes.NewReader(bytes.Join(cut[:2], nil)), func(Event) error { return nil })
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a stream without its end: %v", err)
	}
	if err := ReadEvents(strings.NewReader("{not json\n"), func(Event) error { return nil }); err == nil {
		t.Error("a malformed event was read")
	}
	long := strings.Repeat("x", MaxEvent+10) + "\n"
	if err := ReadEvents(strings.NewReader(long), func(Event) error { return nil }); err == nil {
		t.Error("an event over the limit was read")
	}
}

func newID(t *testing.T) Identity {
	t.Helper()
	c, k, err := NewIdentity("test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	id, err := ParseIdentity(c, k)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// handshake runs a TLS handshake between a dialer that pins pins and an
// acceptor presenting server; it returns the dialer's error and the
// fingerprint the acceptor saw.
func handshake(t *testing.T, client, server Identity, pins []string) (error, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	seen := make(chan string, 1)
	go func() {
		b, err := ln.Accept()
		if err != nil {
			seen <- ""
			return
		}
		defer b.Close()
		s := tls.Server(b, AcceptTLS(func() Identity { return server }))
		s.HandshakeContext(context.Background())
		cs := s.ConnectionState()
		seen <- PeerFingerprint(&cs)
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	c := tls.Client(a, DialTLS(func() Identity { return client }, "agent at test", "do something", func() []string { return pins }))
	err = c.HandshakeContext(context.Background())
	a.Close()
	return err, <-seen
}

func TestPinnedTLS(t *testing.T) {
	srv, agent, other := newID(t), newID(t), newID(t)
	err, seen := handshake(t, srv, agent, []string{agent.Fingerprint})
	if err != nil || seen != srv.Fingerprint {
		t.Fatalf("pinned handshake: %v, the acceptor saw %q", err, seen)
	}
	err, _ = handshake(t, srv, other, []string{agent.Fingerprint})
	m, ok := AsMismatch(err)
	if !ok || m.Presented != other.Fingerprint || !strings.Contains(err.Error(), agent.Fingerprint) || !strings.Contains(err.Error(), other.Fingerprint) {
		t.Errorf("a certificate not pinned: %v", err)
	}
	err, _ = handshake(t, srv, agent, nil)
	if _, ok := AsMismatch(err); !ok || !strings.Contains(err.Error(), "none is trusted") {
		t.Errorf("nothing pinned: %v", err)
	}
	if !strings.Contains(Version(), "protocol 1") {
		t.Errorf("Version() = %q", Version())
	}
}
