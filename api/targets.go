package api

import "time"

// Target modes and health (SPEC §5).
const (
	ModeListening = "listening"
	ModePolling   = "polling"

	HealthUnknown   = "Unknown"
	HealthHealthy   = "Healthy"
	HealthUnhealthy = "Unhealthy"
	HealthOffline   = "Offline"
)

// Target is a machine a space deploys to: an agent known by the SHA-256
// fingerprint of its certificate (Thumbprint), listening at URL or
// polling, in some environments, with roles steps choose it by.
type Target struct {
	ID           int64    `json:"id"`
	Name         string   `json:"name"`
	Environments []string `json:"environments"`
	Roles        []string `json:"roles"`
	Mode         string   `json:"mode"`
	URL          string   `json:"url,omitempty"`
	Thumbprint   string   `json:"thumbprint"`
	Disabled     bool     `json:"disabled,omitempty"`
	// Tenants and TenantTags limit the target to some tenants' deployments.
	Tenants    []string `json:"tenants,omitempty"`
	TenantTags []string `json:"tenantTags,omitempty"`
	// Health is Healthy, Unhealthy, Offline or Unknown, as the last check
	// (CheckedAt) found it, HealthReason why.
	Health       string     `json:"health"`
	HealthReason string     `json:"healthReason,omitempty"`
	CheckedAt    *time.Time `json:"checkedAt,omitempty"`
	LastSeen     *time.Time `json:"lastSeen,omitempty"`
	AgentVersion string     `json:"agentVersion,omitempty"`
	// Node is the server node a polling agent is connected to.
	Node      string    `json:"node,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// AddTargetRequest registers a target: URL for a listening agent, or
// Polling; Thumbprint is the agent's fingerprint (`ferry agent init`).
type AddTargetRequest struct {
	Name         string   `json:"name"`
	Environments []string `json:"environments"`
	Roles        []string `json:"roles"`
	URL          string   `json:"url,omitempty"`
	Polling      bool     `json:"polling,omitempty"`
	Thumbprint   string   `json:"thumbprint"`
}

// AddedTarget is a target added (Created), or found registered alike.
type AddedTarget struct {
	Created bool   `json:"created"`
	Target  Target `json:"target"`
}

// TargetCheck is a target as a check just left it.
type TargetCheck struct {
	Target  Target `json:"target"`
	Healthy bool   `json:"healthy"`
}

// AgentTrust is what an agent needs to trust this server: the
// fingerprint of its agent identity, where polling agents connect, and
// the next identity while it rotates.
type AgentTrust struct {
	Fingerprint string `json:"fingerprint"`
	AgentListen string `json:"agentListen"`
	Next        string `json:"next,omitempty"`
	Certificate string `json:"certificate"`
}

// RotateRequest stages a new agent identity, or with Activate makes the
// staged one current.
type RotateRequest struct {
	Activate bool `json:"activate,omitempty"`
}
