package agentproto

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// BeatInterval is how often a running step's stream carries at least one
// event; HeartbeatTimeout is how long a silent stream, a polling agent not
// seen, or a server node's job not beaten, is believed (SPEC §5: 30 s).
const (
	BeatInterval     = 5 * time.Second
	HeartbeatTimeout = 30 * time.Second
)

// MaxEvent bounds one event of a step's stream (a log line is cut at 64
// KiB, but outputs ride on the end event).
const MaxEvent = 4 << 20

// EventWriter writes a step's events as NDJSON, each flushed at once.
// It is safe for concurrent use.
type EventWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
	f   http.Flusher
	err error
}

// NewEventWriter writes events to w, flushing it after each when it is an
// http.Flusher.
func NewEventWriter(w io.Writer) *EventWriter {
	f, _ := w.(http.Flusher)
	return &EventWriter{enc: json.NewEncoder(w), f: f}
}

// Write writes one event; after a failure it keeps returning it.
func (e *EventWriter) Write(ev Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return e.err
	}
	if e.err = e.enc.Encode(ev); e.err == nil && e.f != nil {
		e.f.Flush()
	}
	return e.err
}

// ReadEvents calls fn for each event of a stream until it ends (nil after
// an end event, io.ErrUnexpectedEOF without one) or fn fails.
func ReadEvents(r io.Reader, fn func(Event) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxEvent)
	for sc.Scan() {
		var ev Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return fmt.Errorf("a malformed event from the agent: %w", err)
		}
		if err := fn(ev); err != nil {
			return err
		}
		if ev.Type == EventEnd {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}

// MaxChunk bounds a chunk in a frame; the feed's chunks are smaller.
const MaxChunk = 1 << 20

// WriteChunk writes one chunk frame: its SHA-256 (32 bytes), its length
// (4 bytes, big-endian) and its bytes.
func WriteChunk(w io.Writer, data []byte) error {
	if len(data) > MaxChunk {
		return fmt.Errorf("chunk of %d bytes: the limit is %d", len(data), MaxChunk)
	}
	var head [36]byte
	sum := sha256.Sum256(data)
	copy(head[:32], sum[:])
	binary.BigEndian.PutUint32(head[32:], uint32(len(data)))
	if _, err := w.Write(head[:]); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}

// ErrBadChunk is a frame whose bytes do not match its SHA-256, or whose
// length is over MaxChunk.
var ErrBadChunk = errors.New("a chunk does not match its SHA-256")

// ReadChunk reads one frame into buf (grown as needed) and checks the
// bytes against the hash it names. It returns io.EOF at the end of the
// stream, before any byte of a frame.
func ReadChunk(r io.Reader, buf []byte) (sum [32]byte, data []byte, err error) {
	var head [36]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("a chunk frame was cut off: %w", err)
		}
		return sum, nil, err
	}
	copy(sum[:], head[:32])
	n := binary.BigEndian.Uint32(head[32:])
	if n > MaxChunk {
		return sum, nil, fmt.Errorf("%w: %d bytes announced", ErrBadChunk, n)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	data = buf[:n]
	if _, err := io.ReadFull(r, data); err != nil {
		return sum, nil, fmt.Errorf("a chunk frame was cut off: %w", io.ErrUnexpectedEOF)
	}
	if sha256.Sum256(data) != sum {
		return sum, nil, fmt.Errorf("%w (%x)", ErrBadChunk, sum)
	}
	return sum, data, nil
}
