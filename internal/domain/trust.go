package domain

import (
	"slices"
	"strings"
	"time"
)

// Trust directions between spaces.
const (
	TrustReleases = "releases" // accept release bundles from the remote space
	TrustReceipts = "receipts" // accept deployment receipts from it
	TrustPromote  = "promote"  // this space may promote releases to it
)

// TrustDirections lists every direction, in display order.
var TrustDirections = []string{TrustReleases, TrustReceipts, TrustPromote}

// Trust is the set of directions a space trusts a remote space for.
type Trust []string

// Has reports whether the direction is trusted.
func (t Trust) Has(direction string) bool { return slices.Contains(t, direction) }

// ParseTrust reads a comma-separated list such as "releases,receipts".
// "none" or "" is no trust at all.
func ParseTrust(list string) (Trust, error) {
	t := Trust{}
	if list == "" || list == "none" {
		return t, nil
	}
	for _, d := range strings.Split(list, ",") {
		d = strings.TrimSpace(d)
		if !slices.Contains(TrustDirections, d) {
			return nil, Invalidf("unknown trust direction %q (use releases, receipts, promote, or none)", d)
		}
		if !t.Has(d) {
			t = append(t, d)
		}
	}
	slices.SortFunc(t, func(a, b string) int { return slices.Index(TrustDirections, a) - slices.Index(TrustDirections, b) })
	return t, nil
}

// String is the comma-separated form, or "none".
func (t Trust) String() string {
	if len(t) == 0 {
		return "none"
	}
	return strings.Join(t, ",")
}

// RemoteSpace is what a space knows of another space: its certificate, where
// to reach it (if connected), and what it is trusted for.
type RemoteSpace struct {
	ID          int64  `json:"id"`
	SpaceID     int64  `json:"-"`
	Name        string `json:"name"`
	CertPEM     string `json:"certificate"`
	Fingerprint string `json:"fingerprint"`
	URL         string `json:"url,omitempty"`
	// TLSFingerprint, when set, pins the SHA-256 fingerprint of the TLS
	// certificate URL's server presents; it is checked instead of a CA.
	TLSFingerprint string     `json:"tlsFingerprint,omitempty"`
	Trust          Trust      `json:"trust"`
	CreatedAt      time.Time  `json:"createdAt"`
	UpdatedAt      time.Time  `json:"updatedAt"`
	RevokedAt      *time.Time `json:"revokedAt,omitempty"`
	// RevokedBy names who revoked it ("" if unknown).
	RevokedBy string `json:"revokedBy,omitempty"`
	// SchemaVersion is the newest schema version of ferry's signed files
	// the remote space is known to read; 0 when nothing is known yet (see
	// internal/compat).
	SchemaVersion int `json:"schemaVersion,omitempty"`
	// DeletedAt is set on a remote space that was deleted: it stays in
	// the store, revoked, so that what it delivered is never deployed
	// again, but no list shows it.
	DeletedAt *time.Time `json:"-"`
}

// Revoked reports whether the remote space has been revoked.
func (r RemoteSpace) Revoked() bool { return r.RevokedAt != nil }

// RevocationText says, for refusals, when and by whom the remote space was
// revoked: "was revoked on 2026-01-02 15:04 UTC by alice".
func (r RemoteSpace) RevocationText() string {
	if r.RevokedAt == nil {
		return "is not revoked"
	}
	s := "was revoked on " + r.RevokedAt.UTC().Format("2006-01-02 15:04 MST")
	if r.RevokedBy != "" {
		s += " by " + r.RevokedBy
	}
	return s
}

// Trusts reports whether the remote space is trusted, now, for direction.
func (r RemoteSpace) Trusts(direction string) bool { return !r.Revoked() && r.Trust.Has(direction) }
