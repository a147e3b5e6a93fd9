package packages

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFS writes out the file system that holds dir (syncfs(2)): every file
// written there, and the folders naming them.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
