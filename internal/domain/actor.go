package domain

import "context"

// Actor is who is calling: a user authenticated by an API key or a session,
// or the server itself (for work it does on its own, such as running tasks).
type Actor struct {
	UserID  int64
	Name    string
	IsAdmin bool
	// OnBehalfOf is the user a trigger acts for (the one who set it).
	OnBehalfOf string
}

// System is the actor for work the server does on its own.
var System = Actor{Name: "system", IsAdmin: true}

type actorKey struct{}

// WithActor returns a context that carries a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx; ok is false when there is none.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// ActorName returns the name of the actor in ctx, or "system".
func ActorName(ctx context.Context) string {
	if a, ok := ActorFrom(ctx); ok {
		return a.Name
	}
	return System.Name
}
