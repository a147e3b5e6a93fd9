// Package agentproto is the protocol between a ferry server and the agents
// on its deployment targets (SPEC §5): the requests and JSON messages, the
// stream of a running step, the chunk frames that carry packages, and the
// TLS that pins each side's certificate by its SHA-256 fingerprint.
//
// The agent always serves the protocol (HTTP/2) and the server always
// calls it: a listening agent on its own TLS port, a polling agent over a
// connection it dials to the server's agent listener and turns around
// (PathPoll). docs/agents.md describes it for operators,
// docs/architecture.md for developers.
package agentproto

import (
	"encoding/json"
	"runtime/debug"

	"github.com/ferrydeploy/ferry/internal/domain"
)

// Protocol is the version of this protocol; an agent and a server speak
// when their versions are equal.
const Protocol = 1

// Requests the server sends an agent, and the one a polling agent sends
// the server.
const (
	PathInfo          = "/agent/v1/info"           // GET → Info
	PathTrust         = "/agent/v1/trust"          // POST TrustRequest → Info
	PathChunksMissing = "/agent/v1/chunks/missing" // POST ChunkList → ChunkList (the missing ones)
	PathChunks        = "/agent/v1/chunks"         // PUT chunk frames → ChunksStored
	PathSteps         = "/agent/v1/steps"          // POST Job → a stream of Events (NDJSON)
	PathPoll          = "/agent/v1/poll"           // agent → server, HTTP/1.1 with Upgrade: UpgradeToken
)

// UpgradeToken is the protocol a polling agent's connection turns into:
// HTTP/2 with the agent as server.
const UpgradeToken = "ferry-agent/1"

// HeaderAgentVersion carries the agent's version on a poll request.
const HeaderAgentVersion = "X-Ferry-Agent-Version"

// Info is what an agent says of itself (health checks).
type Info struct {
	Version     string `json:"version"`
	Protocol    int    `json:"protocol"`
	Fingerprint string `json:"fingerprint"`
	Hostname    string `json:"hostname"`
	// Sandbox is how steps run: "namespaces", "off", or "unavailable: why".
	Sandbox string `json:"sandbox"`
	// Trusted are the server fingerprints the agent accepts.
	Trusted []string `json:"trusted"`
}

// TrustRequest asks an agent to trust another server fingerprint as well:
// the server's next identity, while it rotates.
type TrustRequest struct {
	Fingerprint string `json:"fingerprint"`
}

// ChunkList is a list of chunks by hex SHA-256.
type ChunkList struct {
	Chunks []string `json:"chunks"`
}

// ChunksStored says what a PathChunks request added to the agent's cache.
type ChunksStored struct {
	Stored int   `json:"stored"`
	Bytes  int64 `json:"bytes"`
}

// Job is a step for an agent to run. It holds the step's secrets: it
// travels only over the pinned TLS connection, and the store seals it.
type Job struct {
	Task    int64       `json:"task"`
	Step    domain.Step `json:"step"`
	Machine string      `json:"machine"`
	// Variables are the resolved variables of the step on this machine,
	// output variables of earlier steps included.
	Variables      []Variable `json:"variables"`
	Package        *Package   `json:"package,omitempty"`
	TimeoutSeconds int        `json:"timeoutSeconds"`
}

// Variable is one resolved variable; unlike domain.Variable, its JSON
// carries a sensitive value.
type Variable struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Sensitive bool   `json:"sensitive,omitempty"`
}

// Package is the package a deploy-package step installs: the version the
// release pinned, and the manifest that rebuilds it from chunks.
type Package struct {
	Ref      domain.PackageRef `json:"ref"`
	Manifest json.RawMessage   `json:"manifest"`
}

// Output is an output variable a step set (set_ferryvariable).
type Output struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Sensitive bool   `json:"sensitive,omitempty"`
}

// Event types of a step's stream.
const (
	EventLine = "line" // a log line (Level, Text), masked by the agent
	EventBeat = "beat" // the step runs on: at least every BeatInterval
	EventEnd  = "end"  // the step ended: Error ("" for success), Outputs
)

// Event is one line of a step's NDJSON stream.
type Event struct {
	Type    string   `json:"t"`
	Level   string   `json:"level,omitempty"`
	Text    string   `json:"text,omitempty"`
	Error   string   `json:"error,omitempty"`
	Outputs []Output `json:"outputs,omitempty"`
}

// Result is how a job ended, as the server keeps it (sealed).
type Result struct {
	Error   string   `json:"error,omitempty"`
	Outputs []Output `json:"outputs,omitempty"`
	// Ran says the step started on the agent (it counts as a machine that
	// ran the deployment).
	Ran bool `json:"ran,omitempty"`
}

// Version is this build's version, as agents report it.
func Version() string {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	return "ferry " + v + " (protocol 1)"
}
