package variables

import (
	"sort"
	"strings"
	"sync"
)

// Set is a resolved variable set: one value per name, each possibly
// sensitive. Names are case-insensitive, as in Octopus: "DbUrl" and "dburl"
// are one variable, which keeps the spelling it was first set with. The
// order in which names were first set is kept: it is the order in which
// #{each} visits an indexed collection such as Octopus.Action[...].
//
// A Set is not safe for concurrent mutation; concurrent reads (including
// Render) are fine.
type Set struct {
	index map[string]int // lower-cased name → position in list
	list  []entry

	mu   sync.Mutex
	tree *node // binding tree, built on first use after a change
}

type entry struct {
	name      string
	value     string
	sensitive bool
}

// NewSet returns an empty set.
func NewSet() *Set {
	return &Set{index: make(map[string]int)}
}

// Set stores value under name, replacing any earlier value and sensitivity.
func (s *Set) Set(name, value string, sensitive bool) {
	if s.index == nil {
		s.index = make(map[string]int)
	}
	key := strings.ToLower(name)
	if i, ok := s.index[key]; ok {
		s.list[i].value, s.list[i].sensitive = value, sensitive
	} else {
		s.index[key] = len(s.list)
		s.list = append(s.list, entry{name: name, value: value, sensitive: sensitive})
	}
	s.mu.Lock()
	s.tree = nil
	s.mu.Unlock()
}

// Get returns the raw (unsubstituted) value of name. A nil set is empty.
func (s *Set) Get(name string) (value string, ok bool) {
	if s == nil {
		return "", false
	}
	i, ok := s.index[strings.ToLower(name)]
	if !ok {
		return "", false
	}
	return s.list[i].value, true
}

// Names returns every name in the set, sorted.
func (s *Set) Names() []string {
	if s == nil {
		return nil
	}
	names := make([]string, 0, len(s.list))
	for _, e := range s.list {
		names = append(names, e.name)
	}
	sort.Strings(names)
	return names
}

// Clone returns a copy of the set that changes independently.
func (s *Set) Clone() *Set {
	c := NewSet()
	if s != nil {
		for _, e := range s.list {
			c.Set(e.name, e.value, e.sensitive)
		}
	}
	return c
}

// Entry is one variable of a set.
type Entry struct {
	Name      string
	Value     string
	Sensitive bool
}

// Entries returns every variable in the order names were first set (the
// order Clone and a set rebuilt with Set keep).
func (s *Set) Entries() []Entry {
	if s == nil {
		return nil
	}
	out := make([]Entry, len(s.list))
	for i, e := range s.list {
		out[i] = Entry{Name: e.name, Value: e.value, Sensitive: e.sensitive}
	}
	return out
}

// IsSensitive reports whether name is defined and marked sensitive.
func (s *Set) IsSensitive(name string) bool {
	if s == nil {
		return false
	}
	i, ok := s.index[strings.ToLower(name)]
	return ok && s.list[i].sensitive
}

// binding returns the set's binding tree, building it if needed.
func (s *Set) binding() *node {
	if s == nil {
		return &node{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tree == nil {
		s.tree = buildTree(s.list)
	}
	return s.tree
}
