package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/client"
)

// A program of its own calls a ferry server with the client: here it
// creates an environment, lists the environments, and tells an error of
// one kind from another.
func Example() {
	ctx := context.Background()
	// serverURL and apiKey: the server's address, and an API key of a
	// user (a new server writes the administrator's to DATA/admin.key).
	c := client.New(serverURL, apiKey)

	env, err := c.CreateEnvironment(ctx, "Default", "Staging")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created", env.Name)

	envs, err := c.ListEnvironments(ctx, "Default")
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range envs {
		fmt.Println("environment", e.Name)
	}

	_, err = c.CreateRelease(ctx, "Default", "Shop", api.CreateReleaseRequest{Version: "1.0.0"})
	switch {
	case errors.Is(err, client.ErrNotFound):
		fmt.Println("no such project:", err)
	case errors.Is(err, client.ErrForbidden):
		fmt.Println("not allowed:", err)
	case err != nil:
		log.Fatal(err)
	}
	// Output:
	// created Staging
	// environment Staging
	// no such project: project "Shop" not found in this space
}
