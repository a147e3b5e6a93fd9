package client

import (
	"context"

	"github.com/ferrydeploy/ferry/api"
)

// ListTargets lists a space's deployment targets.
func (c *Client) ListTargets(ctx context.Context, space string) ([]api.Target, error) {
	return call(ctx, c, c.routes.ListTargets, api.None{}, space)
}

// AddTarget registers a deployment target.
func (c *Client) AddTarget(ctx context.Context, space string, req api.AddTargetRequest) (api.AddedTarget, error) {
	return call(ctx, c, c.routes.AddTarget, req, space)
}

// GetTarget shows a deployment target.
func (c *Client) GetTarget(ctx context.Context, space, name string) (api.Target, error) {
	return call(ctx, c, c.routes.GetTarget, api.None{}, space, name)
}

// CheckTarget checks a target's health now.
func (c *Client) CheckTarget(ctx context.Context, space, name string) (api.TargetCheck, error) {
	return call(ctx, c, c.routes.CheckTarget, api.None{}, space, name)
}

// DisableTarget disables a target.
func (c *Client) DisableTarget(ctx context.Context, space, name string) (api.Target, error) {
	return call(ctx, c, c.routes.DisableTarget, api.None{}, space, name)
}

// EnableTarget enables a target again.
func (c *Client) EnableTarget(ctx context.Context, space, name string) (api.Target, error) {
	return call(ctx, c, c.routes.EnableTarget, api.None{}, space, name)
}

// DeleteTarget deletes a target.
func (c *Client) DeleteTarget(ctx context.Context, space, name string) (api.Target, error) {
	return call(ctx, c, c.routes.DeleteTarget, api.None{}, space, name)
}

// AgentTrust returns the fingerprint agents trust the server by, and where
// polling agents connect.
func (c *Client) AgentTrust(ctx context.Context) (api.AgentTrust, error) {
	return call(ctx, c, c.routes.AgentTrust, api.None{})
}

// RotateIdentity stages a new agent identity, or activates the staged one.
func (c *Client) RotateIdentity(ctx context.Context, req api.RotateRequest) (api.AgentTrust, error) {
	return call(ctx, c, c.routes.RotateIdentity, req)
}
