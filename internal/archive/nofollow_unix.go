//go:build unix

package archive

import "syscall"

// noFollow makes opening a path that is a symbolic link fail.
const noFollow = syscall.O_NOFOLLOW
