package release

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// CanonicalFormat names the version of the canonical form below. It is part
// of the hashed document, so a change to the form changes every digest
// instead of silently colliding with the old one.
const CanonicalFormat = "ferry-snapshot/1"

// CanonicalFormatPackages is the form of a snapshot that deploys packages:
// it adds the package selection and the deploy-package fields of steps.
// Snapshots without packages keep the first form, so their digests did not
// change when packages arrived.
const CanonicalFormatPackages = "ferry-snapshot/2"

// CanonicalFormatDownstream is the form of a snapshot imported from a bundle
// that carries what spaces further along need: the /2 form plus the spaces
// its remote scopes name and the values sealed to them (see
// docs/snapshots.md). Other snapshots keep their form.
const CanonicalFormatDownstream = "ferry-snapshot/3"

// Digest returns the snapshot's digest: "sha256:" and the lowercase hex
// SHA-256 of Canonical(snap).
//
// It is a pure function of the snapshot alone — not of the release's
// version, notes, channel, id, project or space — so two releases frozen
// from the same project state share a digest, and a release imported from a
// bundle (its secrets re-encrypted for another space, same plaintext) shows
// the digest of its source release.
//
// Sensitive values are left out of the digest: a hash of a secret lets anyone
// who sees it test guesses offline, and there is no key two spaces share to
// make that hash keyed. The digest therefore proves the process, the plain
// values and which secrets exist where; the integrity of secret values in
// transit is the bundle signature's job. See docs/snapshots.md.
func Digest(snap domain.Snapshot) string {
	sum := sha256.Sum256(Canonical(snap))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Canonical returns the canonical form of a snapshot that Digest hashes:
// UTF-8 JSON in RFC 8785 (JCS) form — object keys sorted, no insignificant
// whitespace, every field always present — with
//
//	{"format":"ferry-snapshot/1","process":[step...],"templates":[template...],"variables":[variable...]}
//	step:     {"environments":[...],"name":s,"script":s,"timeoutSeconds":n,"type":s}   in process order
//	          (a manual-intervention step: canonicalIntervention)
//	variable: {"environments":[...],"name":s,"sensitive":false,"value":s}
//	          {"environments":[...],"name":s,"sensitive":true,"set":b}                 (no value)
//	template: {"default":s,"help":s,"label":s,"name":s,"options":[...],"required":b,"type":s}
//	          {"defaultSet":b,"help":s,...}                                           when type is "sensitive"
//
// Environment lists are sets: sorted by bytes, duplicates removed. Template
// options keep their order (it is the order people choose from). Variables
// are sorted by name, then by environment list (element by element, a
// prefix first), then by their encoding; templates by name, then encoding.
func Canonical(snap domain.Snapshot) []byte {
	v3 := len(snap.Spaces) > 0 || len(snap.Forward) > 0
	v2 := v3 || usesPackages(snap)
	var b bytes.Buffer
	b.WriteString(`{"format":`)
	if v3 {
		writeString(&b, CanonicalFormatDownstream)
		b.WriteString(`,"forward":[`)
		writeSorted(&b, snap.Forward, canonicalForward, compareForward)
		b.WriteString(`]`)
	}
	if v2 {
		if !v3 {
			writeString(&b, CanonicalFormatPackages)
		}
		b.WriteString(`,"packages":[`)
		writeSorted(&b, snap.Packages, canonicalPackage, comparePackages)
		b.WriteString(`]`)
	} else {
		writeString(&b, CanonicalFormat)
	}
	b.WriteString(`,"process":[`)
	for i, s := range snap.Process {
		if i > 0 {
			b.WriteByte(',')
		}
		switch {
		case s.Type == domain.StepManualIntervention:
			b.Write(canonicalIntervention(s))
		case v2:
			b.Write(canonicalPackageStep(s))
		default:
			b.Write(canonicalStep(s))
		}
	}
	b.WriteString(`]`)
	if v3 {
		b.WriteString(`,"spaces":[`)
		writeSorted(&b, snap.Spaces, canonicalSpace, func(x, y domain.SpaceRef) int { return cmp.Compare(x.Space, y.Space) })
		b.WriteString(`]`)
	}
	b.WriteString(`,"templates":[`)
	writeSorted(&b, snap.Templates, canonicalTemplate, func(x, y domain.Template) int {
		return cmp.Compare(x.Name, y.Name)
	})
	b.WriteString(`],"variables":[`)
	writeSorted(&b, snap.Variables, canonicalVariable, compareVariables)
	b.WriteString(`]}`)
	return b.Bytes()
}

func canonicalStep(s domain.Step) []byte {
	var b bytes.Buffer
	b.WriteString(`{"environments":`)
	writeStrings(&b, scopeSet(s.Environments))
	writeParallelism(&b, s)
	b.WriteString(`,"name":`)
	writeString(&b, s.Name)
	writeRoles(&b, s)
	b.WriteString(`,"script":`)
	writeString(&b, s.Script)
	writeSkip(&b, s)
	writeTenantScope(&b, s.Tenants, s.TenantTags)
	b.WriteString(`,"timeoutSeconds":`)
	b.WriteString(strconv.Itoa(s.TimeoutSeconds))
	b.WriteString(`,"type":`)
	writeString(&b, s.Type)
	b.WriteByte('}')
	return b.Bytes()
}

// A step that runs on deployment targets adds its target members —
// "maxParallelism":n, "roles":[...] (a set) and "skipUnavailableTargets":b
// — in their sorted places; a step without roles has none of them, so
// every snapshot from before targets keeps its digest, and no such
// snapshot encodes like one with them.

func usesTargets(s domain.Step) bool {
	return len(s.Roles) > 0 || s.MaxParallelism != 0 || s.SkipUnavailableTargets
}

func writeParallelism(b *bytes.Buffer, s domain.Step) {
	if usesTargets(s) {
		b.WriteString(`,"maxParallelism":`)
		b.WriteString(strconv.Itoa(s.MaxParallelism))
	}
}

func writeRoles(b *bytes.Buffer, s domain.Step) {
	if usesTargets(s) {
		b.WriteString(`,"roles":`)
		writeStrings(b, scopeSet(s.Roles))
	}
}

func writeSkip(b *bytes.Buffer, s domain.Step) {
	if usesTargets(s) {
		b.WriteString(`,"skipUnavailableTargets":`)
		b.WriteString(strconv.FormatBool(s.SkipUnavailableTargets))
	}
}

// canonicalIntervention is a manual-intervention step, in every form:
//
//	{"environments":[...],"instructions":s,"name":s,"preventSelfApproval":b,
//	 "responsibleTeams":[...],"timeoutMinutes":n,"timeoutSeconds":n,"type":"manual-intervention"}
//
// with responsibleTeams a set, and "tenantTags" and "tenants" (sets) in their
// sorted places when the step is scoped to tenants. Who must approve, and
// for which deployments, is part of what a release is: a space that relays
// it cannot weaken the approval unseen (say, by scoping it to a tenant
// nobody deploys to, which would skip it). (No
// snapshot before manual intervention had such a step, so no digest
// changed when they arrived.)
func canonicalIntervention(s domain.Step) []byte {
	var b bytes.Buffer
	b.WriteString(`{"environments":`)
	writeStrings(&b, scopeSet(s.Environments))
	b.WriteString(`,"instructions":`)
	writeString(&b, s.Instructions)
	b.WriteString(`,"name":`)
	writeString(&b, s.Name)
	b.WriteString(`,"preventSelfApproval":`)
	b.WriteString(strconv.FormatBool(s.PreventSelfApproval))
	b.WriteString(`,"responsibleTeams":`)
	writeStrings(&b, scopeSet(s.ResponsibleTeams))
	writeTenantScope(&b, s.Tenants, s.TenantTags)
	b.WriteString(`,"timeoutMinutes":`)
	b.WriteString(strconv.Itoa(s.TimeoutMinutes))
	b.WriteString(`,"timeoutSeconds":`)
	b.WriteString(strconv.Itoa(s.TimeoutSeconds))
	b.WriteString(`,"type":`)
	writeString(&b, s.Type)
	b.WriteByte('}')
	return b.Bytes()
}

func canonicalVariable(v domain.Variable) []byte {
	var b bytes.Buffer
	b.WriteString(`{"environments":`)
	writeStrings(&b, scopeSet(v.Environments))
	b.WriteString(`,"name":`)
	writeString(&b, v.Name)
	if v.Sensitive {
		b.WriteString(`,"sensitive":true,"set":`)
		b.WriteString(strconv.FormatBool(v.HasValue()))
		writeTenantScope(&b, v.Tenants, v.TenantTags)
	} else {
		b.WriteString(`,"sensitive":false`)
		writeTenantScope(&b, v.Tenants, v.TenantTags)
		b.WriteString(`,"value":`)
		writeString(&b, v.Value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// A step or variable scoped to tenants adds "tenantTags":[...] and
// "tenants":[...] (sets) in their sorted places; one without a tenant
// scope has neither, so every snapshot from before tenants keeps its
// digest.
func writeTenantScope(b *bytes.Buffer, tenants, tags []string) {
	if len(tenants) == 0 && len(tags) == 0 {
		return
	}
	b.WriteString(`,"tenantTags":`)
	writeStrings(b, scopeSet(tags))
	b.WriteString(`,"tenants":`)
	writeStrings(b, scopeSet(tenants))
}

func canonicalTemplate(t domain.Template) []byte {
	var b bytes.Buffer
	if t.Type == domain.TemplateSensitive {
		// The default of a sensitive template is a secret like any other.
		b.WriteString(`{"defaultSet":`)
		b.WriteString(strconv.FormatBool(t.Default != ""))
	} else {
		b.WriteString(`{"default":`)
		writeString(&b, t.Default)
	}
	b.WriteString(`,"help":`)
	writeString(&b, t.Help)
	b.WriteString(`,"label":`)
	writeString(&b, t.Label)
	b.WriteString(`,"name":`)
	writeString(&b, t.Name)
	b.WriteString(`,"options":`)
	writeStrings(&b, t.Options)
	b.WriteString(`,"required":`)
	b.WriteString(strconv.FormatBool(t.Required))
	b.WriteString(`,"type":`)
	writeString(&b, t.Type)
	b.WriteByte('}')
	return b.Bytes()
}

// writeSorted writes the encodings of items ordered by less, ties broken by
// the encodings themselves, so the order is total and input order never
// matters.
func writeSorted[T any](b *bytes.Buffer, items []T, encode func(T) []byte, compare func(x, y T) int) {
	type entry struct {
		item T
		enc  []byte
	}
	entries := make([]entry, len(items))
	for i, it := range items {
		entries[i] = entry{it, encode(it)}
	}
	slices.SortFunc(entries, func(x, y entry) int {
		if c := compare(x.item, y.item); c != 0 {
			return c
		}
		return bytes.Compare(x.enc, y.enc)
	})
	for i, e := range entries {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(e.enc)
	}
}

// compareVariables orders variables by name, then by scope.
func compareVariables(x, y domain.Variable) int {
	if c := cmp.Compare(x.Name, y.Name); c != 0 {
		return c
	}
	return slices.Compare(scopeSet(x.Environments), scopeSet(y.Environments))
}

// scopeSet returns a scope as a sorted list without duplicates; the order in
// which someone listed environments means nothing.
func scopeSet(envs []string) []string {
	out := slices.Clone(envs)
	slices.Sort(out)
	return slices.Compact(out)
}

func writeStrings(b *bytes.Buffer, ss []string) {
	b.WriteByte('[')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, s)
	}
	b.WriteByte(']')
}

// writeString writes s as a JSON string the way RFC 8785 does: only '"',
// '\\' and control characters below U+0020 are escaped (\b \t \n \f \r, else
// \u00xx in lowercase hex); everything else is literal UTF-8. Invalid UTF-8
// is written as U+FFFD (it cannot reach a snapshot through the API, which
// decodes JSON or YAML, both of which do the same).
func writeString(b *bytes.Buffer, s string) {
	const hexDigits = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hexDigits[r>>4])
			b.WriteByte(hexDigits[r&0xf])
		default:
			b.WriteRune(r) // utf8.RuneError for invalid bytes, i.e. U+FFFD
		}
	}
	b.WriteByte('"')
}
