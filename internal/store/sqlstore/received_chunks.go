package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/ferrydeploy/ferry/internal/store"
)

type receivedChunks struct{ db *DB }

var _ store.ReceivedChunks = (*receivedChunks)(nil)

// ReceivedChunks returns the package chunks spaces received.
func (db *DB) ReceivedChunks() store.ReceivedChunks { return &receivedChunks{db} }

// addBatch bounds the rows of one INSERT.
const addBatch = 500

func (s *receivedChunks) Add(ctx context.Context, spaceID int64, hashes []string, at time.Time) error {
	return s.db.WithTx(ctx, func(ctx context.Context) error {
		for len(hashes) > 0 {
			n := min(len(hashes), addBatch)
			args := make([]any, 0, 3*n)
			for _, h := range hashes[:n] {
				args = append(args, spaceID, h, micros(at))
			}
			q := `INSERT INTO received_chunks (space_id, hash, received_at) VALUES ` +
				strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", n), ", ") + ` ON CONFLICT (space_id, hash) DO NOTHING`
			if _, err := s.db.exec(ctx, q, args...); err != nil {
				return wrap(err, "record received chunks")
			}
			hashes = hashes[n:]
		}
		return nil
	})
}

func (s *receivedChunks) List(ctx context.Context, spaceID int64) ([]string, error) {
	rows, err := s.db.query(ctx, `SELECT hash FROM received_chunks WHERE space_id = ?`, spaceID)
	if err != nil {
		return nil, wrap(err, "list received chunks")
	}
	list, err := collect(rows, func(sc scanner) (string, error) {
		var h string
		return h, sc.Scan(&h)
	})
	return list, wrap(err, "list received chunks")
}
