package storetest

import (
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

func testSpaceIdentity(t *testing.T, s store.Store) {
	sp := domain.Space{Name: "Id Space"}
	must(t, s.Spaces().Create(t.Context(), &sp))
	_, _, err := s.Spaces().Identity(t.Context(), sp.ID)
	wantKind(t, err, domain.KindNotFound, "no identity")

	must(t, s.Spaces().SetIdentity(t.Context(), sp.ID, []byte("CERT"), "AA:BB", []byte("PRIVATE-KEY-MATERIAL")))
	cert, private, err := s.Spaces().Identity(t.Context(), sp.ID)
	must(t, err)
	wantEqual(t, "cert", string(cert), "CERT")
	wantEqual(t, "private", string(private), "PRIVATE-KEY-MATERIAL")
	got, err := s.Spaces().Get(t.Context(), "Id Space")
	must(t, err)
	wantEqual(t, "fingerprint", got.Fingerprint, "AA:BB")
	wantKind(t, s.Spaces().SetIdentity(t.Context(), 9999, nil, "", nil), domain.KindNotFound)
}

func testRemoteSpaces(t *testing.T, s store.Store) {
	sp := domain.Space{Name: "Home"}
	must(t, s.Spaces().Create(t.Context(), &sp))
	r := domain.RemoteSpace{SpaceID: sp.ID, Name: "Prod Space", CertPEM: "PEM", Fingerprint: "01:02", Trust: domain.Trust{domain.TrustReleases}}
	must(t, s.RemoteSpaces().Create(t.Context(), &r))
	if r.ID == 0 || r.CreatedAt.IsZero() {
		t.Fatalf("Create did not set ID and CreatedAt: %+v", r)
	}
	wantKind(t, s.RemoteSpaces().Create(t.Context(), &domain.RemoteSpace{SpaceID: sp.ID, Name: "Prod Space", Fingerprint: "09"}), domain.KindConflict)
	wantKind(t, s.RemoteSpaces().Create(t.Context(), &domain.RemoteSpace{SpaceID: sp.ID, Name: "Other", Fingerprint: "01:02"}), domain.KindConflict)

	got, err := s.RemoteSpaces().GetByFingerprint(t.Context(), sp.ID, "01:02")
	must(t, err)
	wantEqual(t, "by fingerprint", got, r)

	now := time.Now().UTC().Truncate(time.Microsecond)
	r.Trust = domain.Trust{domain.TrustReleases, domain.TrustReceipts}
	r.URL, r.RevokedAt, r.RevokedBy, r.UpdatedAt = "https://prod", &now, "alice", now
	must(t, s.RemoteSpaces().Update(t.Context(), &r))
	got, err = s.RemoteSpaces().Get(t.Context(), sp.ID, "Prod Space")
	must(t, err)
	wantEqual(t, "updated", got, r)

	list, err := s.RemoteSpaces().List(t.Context(), sp.ID)
	must(t, err)
	wantEqual(t, "list", len(list), 1)
	_, err = s.RemoteSpaces().Get(t.Context(), sp.ID, "Nope")
	wantKind(t, err, domain.KindNotFound, `"Nope"`)
}

// testSchemaVersions: what a remote space reads rises with what it signs,
// and is set as its server says.
func testSchemaVersions(t *testing.T, s store.Store) {
	sp := domain.Space{Name: "Home"}
	must(t, s.Spaces().Create(t.Context(), &sp))
	r := domain.RemoteSpace{SpaceID: sp.ID, Name: "Prod", CertPEM: "PEM", Fingerprint: "01"}
	must(t, s.RemoteSpaces().Create(t.Context(), &r))
	version := func() int {
		got, err := s.RemoteSpaces().Get(t.Context(), sp.ID, "Prod")
		must(t, err)
		return got.SchemaVersion
	}
	wantEqual(t, "unknown", version(), 0)
	must(t, s.RemoteSpaces().SetSchemaVersion(t.Context(), r.ID, 2, true))
	wantEqual(t, "raised", version(), 2)
	must(t, s.RemoteSpaces().SetSchemaVersion(t.Context(), r.ID, 1, true))
	wantEqual(t, "not lowered by a raise", version(), 2)
	must(t, s.RemoteSpaces().SetSchemaVersion(t.Context(), r.ID, 1, false))
	wantEqual(t, "set", version(), 1)
	// Updating the remote space keeps what it reads.
	r.URL = "https://prod"
	must(t, s.RemoteSpaces().Update(t.Context(), &r))
	wantEqual(t, "after update", version(), 1)
}

// testDeliverers: the spaces allowed to deliver a remote project, and the
// bundles a space promoted of a release.
func testDeliverers(t *testing.T, s store.Store) {
	sp := domain.Space{Name: "Home"}
	must(t, s.Spaces().Create(t.Context(), &sp))
	p := domain.Project{SpaceID: sp.ID, Name: "Dev: Shop", Origin: &domain.ProjectOrigin{Space: "Dev", Project: "Shop", Fingerprint: "DEV"}}
	must(t, s.Projects().Put(t.Context(), &p))
	ds, err := s.Projects().Deliverers(t.Context(), p.ID)
	must(t, err)
	wantEqual(t, "none yet", len(ds), 0)
	at := time.Now().UTC().Truncate(time.Microsecond)
	must(t, s.Projects().AddDeliverer(t.Context(), p.ID, domain.Deliverer{Fingerprint: "QA", Space: "QA Space", AddedAt: at, AddedBy: "alice"}))
	must(t, s.Projects().AddDeliverer(t.Context(), p.ID, domain.Deliverer{Fingerprint: "QA", Space: "renamed", AddedAt: at.Add(time.Hour)}))
	must(t, s.Projects().AddDeliverer(t.Context(), p.ID, domain.Deliverer{Fingerprint: "EU", Space: "EU Space", AddedAt: at.Add(time.Minute)}))
	ds, err = s.Projects().Deliverers(t.Context(), p.ID)
	must(t, err)
	wantEqual(t, "deliverers", ds, []domain.Deliverer{
		{Fingerprint: "QA", Space: "QA Space", AddedAt: at, AddedBy: "alice"},
		{Fingerprint: "EU", Space: "EU Space", AddedAt: at.Add(time.Minute)},
	})

	for _, b := range []domain.BundleRecord{
		{Direction: domain.BundleOut, Digest: "d1", TargetSpace: "Prod", Project: "Shop", Version: "1.0.0", State: domain.BundleWritten},
		{Direction: domain.BundleOut, Digest: "d2", TargetSpace: "QA", Project: "Shop", Version: "1.0.0", State: domain.BundleSent},
		{Direction: domain.BundleOut, Digest: "d3", TargetSpace: "Prod", Project: "Shop", Version: "2.0.0", State: domain.BundleWritten},
		{Direction: domain.BundleIn, Digest: "d4", TargetSpace: "Home", Project: "Shop", Version: "1.0.0", State: domain.BundleImported},
	} {
		b.SpaceID, b.SourceSpace, b.CreatedBy = sp.ID, "Home", "x"
		must(t, s.Bundles().Create(t.Context(), &b))
	}
	list, err := s.Bundles().Promoted(t.Context(), sp.ID, "Shop", "1.0.0")
	must(t, err)
	var targets []string
	for _, b := range list {
		targets = append(targets, b.TargetSpace)
	}
	wantEqual(t, "promoted", targets, []string{"Prod", "QA"})
}
