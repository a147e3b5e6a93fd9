package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/packages"
	"github.com/ferrydeploy/ferry/internal/transport"
)

// sendPackages delivers the packages of the releases promoted to remote
// that it does not hold, in two requests: a signed query for the chunks it
// lacks, then one transfer of only those (the transfer file format, as a
// stream). A transfer cut off midway leaves the chunks that arrived
// recorded as received on the target, so the next attempt's query leaves
// them out: the transfer resumes rather than restarts.
func (d *Deliverer) sendPackages(ctx context.Context, sp domain.Space, remote domain.RemoteSpace) (string, error) {
	id, err := d.trust.Identity(ctx, sp.ID)
	if err != nil {
		return "", err
	}
	lacks := func(ctx context.Context, chunks []packages.Hash) ([]packages.Hash, error) {
		if len(chunks) == 0 {
			return nil, nil
		}
		query, err := transport.SealChunkQuery(sp, id, remote, chunks, d.now())
		if err != nil {
			return nil, err
		}
		answer, err := d.client.Send(ctx, remote, transport.PathChunksMissing, sp.Fingerprint, query)
		if err != nil {
			return nil, err
		}
		var a transport.ChunkAnswer
		if err := json.Unmarshal(answer, &a); err != nil {
			return nil, fmt.Errorf("read %s's answer to a chunk query: %w", remote.Name, err)
		}
		return a.Missing, nil
	}
	// The loop acts for the space that promoted, with the server's authority.
	exp, err := d.packages.PlanExport(domain.WithActor(ctx, domain.System), sp.Name, packages.ExportRequest{To: remote.Name, Lacks: lacks})
	if packages.NothingToSend(err) {
		return "nothing to send: " + domain.Message(err), nil
	}
	if err != nil {
		return "", err
	}
	defer exp.Close()
	// The transfer file is written straight into the request: reading
	// chunks here overlaps with sending them and with the target storing
	// them.
	pr, pw := io.Pipe()
	written := make(chan error, 1)
	go func() {
		_, err := exp.WriteTo(pw)
		pw.CloseWithError(err)
		written <- err
	}()
	// The timeout grows with the work: a delta is small, but the target
	// rebuilds the whole package from it.
	answer, err := d.client.SendStream(ctx, remote, transport.PathPackages, sp.Fingerprint, pr, exp.Summary.ChunkBytes+exp.Summary.PackageBytes)
	pr.CloseWithError(errors.New("the request ended")) // unblocks the writer if the request ended early
	if werr := <-written; err == nil && werr != nil {
		err = werr
	}
	if err != nil {
		return "", err
	}
	size := exp.Summary.FileBytes
	var r packages.ImportResult
	if json.Unmarshal(answer, &r) != nil {
		return "accepted", nil
	}
	return fmt.Sprintf("%d package(s) imported, %d already there; %d of %d chunks sent (%d bytes), %d delta(s) (%d bytes); %d bytes on the wire",
		len(r.Imported), len(r.AlreadyInFeed), exp.Summary.Chunks, exp.Summary.TotalChunks, exp.Summary.ChunkBytes, exp.Summary.Deltas, exp.Summary.DeltaBytes, size), nil
}
