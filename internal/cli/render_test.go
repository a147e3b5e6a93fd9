package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVarsRenderInput: --vars-file keeps its order (which #{each} follows),
// turns non-string values into JSON text, and --var wins over it.
func TestVarsRenderInput(t *testing.T) {
	file := filepath.Join(t.TempDir(), "vars.json")
	os.WriteFile(file, []byte(`{"L[zeta].N": "z", "L[alpha].N": "a", "Obj": {"k": [1, 2]}, "Num": 5, "Nil": null, "Over": "file"}`), 0o600)
	var out, errOut bytes.Buffer
	code := Execute(t.Context(), []string{"vars", "render", "-", "--vars-file", file, "--var", "Over=flag", "--var", "Extra=a=b"},
		strings.NewReader("#{each x in L}#{x}#{/each} #{Obj.k[1]} #{Obj} #{Num} [#{Nil}] #{Over} #{Extra}"), &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if want := `zetaalpha 2 {"k":[1,2]} 5 [] flag a=b`; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	for _, bad := range [][]string{{"--var", "NoEquals"}, {"--vars-file", filepath.Join(t.TempDir(), "missing.json")}} {
		out.Reset()
		errOut.Reset()
		if code := Execute(t.Context(), append([]string{"vars", "render", "-"}, bad...), strings.NewReader("x"), &out, &errOut); code == 0 || out.Len() > 0 {
			t.Errorf("%v: exit %d, stdout %q", bad, code, out.String())
		}
	}
	os.WriteFile(file, []byte(`["not", "an object"]`), 0o600)
	errOut.Reset()
	Execute(t.Context(), []string{"vars", "render", "-", "--vars-file", file}, strings.NewReader("x"), &out, &errOut)
	if !strings.Contains(errOut.String(), "JSON object") {
		t.Errorf("a JSON array as --vars-file: %q", errOut.String())
	}
}
