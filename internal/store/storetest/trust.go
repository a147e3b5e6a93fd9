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
	r.URL, r.RevokedAt, r.UpdatedAt = "https://prod", &now, now
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
