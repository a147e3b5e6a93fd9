package ferrytest

import (
	"os/exec"
	"syscall"
)

// dieWithTest makes cmd's process receive SIGKILL when the test process
// dies (Linux PR_SET_PDEATHSIG), so a killed or timed-out test run leaves
// no servers or agents behind. The kernel sends it when the thread that
// forked the child ends; Go keeps its threads until the process exits
// (it only retires a thread whose goroutine exits while locked to it,
// which ferrytest never does), so this is the test process dying.
func dieWithTest(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
