// Package transport carries items between connected spaces. Its Client
// delivers one outbox item to a remote space's server in one HTTPS request
// (checking a pinned server certificate instead of a CA when the remote
// space has one); its Receiver is the logic behind the receiving endpoints,
// which refuse an unknown or untrusted sender from the request headers
// alone, before reading a body, and then hand the body to the same bundle
// and receipt import code that files go through. The protocol is described
// in docs/architecture.md ("Connected spaces").
package transport

// Receiving endpoints, one per outbox item kind. They take no API key: a
// payload is authorised by the signature of a space the target trusts.
const (
	// PathBundles takes a release bundle file (ferry-release-bundle) and
	// answers a bundle.ReceiveResult.
	PathBundles = "/api/v1/transfer/bundles"
	// PathReceipts takes a receipt file (ferry-receipts) and answers a
	// receipt.ImportResult.
	PathReceipts = "/api/v1/transfer/receipts"

	// PathChunksMissing takes a signed chunk query (the hashes of a
	// package transfer's chunks) and answers a ChunkAnswer: those the
	// target lacks, so a transfer sends only those, and one cut off
	// resumes where it stopped.
	PathChunksMissing = "/api/v1/transfer/chunks/missing"
	// PathPackages takes a package transfer file (ferry-package-transfer:
	// signed manifests, then chunks) as a stream, and answers a
	// packages.ImportResult.
	PathPackages = "/api/v1/transfer/packages"
)

// Request headers every transfer carries, so the receiver can refuse a
// request before reading its body.
const (
	// HeaderSender is the SHA-256 fingerprint of the sending space's
	// certificate; the payload must be signed by that space.
	HeaderSender = "X-Ferry-Sender"
	// HeaderTarget is the fingerprint of the space the payload is for; it
	// picks the space on a server that hosts several.
	HeaderTarget = "X-Ferry-Target"
)
