package client

import (
	"context"

	"github.com/ferrydeploy/ferry/api"
)

// Deletes answer what they removed; one refused because something still
// uses the thing is ErrConflict, with rule "in-use" and every referrer
// named in its message.

// DeleteSpace deletes a space and everything in it (administrators).
func (c *Client) DeleteSpace(ctx context.Context, space string) (api.Deleted, error) {
	return call(ctx, c, c.routes.DeleteSpace, api.None{}, space)
}

// DeleteEnvironment deletes an environment with its deployments.
func (c *Client) DeleteEnvironment(ctx context.Context, space, name string) (api.Deleted, error) {
	return call(ctx, c, c.routes.DeleteEnvironment, api.None{}, space, name)
}

// DeleteLifecycle deletes a lifecycle no project uses.
func (c *Client) DeleteLifecycle(ctx context.Context, space, name string) (api.Deleted, error) {
	return call(ctx, c, c.routes.DeleteLifecycle, api.None{}, space, name)
}

// DeleteProject deletes a project with its releases.
func (c *Client) DeleteProject(ctx context.Context, space, project string) (api.Deleted, error) {
	return call(ctx, c, c.routes.DeleteProject, api.None{}, space, project)
}

// DeleteVariable deletes a variable's value scoped to exactly
// environments, or every value of it when none are given.
func (c *Client) DeleteVariable(ctx context.Context, space, project, name string, environments []string) (api.Deleted, error) {
	return call(ctx, c, c.routes.DeleteVariable, api.DeleteVariableRequest{Environments: environments}, space, project, name)
}

// DeleteRelease deletes a release with its deployments and task logs.
func (c *Client) DeleteRelease(ctx context.Context, space, project, version string) (api.Deleted, error) {
	return call(ctx, c, c.routes.DeleteRelease, api.None{}, space, project, version)
}

// DeletePackage deletes every version of a package from the feed.
func (c *Client) DeletePackage(ctx context.Context, space, id string) (api.Deleted, error) {
	return call(ctx, c, c.routes.DeletePackage, api.None{}, space, id)
}

// DeletePackageVersion deletes one version of a package from the feed.
func (c *Client) DeletePackageVersion(ctx context.Context, space, id, version string) (api.Deleted, error) {
	return call(ctx, c, c.routes.DeletePackageVersion, api.None{}, space, id, version)
}

// DeleteUser deletes a user (administrators).
func (c *Client) DeleteUser(ctx context.Context, name string) (api.Deleted, error) {
	return call(ctx, c, c.routes.DeleteUser, api.None{}, name)
}

// DeleteTeam deletes a team.
func (c *Client) DeleteTeam(ctx context.Context, space, name string) (api.Deleted, error) {
	return call(ctx, c, c.routes.DeleteTeam, api.None{}, space, name)
}

// DeleteRemoteSpace revokes a remote space, then deletes it.
func (c *Client) DeleteRemoteSpace(ctx context.Context, space, name string) (api.Deleted, error) {
	return call(ctx, c, c.routes.DeleteRemoteSpace, api.None{}, space, name)
}

// RunRetention runs retention now (administrators); with dryRun it only
// lists what it would remove.
func (c *Client) RunRetention(ctx context.Context, dryRun bool) (api.RetentionReport, error) {
	return call(ctx, c, c.routes.RunRetention, api.RetentionRequest{DryRun: dryRun})
}
