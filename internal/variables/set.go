package variables

import "sort"

// Set is a resolved variable set: one value per name, each possibly sensitive.
// A Set is not safe for concurrent mutation; concurrent reads are fine.
type Set struct {
	vars map[string]entry
}

type entry struct {
	value     string
	sensitive bool
}

// NewSet returns an empty set.
func NewSet() *Set {
	return &Set{vars: make(map[string]entry)}
}

// Set stores value under name, replacing any earlier value and sensitivity.
func (s *Set) Set(name, value string, sensitive bool) {
	if s.vars == nil {
		s.vars = make(map[string]entry)
	}
	s.vars[name] = entry{value: value, sensitive: sensitive}
}

// Get returns the raw (unsubstituted) value of name. A nil set is empty.
func (s *Set) Get(name string) (value string, ok bool) {
	if s == nil {
		return "", false
	}
	e, ok := s.vars[name]
	return e.value, ok
}

// Names returns every name in the set, sorted.
func (s *Set) Names() []string {
	if s == nil {
		return nil
	}
	names := make([]string, 0, len(s.vars))
	for name := range s.vars {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// IsSensitive reports whether name is defined and marked sensitive.
func (s *Set) IsSensitive(name string) bool {
	if s == nil {
		return false
	}
	return s.vars[name].sensitive
}
