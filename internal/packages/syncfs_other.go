//go:build !linux

package packages

import "syscall"

// syncFS writes out every file system: where syncfs(2) is missing, sync(2)
// is the one call that covers files and the folders naming them.
func syncFS(string) error {
	syscall.Sync()
	return nil
}
