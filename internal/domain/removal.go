package domain

import (
	"fmt"
	"strings"
)

// Retention is a lifecycle phase's release retention policy (YAML
// `retention: {keepReleases: N}`): the phase keeps the newest N releases
// deployed to its environments. A phase without one keeps every release
// deployed to it. Whatever the policies, a release that is current in an
// environment, or has a task that has not finished, is never removed
// (internal/retention).
type Retention struct {
	KeepReleases int `json:"keepReleases" yaml:"keepReleases"`
}

// MaxKeepReleases bounds keepReleases, so a typo does not read as "keep
// everything" by accident.
const MaxKeepReleases = 100000

// Validate checks the policy of a phase.
func (r *Retention) Validate(lifecycle, phase string) error {
	if r == nil {
		return nil
	}
	if r.KeepReleases < 1 || r.KeepReleases > MaxKeepReleases {
		return Invalidf("lifecycle %q, phase %q: retention keepReleases is %d; give a number from 1 to %d (leave retention out to keep every release)",
			lifecycle, phase, r.KeepReleases, MaxKeepReleases)
	}
	return nil
}

// String says what the policy keeps: "keep 3 releases", or "keep all".
func (r *Retention) String() string {
	if r == nil {
		return "keep all"
	}
	if r.KeepReleases == 1 {
		return "keep 1 release"
	}
	return fmt.Sprintf("keep %d releases", r.KeepReleases)
}

// Removed counts what a delete or a retention run removed (or, for a dry
// run, would remove).
type Removed struct {
	Projects          int   `json:"projects,omitempty"`
	Releases          int   `json:"releases,omitempty"`
	Deployments       int   `json:"deployments,omitempty"`
	Tasks             int   `json:"tasks,omitempty"`
	LogLines          int   `json:"logLines,omitempty"`
	Receipts          int   `json:"receipts,omitempty"`
	Environments      int   `json:"environments,omitempty"`
	Packages          int   `json:"packages,omitempty"`
	Variables         int   `json:"variables,omitempty"`         // variable values
	TenantConnections int   `json:"tenantConnections,omitempty"` // a tenant connected to a project in an environment
	Deliveries        int   `json:"deliveries,omitempty"`        // outbox items dropped
	Chunks            int   `json:"chunks,omitempty"`
	ChunkBytes        int64 `json:"chunkBytes,omitempty"`
}

// Add adds o's counts to r.
func (r *Removed) Add(o Removed) {
	r.Projects += o.Projects
	r.Releases += o.Releases
	r.Deployments += o.Deployments
	r.Tasks += o.Tasks
	r.LogLines += o.LogLines
	r.Receipts += o.Receipts
	r.Environments += o.Environments
	r.Packages += o.Packages
	r.Variables += o.Variables
	r.TenantConnections += o.TenantConnections
	r.Deliveries += o.Deliveries
	r.Chunks += o.Chunks
	r.ChunkBytes += o.ChunkBytes
}

// String lists the non-zero counts: "3 releases, 7 deployments", or
// "nothing else".
func (r Removed) String() string {
	var parts []string
	add := func(n int, one, many string) {
		switch {
		case n == 1:
			parts = append(parts, "1 "+one)
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", n, many))
		}
	}
	add(r.Projects, "project", "projects")
	add(r.Releases, "release", "releases")
	add(r.Deployments, "deployment", "deployments")
	add(r.Tasks, "task", "tasks")
	add(r.LogLines, "task log line", "task log lines")
	add(r.Receipts, "receipt", "receipts")
	add(r.Environments, "environment", "environments")
	add(r.Packages, "package version", "package versions")
	add(r.Variables, "variable value", "variable values")
	add(r.TenantConnections, "tenant connection", "tenant connections")
	add(r.Deliveries, "queued delivery", "queued deliveries")
	if r.Chunks > 0 {
		parts = append(parts, fmt.Sprintf("%d chunks (%s)", r.Chunks, Bytes(r.ChunkBytes)))
	}
	if len(parts) == 0 {
		return "nothing else"
	}
	return strings.Join(parts, ", ")
}

// Bytes writes a size for people: "512 B", "3.4 MiB".
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Referrer is something that uses a thing a delete would remove: "lifecycle
// \"Main\" (phase \"QA\")". A delete with referrers is refused, naming them
// all (Refusal).
type Referrer struct {
	Kind string `json:"kind"` // lifecycle, project, step, variable, team, release, task, target, ...
	Name string `json:"name"`
	// Detail says how it refers ("phase QA", "running task 12").
	Detail string `json:"detail,omitempty"`
}

func (r Referrer) String() string {
	s := r.Kind + " " + fmt.Sprintf("%q", r.Name)
	if r.Detail != "" {
		s += " (" + r.Detail + ")"
	}
	return s
}

// RuleInUse names the refusal of a delete that would break a reference.
const RuleInUse = "in-use"

// Refusal is the error of a delete refused because others use the thing:
// every referrer is named, with what to do next.
func Refusal(what string, refs []Referrer, next string) error {
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = r.String()
	}
	msg := fmt.Sprintf("cannot delete %s: it is used by %s", what, strings.Join(names, ", "))
	if next != "" {
		msg += ". " + next
	}
	return &Error{Kind: KindConflict, Rule: RuleInUse, Msg: "refused [" + RuleInUse + "]: " + msg, Referrers: refs}
}
