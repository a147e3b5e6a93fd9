// Command ferry is the ferry deployment server and its command-line client.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ferrydeploy/ferry/internal/cli"
	"github.com/ferrydeploy/ferry/internal/sandbox"
)

func main() {
	// A step's sandbox starts this binary again as its init: that must run
	// before anything else (docs/operations.md, "Script isolation").
	sandbox.Main()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
