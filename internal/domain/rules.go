package domain

import "fmt"

// The rules a release bundle, a receipt file and a receipt must satisfy to
// be accepted, and an imported release to be deployed. Each has a short,
// stable name that its refusal message carries ("refused [receipt-path]:
// …"), that docs/trust.md explains, and that people and scripts may match.
const (
	// Every signed file (bundles, receipt files, inventories, transfers).
	RuleSize          = "file-size"      // at most the format's size limit
	RuleFormat        = "file-format"    // a readable envelope of the expected format
	RuleSchema        = "schema-version" // a schema version this server reads
	RuleDigest        = "payload-digest" // the digest matches the payload
	RuleExact         = "exact-encoding" // decoded exactly: no duplicate, case-folded or unknown names; byte for byte as written
	RuleSignerKnown   = "signer-known"   // signed by a remote space known here by fingerprint
	RuleSignerRevoked = "signer-revoked" // …which is not revoked
	RuleSignerTrusted = "signer-trusted" // …and is trusted for this direction
	RuleSignature     = "signature"      // the signature verifies against the stored certificate

	// Release bundles.
	RuleBundleKind       = "bundle-kind"        // the payload is a release bundle, versions agree
	RuleBundleSource     = "bundle-source"      // the payload's source is its signer
	RuleBundleTarget     = "bundle-target"      // the payload's target is this space
	RuleBundleOrigin     = "bundle-origin"      // the origin is not this space, not revoked, and the one the project is bound to
	RuleBundleOriginName = "bundle-origin-name" // the origin's name does not read as a known space's with another fingerprint
	RuleBundleDeliverer  = "bundle-deliverer"   // the signer is the origin or a space allowed to deliver the project
	RuleBundleProject    = "bundle-project"     // the project and release are well formed; no project here has or looks like its name
	RuleBundleScopes     = "bundle-scopes"      // scopes name this space's environments or the listed downstream spaces
	RuleBundleSecrets    = "bundle-secrets"     // every secret for this space decrypts with its key; none is in plaintext
	RuleBundleSnapshot   = "bundle-snapshot"    // the snapshot rebuilt here has the digest the signer signed
	RuleReleaseImmutable = "release-immutable"  // a release version already here has the same contents

	// Receipt files and receipts.
	RuleReceiptFile        = "receipt-file"        // a receipt file, for this space, from its signer
	RuleReceiptSigner      = "receipt-signer"      // signed by a space known here by fingerprint, not revoked, not this one
	RuleReceiptEnvironment = "receipt-environment" // speaks only for an environment its signer owns
	RuleReceiptRelease     = "receipt-release"     // names a release this space has
	RuleReceiptPath        = "receipt-path"        // of a release this space promoted toward its signer or its relay
	RuleReceiptDigest      = "receipt-digest"      // with the release's snapshot digest
	RuleReceiptState       = "receipt-state"       // a final state, a known kind and version

	// Deploying and promoting imported releases.
	RuleReleaseRevoked = "release-revoked" // not delivered by, nor originating from, a revoked space
)

// Refuse is the error of a refused document: kind, the rule's name and a
// message that says what to do.
func Refuse(kind Kind, rule, format string, args ...any) error {
	return &Error{Kind: kind, Rule: rule, Msg: fmt.Sprintf("refused ["+rule+"]: "+format, args...)}
}
