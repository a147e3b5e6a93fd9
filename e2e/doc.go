// Package e2e holds end-to-end tests that drive the built ferry binary
// through whole scenarios against real servers on loopback, the way users do.
package e2e
