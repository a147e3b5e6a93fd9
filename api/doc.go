// Package api is the contract of ferry's HTTP API: every route (method,
// path, who may call it, what it takes and what it answers) in RouteSet,
// the JSON shapes of requests and answers, and the error kinds with the
// one table from kinds to HTTP statuses.
//
// A ferry server builds its router from Routes(), serves the same
// declaration as an OpenAPI 3 document at /api/openapi.json, and the Go
// client in github.com/ferrydeploy/ferry/client calls each route with
// these types. The package imports nothing but the standard library.
package api
