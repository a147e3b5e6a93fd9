package sqlstore

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/store"
)

// TestReceiptDeploymentsLinked: receipts a space signed before
// receipts.deployment_id existed get it from their signed payload when the
// data folder is upgraded, so receipt backfill does not sign them twice;
// receipts signed elsewhere keep none.
func TestReceiptDeploymentsLinked(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ferry.db")
	sealer := newTestSealer(t)
	db := openTemp(t, path, sealer)
	sp := domain.Space{Name: "Prod"}
	must(t, db.Spaces().Create(ctx, &sp))
	for i, c := range []struct {
		from    string
		payload string
	}{
		{"", `{"deploymentId":42}`},
		{"QA", `{"deploymentId":43}`},
		{"", `{"deploymentId":44,"other":"fields"}`},
	} {
		r := domain.Receipt{SpaceID: sp.ID, Digest: "sha256:" + string(rune('a'+i)), State: domain.TaskSuccess,
			ReceivedFrom: c.from, ReceivedAt: time.Now(), Payload: []byte(c.payload), Signature: []byte("sig")}
		if _, err := db.Receipts().Create(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}
	// As a data folder written before the column: no link, migration not run.
	for _, q := range []string{`UPDATE receipts SET deployment_id = NULL`, `DELETE FROM data_migrations WHERE name = 'receipt-deployments'`} {
		if _, err := db.sql.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	must(t, db.Close())
	db = openTemp(t, path, sealer)
	defer db.Close()
	list, err := db.Receipts().List(ctx, sp.ID, store.ReceiptFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, r := range list {
		got = append(got, r.DeploymentID)
	}
	if len(got) != 3 || got[0] != 42 || got[1] != 0 || got[2] != 44 {
		t.Errorf("deployment ids after the upgrade = %v, want [42 0 44]", got)
	}
}
