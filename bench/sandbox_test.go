package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferrydeploy/ferry/internal/sandbox"
)

// BenchmarkStepStart measures what isolation costs per step: starting a
// step's bash (`bash -c true`) and waiting for it, as a plain child process
// in its own process group (what ferry did before isolation, and does with
// --sandbox off) and in the sandbox (user, mount and PID namespaces, the
// data folder and a key file covered, the work folder bound back, a fresh
// /proc, the init re-executed without CAP_SYS_ADMIN).
//
//	go test -run x -bench StepStart -benchtime 200x -count 5 ./bench/
func BenchmarkStepStart(b *testing.B) {
	root := b.TempDir()
	data := filepath.Join(root, "data")
	work := filepath.Join(data, "tmp", "node.0123456789abcdef", "work", "task-1")
	key := filepath.Join(root, "tls.key")
	if err := os.MkdirAll(work, 0o700); err != nil {
		b.Fatal(err)
	}
	for _, f := range []string{filepath.Join(data, "master.key"), filepath.Join(data, "admin.key"), key} {
		if err := os.WriteFile(f, []byte("secret"), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	for _, mode := range []sandbox.Mode{sandbox.Off, sandbox.Isolate} {
		b.Run(string(mode), func(b *testing.B) {
			sb, err := sandbox.New(sandbox.Policy{Hide: []string{data, key}}, mode)
			if err != nil {
				b.Fatal(err)
			}
			defer sb.Close()
			cmd := sandbox.Cmd{Path: "bash", Args: []string{"bash", "--noprofile", "--norc", "-c", "true"},
				Dir: work, Env: []string{"PATH=/usr/bin:/bin", "HOME=" + work}, Expose: []string{work}}
			for b.Loop() {
				p, err := sb.Start(context.Background(), cmd)
				if err != nil {
					b.Fatal(err)
				}
				if err := p.Wait(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
