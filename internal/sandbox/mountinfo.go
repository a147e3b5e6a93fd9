package sandbox

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// mount is one line of /proc/self/mountinfo (proc(5)): which part (root)
// of which file system (dev) appears at which path (point).
type mount struct {
	dev   string // major:minor
	root  string // the folder of the file system mounted here
	point string // where it is mounted
}

// parseMountInfo reads a mountinfo table.
func parseMountInfo(r io.Reader) ([]mount, error) {
	var out []mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			return nil, fmt.Errorf("mountinfo: malformed line %q", sc.Text())
		}
		out = append(out, mount{dev: f[2], root: unescapeMount(f[3]), point: unescapeMount(f[4])})
	}
	return out, sc.Err()
}

// unescapeMount undoes the octal escapes (\040 for a space, \011, \012,
// \134) the kernel writes in mountinfo paths.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) && isOctal(s[i+1:i+4]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '7' {
			return false
		}
	}
	return true
}

// under returns the mount that path is on: the last one (later mounts
// cover earlier ones) whose mount point is path or one of its folders.
func under(path string, mounts []mount) (mount, bool) {
	var best mount
	found := false
	for _, m := range mounts {
		if within(path, m.point) && (!found || len(m.point) >= len(best.point)) {
			best, found = m, true
		}
	}
	return best, found
}

// inFS is where a path lies inside its file system: the mount's root
// joined with the path's place below the mount point.
func inFS(path string, m mount) string {
	rel, _ := filepath.Rel(m.point, path)
	return filepath.Join(m.root, rel)
}

// aliases returns the other paths under which the mount table shows hidden
// (an absolute path with symlinks resolved), or part of it: a bind mount of
// a folder holding it, of the folder itself, or of something inside it. It
// looks at the file systems mounted inside hidden too. Paths inside hidden
// are not returned: covering hidden covers them.
func aliases(hidden string, mounts []mount) []string {
	type tree struct{ dev, path string }
	var trees []tree
	if m, ok := under(hidden, mounts); ok {
		trees = append(trees, tree{m.dev, inFS(hidden, m)})
	}
	for _, m := range mounts {
		if m.point != hidden && within(m.point, hidden) {
			trees = append(trees, tree{m.dev, m.root})
		}
	}
	var out []string
	for _, m := range mounts {
		if within(m.point, hidden) {
			continue
		}
		for _, t := range trees {
			if m.dev != t.dev {
				continue
			}
			switch {
			case within(t.path, m.root): // the mount shows a folder holding the tree
				rel, _ := filepath.Rel(m.root, t.path)
				if p := filepath.Join(m.point, rel); p != hidden {
					out = append(out, p)
				}
			case within(m.root, t.path): // the mount shows part of the tree
				out = append(out, m.point)
			}
		}
	}
	return out
}
