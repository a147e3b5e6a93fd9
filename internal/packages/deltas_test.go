package packages

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/audit"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/packages/delta"
	"github.com/ferrydeploy/ferry/internal/packages/expand"
	"github.com/ferrydeploy/ferry/internal/secrets"
	"github.com/ferrydeploy/ferry/internal/store/sqlstore"
	"github.com/klauspost/compress/zstd"
)

// deltaFixture is a feed (real SQLite, real chunk store) holding version 1
// of a zip, a delta to version 2 as a source would make it, and the
// payload a transfer file would sign for it.
type deltaFixture struct {
	s       *Service
	spaceID int64
	pl      TransferPayload
	pkg     TransferPackage
	delta   []byte
	v2      []byte
}

func newDeltaFixture(t *testing.T) *deltaFixture {
	t.Helper()
	dir := t.TempDir()
	box, err := secrets.LoadOrCreateKey(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := domain.WithActor(context.Background(), domain.System)
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "ferry.db"), box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := func() time.Time { return time.Now().UTC() }
	s, err := New(st, st.Packages(), st.ReceivedChunks(), st.Bundles(), st.Projects(), st.Releases(), st.Receipts(),
		access.NewGuard(st.Spaces(), st.Teams()), nil, audit.New(st.Audit(), now), now, FoldersIn(dir))
	if err != nil {
		t.Fatal(err)
	}
	sp := domain.Space{Name: "Prod", Fingerprint: "00"}
	if err := st.Spaces().Create(ctx, &sp); err != nil {
		t.Fatal(err)
	}
	fs := files(1, 60, 6000)
	v1 := makeZip(fs)
	fs[30].data = append([]byte("changed "), fs[30].data...)
	v2 := makeZip(fs)
	var ms [2]*Manifest
	for i, data := range [][]byte{v1, v2} {
		p := filepath.Join(dir, "v.zip")
		os.WriteFile(p, data, 0o600)
		m, _, err := Ingest(p, s.chunks)
		if err != nil {
			t.Fatal(err)
		}
		ms[i] = m
	}
	raw, _ := json.Marshal(ms[0])
	if err := st.Packages().Create(ctx, &domain.Package{SpaceID: sp.ID, ID: "app", Version: "1", SHA256: ms[0].SHA256.String(),
		Size: ms[0].Size, Format: ms[0].Format, Manifest: raw, Source: "push", CreatedAt: now()}); err != nil {
		t.Fatal(err)
	}
	d, err := s.makeDelta(ms[0], ms[1])
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(d.path)
	os.Remove(d.path)
	d.recipe.Base, d.recipe.Entry = 1, "deltas/000000"
	f := &deltaFixture{s: s, spaceID: sp.ID, delta: data, v2: v2,
		pkg: TransferPackage{ID: "app", Version: "2", Manifest: Manifest{Chunker: ChunkerVersion, Format: "zip", Size: ms[1].Size, SHA256: ms[1].SHA256}, Delta: &d.recipe}}
	f.pl = TransferPayload{SchemaVersion: 2, Assumed: []domain.PackageRef{{ID: "app", Version: "1", SHA256: ms[0].SHA256.String(), Size: ms[0].Size}},
		Packages: []TransferPackage{f.pkg}}
	return f
}

// apply runs applyDelta with a copy of the fixture changed by edit.
func (f *deltaFixture) apply(t *testing.T, edit func(pl *TransferPayload, p *TransferPackage, d *[]byte)) (*Manifest, error) {
	pl := f.pl
	pl.Assumed = append([]domain.PackageRef(nil), f.pl.Assumed...)
	p := f.pkg
	recipe := *f.pkg.Delta
	p.Delta = &recipe
	d := bytes.Clone(f.delta)
	if edit != nil {
		edit(&pl, &p, &d)
	}
	pl.Packages = []TransferPackage{p}
	if err := checkDeltas(&pl); err != nil {
		return nil, err
	}
	return f.s.applyDelta(context.Background(), f.spaceID, &pl, &pl.Packages[0], bytes.NewReader(d))
}

func zstdOf(b []byte) []byte {
	var out bytes.Buffer
	zw, _ := zstd.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

func TestApplyDelta(t *testing.T) {
	f := newDeltaFixture(t)
	m, err := f.apply(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Rebuild(m, f.s.chunks, &out); err != nil || !bytes.Equal(out.Bytes(), f.v2) {
		t.Fatalf("the package rebuilt from the delta is not version 2: %v", err)
	}
	t.Logf("delta of %d bytes for a %d-byte zip", len(f.delta), len(f.v2))
	if left, _ := os.ReadDir(f.s.tmp); len(left) != 0 {
		t.Errorf("temporary files left behind: %d", len(left))
	}
}

// TestApplyDeltaHostile: a transfer file's delta and recipe are untrusted
// input even when signed. Each of these is refused, with bounded work, and
// leaves no temporary file.
func TestApplyDeltaHostile(t *testing.T) {
	f := newDeltaFixture(t)
	r := rand.New(rand.NewSource(1))
	cases := map[string]struct {
		edit func(pl *TransferPayload, p *TransferPackage, d *[]byte)
		want string
	}{
		"flipped delta byte": {func(_ *TransferPayload, _ *TransferPackage, d *[]byte) { (*d)[len(*d)/2] ^= 1 }, "refused"},
		"truncated delta":    {func(_ *TransferPayload, _ *TransferPackage, d *[]byte) { *d = (*d)[:len(*d)/2] }, "refused"},
		"random delta":       {func(_ *TransferPayload, _ *TransferPackage, d *[]byte) { r.Read(*d) }, "refused"},
		"base out of range":  {func(_ *TransferPayload, p *TransferPackage, _ *[]byte) { p.Delta.Base = 2 }, "base package 2"},
		"base not held": {func(pl *TransferPayload, _ *TransferPackage, _ *[]byte) {
			pl.Assumed[0].SHA256 = strings.Repeat("ab", 32)
		}, "does not hold"},
		"base expands otherwise": {func(_ *TransferPayload, p *TransferPackage, _ *[]byte) { p.Delta.BaseExpanded.Size++ }, "expands here"},
		"expanded size understated": {func(_ *TransferPayload, p *TransferPackage, _ *[]byte) {
			p.Delta.Expanded.Size /= 2
		}, "refused"},
		"expanded size huge":    {func(_ *TransferPayload, p *TransferPackage, _ *[]byte) { p.Delta.Expanded.Size = 1 << 50 }, "out of bounds"},
		"package size huge":     {func(_ *TransferPayload, p *TransferPackage, _ *[]byte) { p.Manifest.Size = 1 << 40 }, "at most"},
		"wrong package hash":    {func(_ *TransferPayload, p *TransferPackage, _ *[]byte) { p.Manifest.SHA256[0] ^= 1 }, "not the signed"},
		"unknown expansion":     {func(_ *TransferPayload, p *TransferPackage, _ *[]byte) { p.Delta.Expansion = "ferry-expand-9" }, "Upgrade ferry"},
		"entry out of order":    {func(_ *TransferPayload, p *TransferPackage, _ *[]byte) { p.Delta.Entry = "deltas/000007" }, "out of order"},
		"schema 1 with a delta": {func(pl *TransferPayload, _ *TransferPackage, _ *[]byte) { pl.SchemaVersion = 1 }, "schema version 1"},
		"copy past the base": {func(_ *TransferPayload, p *TransferPackage, d *[]byte) {
			*d = zstdOf([]byte("FD1\x10\x02\xfe\xff\xff\xff\x0f\x10\x00"))
		}, "refused"},
		"endless new bytes": {func(_ *TransferPayload, p *TransferPackage, d *[]byte) {
			*d = zstdOf(append([]byte("FD1\xff\xff\xff\xff\x0f\x01\xff\xff\xff\xff\x0f"), bytes.Repeat([]byte("R"), 1000)...))
		}, "refused"},
		// A delta that rebuilds a well-formed expanded form of the wrong
		// size: a raw segment claiming more than the package holds.
		"expanded form over the limit": {func(_ *TransferPayload, p *TransferPackage, d *[]byte) {
			body := []byte("R\xff\xff\xff\xff\x0f")
			*d = zstdOf(append(append([]byte("FD1\x06"), 0x01, 0x06), body...))
			p.Delta.Expanded.Size = int64(len(body))
		}, "refused"},
		// Tokens of a deflate stream whose every symbol is a maximal match:
		// they restore to compressed bits, never to what the match expands to.
		"match tokens": {func(_ *TransferPayload, p *TransferPackage, d *[]byte) {
			body := append([]byte("D\x03"), bytes.Repeat([]byte{0x80, 255, 0, 0}, 10000)...)
			body = append(body, 0xff, 0)
			ops := append([]byte("FD1"), 0)
			ops = append(ops[:3], byte(len(body)&0x7f|0x80), byte(len(body)>>7&0x7f|0x80), byte(len(body)>>14))
			ops = append(append(ops, 0x01, byte(len(body)&0x7f|0x80), byte(len(body)>>7&0x7f|0x80), byte(len(body)>>14)), body...)
			*d = zstdOf(append(ops, 0x00))
			p.Delta.Expanded.Size = int64(len(body))
		}, "refused"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := f.apply(t, c.edit)
			if err == nil {
				t.Fatal("applied")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			if left, _ := os.ReadDir(f.s.tmp); len(left) != 0 {
				t.Errorf("temporary files left behind: %d", len(left))
			}
		})
	}
}

// TestDeltaFormatsNamed pins the names of the formats a transfer file
// names: changing how packages are expanded or deltas encoded is a new
// version, or targets would rebuild garbage (refused by the SHA-256, but
// refused all the same).
func TestDeltaFormatsNamed(t *testing.T) {
	if expand.Version != "ferry-expand-1" || delta.Format != "ferry-delta-1" {
		t.Fatalf("format names changed: %s, %s", expand.Version, delta.Format)
	}
}
