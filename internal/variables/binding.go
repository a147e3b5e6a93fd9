package variables

import "strings"

// node is one point of the binding tree Octostache builds from variable
// names: "Octopus.Action[Step A].Name" is the path Octopus → Action →
// [Step A] → Name, and the value sits on the last node. Identifier children
// and index children are kept apart, both looked up case-insensitively. An
// index child's own value is its index text until a variable names it.
//
// Nodes of a Set's tree are never changed after the tree is built, so
// concurrent renders may share them. Nodes made while rendering (JSON
// properties, loop items) belong to that render.
type node struct {
	item    string
	hasItem bool
	sens    bool   // the value is sensitive or derived from one
	name    string // the variable that set the value, for messages
	made    bool   // made while rendering (a JSON property, a loop item)

	children map[string]*node
	indexed  map[string]*node
	order    []*node // indexed children in the order they were first set
}

func buildTree(list []entry) *node {
	root := &node{}
	for _, e := range list {
		sym, ok := parseName(e.name)
		if !ok {
			continue // not a name a template can reach
		}
		n := root
		for _, st := range sym.steps {
			if st.sym != nil {
				n = nil // "A[#{b}]" names nothing
				break
			}
			n = n.child(st)
		}
		if n != nil {
			n.item, n.hasItem, n.sens, n.name = e.value, true, e.sensitive, e.name
		}
	}
	return root
}

// Child maps hold each child under its lower-cased name and under every
// spelling a variable name used, so that a template spelled like the
// variable finds it without lower-casing anything.

// get returns the child named text (an index child when index is set).
func (n *node) get(text string, index bool) *node {
	m := n.children
	if index {
		m = n.indexed
	}
	if c := m[text]; c != nil {
		return c
	}
	return m[strings.ToLower(text)]
}

// child returns the child for step st, creating it.
func (n *node) child(st step) *node {
	key := strings.ToLower(st.text)
	if !st.index {
		c := n.children[key]
		if c == nil {
			c = &node{}
			if n.children == nil {
				n.children = make(map[string]*node)
			}
			n.children[key] = c
		}
		n.children[st.text] = c
		return c
	}
	c := n.indexed[key]
	if c == nil {
		c = &node{item: st.text, hasItem: true}
		if n.indexed == nil {
			n.indexed = make(map[string]*node)
		}
		n.indexed[key] = c
		n.order = append(n.order, c)
	}
	n.indexed[st.text] = c
	return c
}

// setChild adds a child named key (lower-case) to a node made while
// rendering.
func (n *node) setChild(key string, c *node) {
	if n.children == nil {
		n.children = make(map[string]*node)
	}
	n.children[key] = c
}

// aliasRoot returns the other spelling of a system variable root: Octopus.*
// and Ferry.* name the same variables.
func aliasRoot(key string) (string, bool) {
	switch key {
	case "octopus":
		return "ferry", true
	case "ferry":
		return "octopus", true
	}
	return "", false
}
