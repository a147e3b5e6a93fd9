package cli

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"

	"github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/archive"
)

// packageFormats are the file name endings that claim a format, longest
// first: a file so named must hold that format (checkPackageFile).
var packageFormats = []struct{ ext, kind string }{
	{".tar.gz", archive.TarGz}, {".tgz", archive.TarGz}, {".tar", archive.Tar},
	{".zip", archive.Zip}, {".nupkg", archive.Zip}, {".jar", archive.Zip}, {".war", archive.Zip},
}

// claimedFormat is the format file's name claims and the name without
// that ending; kind is "" when the name claims none.
func claimedFormat(file string) (kind, stem string) {
	base := filepath.Base(file)
	for _, f := range packageFormats {
		if len(base) > len(f.ext) && strings.EqualFold(base[len(base)-len(f.ext):], f.ext) {
			return f.kind, base[:len(base)-len(f.ext)]
		}
	}
	return "", base
}

// packageNameRE splits Octopus's package file names, ID.VERSION
// (shop-web.1.2.3, My.App.2.0.0-beta1), and the common ID-VERSION
// (shop-web-1.2.3): the version is the first run of dot-separated numbers
// after a '.' or '-', with an optional pre-release or build suffix.
var packageNameRE = regexp.MustCompile(`^(.+?)[.-](\d+(?:\.\d+)*(?:[-+][0-9A-Za-z.+-]+)?)$`)

// idAndVersion reads a package's id and version from its file name.
func idAndVersion(file string) (id, version string, ok bool) {
	_, stem := claimedFormat(file)
	m := packageNameRE.FindStringSubmatch(stem)
	if m == nil || !strings.ContainsFunc(m[1], unicode.IsLetter) {
		return "", "", false // "1.2.3.zip" names a version, no id
	}
	return m[1], m[2], true
}

// checkPackageFile refuses a file whose content is not the format its
// name claims — a zip that is not a zip (an HTML error page saved as
// shop.zip), a truncated archive — before anything is uploaded.
func checkPackageFile(file string) error {
	kind, _ := claimedFormat(file)
	if kind == "" {
		return nil
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	got := archive.Detect(head[:n])
	if got != kind {
		what := "not an archive ferry knows"
		if got != "" {
			what = "a " + got + " archive"
		}
		return exitError{kind: api.KindInvalid, msg: fmt.Sprintf("%s is named as a %s archive but holds %s (it starts with %q); check the file, or rename it to what it is", file, kind, what, printable(head[:min(n, 16)]))}
	}
	if err := readable(f, kind); err != nil {
		return exitError{kind: api.KindInvalid, msg: fmt.Sprintf("%s is not a readable %s archive: %v", file, kind, err)}
	}
	return nil
}

// readable opens the archive's structure: a zip's central directory, the
// first entry of a tar (inside its gzip stream for tar.gz).
func readable(f *os.File, kind string) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	switch kind {
	case archive.Zip:
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		_, err = zip.NewReader(f, fi.Size())
		return err
	case archive.TarGz:
		gz, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		_, err = tar.NewReader(gz).Next()
		return err
	case archive.Tar:
		_, err := tar.NewReader(f).Next()
		return err
	}
	return nil
}

func printable(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return '.'
		}
		return r
	}, string(b))
}
