// Package compat decides which schema version of ferry's signed files a
// server reads and which it writes for a remote space, so that spaces
// upgrade one at a time (SPEC §4): a server reads its own version and the
// previous one, and writes the newest version the remote space is known to
// read.
//
// What a remote space reads is learnt from what it signs — a bundle, a
// receipt file or a receipt of version N proves its writer reads N — and
// from the connected handshake (Path, and Header on every answer of a
// transfer endpoint); a person may choose by hand (--schema-version). It is
// recorded on the remote space (domain.RemoteSpace.SchemaVersion).
//
// Release bundles and receipt files (and the receipts inside them) share
// one version number: formats that change together take one version step.
// Package inventories and transfer files still have their version 1; when
// they change, they should take the next step of this same number, so that
// one fact — "it reads version N" — answers for every format.
//
// Version 2 added a receipt's and a bundle's provenance of the promotion
// (receipt "bundle", bundle downstream secrets); version 3 added a
// receipt's "machines" (how many deployment targets ran it).
package compat

import (
	"context"
	"fmt"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// Current is the schema version this server writes by default; Previous is
// the one before it, which it still reads and writes for remote spaces
// that read nothing newer.
const (
	Current  = 3
	Previous = Current - 1
)

// Path is the connected handshake: a GET answers Handshake. A server from
// before the handshake existed answers 404, and reads Previous.
const Path = "/api/v1/transfer/schema"

// Header is set on every answer of a transfer endpoint to the newest schema
// version the answering server reads, so a sender learns it with every
// delivery.
const Header = "X-Ferry-Schema"

// Handshake is the answer at Path.
type Handshake struct {
	Reads []int `json:"reads"` // oldest first
}

// Reads is this server's handshake.
func Reads() Handshake { return Handshake{Reads: []int{Previous, Current}} }

// Readable reports whether this server reads version v.
func Readable(v int) bool { return v == Previous || v == Current }

// Choose returns the version to write for remote space r, for a document
// that needs version needed to say all it carries (Previous when the
// previous version can say all of it): asked, when a person chose one
// (refused unless this server writes it); otherwise the newest version r is
// known to read, capped at Current; otherwise — nothing is known of r yet —
// needed, so that a server of the previous release reads whatever needs
// nothing newer. (Remote spaces known before this server was upgraded are
// recorded as reading Previous.)
func Choose(r domain.RemoteSpace, asked, needed int) (int, error) {
	if asked != 0 {
		if !Readable(asked) {
			return 0, domain.Invalidf("schema version %d cannot be written by this server: it writes %d and %d", asked, Previous, Current)
		}
		return asked, nil
	}
	v := r.SchemaVersion
	if v <= 0 {
		v = needed
	}
	return min(max(v, Previous), Current), nil
}

// Note explains, for people, why a document for r was written in an older
// version than it needed: r is known to read only that.
func Note(r domain.RemoteSpace, chosen int) string {
	return fmt.Sprintf("remote space %q is known to read schema version %d only; once it runs a ferry that reads %d, promote again with --schema-version %d (it is also learnt by itself from the next file or delivery it signs)",
		r.Name, chosen, Current, Current)
}

// Unknown explains, for people, a document for r written in version
// chosen while nothing is known of what r reads (chosen is newer than
// Previous only when the document needed it): a server of the release
// before reads only Previous and refuses it, and command with
// --schema-version Previous writes what that server reads. It is "" when
// r's version is known or chosen is Previous.
func Unknown(r domain.RemoteSpace, chosen int, command string) string {
	if r.SchemaVersion > 0 || chosen <= Previous {
		return ""
	}
	return fmt.Sprintf("what remote space %q reads is not known yet, and this file needs schema version %d; if its server reads only %d (a ferry of the release before), it refuses the file: then run %s again with --schema-version %d",
		r.Name, chosen, Previous, command, Previous)
}

// Recorder stores what a remote space reads (store.RemoteSpaces).
type Recorder interface {
	SetSchemaVersion(ctx context.Context, id int64, version int, raise bool) error
}

// Learn records that r signed a document of version v, so it reads v: the
// recorded version only ever rises this way.
func Learn(ctx context.Context, rec Recorder, r domain.RemoteSpace, v int) error {
	if r.ID == 0 || v <= r.SchemaVersion || v <= 0 {
		return nil
	}
	return rec.SetSchemaVersion(ctx, r.ID, v, true)
}

// Told records what r's server said it reads in the handshake or an
// answer's Header: that is authoritative, and may lower the version (the
// server was downgraded).
func Told(ctx context.Context, rec Recorder, r domain.RemoteSpace, v int) error {
	if r.ID == 0 || v <= 0 || v == r.SchemaVersion {
		return nil
	}
	return rec.SetSchemaVersion(ctx, r.ID, v, false)
}
