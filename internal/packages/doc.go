// Package packages is a space's built-in package feed and the transfer of
// package bytes between spaces. Packages are stored once, as
// content-defined chunks in a content-addressed store, so versions share
// their unchanged content; a transfer file for another space carries only
// the chunks that space does not have. See docs/transfer-format.md.
package packages
