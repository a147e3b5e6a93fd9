package api

import (
	"context"
	"io"
	"net"
	"net/http"
	"reflect"
	"strconv"

	wire "github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/compat"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/packages"
	"github.com/ferrydeploy/ferry/internal/receipt"
	"github.com/ferrydeploy/ferry/internal/transport"
)

// transferRoutes are the endpoints connected spaces deliver to. They take
// no API key: the sender is named in headers, admitted only if the target
// space trusts it, and the payload must carry its valid signature.
func (h *handler) transferRoutes(rt *router, r wire.RouteSet) {
	t := h.s.Transfer
	transfer(rt, r.TransferBundle, domain.TrustReleases, bundle.MaxSize, "release bundle", whole(t.ReceiveBundle))
	transfer(rt, r.TransferReceipts, domain.TrustReceipts, receipt.MaxFileSize, "receipt file", whole(t.ReceiveReceipts))
	transfer(rt, r.TransferChunks, domain.TrustReleases, transport.MaxChunkQuery, "chunk query", whole(t.MissingChunks))
	transfer(rt, r.TransferPackages, domain.TrustReleases, packages.MaxTransferSize, "package transfer", streamed(t.ReceivePackages))
	// The connected handshake: which schema versions this server reads.
	handle(rt, r.TransferSchema, func(w http.ResponseWriter, r *http.Request, _ wire.None) (compat.Handshake, error) {
		w.Header().Set(compat.Header, strconv.Itoa(compat.Current))
		return compat.Reads(), nil
	})
}

// receiver takes the body of an admitted transfer; stream says it reads
// the body as a stream, which may come without a declared length (the
// sender writes it as it reads its chunks), the limit enforced as it is
// read.
type receiver[T any] struct {
	stream  bool
	receive func(ctx context.Context, a transport.Admission, w http.ResponseWriter, r *http.Request, limit int64, what string) (T, error)
}

// streamed adapts a receiver that reads the body as a stream.
func streamed[T any](fn func(ctx context.Context, a transport.Admission, body io.Reader) (T, error)) receiver[T] {
	return receiver[T]{stream: true, receive: func(ctx context.Context, a transport.Admission, w http.ResponseWriter, r *http.Request, limit int64, what string) (T, error) {
		return fn(ctx, a, http.MaxBytesReader(w, r.Body, limit))
	}}
}

// whole adapts a receiver that takes the body in one piece.
func whole[T any](fn func(ctx context.Context, a transport.Admission, data []byte) (T, error)) receiver[T] {
	return receiver[T]{receive: func(ctx context.Context, a transport.Admission, w http.ResponseWriter, r *http.Request, limit int64, what string) (T, error) {
		data, err := readLimited(w, r, limit, what)
		if err != nil {
			var zero T
			return zero, err
		}
		return fn(ctx, a, data)
	}}
}

// transfer binds a transfer endpoint to route.
func transfer[T any](rt *router, route wire.Endpoint, direction string, limit int64, what string, rc receiver[T]) {
	op := route.Operation()
	rt.bound = append(rt.bound, binding{op: op, in: reflect.TypeFor[wire.None](), out: reflect.TypeFor[T]()})
	rt.mux.Handle(op.Pattern(), rt.h.transfer(direction, limit, what, rc.stream, func(ctx context.Context, a transport.Admission, w http.ResponseWriter, r *http.Request) (any, error) {
		return rc.receive(ctx, a, w, r, limit, what)
	}))
}

// transfer refuses cheaply first — no declared length (unless the body is
// streamed), too large, over the limits of what may be held before a
// signature is checked (transport.Limiter), unknown target, sender unknown
// or untrusted for direction — and only then lets receive read the body,
// which must keep arriving (transport.Limits: Idle, MinRate).
func (h *handler) transfer(direction string, limit int64, what string, stream bool, receive func(ctx context.Context, a transport.Admission, w http.ResponseWriter, r *http.Request) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Every answer says which schema the sender may write here.
		w.Header().Set(compat.Header, strconv.Itoa(compat.Current))
		read := false
		out, err := func() (any, error) {
			switch {
			case r.ContentLength < 0 && !stream:
				return nil, domain.Invalidf("refused: a transfer must declare its Content-Length")
			case r.ContentLength > limit:
				return nil, domain.Invalidf("refused: the %s is %d bytes; the limit is %d", what, r.ContentLength, limit)
			}
			held := r.ContentLength // a whole body is held in memory until it is verified
			if stream {
				held = 0 // a stream holds its header only: ReceivePackages adds it
			}
			lease, err := h.s.Transfer.Enter(peer(r), held)
			if err != nil {
				return nil, err
			}
			defer lease.Leave()
			a, err := h.s.Transfer.Admit(r.Context(), lease, direction, r.Header.Get(transport.HeaderSender), r.Header.Get(transport.HeaderTarget))
			if err != nil {
				return nil, err
			}
			if rec, ok := w.(*recorder); ok {
				rec.actor = "remote:" + a.Sender.Name
			}
			read = true
			r.Body = transport.Paced(w, r, h.s.Transfer.Limiter.Limits(), held)
			return receive(r.Context(), a, w, r)
		}()
		if err != nil {
			if !read {
				// Answer at once and drop the connection, rather than let
				// the server first drain a body nobody will read.
				w.Header().Set("Connection", "close")
			}
			if domain.KindOf(err) != domain.KindInternal {
				h.log.Warn("refused a transfer", "path", r.URL.Path, "from", r.RemoteAddr, "err", domain.Message(err))
			}
			h.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// peer is the remote address of a request, without its port.
func peer(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
