package variables

import (
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestMask(t *testing.T) {
	tests := []struct {
		name    string
		secrets map[string]string // sensitive variables
		plain   map[string]string // non-sensitive variables
		line    string
		want    string
	}{
		{"no secrets", nil, map[string]string{"User": "bob"}, "user bob", "user bob"},
		{"simple", map[string]string{"Pw": "hunter2"}, nil, "login with hunter2 now", "login with *** now"},
		{"every occurrence", map[string]string{"Pw": "abc"}, nil, "abc-abc abc", "***-*** ***"},
		{"empty secret ignored", map[string]string{"Pw": ""}, nil, "nothing to hide", "nothing to hide"},
		{"substring secret: longest wins", map[string]string{"Short": "pass", "Long": "password123"}, nil,
			"pw=password123 alt=pass", "pw=*** alt=***"},
		{"overlapping secrets", map[string]string{"A": "abcd", "B": "cdef"}, nil, "xabcdefx", "x***x"},
		{"overlapping occurrences", map[string]string{"A": "aba"}, nil, "ababa!", "***!"},
		{"adjacent secrets", map[string]string{"A": "foo", "B": "bar"}, nil, "foobar", "***"},
		{"expanded value masked", map[string]string{"Conn": "user:#{Pw}@db"}, map[string]string{"Pw": "p4ss"},
			"dsn user:p4ss@db", "dsn ***"},
		{"stored form masked too", map[string]string{"Conn": "user:#{Pw}@db"}, map[string]string{"Pw": "p4ss"},
			"raw user:#{Pw}@db", "raw ***"},
		{"multi-line whole", map[string]string{"Key": "line-one\nline-two"}, nil, "line-one\nline-two", "***"},
		{"multi-line each line", map[string]string{"Key": "-----BEGIN KEY-----\r\nQUJDREVGRw==\n  indented-part\n}\n-----END KEY-----"}, nil,
			"got QUJDREVGRw== and indented-part", "got *** and ***"},
		{"multi-line short lines kept", map[string]string{"Key": "{\n  secretvalue\n}"}, nil, "if x { y }", "if x { y }"},
		{"unicode", map[string]string{"Pw": "pässwörd"}, nil, "é pässwörd é", "é *** é"},
		{"non-sensitive untouched", map[string]string{"Pw": "zzz"}, map[string]string{"Name": "visible"}, "visible zzz", "visible ***"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSet()
			for k, v := range tt.plain {
				s.Set(k, v, false)
			}
			for k, v := range tt.secrets {
				s.Set(k, v, true)
			}
			got := s.Masker().Mask(tt.line)
			if got != tt.want {
				t.Errorf("Mask(%q) = %q, want %q", tt.line, got, tt.want)
			}
		})
	}
}

// TestMaskLeavesNoSecret masks lines built from many secrets that contain
// and overlap each other and checks that none survives anywhere.
func TestMaskLeavesNoSecret(t *testing.T) {
	secrets := []string{"tok", "token", "token-123", "123-abc", "abc", "c-x", "xyz"}
	s := NewSet()
	for i, v := range secrets {
		s.Set("S"+strconv.Itoa(i), v, true)
	}
	m := s.Masker()
	lines := []string{
		"token-123-abc-xyz",
		"tokentoken-123tok abc-xyzc-x",
		strings.Join(secrets, ""),
		strings.Join(secrets, " "),
	}
	for _, line := range lines {
		got := m.Mask(line)
		for _, secret := range secrets {
			if strings.Contains(got, secret) {
				t.Errorf("Mask(%q) = %q still contains %q", line, got, secret)
			}
		}
	}
}

func TestMaskNilAndConcurrent(t *testing.T) {
	var m *Masker
	if got := m.Mask("x"); got != "x" {
		t.Errorf("nil Masker changed the line: %q", got)
	}
	s := NewSet()
	s.Set("Pw", "hunter2", true)
	m = s.Masker()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 1000; j++ {
				if got := m.Mask("pw hunter2"); got != "pw ***" {
					t.Errorf("got %q", got)
					return
				}
			}
		}()
	}
	wg.Wait()
}
