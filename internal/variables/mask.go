package variables

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// maskText replaces every hidden secret.
const maskText = "***"

// minLineSecret is the shortest single line of a multi-line secret that is
// masked on its own; shorter lines ("{", "}") would mask ordinary output.
const minLineSecret = 4

// Masker hides sensitive values in log output. It is immutable once built
// and safe for concurrent use.
type Masker struct {
	secrets []string // distinct, non-empty, longest first
}

// Masker builds a Masker for every sensitive value of s, both as stored and
// after its own substitution (a secret built from other variables is logged
// in its expanded form), with the values derived from it there. Each line
// of a multi-line secret is also masked on its own, because log output
// arrives one line at a time.
func (s *Set) Masker() *Masker {
	var values []string
	for _, name := range s.Names() {
		if !s.IsSensitive(name) {
			continue
		}
		raw, _ := s.Get(name)
		values = append(values, raw)
		if r, err := Render(raw, s, Lenient); err == nil {
			values = append(values, r.Text)
			values = append(values, r.Derived...)
		}
	}
	return (*Masker)(nil).With(values...)
}

// With returns a Masker that also hides values (for example a render's
// Result.Derived). m itself is unchanged; a nil m hides nothing before.
func (m *Masker) With(values ...string) *Masker {
	seen := make(map[string]bool)
	if m != nil {
		for _, v := range m.secrets {
			seen[v] = true
		}
	}
	add := func(v string) {
		if v != "" {
			seen[v] = true
		}
	}
	for _, v := range values {
		add(v)
		if !strings.ContainsAny(v, "\r\n") {
			continue
		}
		for _, line := range strings.Split(v, "\n") {
			for _, l := range []string{strings.TrimRight(line, "\r"), strings.TrimSpace(line)} {
				if utf8.RuneCountInString(l) >= minLineSecret {
					add(l)
				}
			}
		}
	}
	secrets := make([]string, 0, len(seen))
	for v := range seen {
		secrets = append(secrets, v)
	}
	sort.Slice(secrets, func(i, j int) bool {
		if len(secrets[i]) != len(secrets[j]) {
			return len(secrets[i]) > len(secrets[j])
		}
		return secrets[i] < secrets[j]
	})
	return &Masker{secrets: secrets}
}

// Mask replaces every occurrence of every secret in line with "***".
//
// Rather than replacing secrets one after another (where masking one secret
// could break up an overlapping one and leave part of it visible), Mask marks
// every byte covered by any occurrence of any secret, including overlapping
// occurrences, and replaces each covered run with a single "***". That hides
// secrets that contain, overlap or adjoin each other completely.
func (m *Masker) Mask(line string) string {
	if m == nil || len(m.secrets) == 0 {
		return line
	}
	var covered []bool // allocated on the first match only
	for _, secret := range m.secrets {
		for from := 0; from+len(secret) <= len(line); {
			k := strings.Index(line[from:], secret)
			if k < 0 {
				break
			}
			if covered == nil {
				covered = make([]bool, len(line))
			}
			start := from + k
			for i := start; i < start+len(secret); i++ {
				covered[i] = true
			}
			from = start + 1
		}
	}
	if covered == nil {
		return line
	}
	var b strings.Builder
	b.Grow(len(line))
	for i := 0; i < len(line); {
		if !covered[i] {
			b.WriteByte(line[i])
			i++
			continue
		}
		b.WriteString(maskText)
		for i < len(line) && covered[i] {
			i++
		}
	}
	return b.String()
}
