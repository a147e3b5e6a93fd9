package access_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/ferrydeploy/ferry/internal/access"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/servicetest"
	"github.com/ferrydeploy/ferry/internal/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestLookAlikeCreatesTakeTurns: two names a person could take for each
// other, created at the same moment on PostgreSQL, where transactions
// write at once. The second create's check of the names waits for the
// first to commit, then refuses the look-alike; without the lock it read
// the names before the first committed and both were created. (The first
// create is held open inside a transaction; no timing.)
func TestLookAlikeCreatesTakeTurns(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	env := servicetest.New(t, servicetest.Postgres(dsn))
	env.CreateSpace("Ops")
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	role := "viewer"
	for _, c := range []struct {
		what   string
		create func(ctx context.Context, name string) error
		a, b   string
	}{
		{"users", func(ctx context.Context, name string) error {
			_, err := env.Set.Auth.CreateUser(ctx, name, false)
			return err
		}, "operator", "\u043eperator"}, // Cyrillic о
		{"teams", func(ctx context.Context, name string) error {
			_, err := env.Set.Teams.Put(ctx, "Ops", access.TeamRequest{Name: name, Role: &role}, true)
			return err
		}, "Approvers", "\u0410pprovers"}, // Cyrillic А
	} {
		t.Run(c.what, func(t *testing.T) {
			first, second := pgtest.Race(t, raw, env.Store.WithTx, env.Ctx,
				func(ctx context.Context) error { return c.create(ctx, c.a) },
				func(ctx context.Context) error { return c.create(ctx, c.b) })
			if first != nil {
				t.Fatal(first)
			}
			if domain.KindOf(second) != domain.KindConflict {
				t.Errorf("%s %q created while %q was: %v, want a refusal as too alike", c.what, c.b, c.a, second)
			}
		})
	}
}
