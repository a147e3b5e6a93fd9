//go:build !linux

package sandbox

import (
	"context"
	"errors"
)

const probeProgram = "ferry-sandbox-probe"

// Main returns at once: the sandbox's init runs only on Linux.
func Main() {}

func (s *Sandbox) start(ctx context.Context, c Cmd, probe bool) (*Process, error) {
	if s.mode == Off {
		return startPlain(ctx, c)
	}
	return nil, &SetupError{Msg: "isolating steps needs Linux namespaces; start the server with --sandbox off to run them without isolation"}
}

func recordOf(pid int, group bool) (Record, error) {
	return Record{Pid: pid, Group: group}, nil
}

// StopRecorded does nothing off Linux.
func StopRecorded(r Record) (bool, error) {
	return false, errors.New("stopping recorded processes needs Linux")
}
