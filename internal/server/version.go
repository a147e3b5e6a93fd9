package server

import (
	"runtime"
	"runtime/debug"
)

// Version is this binary's version: the module version it was built as
// (`go install ...@v1.2.3`), or for a build from a checkout "devel" and the
// commit (with "+dirty" when the tree had changes), and the Go version.
func Version() string {
	v := "devel"
	info, ok := debug.ReadBuildInfo()
	if ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	if ok {
		var rev, dirty string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			v += " " + rev + dirty
		}
	}
	return v + " " + runtime.Version()
}
