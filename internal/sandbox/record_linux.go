package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

func recordOf(pid int, group bool) (Record, error) {
	start, err := startTime(pid)
	if err != nil {
		return Record{}, err
	}
	return Record{Boot: bootID(), Pid: pid, Start: start, Group: group}, nil
}

// StopRecorded kills what r recorded, if that very process still runs on
// this boot of this host: a sandbox's init, which takes everything in the
// sandbox with it, or in mode Off the program's process group (only while
// its leader lives: a group id alone may have been reused). It reports
// whether it killed something.
func StopRecorded(r Record) (bool, error) {
	if r.Pid <= 1 || r.Boot == "" || r.Boot != bootID() {
		return false, nil
	}
	if start, err := startTime(r.Pid); err != nil || start != r.Start {
		return false, nil
	}
	target := r.Pid
	if r.Group {
		target = -r.Pid
	}
	if err := unix.Kill(target, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
		return false, err
	}
	return true, nil
}

func bootID() string {
	b, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return strings.TrimSpace(string(b))
}

// startTime reads field 22 of /proc/PID/stat (proc(5)); the command name
// before it may hold spaces and parentheses, so fields count from the last
// ')'.
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}
