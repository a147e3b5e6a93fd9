package release

import (
	"strings"
	"testing"
)

func TestLineDiff(t *testing.T) {
	letters := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n"
	cases := []struct {
		name, old, new, want string
	}{
		{"equal", "echo hi\n", "echo hi\n", ""},
		{"both empty", "", "", ""},
		// Expected outputs are what GNU diff -u prints for the same files.
		{"two hunks and a missing final newline", letters, "a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\nL\nm\nn", `@@ -1,5 +1,5 @@
 a
-b
+B
 c
 d
 e
@@ -9,5 +9,6 @@
 i
 j
 k
-l
+L
 m
+n
\ No newline at end of file
`},
		{"from empty", "", "x\ny\n", "@@ -0,0 +1,2 @@\n+x\n+y\n"},
		{"to empty", "x\n", "", "@@ -1 +0,0 @@\n-x\n"},
		{"only the final newline", "x", "x\n", "@@ -1 +1 @@\n-x\n\\ No newline at end of file\n+x\n"},
		{"insert in the middle", "a\nb\nc\n", "a\nb\nnew\nc\n", "@@ -1,3 +1,4 @@\n a\n b\n+new\n c\n"},
		{"changes 6 apart share a hunk", letters, strings.Replace(strings.Replace(letters, "b\n", "B\n", 1), "i\n", "I\n", 1), `@@ -1,12 +1,12 @@
 a
-b
+B
 c
 d
 e
 f
 g
 h
-i
+I
 j
 k
 l
`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := LineDiff(c.old, c.new, 3); got != c.want {
				t.Errorf("LineDiff:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}

// TestLineDiffIsAnEditScript checks on many pairs that applying the diff's
// lines rebuilds both texts and that kept lines are a longest common
// subsequence (the diff is minimal).
func TestLineDiffIsAnEditScript(t *testing.T) {
	texts := []string{"", "a\n", "a\nb\nc\n", "c\nb\na\n", "a\na\nb\nb\n", "x\ny\nz\na\nb\n", "a\nb\nc\nd\ne\nf\ng\n", "b\nd\nf\nh\n"}
	for _, old := range texts {
		for _, new := range texts {
			ops := editScript(splitLines(old), splitLines(new))
			var o, n strings.Builder
			kept := 0
			for _, e := range ops {
				if e.kind != '+' {
					o.WriteString(e.item)
				}
				if e.kind != '-' {
					n.WriteString(e.item)
				}
				if e.kind == ' ' {
					kept++
				}
			}
			if o.String() != old || n.String() != new {
				t.Errorf("edit script of %q → %q rebuilds %q → %q", old, new, o.String(), n.String())
			}
			if want := lcsLen(splitLines(old), splitLines(new)); kept != want {
				t.Errorf("%q → %q keeps %d lines, the LCS has %d", old, new, kept, want)
			}
		}
	}
}

// lcsLen is the textbook recursion, as an independent check.
func lcsLen(a, b []string) int {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	if a[0] == b[0] {
		return 1 + lcsLen(a[1:], b[1:])
	}
	return max(lcsLen(a[1:], b), lcsLen(a, b[1:]))
}

func TestLineDiffHugeInputFallsBack(t *testing.T) {
	var a, b strings.Builder
	for i := range 3000 {
		a.WriteString("old line " + string(rune('a'+i%26)) + "\n")
		b.WriteString("new line " + string(rune('a'+i%26)) + "\n")
	}
	d := LineDiff(a.String(), b.String(), 3)
	if strings.Count(d, "\n-") != 3000 || strings.Count(d, "\n+") != 3000 {
		t.Errorf("fallback diff does not remove and add every line")
	}
}
