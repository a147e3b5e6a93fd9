package domain

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Target modes (SPEC §5): a listening agent is dialled by the server; a
// polling agent dials the server and holds the connection.
const (
	ModeListening = "listening"
	ModePolling   = "polling"
)

// Health is what the last check of a target found.
type Health string

const (
	HealthUnknown   Health = "Unknown"   // never checked since added or enabled
	HealthHealthy   Health = "Healthy"   // answered as expected
	HealthUnhealthy Health = "Unhealthy" // answered, but something is wrong (certificate, sandbox)
	HealthOffline   Health = "Offline"   // no answer, or a polling agent not connected
)

// Target is a machine a space deploys to: an agent known by the SHA-256
// fingerprint of its certificate (Thumbprint), in some environments, with
// roles that steps choose it by.
type Target struct {
	ID           int64    `json:"id"`
	SpaceID      int64    `json:"-"`
	Name         string   `json:"name"`
	Environments []string `json:"environments"`
	Roles        []string `json:"roles"`
	Mode         string   `json:"mode"`          // ModeListening or ModePolling
	URL          string   `json:"url,omitempty"` // https://HOST:PORT of a listening agent
	Thumbprint   string   `json:"thumbprint"`
	Disabled     bool     `json:"disabled,omitempty"`
	// Tenants and TenantTags limit the target to some tenants' deployments
	// (SPEC §6); a target with neither serves every deployment.
	Tenants    []string `json:"tenants,omitempty"`
	TenantTags []string `json:"tenantTags,omitempty"`

	Health       Health     `json:"health"`
	HealthReason string     `json:"healthReason,omitempty"`
	CheckedAt    *time.Time `json:"checkedAt,omitempty"`
	// LastSeen is when the agent last answered (a check, a step, a polling
	// agent's heartbeat).
	LastSeen     *time.Time `json:"lastSeen,omitempty"`
	AgentVersion string     `json:"agentVersion,omitempty"`
	// Node is the server node a polling agent is connected to.
	Node      string    `json:"node,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// Validate checks a target as registered: a machine name scripts may
// receive, safe role names, at least one environment and role, a
// fingerprint, and a https URL for a listening agent (none for a polling
// one).
func (t *Target) Validate() error {
	if err := ValidateSafeName("machine", t.Name); err != nil {
		return err
	}
	if len(t.Environments) == 0 {
		return Invalidf("target %q needs at least one environment (--env)", t.Name)
	}
	if len(t.Roles) == 0 {
		return Invalidf("target %q needs at least one role (--role): steps choose machines by role", t.Name)
	}
	for _, r := range t.Roles {
		if err := ValidateSafeName("role", r); err != nil {
			return err
		}
	}
	t.Roles = sortedUnique(t.Roles)
	t.Environments = sortedUnique(t.Environments)
	if t.Thumbprint == "" {
		return Invalidf("target %q needs the agent's certificate fingerprint (--thumbprint; `ferry agent init` prints it)", t.Name)
	}
	switch t.Mode {
	case ModePolling:
		if t.URL != "" {
			return Invalidf("target %q is a polling agent: it dials the server, so it has no URL (give --url or --polling, not both)", t.Name)
		}
	case ModeListening:
		return ValidateAgentURL(t.URL)
	default:
		return Invalidf("target %q: say how the server reaches the agent: --url https://HOST:PORT (listening) or --polling", t.Name)
	}
	return nil
}

// ValidateAgentURL checks a listening agent's address: https, a host and
// a port, nothing else.
func ValidateAgentURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
		return Invalidf("agent URL %q must be https://HOST:PORT (where `ferry agent run --listen` listens)", raw)
	}
	return nil
}

// HasRole reports whether the target has one of roles.
func (t Target) HasRole(roles []string) bool {
	for _, r := range roles {
		if slices.ContainsFunc(t.Roles, func(have string) bool { return strings.EqualFold(have, r) }) {
			return true
		}
	}
	return false
}

// InEnvironment reports whether the target serves env.
func (t Target) InEnvironment(env string) bool { return slices.Contains(t.Environments, env) }

// SeenText says when the target was last seen, for messages.
func (t Target) SeenText() string {
	if t.LastSeen == nil {
		return "never seen"
	}
	return "last seen " + t.LastSeen.UTC().Format(time.RFC3339)
}

func sortedUnique(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// AgentIdentity is the server's own certificate towards agents: agents pin
// its fingerprint. There is one current identity; while it rotates, a next
// one exists that agents learn to trust before it becomes current.
type AgentIdentity struct {
	ID          int64      `json:"id"`
	Fingerprint string     `json:"fingerprint"`
	CertPEM     []byte     `json:"-"`
	KeyPEM      []byte     `json:"-"` // sealed at rest by the store
	State       string     `json:"state"`
	CreatedAt   time.Time  `json:"createdAt"`
	RetiredAt   *time.Time `json:"retiredAt,omitempty"`
}

// Agent identity states.
const (
	IdentityCurrent = "current"
	IdentityNext    = "next"
	IdentityRetired = "retired"
)

// JobState is where a job for a target is.
type JobState string

const (
	JobQueued  JobState = "queued"  // waits for a node that can reach its agent
	JobRunning JobState = "running" // a node's hub is running it on the agent
	JobDone    JobState = "done"    // finished: Result says how
	JobFailed  JobState = "failed"  // could not run or lost: Error says why
)

// AgentJob is a step to run on one target, kept in the store so that any
// server node that can reach the target's agent runs it (SPEC §5: work for
// targets is durable). Payload and Result are the protocol's JSON; the
// store seals both, since a step's variables and outputs hold secrets.
type AgentJob struct {
	ID         int64
	TaskID     int64
	SpaceID    int64
	TargetID   int64
	Target     string // its name, for log lines
	Thumbprint string
	Mode       string
	URL        string
	Origin     string // the node whose runner queued it
	Node       string // the node running it
	State      JobState
	Payload    []byte
	Result     []byte
	Error      string
	Cancel     bool
	CreatedAt  time.Time
	BeatAt     *time.Time // the running node's last heartbeat
}

// Done reports whether the job ended.
func (s JobState) Done() bool { return s == JobDone || s == JobFailed }

// RolesText lists roles for messages: "web, db".
func RolesText(roles []string) string { return strings.Join(roles, ", ") }

// UnknownTargets names the targets of names that are not in list.
func UnknownTargets(names []string, list []Target) error {
	var unknown []string
	for _, n := range names {
		if !slices.ContainsFunc(list, func(t Target) bool { return t.Name == n }) {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return NotFoundf("no target named %s in this space (see `ferry target list`)", quoteList(unknown))
	}
	return nil
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}
