package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A key in the profiles file is never readable by another user: not
// through a file planted beside it with loose permissions, not through a
// symlink planted at the temporary name or at the file itself.
func TestProfilesFileStaysPrivate(t *testing.T) {
	const key = "API-SECRETKEY1234567890"
	save := func(t *testing.T) string {
		t.Helper()
		ps := profiles{SchemaVersion: 1, Current: "default", Profiles: map[string]profile{"default": {Server: "http://127.0.0.1:1", APIKey: key}}}
		if err := ps.save(); err != nil {
			t.Fatal(err)
		}
		path, _ := profilesPath()
		return path
	}
	private := func(t *testing.T, path string) {
		t.Helper()
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 != 0 {
			t.Fatalf("%s is %v, want a regular file of mode 0600", path, fi.Mode())
		}
	}
	setup := func(t *testing.T) (dir, other string) {
		t.Helper()
		home := t.TempDir()
		t.Setenv("XDG_CONFIG_HOME", home)
		t.Setenv("HOME", home)
		dir = filepath.Join(home, "ferry")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		other = filepath.Join(t.TempDir(), "world-readable")
		if err := os.WriteFile(other, nil, 0o666); err != nil {
			t.Fatal(err)
		}
		os.Chmod(other, 0o666)
		return dir, other
	}
	t.Run("loose temporary file planted", func(t *testing.T) {
		dir, _ := setup(t)
		os.WriteFile(filepath.Join(dir, "profiles.json.tmp"), []byte("x"), 0o644)
		os.Chmod(filepath.Join(dir, "profiles.json.tmp"), 0o644)
		private(t, save(t))
	})
	t.Run("symlink planted at the temporary name", func(t *testing.T) {
		dir, other := setup(t)
		if err := os.Symlink(other, filepath.Join(dir, "profiles.json.tmp")); err != nil {
			t.Fatal(err)
		}
		private(t, save(t))
		if b, _ := os.ReadFile(other); strings.Contains(string(b), key) {
			t.Fatal("the key was written through a planted symlink")
		}
	})
	t.Run("symlink planted at the file", func(t *testing.T) {
		dir, other := setup(t)
		if err := os.Symlink(other, filepath.Join(dir, "profiles.json")); err != nil {
			t.Fatal(err)
		}
		private(t, save(t))
		if b, _ := os.ReadFile(other); strings.Contains(string(b), key) {
			t.Fatal("the key was written through a planted symlink")
		}
	})
	t.Run("existing file readable by others", func(t *testing.T) {
		dir, _ := setup(t)
		path := filepath.Join(dir, "profiles.json")
		os.WriteFile(path, []byte(`{"schemaVersion":1,"profiles":{}}`), 0o644)
		os.Chmod(path, 0o644)
		private(t, save(t))
	})
}
