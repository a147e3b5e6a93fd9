// Package bench holds ferry's benchmarks; see docs/performance.md for figures and how to run them.
package bench
