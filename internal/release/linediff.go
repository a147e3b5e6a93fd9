package release

import (
	"fmt"
	"strings"
)

// maxDiffCells bounds the LCS table of one line diff (rows × columns after
// the common head and tail are cut off). Beyond it the changed middle is
// shown as removed and added whole: correct, only less minimal.
const maxDiffCells = 4 << 20

// LineDiff returns a unified diff (hunks only, no ---/+++ header) that turns
// old into new, with context lines of context around each change; "" when
// the texts are equal. Lines keep their "\n" for comparison, so a missing
// final newline shows as a change, marked "\ No newline at end of file" as
// diff(1) does.
func LineDiff(old, new string, context int) string {
	if old == new {
		return ""
	}
	ops := editScript(splitLines(old), splitLines(new))
	var b strings.Builder
	for _, h := range hunks(ops, context) {
		fmt.Fprintf(&b, "@@ -%s +%s @@\n", hunkRange(h.oldStart, h.oldLines), hunkRange(h.newStart, h.newLines))
		for _, o := range ops[h.from:h.to] {
			b.WriteByte(o.kind)
			if line, ok := strings.CutSuffix(o.item, "\n"); ok {
				b.WriteString(line)
				b.WriteByte('\n')
			} else {
				b.WriteString(o.item)
				b.WriteString("\n\\ No newline at end of file\n")
			}
		}
	}
	return b.String()
}

// splitLines splits s after each "\n"; the last line may lack one.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// editScript returns a shortest edit script from a to b by longest common
// subsequence, removals before additions within each change.
func editScript[T comparable](a, b []T) []edit[T] {
	var head, tail int
	for head < len(a) && head < len(b) && a[head] == b[head] {
		head++
	}
	for tail < len(a)-head && tail < len(b)-head && a[len(a)-1-tail] == b[len(b)-1-tail] {
		tail++
	}
	var out []edit[T]
	for _, x := range a[:head] {
		out = append(out, edit[T]{' ', x})
	}
	out = append(out, lcsEdits(a[head:len(a)-tail], b[head:len(b)-tail])...)
	for _, x := range a[len(a)-tail:] {
		out = append(out, edit[T]{' ', x})
	}
	return out
}

// edit is one element of an edit script: kind ' ' kept, '-' removed, '+' added.
type edit[T any] struct {
	kind byte
	item T
}

// lcsEdits is the quadratic LCS step of editScript, for the part of a and b
// that differs at both ends.
func lcsEdits[T comparable](a, b []T) []edit[T] {
	var out []edit[T]
	if len(a)*len(b) > maxDiffCells {
		for _, x := range a {
			out = append(out, edit[T]{'-', x})
		}
		for _, y := range b {
			out = append(out, edit[T]{'+', y})
		}
		return out
	}
	// l[i][j] is the LCS length of a[i:] and b[j:].
	w := len(b) + 1
	l := make([]int32, (len(a)+1)*w)
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				l[i*w+j] = l[(i+1)*w+j+1] + 1
			} else {
				l[i*w+j] = max(l[(i+1)*w+j], l[i*w+j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			out = append(out, edit[T]{' ', a[i]})
			i, j = i+1, j+1
		case j == len(b) || (i < len(a) && l[(i+1)*w+j] >= l[i*w+j+1]):
			out = append(out, edit[T]{'-', a[i]})
			i++
		default:
			out = append(out, edit[T]{'+', b[j]})
			j++
		}
	}
	return out
}

// hunk is a slice [from, to) of an edit script and the line ranges it covers.
type hunk struct {
	from, to           int
	oldStart, oldLines int
	newStart, newLines int
}

// hunks groups the changes of ops with up to context unchanged lines around
// them, merging groups whose context would touch or overlap.
func hunks(ops []edit[string], context int) []hunk {
	var out []hunk
	// Line numbers (0-based) before each op.
	oldAt := make([]int, len(ops)+1)
	newAt := make([]int, len(ops)+1)
	for i, o := range ops {
		oldAt[i+1], newAt[i+1] = oldAt[i], newAt[i]
		if o.kind != '+' {
			oldAt[i+1]++
		}
		if o.kind != '-' {
			newAt[i+1]++
		}
	}
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		from := max(0, i-context)
		// Extend through changes separated by at most 2*context kept lines.
		end := i
		for j := i; j < len(ops); j++ {
			if ops[j].kind != ' ' {
				end = j + 1
			} else if j-end >= 2*context {
				break
			}
		}
		to := min(len(ops), end+context)
		out = append(out, hunk{
			from: from, to: to,
			oldStart: oldAt[from], oldLines: oldAt[to] - oldAt[from],
			newStart: newAt[from], newLines: newAt[to] - newAt[from],
		})
		i = to
	}
	return out
}

// hunkRange formats "start,count" as diff(1) does: 1-based start, the count
// left out when it is 1, and the line before the hunk when it is empty.
func hunkRange(start0, count int) string {
	switch count {
	case 0:
		return fmt.Sprintf("%d,0", start0)
	case 1:
		return fmt.Sprintf("%d", start0+1)
	}
	return fmt.Sprintf("%d,%d", start0+1, count)
}
