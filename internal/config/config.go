// Package config reads and writes the declarative YAML that `ferry apply`
// takes and `ferry export` writes. It knows the file format and where in the
// file each thing was written, so errors can name a line; it does not know
// the store. The catalog service turns a Document into changes.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// MaxSize bounds an apply document; a space's configuration is text, not data.
const MaxSize = 16 << 20

// MaxMarks bounds the marks in an apply document that may start a YAML
// node: line breaks and the indicators , [ { - : ? (counted anywhere, in
// strings and comments too). A mark starts at most one and a half nodes
// ("[{a},{a},...]"), and a node takes ~500 bytes while it is read (yaml.v3's
// node, event and token, read twice, and the line remembered for
// messages), so a document of 16 MB of "a," took 4 GB and 24 s; within the
// bound one takes at most ~250 MB. A 500-project space (bench/apply_test.go:
// 5 steps, 10 variables, 2 templates each) holds ~50,000.
const MaxMarks = 300_000

// maxProblems is how many of a document's problems a refusal names.
const maxProblems = 20

// MaxKeys bounds the keys of one YAML mapping. yaml.v3 compares every key
// of a mapping with every other (and writes an error for each equal pair),
// so Parse refuses a repeated key itself first and bounds the comparisons.
const MaxKeys = 2_000

// Document is a space's configuration as YAML.
type Document struct {
	Environments       []Environment `yaml:"environments,omitempty"`
	RemoteEnvironments []string      `yaml:"remoteEnvironments,omitempty"`
	Lifecycles         []Lifecycle   `yaml:"lifecycles,omitempty"`
	Projects           []Project     `yaml:"projects,omitempty"`
	// Tenants are the space's tenants (SPEC §6): tags, and the projects
	// and environments each is connected to. Their values are set with
	// `ferry tenant var set`, never in a file.
	Tenants []Tenant `yaml:"tenants,omitempty"`
	// Targets are deployment targets known by their agent's thumbprint
	// (SPEC §5): config as code for `ferry target add`.
	Targets []Target `yaml:"targets,omitempty"`

	// lines maps a path such as "projects[2].process[0]" to its line in the
	// source file; empty for documents not parsed from text.
	lines map[string]int
	// warnings are what the text says that is probably not what its
	// writer meant (cutValues).
	warnings []string
}

// Warnings lists what the document's text probably says by mistake, each
// with its line.
func (d *Document) Warnings() []string { return d.warnings }

// Environment is an environment of this space.
type Environment struct {
	Name string `yaml:"name"`
}

// Target is a deployment target: a listening agent (URL) or a polling one
// (Polling), as `ferry target add` takes it. Tenants and TenantTags are
// read so that a document written for a server with tenants (SPEC §6)
// is refused with a clear message rather than a parse error.
type Target struct {
	Name         string   `yaml:"name"`
	Environments []string `yaml:"environments"`
	Roles        []string `yaml:"roles"`
	Tenants      []string `yaml:"tenants,omitempty"`
	TenantTags   []string `yaml:"tenantTags,omitempty"`
	Thumbprint   string   `yaml:"thumbprint"`
	URL          string   `yaml:"url,omitempty"`
	Polling      bool     `yaml:"polling,omitempty"`
}

// Lifecycle is a lifecycle and its phases.
type Lifecycle struct {
	Name   string         `yaml:"name"`
	Phases []domain.Phase `yaml:"phases"`
}

// Project is a project with its process, variables and templates, its
// channels and its triggers. A remote project ("<space>: <project>",
// imported from a bundle) takes only a lifecycle, variables, channels
// (without rules) and triggers: its process comes from its releases.
type Project struct {
	Name      string            `yaml:"name"`
	Lifecycle string            `yaml:"lifecycle,omitempty"`
	Templates []domain.Template `yaml:"templates,omitempty"`
	Variables []Variable        `yaml:"variables,omitempty"`
	Process   []domain.Step     `yaml:"process,omitempty"`
	Channels  []domain.Channel  `yaml:"channels,omitempty"`
	Triggers  []domain.Trigger  `yaml:"triggers,omitempty"`
	// TenantedDeployments: untenanted, tenanted or both (omitted: as it
	// is; a new project deploys untenanted or for tenants).
	TenantedDeployments string `yaml:"tenantedDeployments,omitempty"`
}

// Tenant is a tenant with its tags ("SET/TAG") and, per project, the
// environments it is connected to.
type Tenant struct {
	Name     string              `yaml:"name"`
	Tags     []string            `yaml:"tags,omitempty"`
	Projects map[string][]string `yaml:"projects,omitempty"`
}

// Variable is a project variable. A sensitive value is never exported: export
// writes it with Value empty and ValueSet true, and apply keeps the stored
// value when it meets such an entry.
type Variable struct {
	Name         string   `yaml:"name"`
	Value        string   `yaml:"value"`
	Sensitive    bool     `yaml:"sensitive,omitempty"`
	Environments []string `yaml:"environments,omitempty"`
	Tenants      []string `yaml:"tenants,omitempty"`
	TenantTags   []string `yaml:"tenantTags,omitempty"`
	// KeepExisting marks an exported sensitive value: "keep what the target
	// space has". Written as `keep: true`.
	KeepExisting bool `yaml:"keep,omitempty"`
}

// Parse reads a document, refusing unknown fields, and remembers the line of
// every list item for error messages.
func Parse(data []byte) (*Document, error) {
	if len(data) > MaxSize {
		return nil, domain.Invalidf("the file is %d bytes; the limit is %d", len(data), MaxSize)
	}
	if n := marks(data); n > MaxMarks {
		return nil, domain.Refuse(domain.KindInvalid, domain.RuleSize, "the file holds %d line breaks and YAML indicators (, [ { - : ?); a document may hold at most %d (a space of about %d projects): split it, or apply each part in turn",
			n, MaxMarks, MaxMarks/100)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		msg := yamlMessage(err)
		if strings.Contains(msg, "cannot start any token") && bytes.ContainsRune(data, '\t') {
			msg += " (a tab? YAML indents with spaces only)"
		}
		return nil, domain.Invalidf("%s", msg)
	}
	doc := &Document{lines: map[string]int{}}
	if len(root.Content) == 0 {
		return doc, nil
	}
	if err := checkKeys(root.Content[0]); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(doc); err != nil {
		return nil, domain.Invalidf("%s", yamlMessage(err))
	}
	if err := dec.Decode(new(any)); err == nil {
		return nil, domain.Invalidf("the file holds more than one YAML document; put everything in one")
	}
	recordLines(root.Content[0], "", doc.lines)
	cutValues(root.Content[0], func(w string) { doc.warnings = append(doc.warnings, w) })
	return doc, nil
}

// marks counts the bytes of data that may start a YAML node (MaxMarks).
func marks(data []byte) int {
	n := 0
	for _, c := range data {
		switch c {
		case '\n', ',', '[', '{', '-', ':', '?':
			n++
		}
	}
	return n
}

// Line returns the line where the item at path was written, or 0.
func (d *Document) Line(path string) int { return d.lines[path] }

// At prefixes msg with the file position of path when it is known.
func (d *Document) At(path, msg string) string {
	if l := d.Line(path); l > 0 {
		return fmt.Sprintf("line %d: %s", l, msg)
	}
	return msg
}

// Marshal writes the document as YAML.
func (d *Document) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	return buf.Bytes(), nil
}

// checkKeys refuses a mapping under n with a key written twice or more than
// MaxKeys keys, before yaml.v3 compares its keys pairwise (MaxKeys): a
// mapping of 10,000 equal keys, 20 kB, was 50 million errors. Aliases are
// not followed: what they point to is checked where it is written.
func checkKeys(n *yaml.Node) error {
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content)/2 > MaxKeys {
			return domain.Refuse(domain.KindInvalid, domain.RuleSize, "line %d: a mapping of %d keys; a mapping may hold at most %d", n.Line, len(n.Content)/2, MaxKeys)
		}
		seen := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i]
			if key.Kind == yaml.ScalarNode {
				if line, ok := seen[key.Value]; ok {
					return domain.Invalidf("line %d: %q is already set at line %d; write each key once", key.Line, key.Value, line)
				}
				seen[key.Value] = key.Line
			}
		}
	}
	for _, c := range n.Content {
		if err := checkKeys(c); err != nil {
			return err
		}
	}
	return nil
}

// recordLines walks the node tree and records the line of every mapping
// value and sequence item under a path like "projects[0].variables[3]".
func recordLines(n *yaml.Node, path string, lines map[string]int) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			p := key.Value
			if path != "" {
				p = path + "." + key.Value
			}
			lines[p] = key.Line
			recordLines(val, p, lines)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			lines[p] = item.Line
			recordLines(item, p, lines)
		}
	}
}

// yamlMessage turns a yaml.v3 error into YAML's words (words.go): every
// problem the decoder found, one per line, each with its line.
//
// At most maxProblems are named: a document of 250,000 list items with an
// unknown field each (1 MB) was a refusal of 36 MB.
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, 0, min(len(te.Errors), maxProblems))
		for _, m := range te.Errors[:cap(msgs)] {
			msgs = append(msgs, inYAMLWords(m))
		}
		if len(te.Errors) == 1 {
			return msgs[0]
		}
		more := ""
		if n := len(te.Errors) - len(msgs); n > 0 {
			more = fmt.Sprintf("\n  and %d more", n)
		}
		return fmt.Sprintf("%d problems:\n  %s%s", len(te.Errors), strings.Join(msgs, "\n  "), more)
	}
	return "malformed YAML: " + inYAMLWords(strings.TrimPrefix(err.Error(), "yaml: "))
}
