// Package archtest checks the shape of the codebase: the one-way dependency
// rule of docs/architecture.md and a doc comment on every package.
package archtest
