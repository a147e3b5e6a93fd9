//go:build !linux

package ferrytest

import "os/exec"

// dieWithTest does nothing outside Linux: there is no parent-death signal.
func dieWithTest(cmd *exec.Cmd) {}
