package transport

import (
	"context"
	"encoding/pem"
	"errors"
	"io"

	"github.com/ferrydeploy/ferry/internal/bundle"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/packages"
	"github.com/ferrydeploy/ferry/internal/receipt"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/trust"
)

// Receiver is what the receiving endpoints call. It decides from headers
// whether to read a request at all, then passes the payload to the bundle
// or receipt service, which verify it exactly as they verify a file.
type Receiver struct {
	spaces   store.Spaces
	remotes  store.RemoteSpaces
	trust    Verifier
	bundles  Bundles
	receipts Receipts
	packages Packages
	// Limiter bounds what requests hold before their signatures are
	// checked (Enter); the endpoints pace bodies by its limits.
	Limiter *Limiter
}

// Verifier checks a signature against a remote space's stored certificate
// and the trust given to it (trust.Service).
type Verifier interface {
	VerifySum(ctx context.Context, spaceID int64, direction string, signerPEM []byte, payload []byte, sum [32]byte, sig []byte) (domain.RemoteSpace, error)
}

// Bundles receives a bundle (bundle.Service).
type Bundles interface {
	Receive(ctx context.Context, space string, data []byte, parsed *bundle.Parsed) (bundle.ReceiveResult, error)
}

// Receipts imports a receipt file (receipt.Service).
type Receipts interface {
	Import(ctx context.Context, space string, data []byte) (receipt.ImportResult, error)
}

// Packages answers chunk queries and imports package transfers
// (packages.Service).
type Packages interface {
	Missing(ctx context.Context, spaceID int64, hashes []packages.Hash) ([]packages.Hash, error)
	Import(ctx context.Context, space string, r io.Reader) (packages.ImportResult, error)
}

// NewReceiver returns the receiver of what connected spaces send. It reads
// spaces and remote spaces to admit a request; limiter bounds what
// requests hold before their signatures are checked (Enter).
func NewReceiver(spaces store.Spaces, remotes store.RemoteSpaces, tr Verifier, bundles Bundles, receipts Receipts, packages Packages, limiter *Limiter) *Receiver {
	return &Receiver{spaces: spaces, remotes: remotes, trust: tr, bundles: bundles, receipts: receipts, packages: packages, Limiter: limiter}
}

// Admission is a request the receiver agreed to read: for which local space,
// from which remote space, within which share of the limits.
type Admission struct {
	Space  domain.Space
	Sender domain.RemoteSpace
	lease  *Lease
}

// Enter admits a request from peer (its remote address) that will hold
// size bytes in memory, before anything else is looked at, or refuses it
// for now (domain.KindUnavailable). Leave the lease when the request ends.
func (r *Receiver) Enter(peer string, size int64) (*Lease, error) {
	return r.Limiter.Enter(peer, size)
}

// Admit decides, from the sender and target fingerprints alone and before
// any body is read, whether a transfer may proceed: the target is a space
// of this server, and the sender is a remote space of it that is not
// revoked and is trusted for direction (releases for bundles, receipts for
// receipt files). Everything it refuses costs one or two indexed lookups.
func (r *Receiver) Admit(ctx context.Context, l *Lease, direction, sender, target string) (Admission, error) {
	a := Admission{lease: l}
	if sender == "" || target == "" {
		return a, domain.Invalidf("refused: a transfer must name its sender and target spaces' certificate fingerprints in the %s and %s headers", HeaderSender, HeaderTarget)
	}
	senderFP, err1 := trust.ParseFingerprint(sender)
	targetFP, err2 := trust.ParseFingerprint(target)
	if err := errors.Join(err1, err2); err != nil {
		return a, domain.Invalidf("refused: the %s and %s headers must be SHA-256 certificate fingerprints", HeaderSender, HeaderTarget)
	}
	spaces, err := r.spaces.List(ctx)
	if err != nil {
		return a, err
	}
	found := false
	for _, sp := range spaces {
		if sp.Fingerprint == targetFP {
			a.Space, found = sp, true
		}
	}
	if !found {
		return a, domain.NotFoundf("refused: no space on this server has certificate fingerprint %s; check the remote space's certificate and URL", targetFP)
	}
	a.Sender, err = r.remotes.GetByFingerprint(ctx, a.Space.ID, senderFP)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return a, domain.Errorf(domain.KindUntrusted, "refused: space %q does not know the sending space (fingerprint %s); add it there with `ferry remote-space add NAME --cert FILE --trust %s`", a.Space.Name, senderFP, direction)
	case err != nil:
		return a, err
	case a.Sender.Revoked():
		return a, domain.Errorf(domain.KindUntrusted, "refused: space %q revoked remote space %q (fingerprint %s)", a.Space.Name, a.Sender.Name, senderFP)
	case !a.Sender.Trust.Has(direction):
		return a, domain.Errorf(domain.KindUntrusted, "refused: space %q does not trust remote space %q for %s (its trust: %s); allow it there with `ferry remote-space update %q --trust %s`",
			a.Space.Name, a.Sender.Name, direction, a.Sender.Trust, a.Sender.Name, domain.Trust(append(a.Sender.Trust, direction)))
	}
	return a, nil
}

// ReceiveBundle receives a release bundle for an admitted request: it must be
// signed by the sender named in the headers, and is then verified and
// imported (or kept pending) by bundle.Service.Receive. Until its signature
// holds, the request is anyone's who knows the sender's fingerprint, so the
// signature is checked on the envelope alone, before anything reads the
// payload: a payload that decodes into far more than its size (a list of
// millions of empty variables) is never read for them. The envelope is
// read once (bundle.ParseOpened reads the payload from it).
func (r *Receiver) ReceiveBundle(ctx context.Context, a Admission, data []byte) (bundle.ReceiveResult, error) {
	o, err := bundle.Open(data)
	if err != nil {
		return bundle.ReceiveResult{}, err
	}
	if err := sameSigner(a, o.Envelope.Signer); err != nil {
		return bundle.ReceiveResult{}, err
	}
	if _, err := r.trust.VerifySum(ctx, a.Space.ID, domain.TrustReleases, []byte(o.Envelope.Signer), o.Body, o.Sum, o.Signature); err != nil {
		return bundle.ReceiveResult{}, err
	}
	p, err := bundle.ParseOpened(o)
	if err != nil {
		return bundle.ReceiveResult{}, err
	}
	return r.bundles.Receive(actingFor(ctx, a), a.Space.Name, data, p)
}

// ReceiveReceipts receives a receipt file for an admitted request: it must be
// signed by the sender named in the headers, and is then verified and
// imported by receipt.Service.Import; receipts already held are skipped.
func (r *Receiver) ReceiveReceipts(ctx context.Context, a Admission, data []byte) (receipt.ImportResult, error) {
	o, err := receipt.Open(data)
	if err != nil {
		return receipt.ImportResult{}, err
	}
	if err := sameSigner(a, o.Envelope.Signer); err != nil {
		return receipt.ImportResult{}, err
	}
	// As for a bundle, the signature holds before anything reads the
	// payload (a list of receipts that decodes into far more than its size).
	if _, err := r.trust.VerifySum(ctx, a.Space.ID, domain.TrustReceipts, []byte(o.Envelope.Signer), o.Body, o.Sum, o.Signature); err != nil {
		return receipt.ImportResult{}, err
	}
	return r.receipts.Import(actingFor(ctx, a), a.Space.Name, data)
}

// sameSigner refuses a payload signed by another space than the sender the
// request was admitted for. (Whether the signature holds is checked next,
// against this space's stored certificate of the sender.)
func sameSigner(a Admission, signerPEM string) error {
	block, _ := pem.Decode([]byte(signerPEM))
	if block == nil {
		return domain.Errorf(domain.KindUntrusted, "refused: the payload does not carry its signer's certificate")
	}
	if fp := identity.Fingerprint(block.Bytes); fp != a.Sender.Fingerprint {
		return domain.Errorf(domain.KindUntrusted, "refused: the request comes from remote space %q (fingerprint %s) but the payload is signed by fingerprint %s", a.Sender.Name, a.Sender.Fingerprint, fp)
	}
	return nil
}

// actingFor is the context an admitted transfer runs in. No user acts: the
// import is authorised by the signature of a space this space trusts, so it
// runs with the server's own authority, and the audit log names the sender.
func actingFor(ctx context.Context, a Admission) context.Context {
	return domain.WithActor(ctx, domain.Actor{Name: "remote:" + a.Sender.Name, IsAdmin: true})
}
