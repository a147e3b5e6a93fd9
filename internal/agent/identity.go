package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/ferrydeploy/ferry/internal/agentproto"
	"github.com/ferrydeploy/ferry/internal/trust"
)

// Files and folders of an agent's data folder. The whole folder is hidden
// from the steps the agent runs.
const (
	keyFile   = "agent-key.pem"  // the agent's private key (0600)
	certFile  = "agent-cert.pem" // its self-signed certificate, whose fingerprint the server pins
	trustFile = "trusted-servers.json"
	chunksDir = "chunks" // the chunk cache packages are rebuilt from
	workDir   = "work"   // one folder per running step
)

// Init gives the agent in dir its identity — an ECDSA P-256 key (mode
// 0600) and a self-signed certificate — unless it has one. It returns the
// certificate's SHA-256 fingerprint and whether it was made now.
func Init(dir string, now time.Time) (fingerprint string, created bool, err error) {
	if fp, err := Fingerprint(dir); err == nil {
		return fp, false, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, fmt.Errorf("create the agent's data folder: %w", err)
	}
	host, _ := os.Hostname()
	certPEM, keyPEM, err := agentproto.NewIdentity("ferry agent "+host, now)
	if err != nil {
		return "", false, err
	}
	if _, err := os.Stat(filepath.Join(dir, keyFile)); err == nil {
		return "", false, fmt.Errorf("%s holds a key without its certificate %s: move it away, or restore the certificate", filepath.Join(dir, keyFile), certFile)
	}
	if err := writeNew(filepath.Join(dir, keyFile), keyPEM, 0o600); err != nil {
		return "", false, err
	}
	if err := writeNew(filepath.Join(dir, certFile), certPEM, 0o644); err != nil {
		return "", false, err
	}
	fp, err := Fingerprint(dir)
	return fp, err == nil, err
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// loadIdentity reads the agent's identity from dir.
func loadIdentity(dir string) (agentproto.Identity, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, certFile))
	if errors.Is(err, os.ErrNotExist) {
		return agentproto.Identity{}, fmt.Errorf("%s has no agent identity: run `ferry agent init --data %s` first", dir, dir)
	}
	if err != nil {
		return agentproto.Identity{}, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, keyFile))
	if err != nil {
		return agentproto.Identity{}, fmt.Errorf("read the agent's key: %w", err)
	}
	return agentproto.ParseIdentity(certPEM, keyPEM)
}

// Fingerprint returns the SHA-256 fingerprint of the agent's certificate
// in dir.
func Fingerprint(dir string) (string, error) {
	id, err := loadIdentity(dir)
	return id.Fingerprint, err
}

// trustList is the server fingerprints an agent accepts: those it was
// started with (--trust) and those a trusted server told it over the
// pinned connection (the server's next identity, while it rotates), kept
// in the data folder.
type trustList struct {
	mu     sync.Mutex
	given  []string
	learnt []string
	file   string
}

func loadTrust(dir string, given []string) (*trustList, error) {
	t := &trustList{file: filepath.Join(dir, trustFile)}
	for _, g := range given {
		fp, err := trust.ParseFingerprint(g)
		if err != nil {
			return nil, fmt.Errorf("--trust: %w", err)
		}
		if fp != "" && !slices.Contains(t.given, fp) {
			t.given = append(t.given, fp)
		}
	}
	b, err := os.ReadFile(t.file)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		var f struct {
			Fingerprints []string `json:"fingerprints"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("%s: %w", t.file, err)
		}
		t.learnt = f.Fingerprints
	}
	if len(t.given)+len(t.learnt) == 0 {
		return nil, errors.New("give the server's agent fingerprint with --trust FP (`ferry target trust-info` on the server prints it)")
	}
	return t, nil
}

// list returns every trusted fingerprint.
func (t *trustList) list() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append(slices.Clone(t.given), t.learnt...)
}

func (t *trustList) has(fp string) bool { return fp != "" && slices.Contains(t.list(), fp) }

// learn adds fp and keeps it in the data folder.
func (t *trustList) learn(fp string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if slices.Contains(t.given, fp) || slices.Contains(t.learnt, fp) {
		return nil
	}
	learnt := append(slices.Clone(t.learnt), fp)
	b, _ := json.MarshalIndent(struct {
		Fingerprints []string `json:"fingerprints"`
	}{learnt}, "", "  ")
	tmp := t.file + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, t.file); err != nil {
		return err
	}
	t.learnt = learnt
	return nil
}
