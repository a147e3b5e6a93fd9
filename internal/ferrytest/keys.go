package ferrytest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/identity"
	"github.com/ferrydeploy/ferry/internal/secrets"
	"github.com/ferrydeploy/ferry/internal/store"
	"github.com/ferrydeploy/ferry/internal/store/sqlstore"
)

// SpaceIdentity reads a space's identity — its certificate, signing key and
// age key — from the server's data folder (its SQLite database, unsealed
// with its master key), for tests that sign documents as that space:
// hostile content, correctly signed, as a compromised or malicious space
// would send. The server may keep running.
func (s *Server) SpaceIdentity(t testing.TB, space string) *identity.Identity {
	t.Helper()
	var id *identity.Identity
	s.withStore(t, func(ctx context.Context, st store.Store) {
		sp, err := st.Spaces().Get(ctx, space)
		if err != nil {
			t.Fatal(err)
		}
		cert, private, err := st.Spaces().Identity(ctx, sp.ID)
		if err != nil {
			t.Fatal(err)
		}
		if id, err = identity.ParsePrivate(cert, private); err != nil {
			t.Fatal(err)
		}
	})
	return id
}

// Space returns a space of the server as its store holds it (id,
// fingerprint), read from the data folder.
func (s *Server) Space(t testing.TB, space string) domain.Space {
	t.Helper()
	var sp domain.Space
	s.withStore(t, func(ctx context.Context, st store.Store) {
		var err error
		if sp, err = st.Spaces().Get(ctx, space); err != nil {
			t.Fatal(err)
		}
	})
	return sp
}

// withStore opens the server's SQLite store from its data folder, with its
// master key, for fn.
func (s *Server) withStore(t testing.TB, fn func(context.Context, store.Store)) {
	t.Helper()
	box, err := secrets.LoadOrCreateKey(filepath.Join(s.Data, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(s.Data, "ferry.db"), box)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fn(ctx, st)
}
