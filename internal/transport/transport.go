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

	// Reserved for package-chunk batches (not served yet; see
	// docs/architecture.md): PathChunksMissing takes a list of chunk
	// hashes and answers those the target lacks, so a transfer resumes
	// where it stopped; PathChunks takes one signed batch of chunks.
	PathChunksMissing = "/api/v1/transfer/chunks/missing"
	PathChunks        = "/api/v1/transfer/chunks"
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
