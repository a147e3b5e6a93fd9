// Package domain holds ferry's nouns — spaces, environments, lifecycles,
// projects, releases, deployments, tasks — with their validation rules and
// the error kinds every layer shares. It imports no storage and no HTTP.
package domain
