package domain

import (
	"strings"
	"time"
	"unicode"
)

// PackageRef is a package version a release deploys, pinned by content.
type PackageRef struct {
	ID      string `json:"id" yaml:"id"`
	Version string `json:"version" yaml:"version"`
	SHA256  string `json:"sha256" yaml:"sha256"`
	Size    int64  `json:"size" yaml:"size"`
}

// String is "ID VERSION", as messages name a package.
func (p PackageRef) String() string { return p.ID + " " + p.Version }

// Package is a package version in a space's built-in feed.
type Package struct {
	RowID   int64  `json:"-"`
	SpaceID int64  `json:"-"`
	ID      string `json:"id"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
	Format  string `json:"format"`
	Note    string `json:"note,omitempty"`
	Chunks  int    `json:"chunks"`
	// Manifest is the JSON chunk list that rebuilds the file; only Get
	// loads it.
	Manifest  []byte    `json:"-"`
	Source    string    `json:"source"` // "push", or "transfer from <space>"
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy"`
}

// Ref is the package's identity and hash.
func (p Package) Ref() PackageRef {
	return PackageRef{ID: p.ID, Version: p.Version, SHA256: p.SHA256, Size: p.Size}
}

// ValidatePackageID checks a package id: NuGet-like names (letters, digits,
// '.', '-', '_'), at most 100 characters.
func ValidatePackageID(id string) error {
	if id == "" {
		return Invalidf("a package needs an id (--id)")
	}
	if len(id) > 100 {
		return Invalidf("package id %q is longer than 100 characters", id)
	}
	if strings.ContainsFunc(id, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '-' || r == '_')
	}) || strings.HasPrefix(id, ".") {
		return Invalidf("package id %q may contain only letters, digits, '.', '-' and '_', and may not start with '.'", id)
	}
	return nil
}

// ValidatePackageVersion checks a package version the way release versions
// are checked: no spaces, slashes or control characters.
func ValidatePackageVersion(v string) error {
	switch {
	case v == "":
		return Invalidf("a package needs a version (--version)")
	case len(v) > 64:
		return Invalidf("package version %q is longer than 64 characters", v)
	case strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' || r == '\\' }):
		return Invalidf("package version %q may not contain spaces, slashes or control characters", v)
	}
	return nil
}

// validatePackageStep checks a deploy-package step's own fields.
func (s Step) validatePackageStep() error {
	if err := ValidatePackageID(s.Package); err != nil {
		return Invalidf("step %q: %s", s.Name, Message(err))
	}
	if strings.TrimSpace(s.Destination) == "" {
		return Invalidf("step %q deploys package %q but has no destination (an absolute folder)", s.Name, s.Package)
	}
	for _, f := range s.Substitute {
		if f == "" || strings.HasPrefix(f, "/") || strings.Contains("/"+f+"/", "/../") {
			return Invalidf("step %q: substitute file %q must be a path inside the package", s.Name, f)
		}
	}
	if s.Script != "" {
		return Invalidf("step %q is a deploy-package step: use preDeploy and postDeploy, not script", s.Name)
	}
	return nil
}
